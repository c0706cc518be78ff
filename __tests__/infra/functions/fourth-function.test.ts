import { diagramOf } from "../../../scripts/diagram/diagram-graph";
import { reviewInfrastructure } from "../../../scripts/review/review-diff";
import { SynthesizedStack } from "../../../scripts/stacks/synthesized-stack";
import { loadStackConfigs } from "../../../src/config/environments";
import { ServiceStack } from "../../../src/service-stack";
import { StateStack } from "../../../src/state/state-stack";
import { REPORTS_FUNCTION } from "../../fixtures/functions/reports/declaration";
import { AWS, decide, managedPoliciesOf, policyOf, resolve, roleOf } from "../iam-simulation";
import { projectRoot, synthesize, synthesizedJson, testApp } from "../synth";

/**
 * One entry declares a fourth function (its handler: __tests__/fixtures/functions/reports/); nothing else
 * is written for it. Each piece every function gets is checked for it, in an environment without and
 * one with RDS Proxy, both with CI roles.
 */
const CI = { repository: "acme/lambda-rds-iam" };

function environment(name: string, functions: Record<string, unknown> = { reports: REPORTS_FUNCTION }) {
  const override = { [name]: { ci: CI, functions } };
  const config = loadStackConfigs({ LAMBDA_RDS_IAM_CONFIG: JSON.stringify(override) }).find((c) => c.environment === name)!;
  const app = testApp();
  const serviceStack = new ServiceStack(app, name, { config, projectRoot });
  const json = synthesizedJson(serviceStack);
  const service = synthesize(serviceStack);
  const state = synthesize(new StateStack(app, `${name}-state`, { config, service: serviceStack }));
  return { config, serviceStack, json, service, state, prefix: `lambda-rds-iam-${name}` };
}

