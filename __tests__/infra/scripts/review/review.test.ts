import { Construct } from "constructs";
import { Fn } from "cdktf";
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { IamPolicy } from "@cdktf/provider-aws/lib/iam-policy";
import { SecurityGroup } from "@cdktf/provider-aws/lib/security-group";
import { SecurityGroupRule } from "@cdktf/provider-aws/lib/security-group-rule";
import { VpcSecurityGroupIngressRule } from "@cdktf/provider-aws/lib/vpc-security-group-ingress-rule";
import { type Review, type Stacks, reviewExitStatus, reviewInfrastructure } from "../../../../scripts/review/review-diff";
import { REPLACED_WHEN_CHANGED } from "../../../../scripts/review/replaced-when-changed";
import { renderReviewMarkdown, renderReviewText } from "../../../../scripts/review/review-render";
import { ENVIRONMENTS } from "../../../../src/config/environments";
import type { ServiceStack } from "../../../../src/service-stack";
import { serviceStack, synthStateStack, synthesizedJson } from "../../synth";

const appOf = (stack: ServiceStack): Stacks => ({ [stack.node.id]: synthesizedJson(stack) });
/** The minimal dev configuration, with what `extend` adds, as one synthesized app. */
const app = (extend: (stack: ServiceStack) => void = () => {}, input: Parameters<typeof serviceStack>[0] = {}) => {
  const stack = serviceStack(input);
  extend(stack);
  return appOf(stack);
};
const base = app();
const labels = { base: "main (1234567)", head: "working tree" };
const changesOf = (review: Review) => review.stacks.flatMap(({ changes }) => changes);
const summary = (review: Review) => changesOf(review).map(({ kind, path, type }) => `${kind} ${path} ${type}`);

/** The database admits MySQL from a block of addresses: `cidr` and `ports` make it narrow or wide. */
const adminIngress = (cidr: string, from: number, to: number) => (stack: ServiceStack) =>
  new VpcSecurityGroupIngressRule(stack.database, "ingress-admin", {
    securityGroupId: stack.database.securityGroup.id,
    cidrIpv4: cidr,
    ipProtocol: "tcp",
    fromPort: from,
    toPort: to,
  });

