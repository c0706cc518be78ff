import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { readInputs, runUrl } from "../../../../scripts/review/plan-comment";
import { COMMENT_MARKER, GITHUB_COMMENT_LIMIT, renderComment, renderPlans } from "../../../../scripts/review/plan-render";
import { attributeRows } from "../../../../scripts/stacks/attribute-diff";
import { flagsOf } from "../../../../scripts/stacks/plan-classification";
import { constructPathsOf } from "../../../../scripts/stacks/synthesized-stack";
import { type ResourceChange, type StackPlan, type TerraformPlan, countsOf } from "../../../../scripts/stacks/terraform-plan";
import { projectRoot, synthApp } from "../../synth";
import { firstDeployPlan, update } from "./plans";
import { tempDir } from "../../temp";

const fixtures = join(__dirname, "..", "..", "fixtures", "plans");
const stacksDir = join(fixtures, "stacks");
const { plans } = readInputs([join(fixtures, "dev.json"), join(fixtures, "prod.json")], stacksDir);
const dev = plans.find((plan) => plan.stack === "dev")!;
const change = (address: string) => dev.plan.resource_changes!.find((resource) => resource.address === address)!;
const DB = "aws_db_instance.database_instance_D7FC2283";

describe("plan comment", () => {
  const comment = renderComment(plans, [{ stack: "dev-state", reason: "deployed by hand; its state is a local file" }]);

  it("counts creates, updates, replaces and deletes per stack, leaving out no-ops and data reads", () => {
    expect(countsOf(dev.plan)).toEqual({ create: 1, update: 1, replace: 1, delete: 1 });
    expect(comment).toContain("| create | update | replace | delete |\n|---|---|---|---|\n| 1 | 1 | 1 | 1 |");
    expect(comment).not.toContain("aws_vpc.network_vpc_1A2B3C4D");
    expect(comment).not.toContain("data.aws_iam_policy_document");
  });

  it("says so for a stack without changes and for a stack without a plan", () => {
    expect(comment).toContain("### `prod`\n\nNo changes.");
    expect(comment).toContain("### `dev-state`\n\nNo plan: deployed by hand; its state is a local file");
  });

  it("starts with the marker and the verdict, then the data at risk, then the flags by kind, before any stack", () => {
    expect(comment.startsWith(`${COMMENT_MARKER}\n## Terraform plan\n\n### Verdict\n\n`)).toBe(true);
    expect(flagsOf(dev).map(({ address, flag, why }) => [address, flag, why])).toEqual([
      [DB, "destroys or replaces data or identity", "replaces a database instance"],
      [DB, "encryption setting", "encryption change"],
      ["aws_vpc_security_group_ingress_rule.database_ingress-from-api_1234ABCD", "security group or rule", "security-group change"],
    ]);
    const order = ["### Verdict", "**⚠️ Data at risk**: 1 change:", "### Flags by kind", "### `dev`"].map((heading) =>
      comment.indexOf(heading),
    );
    expect(order.every((at, index) => at > 0 && (index === 0 || at > order[index - 1]))).toBe(true);
    expect(comment).toContain(
      "- ⚠️ **replaces a database instance**: `dev` <code>aws_db_instance.database_instance_D7FC2283</code> · <code>dev/database/instance</code> (replace)",
    );
    expect(comment).toContain(
      "| ⚠️ destroys or replaces data or identity | 1 | `dev` |\n| security group or rule | 1 | `dev` |\n| encryption setting | 1 | `dev` |",
    );
  });

  it("flags IAM (resource policies and permissions too) and a destroyed log group or KMS key, by the rules the review uses", () => {
    const plan: StackPlan = {
      stack: "prod",
      constructPaths: {},
      plan: {
        format_version: "1.2",
        resource_changes: [
          update("aws_iam_role", "r", { assume_role_policy: "a" }, { assume_role_policy: "b" }),
          { address: "aws_kms_key.k", type: "aws_kms_key", change: { actions: ["delete"], before: {}, after: null } },
          {
            address: "aws_cloudwatch_log_group.g",
            type: "aws_cloudwatch_log_group",
            change: { actions: ["create", "delete"], before: {}, after: {} },
          },
          update("aws_kms_key", "p", { policy: "{}" }, { policy: '{"Statement":[]}' }),
          {
            address: "aws_s3_bucket_policy.b",
            type: "aws_s3_bucket_policy",
            change: { actions: ["create"], before: null, after: { policy: "{}" } },
          },
          {
            address: "aws_lambda_permission.l",
            type: "aws_lambda_permission",
            change: { actions: ["create"], before: null, after: { action: "lambda:InvokeFunction" } },
          },
          update("aws_db_instance", "d", { publicly_accessible: false }, { publicly_accessible: true }),
        ],
      },
    };
    expect(flagsOf(plan).map(({ address, flag }) => [address, flag])).toEqual([
      ["aws_iam_role.r", "IAM policy, role, trust or permission"],
      ["aws_kms_key.k", "destroys or replaces data or identity"],
      ["aws_kms_key.k", "encryption setting"],
      ["aws_cloudwatch_log_group.g", "destroys or replaces data or identity"],
      ["aws_kms_key.p", "IAM policy, role, trust or permission"],
      ["aws_kms_key.p", "encryption setting"],
      ["aws_s3_bucket_policy.b", "IAM policy, role, trust or permission"],
      ["aws_lambda_permission.l", "IAM policy, role, trust or permission"],
      ["aws_db_instance.d", "widens by a setting"],
      ["aws_db_instance.d", "public exposure setting"],
    ]);
    expect(renderComment([plan], [])).toContain(
      "- `prod` <code>aws_db_instance.d</code>: publicly_accessible false -> true (public exposure)",
    );
  });

  it("flags an API route anyone may call, created so or opened, as widening; one authorized by IAM, or already open, is not", () => {
    const route = (
      address: string,
      actions: string[],
      before: Record<string, string> | null,
      after: Record<string, string>,
    ): ResourceChange => ({
      address: `aws_apigatewayv2_route.${address}`,
      type: "aws_apigatewayv2_route",
      change: { actions, before, after },
    });
    const plan: StackPlan = {
      stack: "dev",
      constructPaths: {},
      plan: {
        format_version: "1.2",
        resource_changes: [
          route("created_open", ["create"], null, { route_key: "GET /open", authorization_type: "NONE" }),
          route(
            "opened",
            ["update"],
            { route_key: "GET /items", authorization_type: "AWS_IAM" },
            { route_key: "GET /items", authorization_type: "NONE" },
          ),
          route("created_signed", ["create"], null, { route_key: "GET /health", authorization_type: "AWS_IAM" }),
          route(
            "still_open",
            ["update"],
            { route_key: "GET /x", authorization_type: "NONE", target: "a" },
            { route_key: "GET /x", authorization_type: "NONE", target: "b" },
          ),
        ],
      },
    };
    expect(
      flagsOf(plan)
        .filter(({ flag }) => flag === "widens by a setting")
        .map(({ address, why }) => [address, why]),
    ).toEqual([
      [
        "aws_apigatewayv2_route.created_open",
        'authorization_type unset -> "NONE" (anyone may call the route GET /open; authorize it with AWS_IAM)',
      ],
      [
        "aws_apigatewayv2_route.opened",
        'authorization_type "AWS_IAM" -> "NONE" (anyone may call the route GET /items; authorize it with AWS_IAM)',
      ],
    ]);
  });

  it("groups changes by resource with the construct path from cdk.tf.json and why Terraform replaces or deletes", () => {
    expect(comment).toContain(
      "<code>-/+</code> **replace** <code>aws_db_instance.database_instance_D7FC2283</code> · <code>dev/database/instance</code> (an attribute cannot be updated in place)",
    );
    expect(comment).toContain(
      "<code>~</code> **update** <code>aws_cloudwatch_log_group.api_log-group_0F9E8D7C</code> · <code>dev/api/log-group</code>",
    );
    expect(comment).toContain("(no longer in the configuration)");
    expect(comment).toContain("| <code>retention_in_days</code> | <code>14</code> | <code>30</code> |");
  });

  it("marks the attribute that forces the replacement", () => {
    expect(comment).toContain('| <code>engine_version</code> **forces replacement** | <code>"8.0"</code> | <code>"8.4"</code> |');
  });

  it("never prints a sensitive value, before or after, whole or nested", () => {
    for (const secret of ["hunter2", "s3cr3t-token-value"]) expect(comment).not.toContain(secret);
    expect(attributeRows(change(DB), "replace")).toContainEqual({
      attribute: "password",
      before: "(sensitive)",
      after: "(sensitive)",
      forcesReplacement: false,
    });
    expect(attributeRows(change("aws_lambda_function.api_function_5A1B2C3D"), "create")).toContainEqual({
      attribute: "environment[0].variables.API_TOKEN",
      after: "(sensitive)",
      forcesReplacement: false,
      before: undefined,
    });
  });

  it("hides a whole value marked sensitive at its top", () => {
    const resource: ResourceChange = {
      address: "x.y",
      type: "x",
      change: {
        actions: ["update"],
        before: { a: { b: "old" } },
        after: { a: { b: "new" } },
        before_sensitive: true,
        after_sensitive: true,
      },
    };
    expect(attributeRows(resource, "update")).toEqual([
      { attribute: "a.b", before: "(sensitive)", after: "(sensitive)", forcesReplacement: false },
    ]);
  });

  it("shows unknown values as (known after apply)", () => {
    const rows = attributeRows(change("aws_lambda_function.api_function_5A1B2C3D"), "create");
    expect(rows).toContainEqual({ attribute: "arn", after: "(known after apply)", forcesReplacement: false, before: undefined });
    expect(rows).toContainEqual({ attribute: "memory_size", after: "256", forcesReplacement: false, before: undefined });
    expect(attributeRows(change(DB), "replace")).toContainEqual({
      attribute: "address",
      before: '"db.example"',
      after: "(known after apply)",
      forcesReplacement: false,
    });
  });

  it("keeps values from breaking the Markdown table", () => {
    const resource: ResourceChange = {
      address: "x.y",
      type: "x",
      change: { actions: ["create"], before: null, after: { policy: '{"a": "b|c"}\n<script>' } },
    };
    const markdown = renderComment([{ stack: "s", constructPaths: {}, plan: { format_version: "1.2", resource_changes: [resource] } }], []);
    expect(markdown).toContain('| <code>policy</code> | <code>"{\\"a\\": \\"b&#124;c\\"}\\n&lt;script&gt;"</code> |');
  });

  it("refuses a plan format it does not know", () => {
    expect(() => renderComment([{ stack: "s", constructPaths: {}, plan: { format_version: "2.0" } }], [])).toThrow(
      "s: plan format_version 2.0 is not 1.x",
    );
  });

  describe("of an oversize plan", () => {
    const many: ResourceChange[] = Array.from({ length: 3000 }, (_, index) =>
      update(
        "aws_cloudwatch_log_group",
        `g${index}`,
        { name: `/g/${index}`, retention_in_days: 14, description: "x".repeat(400) },
        { name: `/g/${index}`, retention_in_days: 30, description: "y".repeat(400) },
      ),
    );
    const replaced = change(DB);
    const big: StackPlan = {
      stack: "prod",
      constructPaths: { [DB]: "prod/database/instance" },
      plan: { format_version: "1.2", resource_changes: [...many, replaced] },
    };
    const markdown = renderComment([big], [], { artifactUrl: "https://github.com/acme/app/actions/runs/42" });

    it("stays under GitHub's limit, names what it cut first and says where the full plan is", () => {
      expect(markdown.length).toBeLessThanOrEqual(GITHUB_COMMENT_LIMIT);
      expect(markdown).toContain(
        "**Cut to fit GitHub's 65,536 characters**: attribute values over 200 characters shortened; the attribute rows of 3,000 routine changes;",
      );
      expect(markdown).toContain("The full plans are in the plan artifacts of [this run](https://github.com/acme/app/actions/runs/42).");
    });

    it("keeps the data at risk and the flagged resource's replacing attribute, and closes what it collapsed", () => {
      expect(markdown).toContain("- ⚠️ **replaces a database instance**: `prod`");
      expect(markdown).toContain("**forces replacement**");
      expect(markdown.split("<details>").length).toBe(markdown.split("</details>").length);
    });

    it("keeps the infrastructure review above the plans whole, cutting the plans instead", () => {
      const review = `## Infrastructure review\n\n${"| ➕ added | <code>dev</code> |\n".repeat(100)}`;
      const withReview = renderComment([big], [], { review });
      expect(withReview.length).toBeLessThanOrEqual(GITHUB_COMMENT_LIMIT);
      expect(withReview.startsWith(`${COMMENT_MARKER}\n${review.trim()}\n\n## Terraform plan\n`)).toBe(true);
      expect(withReview).toContain("**Cut to fit GitHub's 65,536 characters**");
    });

    it("first shortens long values when that is enough, and keeps every change listed", () => {
      const medium: StackPlan = { ...big, plan: { ...big.plan, resource_changes: [...many.slice(0, 80), replaced] } };
      const shorter = renderComment([medium], []);
      expect(shorter.length).toBeLessThanOrEqual(GITHUB_COMMENT_LIMIT);
      expect(shorter).toContain(
        "**Cut to fit GitHub's 65,536 characters**: attribute values over 200 characters shortened. The full plans",
      );
      expect(shorter).toContain("<details><summary>80 other changes</summary>");
      expect(shorter).toContain("aws_cloudwatch_log_group.g79");
    });
  });
});