describe.each(["dev", "prod"])("a fourth function declared by one entry, in %s", (name) => {
  const { config, serviceStack, json, service: s, state, prefix } = environment(name);
  const functionName = `${prefix}-reports`;
  const fn = s.resource("aws_lambda_function", "reports/function");
  const group = s.ref("aws_security_group", "reports/security-group", "id");
  const endpoint = config.database.proxy ? "database-proxy" : "database";
  const endpointGroup = s.ref("aws_security_group", `${endpoint}/security-group`, "id");
  const boundaryArn = resolve(state.json, state.ref("aws_iam_policy", "service-role-boundary/policy", "arn"));
  const boundary = policyOf(state.json, state.resource("aws_iam_policy", "service-role-boundary/policy").policy);
  const role = roleOf(s.json, s.resource("aws_iam_role", "reports/role/role"));
  const rolePolicies = role.inlinePolicies.map(({ policy }) => policy);
  /** A dbuser ARN as the role's policy names it once Terraform has resolved the endpoint's id. */
  const dbUserArn = (user: string) =>
    resolve(s.json, s.data("aws_iam_policy_document", "reports/role/role/rds-connect-reports-document").statement[0].resources[0]).replace(
      /\/reports$/,
      `/${user}`,
    );

  it("is a Lambda of its own name and source, with its own role (bounded) and security group, in the private subnets", () => {
    expect(fn).toMatchObject({
      function_name: functionName,
      description: `${functionName}: ${REPORTS_FUNCTION.description}`,
      role: s.ref("aws_iam_role", "reports/role/role", "arn"),
      vpc_config: { security_group_ids: [group] },
    });
    expect(fn.vpc_config.subnet_ids).toEqual(s.resource("aws_lambda_function", "api/function").vpc_config.subnet_ids);
    expect(serviceStack.functions.reports.bundle.zipPath).toMatch(/reports\.zip$/);
    expect(role.boundary).toBe(boundaryArn);
    expect(role.services).toEqual(["lambda.amazonaws.com"]);
  });

  it("connects as its own user, named in its environment, with both halves of its MySQL path", () => {
    expect(fn.environment.variables).toMatchObject({ DB_USER: "reports", DB_NAME: "app" });
    const mysql = { ip_protocol: "tcp", from_port: 3306, to_port: 3306 };
    expect(s.rulesOf("egress", group)).toEqual([
      { security_group_id: group, referenced_security_group_id: endpointGroup, ...mysql, description: expect.any(String) },
    ]);
    expect(s.rulesOf("ingress", endpointGroup)).toContainEqual({
      security_group_id: endpointGroup,
      referenced_security_group_id: group,
      ...mysql,
      description: `MySQL from Lambda ${functionName}`,
    });
  });

  it("may rds-db:connect as exactly its own user, through the instance or the proxy, within the boundary", async () => {
    const [connect] = s.data("aws_iam_policy_document", "reports/role/role/rds-connect-reports-document").statement;
    const [apiConnect] = s.data("aws_iam_policy_document", "api/role/role/rds-connect-app_user-document").statement;
    // The same endpoint as every function (the proxy's prx- id when there is one), as its own user only.
    expect(connect.resources).toEqual([apiConnect.resources[0].replace(/\/app_user$/, "/reports")]);
    expect(connect.resources[0]).toContain(config.database.proxy ? "aws_db_proxy." : "aws_db_instance.");
    expect(connect.actions).toEqual(["rds-db:connect"]);
    const as = (user: string) =>
      decide({ principal: role.arn, action: "rds-db:connect", resource: dbUserArn(user) }, rolePolicies, boundary);
    expect(await as("app_user")).toBe("ImplicitlyDenied");
    expect(await as("reports")).toBe("Allowed");
    expect(boundary.Statement.find((statement) => statement.Sid === "ConnectAsServiceUsers")?.Resource).toContain(
      `arn:${AWS.partition}:rds-db:${AWS.region}:${AWS.accountId}:dbuser:*/reports`,
    );
    if (config.database.proxy) {
      expect(Object.keys(s.policiesOf("database-proxy/role"))).toContain("database-proxy/role/rds-connect-reports");
    }
  });

  it("is created with its user and grants by the migrate function", () => {
    const grants = JSON.parse(s.resource("aws_lambda_function", "bootstrap/migrate/function").environment.variables.DB_GRANTS);
    expect(grants.reports).toEqual({ items: ["SELECT"] });
    expect(JSON.parse(s.resource("aws_lambda_invocation", "bootstrap/run").input).grants.reports).toEqual({ items: ["SELECT"] });
  });

  it("has a failure queue of its own for failed asynchronous invocations, and its alarms on the environment's topic", () => {
    expect(s.resource("aws_sqs_queue", "reports/failures/queue").name).toBe(`${functionName}-failures`);
    expect(s.resource("aws_lambda_function_event_invoke_config", "reports/failures/async-invocation").destination_config).toEqual({
      on_failure: { destination: s.ref("aws_sqs_queue", "reports/failures/queue", "arn") },
    });
    const topic = s.ref("aws_sns_topic", "alarms/topic/topic", "arn");
    for (const alarm of ["errors", "throttles", "failures-queued"]) {
      expect(s.resource("aws_cloudwatch_metric_alarm", `alarms/reports/${alarm}`)).toMatchObject({
        alarm_name: `${prefix}-reports-${alarm}`,
        alarm_actions: [topic],
      });
    }
  });

  it("has its outputs, and an invoke policy for its callers that the deploy role cannot rewrite", async () => {
    expect(s.json.output.reports_function_name.value).toBe(s.ref("aws_lambda_function", "reports/function", "function_name"));
    expect(s.json.output.reports_role_arn.value).toBe(s.ref("aws_iam_role", "reports/role/role", "arn"));
    expect(s.json.output.reports_failure_queue_url.value).toBe(s.ref("aws_sqs_queue", "reports/failures/queue", "url"));
    const invoke = state.ref("aws_iam_policy", "reports-invoke-policy/policy", "arn");
    expect(state.json.output.reports_invoke_policy_arn.value).toBe(invoke);
    const callers = policyOf(state.json, state.resource("aws_iam_policy", "reports-invoke-policy/policy").policy);
    const functionArn = `arn:${AWS.partition}:lambda:${AWS.region}:${AWS.accountId}:function:${functionName}`;
    const asCaller = (resource: string) =>
      decide({ principal: "arn:aws:iam::111111111111:role/caller", action: "lambda:InvokeFunction", resource }, [callers]);
    expect(await asCaller(functionArn)).toBe("Allowed");
    expect(await asCaller(functionArn.replace("-reports", "-api"))).toBe("ImplicitlyDenied");

    const deployRole = roleOf(state.json, state.resource("aws_iam_role", "ci/deploy-role"));
    const asDeployRole = (action: string, resource: string, context = {}) =>
      decide({ principal: deployRole.arn, action, resource, context }, managedPoliciesOf(state.json, deployRole));
    expect(await asDeployRole("iam:CreatePolicyVersion", resolve(state.json, invoke))).toBe("ExplicitlyDenied");
    expect(await asDeployRole("lambda:CreateFunction", functionArn)).toBe("Allowed");
    expect(await asDeployRole("iam:CreateRole", role.arn, { "iam:PermissionsBoundary": boundaryArn })).toBe("Allowed");
  });

  it("is drawn in the diagram, with its path to the database and its failure queue", () => {
    const diagram = diagramOf(new SynthesizedStack(name, json))!;
    const node = diagram.nodes.find((candidate) => candidate.label[0] === `λ ${functionName}`)!;
    expect(node.group).toBe("tier_private");
    const to = (kind: string) => diagram.edges.filter((edge) => edge.from === node.id && edge.kind === kind).map((edge) => edge.label);
    expect(to("network")).toContain("tcp 3306");
    expect(to("iam")).toContain("rds-db:connect as reports");
    expect(to("event")).toContain("on failure");
  });

  it("shows in the review as additions only, each under its own construct or the derived ones, and replaces nothing", () => {
    const before = environment(name, {});
    const review = reviewInfrastructure({ [name]: before.json }, { [name]: json });
    const changes = review.stacks.flatMap((stack) => stack.changes);
    const added = changes.filter((change) => change.kind === "added").map((change) => change.path);
    expect(added).toEqual(
      expect.arrayContaining(["reports/function", "reports/role/role", "reports/security-group", "reports/failures/queue"]),
    );
    expect(changes.filter((change) => change.kind === "removed")).toEqual([]);
    expect(changes.flatMap((change) => change.attributes ?? []).filter((attribute) => attribute.replaces)).toEqual([]);
    const elsewhere = changes
      .filter((change) => change.kind !== "added" && !change.path.startsWith("reports/"))
      .map((change) => change.path);
    expect(elsewhere.sort()).toEqual(
      ["bootstrap/migrate/function", "bootstrap/run", "logs/key", ...(config.database.proxy ? ["database-proxy/proxy"] : [])].sort(),
    );
  });
});
