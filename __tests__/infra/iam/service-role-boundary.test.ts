import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadStackConfigs } from "../../../src/config/environments";
import { ENHANCED_MONITORING_POLICY } from "../../../src/database/database-instance";
import {
  AWS,
  type IamPolicy,
  type Request,
  type SynthesizedRole,
  contextOf,
  decide,
  managedPoliciesOf,
  policyOf,
  resolve,
  roleOf,
  sampleOf,
} from "../iam-simulation";
import { functionsOf, synthApp } from "../synth";

const CI = { repository: "acme/lambda-rds-iam" };
const iam = (resource: string) => `arn:${AWS.partition}:iam::${AWS.accountId}:${resource}`;
const lambdaFunction = (name: string) => `arn:${AWS.partition}:lambda:${AWS.region}:${AWS.accountId}:function:${name}`;
const awsManaged = (name: string) => `arn:${AWS.partition}:iam::aws:policy/${name}`;
/** What AWS grants with the one AWS managed policy the service attaches (fixtures/aws-managed-policies/). */
const AWS_MANAGED: Record<string, IamPolicy> = {
  [awsManaged(ENHANCED_MONITORING_POLICY)]: JSON.parse(
    readFileSync(join(__dirname, "../fixtures/aws-managed-policies/AmazonRDSEnhancedMonitoringRole.json"), "utf8"),
  ),
};

/** Both stacks of each checked-in environment, with CI roles, as IAM would hold them once applied. */
function environment(name: string) {
  const withCi = Object.fromEntries(ENVIRONMENTS.map(([environment]) => [environment, { ci: CI }]));
  const { config, service, state } = synthApp({ overrides: withCi }).find((environment) => environment.name === name)!;
  const prefix = `lambda-rds-iam-${name}`;
  const boundaryArn = resolve(state.json, state.ref("aws_iam_policy", "service-role-boundary/policy", "arn"));
  const boundary = policyOf(state.json, state.resource("aws_iam_policy", "service-role-boundary/policy").policy);
  const deployRole = roleOf(state.json, state.resource("aws_iam_role", "ci/deploy-role"));
  const deploy = managedPoliciesOf(state.json, deployRole);
  const roles = Object.fromEntries(Object.entries(service.all("aws_iam_role")).map(([path, block]) => [path, roleOf(service.json, block)]));
  /** What the deploy role may do. */
  const asDeployRole = (request: Omit<Request, "principal">) => decide({ principal: deployRole.arn, ...request }, deploy);
  /** What a service role may do with `policies`, within the boundary. */
  const asBoundedRole = (role: SynthesizedRole, policies: IamPolicy[], request: Omit<Request, "principal">) =>
    decide({ principal: role.arn, ...request }, policies, boundary);
  return { config, service, state, prefix, boundaryArn, boundary, deploy, roles, asDeployRole, asBoundedRole };
}

const ENVIRONMENTS = loadStackConfigs({}).map(({ environment }) => [environment] as const);

