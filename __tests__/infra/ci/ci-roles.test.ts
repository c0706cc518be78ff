import { TerraformResource, TerraformStack } from "cdktf";
import { Construct } from "constructs";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { DynamodbTable } from "@cdktf/provider-aws/lib/dynamodb-table";
import { TYPE_PERMISSIONS, permissionsFor, terraformTypesOf } from "../../../src/ci/ci-permissions";
import { loadStackConfigs } from "../../../src/config/environments";
import { parseServiceConfig } from "../../../src/config/environments";
import { ServiceStack } from "../../../src/service-stack";
import { StateStack } from "../../../src/state/state-stack";
import { MINIMAL, projectRoot, synthStateStack, synthesize, type Synthesized, testApp } from "../synth";

interface Statement {
  sid?: string;
  effect?: string;
  actions: string[];
  resources?: string[];
  principals?: { type: string; identifiers: string[] }[];
  condition?: { test: string; variable: string; values: string[] }[];
}

const CI = { repository: "acme/lambda-rds-iam" };
const idIn = (reference: string) => /^\$\{[a-z_.]+?\.([^.]+)\.[a-z_]+\}$/.exec(reference)![1];

/** Every statement of every managed policy attached to the role at `rolePath`. */
function statementsOf(s: Synthesized<TerraformStack>, rolePath: string): Statement[] {
  const roleName = s.ref("aws_iam_role", rolePath, "name");
  return Object.values(s.all("aws_iam_role_policy_attachment"))
    .filter((attachment) => attachment.role === roleName)
    .flatMap((attachment) => {
      const policy = s.json.resource.aws_iam_policy[idIn(attachment.policy_arn)];
      return s.json.data.aws_iam_policy_document[idIn(policy.policy)].statement as Statement[];
    });
}
const allowed = (statements: Statement[]) => statements.filter((statement) => statement.effect !== "Deny");
// API Gateway's management actions are the HTTP verbs of its API: GET reads.
const isReadOnly = (action: string) =>
  (/^[a-z0-9-]+:(Describe|Get|List)[A-Za-z]*$/.test(action) && action !== "secretsmanager:GetSecretValue") || action === "apigateway:GET";