describe("infrastructure review", () => {
  it("finds nothing in the same configuration synthesized twice: exit status 0", () => {
    const review = reviewInfrastructure(base, app());
    expect(changesOf(review)).toEqual([]);
    expect(review).toMatchObject({ dataRisks: [], iam: [], rules: [], concerns: [] });
    expect(reviewExitStatus(review)).toBe(0);
    expect(renderReviewText(review, labels, { color: false })).toBe(
      "Infrastructure review: main (1234567) -> working tree\nVerdict: no change (exit status 0)\n\ndev: no change\n",
    );
  });

  it("lists an added grant as an added role policy and its statements as added IAM rows: exit status 4", () => {
    const review = reviewInfrastructure(
      base,
      app((stack) => stack.database.grantMasterSecretRead(stack.functions.api.role.role)),
    );
    expect(summary(review)).toEqual(["added api/role/role/read-master-secret aws_iam_role_policy"]);
    expect(
      review.iam.map(({ change, owner, source, statement }) => [
        change,
        owner,
        source,
        statement.effect,
        statement.actions,
        statement.resources,
        statement.conditions,
      ]),
    ).toEqual([
      [
        "added",
        "api/role/role",
        "api/role/role/read-master-secret",
        "Allow",
        ["secretsmanager:GetSecretValue"],
        ["${database/instance.master_user_secret[0].secret_arn}"],
        [],
      ],
      [
        "added",
        "api/role/role",
        "api/role/role/read-master-secret",
        "Allow",
        ["kms:Decrypt"],
        ["${database/key.arn}"],
        ["StringEquals kms:ViaService secretsmanager.${aws-context/region.region}.${aws-context/partition.dns_suffix}"],
      ],
    ]);
    expect(review.rules).toEqual([]);
    expect(review.concerns).toEqual(["IAM"]);
    expect(reviewExitStatus(review)).toBe(4);
  });

  it("shows a widened security-group rule as the old rule removed and the wider one added, and the attributes that changed", () => {
    const review = reviewInfrastructure(app(adminIngress("10.0.8.0/24", 3306, 3306)), app(adminIngress("0.0.0.0/0", 0, 65535)));
    expect(review.rules).toEqual([
      {
        stack: "dev",
        change: "removed",
        group: "database/security-group",
        direction: "ingress",
        protocol: "tcp",
        ports: "3306",
        peer: "10.0.8.0/24",
        widens: false,
      },
      {
        stack: "dev",
        change: "added",
        group: "database/security-group",
        direction: "ingress",
        protocol: "tcp",
        ports: "0-65535",
        peer: "0.0.0.0/0",
        widens: true,
      },
    ]);
    expect(changesOf(review)).toEqual([
      expect.objectContaining({
        kind: "changed",
        path: "database/ingress-admin",
        attributes: [
          { attribute: "cidr_ipv4", before: '"10.0.8.0/24"', after: '"0.0.0.0/0"', replaces: false },
          { attribute: "from_port", before: "3306", after: "0", replaces: false },
          { attribute: "to_port", before: "3306", after: "65535", replaces: false },
        ],
        concerns: ["security groups"],
      }),
    ]);
    expect(reviewExitStatus(review)).toBe(4);
  });

  it("marks a change of the database name as replacing the instance, and prints that data risk first", () => {
    const review = reviewInfrastructure(base, app(undefined, { database: { databaseName: "items" } }));
    expect(changesOf(review).find((change) => change.path === "database/instance")).toEqual(
      expect.objectContaining({
        kind: "changed",
        replacedBecause: "db_name cannot change in place",
        attributes: [{ attribute: "db_name", before: '"app"', after: '"items"', replaces: true }],
      }),
    );
    expect(review.dataRisks).toEqual([
      {
        stack: "dev",
        path: "database/instance",
        type: "aws_db_instance",
        holds: "database instance",
        what: "replaced: db_name cannot change in place",
      },
    ]);
    expect(review.concerns).toEqual(["data loss"]);
    const text = renderReviewText(review, labels, { color: false }).split("\n");
    expect(text.slice(2, 5)).toEqual([
      "",
      "DATA AT RISK",
      "  dev database/instance (aws_db_instance, database instance): replaced: db_name cannot change in place",
    ]);
    expect(text).toContain('      db_name: "app" -> "items"  (replaces)');
    expect(renderReviewText(review, labels, { color: true })).toContain("\u001b[1m\u001b[31mDATA AT RISK\u001b[0m\u001b[0m");
  });

  it("shows a DB identifier change as the in-place rename the AWS provider makes of it, not as a replacement", () => {
    const review = reviewInfrastructure(
      base,
      app((stack) => {
        stack.database.instance.identifier = "lambda-rds-iam-dev-2";
      }),
    );
    expect(changesOf(review)).toEqual([
      expect.objectContaining({
        kind: "changed",
        path: "database/instance",
        attributes: [{ attribute: "identifier", before: '"lambda-rds-iam-dev"', after: '"lambda-rds-iam-dev-2"', replaces: false }],
      }),
    ]);
    expect(changesOf(review)[0].replacedBecause).toBeUndefined();
    expect(review.dataRisks).toEqual([]);
    expect(reviewExitStatus(review)).toBe(3);
  });

  it("reports a weakened protection as data at risk, and a public database as exposure", () => {
    const review = reviewInfrastructure(
      app(undefined, { database: { deletionProtection: true } }),
      app((stack) => {
        stack.database.instance.publiclyAccessible = true;
      }),
    );
    expect(review.dataRisks.map((risk) => risk.what)).toEqual(["protection weakened: deletion_protection true -> false"]);
    expect(review.concerns).toEqual(["data loss", "public exposure"]);
  });

  describe("a renamed construct", () => {
    const auditLogs = (id: string) => (stack: ServiceStack) => new CloudwatchLogGroup(stack, id, { name: "/audit", retentionInDays: 30 });

    it("is a move; without a moved block Terraform recreates it, which loses the logs", () => {
      const review = reviewInfrastructure(app(auditLogs("audit-log")), app(auditLogs("audit-logs")));
      expect(changesOf(review)).toEqual([
        expect.objectContaining({
          kind: "moved",
          from: "audit-log",
          path: "audit-logs",
          attributes: [],
          replacedBecause:
            "its Terraform address changes (aws_cloudwatch_log_group.audit-log -> aws_cloudwatch_log_group.audit-logs) and no moved block carries its state over",
        }),
      ]);
      expect(review.dataRisks.map(({ path, what }) => [path, what])).toEqual([
        ["audit-logs", expect.stringMatching(/^replaced: its Terraform address changes/)],
      ]);
      expect(reviewExitStatus(review)).toBe(4);
    });

    it("with a moved block is only a move, of no concern: exit status 3", () => {
      const review = reviewInfrastructure(
        app(auditLogs("audit-log")),
        app((stack) => auditLogs("audit-logs")(stack).moveFromId("aws_cloudwatch_log_group.audit-log")),
      );
      expect(changesOf(review)).toEqual([
        expect.objectContaining({ kind: "moved", from: "audit-log", path: "audit-logs", attributes: [] }),
      ]);
      expect(changesOf(review)[0].replacedBecause).toBeUndefined();
      expect(reviewExitStatus(review)).toBe(3);
    });

    it("moves what is inside it too, and references between those are no change", () => {
      const audit = (id: string) => (stack: ServiceStack) => {
        const scope = new Construct(stack, id);
        const group = new SecurityGroup(scope, "group", { name: "audit", description: "audit", vpcId: stack.network.vpc.id });
        new VpcSecurityGroupIngressRule(scope, "from-api", {
          securityGroupId: group.id,
          referencedSecurityGroupId: stack.functions.api.securityGroup.id,
          ipProtocol: "tcp",
          fromPort: 443,
          toPort: 443,
        });
      };
      const review = reviewInfrastructure(app(audit("audit")), app(audit("auditing")));
      expect(summary(review)).toEqual([
        "moved auditing/from-api aws_vpc_security_group_ingress_rule",
        "moved auditing/group aws_security_group",
      ]);
      expect(changesOf(review).map((change) => change.from)).toEqual(["audit/from-api", "audit/group"]);
      expect(review.rules).toEqual([]);
    });
  });

  it("exits 3 for changes without a security concern", () => {
    const review = reviewInfrastructure(base, app(undefined, { functions: { api: { memoryMb: 512 } } }));
    expect(summary(review)).toEqual(["changed api/function aws_lambda_function"]);
    expect(changesOf(review)[0].attributes).toEqual([{ attribute: "memory_size", before: "256", after: "512", replaces: false }]);
    expect(review.concerns).toEqual([]);
    expect(reviewExitStatus(review)).toBe(3);
  });

  it("compares the backend, providers and outputs too", () => {
    const review = reviewInfrastructure(base, app(undefined, { state: { keyPrefix: "elsewhere" } }));
    expect(changesOf(review)).toEqual([
      expect.objectContaining({
        kind: "changed",
        path: "terraform block",
        mode: "setting",
        attributes: [
          { attribute: "backend.s3.key", before: '"lambda-rds-iam/dev.tfstate"', after: '"elsewhere/dev.tfstate"', replaces: false },
        ],
      }),
    ]);
    expect(reviewExitStatus(review)).toBe(3);
  });

  it("reads inline JSON policies, policies it cannot parse, and rules written inline or as aws_security_group_rule", () => {
    const legacy = (stack: ServiceStack) => {
      new IamPolicy(stack, "json-policy", {
        policy: JSON.stringify({
          Version: "2012-10-17",
          Statement: [
            {
              Effect: "Allow",
              Action: "s3:GetObject",
              Resource: "*",
              Principal: { AWS: "*" },
              Condition: { Bool: { "aws:SecureTransport": "true" } },
            },
          ],
        }),
      });
      new IamPolicy(stack, "expression-policy", { policy: Fn.jsonencode({ Statement: [] }) });
      const group = new SecurityGroup(stack, "legacy", {
        vpcId: stack.network.vpc.id,
        ingress: [{ protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["10.0.0.0/8"], selfAttribute: true }],
      });
      new SecurityGroupRule(stack, "legacy-rule", {
        type: "egress",
        securityGroupId: group.id,
        protocol: "udp",
        fromPort: 53,
        toPort: 53,
        sourceSecurityGroupId: stack.functions.api.securityGroup.id,
      });
    };
    const review = reviewInfrastructure(base, app(legacy));
    expect(
      review.iam.map(({ owner, statement }) => [
        owner,
        statement.effect,
        statement.principals,
        statement.actions,
        statement.resources,
        statement.conditions,
      ]),
    ).toEqual([
      ["expression-policy", "unparsed", [], [], ['${jsonencode({"Statement" = []})}'], []],
      ["json-policy", "Allow", ["AWS:*"], ["s3:GetObject"], ["*"], ["Bool aws:SecureTransport true"]],
    ]);
    expect(review.rules.map(({ group, direction, protocol, ports, peer }) => [group, direction, protocol, ports, peer])).toEqual([
      ["legacy", "egress", "udp", "53", "api/security-group"],
      ["legacy", "ingress", "all", "all", "10.0.0.0/8"],
      ["legacy", "ingress", "all", "all", "legacy"],
    ]);
  });

  it("renders Markdown for the pull request: data at risk first, then the stack's changes, then the IAM and rule tables", () => {
    const head = app(
      (stack) => {
        stack.database.grantMasterSecretRead(stack.functions.api.role.role);
        adminIngress("0.0.0.0/0", 3306, 3306)(stack);
      },
      { database: { databaseName: "items" } },
    );
    const markdown = renderReviewMarkdown(reviewInfrastructure(base, head), labels);
    expect(
      markdown.startsWith(
        "## Infrastructure review\n\n<code>main (1234567)</code> → <code>working tree</code>: **widens: data loss, IAM, security groups**.",
      ),
    ).toBe(true);
    const order = ["#### ⚠️ Data at risk", "#### `dev`: ", "#### IAM statement changes", "#### Security-group rule changes"].map((heading) =>
      markdown.indexOf(heading),
    );
    expect(order.every((at, index) => at > 0 && (index === 0 || at > order[index - 1]))).toBe(true);
    expect(markdown).toContain(
      "- ⚠️ `dev` <code>database/instance</code> (`aws_db_instance`, database instance): replaced: db_name cannot change in place",
    );
    expect(markdown).toContain('  | <code>db_name</code> **replaces** | <code>"app"</code> | <code>"items"</code> |');
    expect(markdown).toContain(
      "| ➕ added ⚠️ **widens** | <code>dev</code> | <code>api/role/role</code> | <code>api/role/role/read-master-secret</code> | <code>Allow</code> |  | <code>secretsmanager:GetSecretValue</code> | <code>${database/instance.master_user_secret[0].secret_arn}</code> |  |",
    );
    expect(markdown).toContain(
      "| ➕ added ⚠️ **widens** | <code>dev</code> | <code>database/security-group</code> | <code>ingress</code> | <code>tcp</code> | <code>3306</code> | <code>0.0.0.0/0</code> |",
    );
  });

  it("tells narrowing from widening: a grant taken away is IAM that narrows, exit status 3", () => {
    const granted = app((stack) => stack.database.grantMasterSecretRead(stack.functions.api.role.role));
    const review = reviewInfrastructure(granted, base);
    expect(review.iam.map(({ change, widens, statement }) => [change, widens, statement.actions])).toEqual([
      ["removed", false, ["secretsmanager:GetSecretValue"]],
      ["removed", false, ["kms:Decrypt"]],
    ]);
    expect(review).toMatchObject({ concerns: ["IAM"], widens: [] });
    expect(reviewExitStatus(review)).toBe(3);
    expect(renderReviewText(review, labels, { color: false })).toContain("Verdict: narrows only: IAM (exit status 3)");
  });

  it("narrows a rule to fewer ports and a smaller block without widening, but widens when either grows", () => {
    const narrowed = reviewInfrastructure(app(adminIngress("10.0.0.0/16", 3300, 3310)), app(adminIngress("10.0.8.0/24", 3306, 3306)));
    expect(narrowed.rules.map(({ change, widens, peer, ports }) => [change, widens, peer, ports])).toEqual([
      ["removed", false, "10.0.0.0/16", "3300-3310"],
      ["added", false, "10.0.8.0/24", "3306"],
    ]);
    expect(reviewExitStatus(narrowed)).toBe(3);
    const widened = reviewInfrastructure(app(adminIngress("10.0.8.0/24", 3306, 3306)), app(adminIngress("10.0.8.0/24", 3306, 3307)));
    expect(widened.rules.find((row) => row.change === "added")?.widens).toBe(true);
    expect(reviewExitStatus(widened)).toBe(4);
  });

  it("counts bucket and queue policies, endpoint policies and Lambda permissions as IAM, as the plan comment does", () => {
    const review = reviewInfrastructure({ dev: {} }, base);
    const sources = new Set(review.iam.map((row) => row.source));
    for (const source of [
      "data-bucket/policy",
      "api/failures/queue-policy",
      "endpoint-policies/s3",
      "ingest/invoke-from-s3 (permission)",
    ]) {
      expect({ source, listed: sources.has(source) }).toEqual({ source, listed: true });
    }
    expect(review.iam.find((row) => row.source === "ingest/invoke-from-s3 (permission)")).toMatchObject({
      owner: "ingest/function",
      widens: true,
      statement: {
        effect: "Allow",
        principals: ["Service:s3.amazonaws.com"],
        actions: ["lambda:InvokeFunction"],
        resources: ["${ingest/function.function_name}"],
      },
    });
  });
});

describe("the table of attributes that force replacement", () => {
  it("covers every resource type the stacks synthesize, in every environment, with CI roles and RDS Proxy", () => {
    const stacks = [
      ...Object.values(ENVIRONMENTS).map((input) => synthesizedJson(serviceStack({ ...input }))),
      synthesizedJson(serviceStack({ database: { proxy: true } })),
      synthesizedJson(synthStateStack({ ci: { repository: "acme/lambda-rds-iam" } }).stack),
    ];
    const types = new Set(stacks.flatMap((json) => Object.keys(json.resource)));
    expect([...types].filter((type) => !(type in REPLACED_WHEN_CHANGED)).sort()).toEqual([]);
  });
});