describe.each(ENVIRONMENTS)("the %s service roles' permissions boundary", (name) => {
  const env = environment(name);
  const { database } = env.config;
  /** The roles the stack must make: the flow log's, every function's, and enhanced monitoring's and RDS Proxy's where they are on. */
  const rolePaths = [
    "network/flow-log-role",
    ...functionsOf(env.service).map(({ path }) => path.replace(/function$/, "role/role")),
    // A scheduled function's schedule has a role of its own, for EventBridge Scheduler.
    ...env.config.functions.filter((fn) => fn.trigger.kind === "schedule").map((fn) => `${fn.name}/schedule/role`),
    ...(database.monitoringIntervalSeconds > 0 ? ["database/monitoring-role"] : []),
    ...(database.proxy ? ["database-proxy/role"] : []),
  ];
  const { prefix, boundaryArn, boundary, roles } = env;
  const allowStatements = boundary.Statement.filter((statement) => statement.Effect === "Allow");
  const apiRole = () => roles["api/role/role"];

  it("is a managed policy of the state stack, named for the service", () => {
    expect(boundaryArn).toBe(iam(`policy/${prefix}-role-boundary`));
    expect(env.state.json.output.role_boundary_arn.value).toBe(env.state.ref("aws_iam_policy", "service-role-boundary/policy", "arn"));
  });

  it("is carried by every role of the service stack, each singled out by construct path", () => {
    expect(Object.keys(roles).sort()).toEqual([...rolePaths].sort());
    for (const path of Object.keys(roles)) expect([path, roles[path].boundary]).toEqual([path, boundaryArn]);
  });

  it("grants no IAM, STS or Organizations action, and no wildcard action", () => {
    expect(boundary.Statement.length).toBe(allowStatements.length);
    const actions = allowStatements.flatMap((statement) => {
      expect(statement.NotAction).toBeUndefined();
      return statement.Action!;
    });
    expect(actions.filter((action) => !/^[a-z0-9-]+:[A-Za-z]+$/.test(action) || /^(iam|sts|organizations):/.test(action))).toEqual([]);
  });

  it("allows every statement of every service role's policies: a permission the boundary lacks fails here", async () => {
    const refused: string[] = [];
    for (const [path, role] of Object.entries(roles)) {
      const policies = [
        ...role.inlinePolicies.map(({ policy }) => policy),
        ...role.managedPolicyArns.map((arn) => AWS_MANAGED[arn] ?? fail(arn)),
      ];
      const ownStatements = role.inlinePolicies
        .flatMap(({ policy }) => policy.Statement)
        .filter((statement) => statement.Effect === "Allow");
      for (const statement of ownStatements) {
        for (const action of statement.Action!) {
          for (const resource of statement.Resource!) {
            const decision = await env.asBoundedRole(role, policies, {
              action,
              resource: sampleOf(resource),
              context: contextOf(statement),
            });
            if (decision !== "Allowed") refused.push(`${path}: ${statement.Sid ?? ""} ${action} on ${resource}: ${decision}`);
          }
        }
      }
    }
    expect(refused).toEqual([]);
  });

  if (name === "prod") {
    it("allows what RDS enhanced monitoring does with its role's AWS managed policy, on RDSOSMetrics only", async () => {
      const role = roles["database/monitoring-role"];
      const policies = role.managedPolicyArns.map((arn) => AWS_MANAGED[arn]);
      const group = `arn:${AWS.partition}:logs:${AWS.region}:${AWS.accountId}:log-group:RDSOSMetrics`;
      const as = (action: string, resource: string) => env.asBoundedRole(role, policies, { action, resource });
      for (const action of ["logs:CreateLogGroup", "logs:PutRetentionPolicy"]) expect(await as(action, group)).toBe("Allowed");
      for (const action of ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams", "logs:GetLogEvents"]) {
        expect(await as(action, `${group}:log-stream:instance`)).toBe("Allowed");
      }
      // The managed policy allows every RDS* group; the boundary only the one monitoring writes.
      expect(await as("logs:CreateLogGroup", group.replace("RDSOSMetrics", "RDSOther"))).toBe("ImplicitlyDenied");
    });
  }

  describe("caps a role the deploy role fills with Action * (what running code with such a role could do)", () => {
    const everything: IamPolicy = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: ["*"], Resource: ["*"] }] };
    const stateObject = `arn:${AWS.partition}:s3:::lambda-rds-iam-${name}-tfstate-${env.config.accountId}/lambda-rds-iam/${name}.tfstate`;
    const dataBucket = `arn:${AWS.partition}:s3:::lambda-rds-iam-${name}-data-${env.config.accountId}`;
    const key = `arn:${AWS.partition}:kms:${AWS.region}:${AWS.accountId}:key/0000`;
    const sourceFunction = {
      "lambda:SourceFunctionArn": `arn:${AWS.partition}:lambda:${AWS.region}:${AWS.accountId}:function:${prefix}-ingest`,
    };
    it.each<[string, Omit<Request, "principal">]>([
      ["assume another role", { action: "sts:AssumeRole", resource: iam("role/github-actions/lambda-rds-iam-deploy") }],
      ["create a user", { action: "iam:CreateUser", resource: iam("user/backdoor") }],
      [
        "pass a role",
        { action: "iam:PassRole", resource: iam(`role/${prefix}-api`), context: { "iam:PassedToService": "lambda.amazonaws.com" } },
      ],
      ["read the state", { action: "s3:GetObject", resource: stateObject }],
      [
        "read the data bucket outside incoming/",
        { action: "s3:GetObject", resource: `${dataBucket}/results/x.json`, context: sourceFunction },
      ],
      [
        "read incoming/ with credentials taken out of the functions",
        { action: "s3:GetObject", resource: `${dataBucket}/incoming/x.jsonl` },
      ],
      ["decrypt with a key directly, not through a service", { action: "kms:Decrypt", resource: key }],
      [
        "read a secret RDS does not manage",
        { action: "secretsmanager:GetSecretValue", resource: `arn:aws:secretsmanager:${AWS.region}:${AWS.accountId}:secret:other` },
      ],
      [
        "connect as the database's master user",
        { action: "rds-db:connect", resource: `arn:aws:rds-db:${AWS.region}:${AWS.accountId}:dbuser:db-ABC/admin` },
      ],
      [
        "invoke a function",
        { action: "lambda:InvokeFunction", resource: `arn:aws:lambda:${AWS.region}:${AWS.accountId}:function:${prefix}-api` },
      ],
      [
        "send to another service's queue",
        { action: "sqs:SendMessage", resource: `arn:aws:sqs:${AWS.region}:${AWS.accountId}:other-queue` },
      ],
    ])("it cannot %s", async (_, request) => {
      expect(await env.asBoundedRole(apiRole(), [everything], request)).toBe("ImplicitlyDenied");
    });
  });
});