describe("CI roles", () => {
  it("do not exist while no repository is configured: no roles, no OIDC provider", () => {
    const { json } = synthStateStack();
    expect(json.resource.aws_iam_role).toBeUndefined();
    expect(json.resource.aws_iam_openid_connect_provider).toBeUndefined();
  });

  it("reach the data bucket's access-log bucket too when the service has one (dataBucket.accessLogs): the deploy role configures it", () => {
    const s = synthStateStack({ ci: CI, dataBucket: { accessLogs: true } });
    const buckets = ["data", "data-logs"].map((name) => `arn:${s.aws.partition}:s3:::lambda-rds-iam-dev-${name}-111111111111`);
    const apply = statementsOf(s, "ci/deploy-role").find((statement) => statement.sid === "ApplyServiceBuckets");
    expect(apply?.resources).toEqual(buckets);
    expect(apply?.actions).toContain("s3:PutBucketLogging");
  });

  describe("with a repository", () => {
    const s = synthStateStack({ ci: CI });
    const provider = s.ref("aws_iam_openid_connect_provider", "ci/github-oidc", "arn");
    const plan = statementsOf(s, "ci/plan-role");
    const deploy = statementsOf(s, "ci/deploy-role");
    const bucketArn = s.ref("aws_s3_bucket", "bucket", "arn");
    const keyArn = s.ref("aws_kms_key", "key", "arn");

    it("output the roles' ARNs, naming the repository variables the workflows read them from", () => {
      expect(s.json.output.ci_plan_role_arn).toEqual({
        value: s.ref("aws_iam_role", "ci/plan-role", "arn"),
        description: "Plan role of pull requests: the repository variable DEV_PLAN_ROLE_ARN",
      });
      expect(s.json.output.ci_deploy_role_arn.description).toBe(
        "Deploy role of the dev GitHub environment: the repository variable DEV_DEPLOY_ROLE_ARN",
      );
    });

    it("create the account's GitHub OIDC provider for the STS audience", () => {
      expect(s.resource("aws_iam_openid_connect_provider", "ci/github-oidc")).toEqual({
        url: "https://token.actions.githubusercontent.com",
        client_id_list: ["sts.amazonaws.com"],
      });
    });

    it.each([
      ["plan", ["repo:acme/lambda-rds-iam:pull_request", "repo:acme/lambda-rds-iam:ref:refs/heads/main"], "lambda-rds-iam-dev-ci-plan"],
      ["deploy", ["repo:acme/lambda-rds-iam:environment:dev"], "lambda-rds-iam-dev-ci-deploy"],
    ])("trust the %s role to exactly %j, through GitHub's provider", (id, subjects, name) => {
      expect(s.resource("aws_iam_role", `ci/${id}-role`)).toMatchObject({
        name,
        path: "/github-actions/",
        assume_role_policy: s.dataRef("aws_iam_policy_document", `ci/${id}-trust`, "json"),
      });
      expect(s.data("aws_iam_policy_document", `ci/${id}-trust`).statement).toEqual([
        {
          actions: ["sts:AssumeRoleWithWebIdentity"],
          principals: [{ type: "Federated", identifiers: [provider] }],
          condition: [
            { test: "StringEquals", variable: "token.actions.githubusercontent.com:aud", values: ["sts.amazonaws.com"] },
            { test: "StringEquals", variable: "token.actions.githubusercontent.com:sub", values: subjects },
          ],
        },
      ]);
    });

    it("give the plan role nothing that writes, except the state lock object and the key the lock is encrypted with", () => {
      const writes = allowed(plan).flatMap((statement) =>
        statement.actions.filter((action) => !isReadOnly(action)).map((action) => ({ action, resources: statement.resources })),
      );
      const lock = `${bucketArn}/lambda-rds-iam/dev.tfstate.tflock`;
      expect(writes).toEqual([
        { action: "s3:PutObject", resources: [lock] },
        { action: "s3:DeleteObject", resources: [lock] },
        { action: "kms:Decrypt", resources: [keyArn] },
        { action: "kms:GenerateDataKey", resources: [keyArn] },
      ]);
    });

    it("let the plan role read the service stack's state object and no other, and use the state key only through S3", () => {
      expect(plan.find((statement) => statement.sid === "State")).toEqual({
        sid: "State",
        actions: ["s3:GetObject"],
        resources: [`${bucketArn}/lambda-rds-iam/dev.tfstate`],
      });
      expect(plan.find((statement) => statement.sid === "StateKey")?.condition).toEqual([
        {
          test: "StringEquals",
          variable: "kms:ViaService",
          values: [`s3.eu-west-1.${s.dataRef("aws_partition", "aws-context/partition", "dns_suffix")}`],
        },
      ]);
    });

    it("deny both roles secret values explicitly", () => {
      for (const statements of [plan, deploy]) {
        expect(statements).toContainEqual({
          sid: "NoSecretValues",
          effect: "Deny",
          actions: ["secretsmanager:GetSecretValue"],
          resources: ["*"],
        });
        expect(allowed(statements).flatMap((statement) => statement.actions)).not.toContain("secretsmanager:GetSecretValue");
      }
    });

    it("limit every IAM action of the deploy role to the service's own roles and policies", () => {
      const iamStatements = allowed(deploy).filter((statement) => statement.actions.some((action) => action.startsWith("iam:")));
      expect(iamStatements.length).toBeGreaterThan(0);
      for (const statement of iamStatements) {
        expect(statement.actions.every((action) => action.startsWith("iam:"))).toBe(true);
        for (const resource of statement.resources!) expect(resource).toMatch(/:iam::\$\{[^}]+\}:(role|policy)\/lambda-rds-iam-dev-\*$/);
      }
    });

    it("let the deploy role pass the service's roles only, and only to the services that take them", () => {
      expect(deploy.filter((statement) => statement.actions.includes("iam:PassRole"))).toEqual([
        {
          sid: "PassServiceRoles",
          actions: ["iam:PassRole"],
          resources: [expect.stringMatching(/:role\/lambda-rds-iam-dev-\*$/)],
          condition: [
            {
              test: "StringEquals",
              variable: "iam:PassedToService",
              values: ["lambda.amazonaws.com", "monitoring.rds.amazonaws.com", "scheduler.amazonaws.com", "vpc-flow-logs.amazonaws.com"],
            },
          ],
        },
      ]);
    });

    it("let the deploy role use keys only through the services that encrypt with them on its behalf", () => {
      const keyUse = allowed(deploy).filter((statement) =>
        statement.actions.some((action) => ["kms:Decrypt", "kms:GenerateDataKey", "kms:CreateGrant"].includes(action)),
      );
      const dnsSuffix = s.dataRef("aws_partition", "aws-context/partition", "dns_suffix");
      expect(keyUse).toEqual([
        expect.objectContaining({ sid: "StateKey", resources: [keyArn] }),
        {
          sid: "KeysThroughServices",
          actions: ["kms:CreateGrant", "kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey"],
          resources: ["*"],
          condition: [
            {
              test: "StringEquals",
              variable: "kms:ViaService",
              values: [`rds.eu-west-1.${dnsSuffix}`, `secretsmanager.eu-west-1.${dnsSuffix}`],
            },
          ],
        },
      ]);
    });

    it("keep the deploy role away from the CI roles, their policies, the OIDC provider and the state key", () => {
      const denied = deploy.filter((statement) => statement.effect === "Deny");
      expect(denied).toContainEqual(
        expect.objectContaining({
          actions: ["iam:*"],
          resources: [expect.stringMatching(/:role\/github-actions\/\*$/), expect.stringMatching(/:policy\/github-actions\/\*$/), provider],
        }),
      );
      expect(denied).toContainEqual(
        expect.objectContaining({
          sid: "NeverBreakStateKey",
          resources: [keyArn],
          actions: expect.arrayContaining(["kms:ScheduleKeyDeletion", "kms:PutKeyPolicy"]),
        }),
      );
      const ciPolicies = Object.entries(s.all("aws_iam_policy")).filter(([path]) => path.startsWith("ci/"));
      expect(ciPolicies.length).toBeGreaterThan(0);
      for (const [, policy] of ciPolicies) expect(policy.path).toBe("/github-actions/");
    });

    it("let the deploy role use S3 only on the state objects and the service's data bucket: never the state bucket's configuration, nor the access logs'", () => {
      const s3 = allowed(deploy).filter((statement) => statement.actions.some((action) => action.startsWith("s3:")));
      const stateObject = `${bucketArn}/lambda-rds-iam/dev.tfstate`;
      const dataBucket = `arn:${s.aws.partition}:s3:::lambda-rds-iam-dev-data-111111111111`;
      expect(s3.map(({ resources }) => resources)).toEqual([
        [bucketArn],
        [stateObject],
        [`${stateObject}.tflock`],
        [dataBucket],
        [dataBucket],
      ]);
      expect(s3.slice(0, 3).map(({ actions }) => actions)).toEqual([
        ["s3:ListBucket"],
        ["s3:GetObject", "s3:PutObject"],
        ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
      ]);
      expect(s3[3].actions).toEqual(expect.arrayContaining(["s3:GetBucketPolicy", "s3:GetBucketNotification"]));
      expect(s3[4].actions).toEqual(
        expect.arrayContaining(["s3:CreateBucket", "s3:PutBucketPolicy", "s3:PutBucketNotification", "s3:PutEncryptionConfiguration"]),
      );
      expect(
        allowed(deploy)
          .filter((statement) => statement.resources?.includes("*"))
          .flatMap((statement) => statement.actions)
          .filter((action) => action.startsWith("s3:")),
      ).toEqual([]);
    });

    it("keep each policy under IAM's 6,144-character limit for managed policies", () => {
      for (const policy of Object.values(s.all("aws_iam_policy"))) {
        const statements = s.json.data.aws_iam_policy_document[idIn(policy.policy)].statement;
        // References resolve to ARNs of about the same length; IAM does not count whitespace.
        expect(JSON.stringify({ Version: "2012-10-17", Statement: statements }).length).toBeLessThan(6144 - 500);
      }
    });
  });

  it("use the account's existing OIDC provider when one is configured", () => {
    const existing = "arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com";
    const s = synthStateStack({ ci: { ...CI, oidcProviderArn: existing, planRoleName: "gha-plan", deployRoleName: "gha-deploy" } });
    expect(s.json.resource.aws_iam_openid_connect_provider).toBeUndefined();
    expect(s.data("aws_iam_policy_document", "ci/plan-trust").statement[0].principals).toEqual([
      { type: "Federated", identifiers: [existing] },
    ]);
    expect(s.resource("aws_iam_role", "ci/plan-role").name).toBe("gha-plan");
    expect(s.resource("aws_iam_role", "ci/deploy-role").name).toBe("gha-deploy");
  });
});