/** A stack's plan from a fixture in Terraform's JSON plan format, with construct paths for some addresses. */
const fixture = (name: string, constructPaths: Record<string, string> = {}): StackPlan => ({
  stack: "prod",
  plan: JSON.parse(readFileSync(join(__dirname, "..", "..", "fixtures", "security-plans", `${name}.json`), "utf8")) as TerraformPlan,
  constructPaths,
});
const API_ROLE = {
  "aws_iam_role.api_role_E8D414AF": "prod/api/role/role",
  "aws_iam_role_policy.api_role_write-logs_6E88B437": "prod/api/role/write-logs",
};

describe("plan comment: who gains what", () => {
  it("shows a statement a role policy gains as an added row that widens, and says so first", () => {
    const { markdown, verdict } = renderPlans([fixture("policy-gains-statement", API_ROLE)], []);
    expect(verdict).toEqual({ broadens: true, dataAtRisk: false, widening: { iam: 1, rules: 0, settings: 0 }, dataRisks: 0, skipped: 0 });
    expect(markdown).toContain(
      "### Verdict\n\n**⚠️ Broadens permissions or network reach** (label `broadens-access`, for a second approval). Widening: 1 IAM statement.\n\n" +
        "- `prod` added in <code>api/role/write-logs</code>: <code>Allow</code> <code>s3:*</code> on <code>*</code>\n",
    );
    expect(markdown).toContain(
      "| ➕ added ⚠️ **widens** | <code>api/role/role</code> | <code>api/role/write-logs</code> | <code>Allow</code> |  | <code>s3:*</code> | <code>*</code> |  |",
    );
    // The unchanged statement is no row; the policy attribute is counted, not printed as one long string.
    expect(markdown).not.toContain("logs:PutLogEvents");
    expect(markdown).toContain("| <code>policy</code> | 1 statement (IAM table) | 2 statements (IAM table) |");
  });

  it("shows a trust policy widened to another account as the old statement removed and the wider one added", () => {
    const { markdown, verdict } = renderPlans(
      [fixture("trust-widened", { "aws_iam_role.ci_deploy-role_1A2B3C4D": "prod-state/ci/deploy-role" })],
      [],
    );
    expect(verdict.widening.iam).toBe(1);
    const rows = markdown.split("\n").filter((line) => line.startsWith("| ➕") || line.startsWith("| ➖"));
    expect(rows).toEqual([
      "| ➕ added ⚠️ **widens** | <code>ci/deploy-role</code> | <code>ci/deploy-role (trust)</code> | <code>Allow</code> | " +
        "<code>AWS:arn:aws:iam::111111111111:root</code><br><code>AWS:arn:aws:iam::999999999999:root</code> | <code>sts:AssumeRole</code> |  |  |",
      "| ➖ removed | <code>ci/deploy-role</code> | <code>ci/deploy-role (trust)</code> | <code>Allow</code> | <code>AWS:arn:aws:iam::111111111111:root</code> | <code>sts:AssumeRole</code> |  |  |",
    ]);
  });

  it("shows an ingress rule from 0.0.0.0/0 in the rule table, its group by construct path, as widening reach", () => {
    const { markdown, verdict } = renderPlans(
      [fixture("ingress-from-anywhere", { "aws_security_group.database_security-group_BF0DE645": "prod/database/security-group" })],
      [],
    );
    expect(verdict).toMatchObject({ broadens: true, widening: { iam: 0, rules: 1, settings: 0 } });
    expect(markdown).toContain("- `prod` added on <code>database/security-group</code>: ingress tcp 3306 from <code>0.0.0.0/0</code>");
    expect(markdown).toContain(
      "| ➕ added ⚠️ **widens** | <code>database/security-group</code> | <code>ingress</code> | <code>tcp</code> | <code>3306</code> | <code>0.0.0.0/0</code> |",
    );
  });

  it("shows a loosened bucket policy with its principals: a Deny removed and an Allow to anyone widen, the narrower Allow is removed", () => {
    const paths = {
      "aws_s3_bucket.data-bucket_bucket_0A1B2C3D": "prod/data-bucket/bucket",
      "aws_s3_bucket_policy.data-bucket_policy_17D97B1C": "prod/data-bucket/policy",
    };
    const { markdown, verdict } = renderPlans([fixture("bucket-policy-loosened", paths)], []);
    expect(verdict.widening.iam).toBe(2);
    const rows = markdown
      .split("\n")
      .filter((line) => /^\| (➕|➖)/.test(line))
      .map((line) => line.split(" | ").slice(0, 6).join(" | "));
    expect(rows).toEqual([
      "| ➖ removed ⚠️ **widens** | <code>data-bucket/bucket</code> | <code>data-bucket/policy</code> | <code>Deny</code> | <code>*</code> | <code>s3:*</code>",
      "| ➕ added ⚠️ **widens** | <code>data-bucket/bucket</code> | <code>data-bucket/policy</code> | <code>Allow</code> | <code>*</code> | <code>s3:GetObject</code>",
      "| ➖ removed | <code>data-bucket/bucket</code> | <code>data-bucket/policy</code> | <code>Allow</code> | <code>AWS:arn:aws:iam::111111111111:role/lambda-rds-iam-prod-ingest</code> | <code>s3:GetObject</code>",
    ]);
    expect(markdown).toContain("<code>${data-bucket/bucket.arn}/incoming/*</code>");
  });

  it("renders the deploy job's summary without the marker or the label, which only a pull request has", () => {
    const { markdown } = renderPlans([fixture("policy-gains-statement", API_ROLE)], [], { marker: false });
    expect(
      markdown.startsWith("## Terraform plan\n\n### Verdict\n\n**⚠️ Broadens permissions or network reach**. Widening: 1 IAM statement.\n"),
    ).toBe(true);
    expect(markdown).not.toContain(COMMENT_MARKER);
  });

  it("calls the same bucket policy tightened again a narrowing only", () => {
    const loosened = fixture("bucket-policy-loosened");
    const [bucket, policy] = loosened.plan.resource_changes!;
    const tightened: StackPlan = {
      ...loosened,
      plan: {
        ...loosened.plan,
        resource_changes: [bucket, { ...policy, change: { ...policy.change, before: policy.change.after, after: policy.change.before } }],
      },
    };
    const { markdown, verdict } = renderPlans([tightened], []);
    expect(verdict.broadens).toBe(false);
    expect(markdown).toContain("**Narrows only**: IAM and security-group changes remove or narrow access; nothing widens.");
    expect(markdown).not.toContain("⚠️ **widens**");
  });

  describe("of a first deploy of prod (every resource created, policies known only after apply)", () => {
    const json = synthApp().find(({ name }) => name === "prod")!.service.raw;
    const prod: StackPlan = { stack: "prod", plan: firstDeployPlan(json), constructPaths: constructPathsOf(json), synthesized: json };
    const { markdown, verdict } = renderPlans([prod], []);
    const iamRows = markdown.split("\n").filter((line) => line.startsWith("| ➕") && line.split(" | ").length === 8);

    it("fits GitHub's limit with every statement of the synthesized policies as a row, read from the synthesized JSON and said so", () => {
      expect(markdown.length).toBeLessThanOrEqual(GITHUB_COMMENT_LIMIT);
      for (const action of [
        "rds-db:connect",
        "secretsmanager:GetSecretValue",
        "s3:GetObject",
        "sqs:SendMessage",
        "lambda:InvokeFunction",
      ]) {
        expect({ action, rows: iamRows.some((row) => row.includes(`<code>${action}</code>`)) }).toEqual({ action, rows: true });
      }
      expect(markdown).toContain(
        "| ➕ added ⚠️ **widens** | <code>bootstrap/migrate/role/role</code> | <code>bootstrap/migrate/role/role/read-master-secret †</code> | <code>Allow</code> |  | " +
          "<code>secretsmanager:GetSecretValue</code> | <code>${database/instance.master_user_secret[0].secret_arn}</code> |  |",
      );
      expect(markdown).toContain(
        "† The plan knows this policy only after apply: its statements are read from the synthesized JSON (cdk.tf.json).",
      );
      expect(markdown).toContain(
        "| ➕ added ⚠️ **widens** | <code>ingest/function</code> | <code>ingest/invoke-from-s3 (permission)</code> | <code>Allow</code> | <code>Service:s3.amazonaws.com</code> |",
      );
    });

    it("puts the verdict and the flags by kind with their counts on one screen before the details", () => {
      expect(verdict).toMatchObject({ broadens: true, dataAtRisk: false });
      const beforeDetails = markdown.slice(0, markdown.indexOf("<details>"));
      expect(beforeDetails.split("\n").length).toBeLessThan(30);
      // One per IAM resource the plan creates: the count follows the stack, whatever it holds.
      const iamResources = flagsOf(prod).filter(({ flag }) => flag === "IAM policy, role, trust or permission");
      expect(iamResources.length).toBeGreaterThan(0);
      expect(beforeDetails).toContain(`| IAM policy, role, trust or permission | ${iamResources.length} | \`prod\` |`);
      expect(beforeDetails).toContain("No resource holding data or identity is replaced or destroyed; no protection is weakened.");
    });
  });

  describe("of a plan of 4,000 changes with one policy gaining a statement", () => {
    const gains = fixture("policy-gains-statement", API_ROLE);
    const routine = Array.from({ length: 3998 }, (_, index) =>
      update(
        "aws_cloudwatch_log_group",
        `g${index}`,
        { name: `/aws/lambda/f${index}`, retention_in_days: 14 },
        { name: `/aws/lambda/f${index}`, retention_in_days: 30 },
      ),
    );
    const big: StackPlan = { ...gains, plan: { ...gains.plan, resource_changes: [...routine, ...gains.plan.resource_changes!] } };
    const { markdown } = renderPlans([big], []);

    it("keeps the verdict and the added statement's row, cuts the routine changes first and names the cut", () => {
      expect(markdown.length).toBeLessThanOrEqual(GITHUB_COMMENT_LIMIT);
      expect(markdown).toContain(
        "- `prod` added in <code>api/role/write-logs</code>: <code>Allow</code> <code>s3:*</code> on <code>*</code>",
      );
      expect(markdown).toContain(
        "| ➕ added ⚠️ **widens** | <code>api/role/role</code> | <code>api/role/write-logs</code> | <code>Allow</code> |  | <code>s3:*</code> | <code>*</code> |  |",
      );
      expect(markdown).toContain("the attribute rows of 3,998 routine changes");
      expect(markdown).toContain("3,998 other changes: list cut.");
      expect(markdown).not.toContain("aws_cloudwatch_log_group.g3997");
    });
  });
});