describe.each(ENVIRONMENTS)("the %s deploy role", (name) => {
  const env = environment(name);
  const { prefix, boundaryArn, roles } = env;
  const role = (suffix: string) => iam(`role/${prefix}-${suffix}`);
  const withBoundary = { "iam:PermissionsBoundary": boundaryArn };
  const invokePolicyArn = resolve(env.state.json, env.state.ref("aws_iam_policy", "api-invoke-policy/policy", "arn"));

  describe("may do what a deploy needs, for each service role", () => {
    const paths = Object.keys(roles);
    it.each(paths)("%s: create it with the boundary, set the boundary on it, update and delete it", async (path) => {
      const arn = roles[path].arn;
      for (const action of ["iam:CreateRole", "iam:PutRolePermissionsBoundary"]) {
        expect([action, await env.asDeployRole({ action, resource: arn, context: withBoundary })]).toEqual([action, "Allowed"]);
      }
      for (const action of ["iam:UpdateAssumeRolePolicy", "iam:TagRole", "iam:DeleteRole"]) {
        expect([action, await env.asDeployRole({ action, resource: arn })]).toEqual([action, "Allowed"]);
      }
    });

    it.each(paths)("%s: write and delete its inline policies, attach and detach its AWS managed policies", async (path) => {
      const { arn, inlinePolicies, managedPolicyArns } = roles[path];
      expect(inlinePolicies.length + managedPolicyArns.length).toBeGreaterThan(0);
      for (const action of inlinePolicies.length > 0 ? ["iam:PutRolePolicy", "iam:DeleteRolePolicy"] : []) {
        expect([action, await env.asDeployRole({ action, resource: arn, context: withBoundary })]).toEqual([action, "Allowed"]);
      }
      for (const policyArn of managedPolicyArns) {
        for (const action of ["iam:AttachRolePolicy", "iam:DetachRolePolicy"]) {
          const context = { ...withBoundary, "iam:PolicyARN": policyArn };
          expect([action, await env.asDeployRole({ action, resource: arn, context })]).toEqual([action, "Allowed"]);
        }
      }
    });

    it("let S3 invoke the ingest function, the one invoker the service grants", async () => {
      const context = { "lambda:Principal": "s3.amazonaws.com" };
      expect(await env.asDeployRole({ action: "lambda:AddPermission", resource: lambdaFunction(`${prefix}-ingest`), context })).toBe(
        "Allowed",
      );
    });

    it.each(paths)("%s: pass it to the service its trust policy names", async (path) => {
      const { arn, services } = roles[path];
      expect(services).toHaveLength(1);
      expect(await env.asDeployRole({ action: "iam:PassRole", resource: arn, context: { "iam:PassedToService": services[0] } })).toBe(
        "Allowed",
      );
    });
  });

  describe("cannot make anyone more powerful", () => {
    it.each<[string, Omit<Request, "principal">]>([
      ["create a role without the boundary", { action: "iam:CreateRole", resource: role("escalate") }],
      [
        "create a role bounded by an administrator policy",
        { action: "iam:CreateRole", resource: role("escalate"), context: { "iam:PermissionsBoundary": awsManaged("AdministratorAccess") } },
      ],
      ["write an inline policy into a role without the boundary", { action: "iam:PutRolePolicy", resource: role("unbounded") }],
      ["delete an inline policy of a role without the boundary", { action: "iam:DeleteRolePolicy", resource: role("unbounded") }],
      [
        "swap a role's boundary for another",
        {
          action: "iam:PutRolePermissionsBoundary",
          resource: role("api"),
          context: { "iam:PermissionsBoundary": awsManaged("PowerUserAccess") },
        },
      ],
      [
        "attach even the service's own AWS managed policy to a role without the boundary",
        {
          action: "iam:AttachRolePolicy",
          resource: role("unbounded"),
          context: { "iam:PolicyARN": awsManaged(ENHANCED_MONITORING_POLICY) },
        },
      ],
      ["create a role outside the service's names", { action: "iam:CreateRole", resource: iam("role/escalate"), context: withBoundary }],
      [
        "pass a service role to another service",
        { action: "iam:PassRole", resource: role("api"), context: { "iam:PassedToService": "ec2.amazonaws.com" } },
      ],
      ["create a managed policy (the service has none)", { action: "iam:CreatePolicy", resource: iam(`policy/${prefix}-escalate`) }],
    ])("it cannot %s", async (_, request) => {
      expect(await env.asDeployRole(request)).toBe("ImplicitlyDenied");
    });

    it.each([
      ["another account", "999999999999", `${prefix}-api`],
      ["anyone", "*", `${prefix}-api`],
      ["a service the stack does not grant", "events.amazonaws.com", `${prefix}-api`],
      ["S3, on a function outside the service", "s3.amazonaws.com", "other-function"],
    ])("it cannot let %s invoke a function through its resource policy", async (_, principal, functionName) => {
      const context = { "lambda:Principal": principal };
      expect(await env.asDeployRole({ action: "lambda:AddPermission", resource: lambdaFunction(functionName), context })).toBe(
        "ImplicitlyDenied",
      );
    });

    it.each(["AdministratorAccess", "PowerUserAccess", "IAMFullAccess", "job-function/SystemAdministrator"])(
      "it cannot attach %s to a bounded service role",
      async (policy) => {
        const context = { ...withBoundary, "iam:PolicyARN": awsManaged(policy) };
        expect(await env.asDeployRole({ action: "iam:AttachRolePolicy", resource: role("api"), context })).toBe("ImplicitlyDenied");
      },
    );

    it("is denied, explicitly, removing any role's boundary", async () => {
      for (const resource of [role("api"), iam("role/anything")]) {
        expect(await env.asDeployRole({ action: "iam:DeleteRolePermissionsBoundary", resource, context: withBoundary })).toBe(
          "ExplicitlyDenied",
        );
      }
    });

    it.each(["iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:DeletePolicyVersion", "iam:DeletePolicy"])(
      "is denied, explicitly, %s on the boundary and on the invoke policy callers hold",
      async (action) => {
        expect(invokePolicyArn).toBe(iam(`policy/${prefix}-api-invoke`));
        for (const resource of [boundaryArn, invokePolicyArn]) {
          expect([resource, await env.asDeployRole({ action, resource })]).toEqual([resource, "ExplicitlyDenied"]);
        }
      },
    );
  });
});

function fail(arn: string): never {
  throw new Error(`${arn}: add what it allows to fixtures/aws-managed-policies/`);
}