describe("deploy permissions derived from the service stack", () => {
  const configs = loadStackConfigs({});

  it.each(configs.map((config) => [config.environment, config] as const))(
    "cover every Terraform type the %s service stack synthesizes",
    (_, config) => {
      const types = terraformTypesOf(new ServiceStack(testApp(), config.environment, { config, projectRoot }));
      expect(types.filter((type) => !(type in TYPE_PERMISSIONS))).toEqual([]);
    },
  );

  it("follow the stack: a type only prod has (the monitoring role's attachment) is in prod's deploy role only", () => {
    const [dev, prod] = configs.map((config) =>
      permissionsFor(terraformTypesOf(new ServiceStack(testApp(), config.environment, { config, projectRoot }))),
    );
    expect(prod.write).toContain("iam:AttachRolePolicy");
    expect(dev.write).not.toContain("iam:AttachRolePolicy");
  });

  it("do not depend on which copy of cdktf made the service stack: a second copy (an npm alias, a provider with its own) gives the same roles", () => {
    const config = parseServiceConfig({ ...MINIMAL, ci: CI }, "test");
    const app = testApp();
    let service: TerraformStack | undefined;
    jest.isolateModules(() => {
      // A fresh module registry: this ServiceStack, cdktf, constructs and the provider classes are loaded a second time.
      const second = require("../../../src/service-stack") as typeof import("../../../src/service-stack");
      expect(second.ServiceStack).not.toBe(ServiceStack);
      expect((require("cdktf") as typeof import("cdktf")).TerraformResource).not.toBe(TerraformResource);
      service = new second.ServiceStack(app, config.environment, { config, projectRoot });
    });
    const twoCopies = synthesize(new StateStack(app, `${config.environment}-state`, { config, service: service! }));
    const oneCopy = synthStateStack({ ci: CI });
    for (const role of ["ci/plan-role", "ci/deploy-role"]) {
      expect({ role, statements: statementsOf(twoCopies, role) }).toEqual({ role, statements: statementsOf(oneCopy, role) });
    }
    expect(statementsOf(twoCopies, "ci/deploy-role").length).toBeGreaterThan(5);
  });

  it("refuse a stack with a type nobody gave permissions for, naming it", () => {
    const stack = new TerraformStack(testApp(), "other");
    const scope = new Construct(stack, "scope");
    new IamRole(scope, "role", { assumeRolePolicy: "{}" });
    new DynamodbTable(scope, "table", { name: "t", hashKey: "id", attribute: [{ name: "id", type: "S" }] });
    expect(() => permissionsFor(terraformTypesOf(stack))).toThrow(
      "No CI permissions for aws_dynamodb_table: add what Terraform calls for them to TYPE_PERMISSIONS in src/ci/ci-permissions.ts",
    );
  });

  it("give read-only actions as reads", () => {
    const reads = Object.values(TYPE_PERMISSIONS).flatMap((entry) => entry.read);
    expect(reads.filter((action) => !isReadOnly(action))).toEqual([]);
  });
});