describe("npm run plan:comment", () => {
  it("renders plan files named for their stacks, with construct paths from the synthesized stacks and skipped stacks' reasons", () => {
    const dir = tempDir("plan-comment-");
    const skipped = join(dir, "prod-state.skipped");
    writeFileSync(skipped, "deployed by hand\n");
    const out = join(dir, "comment.md");
    const review = join(dir, "review.md");
    writeFileSync(review, "## Infrastructure review\n\nno change\n");
    const run = spawnSync(
      "npm",
      ["run", "-s", "plan:comment", "--", "--stacks-dir", stacksDir, "--out", out, "--review", review, join(fixtures, "dev.json"), skipped],
      {
        cwd: projectRoot,
        encoding: "utf8",
        env: { ...process.env, GITHUB_SERVER_URL: "https://github.com", GITHUB_REPOSITORY: "acme/app", GITHUB_RUN_ID: "7" },
      },
    );
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    const markdown = readFileSync(out, "utf8");
    expect(markdown.startsWith(`${COMMENT_MARKER}\n## Infrastructure review\n\nno change\n\n## Terraform plan\n`)).toBe(true);
    expect(markdown).toContain("· <code>dev/database/instance</code>");
    expect(markdown).toContain("### `prod-state`\n\nNo plan: deployed by hand");
  });

  it("writes the verdict as JSON for the workflow, and says so when the review is missing rather than failing", () => {
    const dir = tempDir("plan-comment-");
    const [out, result] = [join(dir, "comment.md"), join(dir, "verdict.json")];
    const plan = join(__dirname, "..", "..", "fixtures", "security-plans", "ingress-from-anywhere.json");
    const prod = join(dir, "prod.json");
    writeFileSync(prod, readFileSync(plan));
    const run = spawnSync(
      "npm",
      ["run", "-s", "plan:comment", "--", "--review", join(dir, "none.md"), "--result", result, "--out", out, prod],
      {
        cwd: projectRoot,
        encoding: "utf8",
      },
    );
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    expect(JSON.parse(readFileSync(result, "utf8"))).toEqual({
      broadens: true,
      dataAtRisk: false,
      widening: { iam: 0, rules: 1, settings: 0 },
      dataRisks: 0,
      skipped: 0,
    });
    expect(readFileSync(out, "utf8")).toContain(
      `## Infrastructure review\n\n**No review**: ${join(dir, "none.md")} was not produced (the review job failed or was cancelled; see its log).`,
    );
  });

  it("names the artifact page of the run from GitHub's variables", () => {
    expect(runUrl({ GITHUB_SERVER_URL: "https://github.com", GITHUB_REPOSITORY: "acme/app", GITHUB_RUN_ID: "7" })).toBe(
      "https://github.com/acme/app/actions/runs/7",
    );
    expect(runUrl({})).toBeUndefined();
  });

  it("fails with usage on no input", () => {
    const run = spawnSync("npm", ["run", "-s", "plan:comment"], { cwd: projectRoot, encoding: "utf8" });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain("usage: npm run plan:comment");
  });
});
