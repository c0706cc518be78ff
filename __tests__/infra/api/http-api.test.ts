import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { ITEM_ROUTES } from "../../../functions/api/routes";
import { HTTP_METHODS, routeKey } from "../../../functions/shared/http-event";
import { ACCESS_LOG_FORMAT, HttpApi, STAGE } from "../../../src/api/http-api";
import { HttpApiInvokePolicy } from "../../../src/api/http-api-invoke-policy";
import type { HttpRoute } from "../../../src/api/http-route";
import { HttpApiAlarms } from "../../../src/monitoring/http-api-alarms";
import { AWS, type IamPolicy, decide, policyOf, resolve } from "../iam-simulation";
import { serviceStack, synthesize } from "../synth";

/** The items function's routes as its handler declares them, the writes throttled on their own. */
const ROUTES: HttpRoute[] = ITEM_ROUTES.map(({ method, path }) => ({
  method,
  path,
  authorization: "AWS_IAM",
  ...(method !== "GET" && { throttle: { rateLimit: 5, burstLimit: 10 } }),
}));
const isRead = (route: HttpRoute) => route.method === "GET";

const stack = serviceStack();
// Any function will do: the construct is tested on its own, beside the API the items function's trigger makes.
const fn = stack.functions.ingest;
const api = new HttpApi(stack, "http-api", {
  name: "lambda-rds-iam-dev-api-test",
  function: fn,
  routes: ROUTES,
  throttle: { rateLimit: 20, burstLimit: 40 },
  logs: stack.logs,
});
// Another API with the same routes: a caller of the first must not reach it.
new HttpApi(stack, "other-http-api", { name: "lambda-rds-iam-dev-other", function: fn, routes: ROUTES, logs: stack.logs });
const callerRole = (name: string) =>
  new IamRole(stack, name, {
    name,
    assumeRolePolicy: JSON.stringify({
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${AWS.accountId}:root` }, Action: "sts:AssumeRole" }],
    }),
  });
api.grantInvoke(callerRole("items-writer"));
api.grantRead(callerRole("items-reader"));
const callerPolicy = (access: "invoke" | "read") =>
  new HttpApiInvokePolicy(stack, `${access}-policy`, {
    name: `lambda-rds-iam-dev-api-test-${access}`,
    apiName: "lambda-rds-iam-dev-api-test",
    executionArn: api.api.executionArn,
    routes: ROUTES,
    access,
  });
callerPolicy("invoke");
callerPolicy("read");
new HttpApiAlarms(stack, "http-alarms", { api, topic: stack.alarms.topic, name: "api-test-http" });
const s = synthesize(stack);

const apiId = s.ref("aws_apigatewayv2_api", "http-api/api", "id");
const executionArn = s.ref("aws_apigatewayv2_api", "http-api/api", "execution_arn");
/** The API's resources of a type, by route key where they have one. */
const ofThisApi = (type: string) => Object.values(s.all(type)).filter((block) => block.api_id === apiId);

describe("HttpApi", () => {
  it("is an HTTP API whose every declared route, and no other, is authorized by IAM and goes to the function with payload 2.0", () => {
    expect(s.resource("aws_apigatewayv2_api", "http-api/api")).toEqual({
      name: "lambda-rds-iam-dev-api-test",
      protocol_type: "HTTP",
      description: expect.stringContaining("SigV4"),
    });
    const [integration, ...more] = ofThisApi("aws_apigatewayv2_integration");
    expect(more).toEqual([]);
    expect(integration).toEqual({
      api_id: apiId,
      integration_type: "AWS_PROXY",
      integration_method: "POST",
      integration_uri: s.ref("aws_lambda_function", "ingest/function", "arn"),
      payload_format_version: "2.0",
    });
    const target = `integrations/${s.ref("aws_apigatewayv2_integration", "http-api/integration", "id")}`;
    const routes = ofThisApi("aws_apigatewayv2_route");
    expect(routes.map((route) => route.route_key).sort()).toEqual(ROUTES.map(routeKey).sort());
    for (const route of routes) expect(route).toEqual({ api_id: apiId, route_key: route.route_key, authorization_type: "AWS_IAM", target });
  });

  it("lets API Gateway invoke the function for each route by that route's own source ARN, and for nothing else", () => {
    const permissions = Object.values(s.all("aws_lambda_permission")).filter((p) => p.source_arn.startsWith(`${executionArn}/`));
    expect(permissions.map((p) => p.source_arn).sort()).toEqual(ROUTES.map((r) => `${executionArn}/$default/${r.method}${r.path}`).sort());
    for (const permission of permissions) {
      expect(permission).toEqual({
        statement_id: expect.stringMatching(/^lambda-rds-iam-dev-api-test-[a-z0-9-]+$/),
        action: "lambda:InvokeFunction",
        function_name: s.ref("aws_lambda_function", "ingest/function", "function_name"),
        principal: "apigateway.amazonaws.com",
        source_arn: permission.source_arn,
      });
      expect(permission.source_arn.slice(executionArn.length)).not.toContain("*");
    }
    expect(new Set(permissions.map((p) => p.statement_id)).size).toBe(permissions.length);
  });

  it("serves one auto-deployed $default stage, throttled as configured and per route where a route says", () => {
    const stage = s.resource("aws_apigatewayv2_stage", "http-api/stage");
    expect(stage).toMatchObject({
      api_id: apiId,
      name: "$default",
      auto_deploy: true,
      default_route_settings: { throttling_rate_limit: 20, throttling_burst_limit: 40 },
    });
    const own = ROUTES.filter((route) => route.throttle);
    expect(own.length).toBeGreaterThan(0);
    expect(stage.route_settings).toEqual(
      own.map((route) => ({
        route_key: routeKey(route),
        throttling_rate_limit: route.throttle!.rateLimit,
        throttling_burst_limit: route.throttle!.burstLimit,
      })),
    );
    const routeAddresses = Object.keys(s.all("aws_apigatewayv2_route"))
      .filter((path) => path.startsWith("http-api/"))
      .map((path) => s.ref("aws_apigatewayv2_route", path, "id").slice(2, -4));
    expect([...stage.depends_on].sort()).toEqual(routeAddresses.sort());
    expect(s.resource("aws_apigatewayv2_stage", "other-http-api/stage").default_route_settings).toEqual({
      throttling_rate_limit: 50,
      throttling_burst_limit: 100,
    });
  });

  it("logs each request in JSON to an encrypted group with retention: who, which route, what came of it, and nothing of the request itself", () => {
    const group = s.resource("aws_cloudwatch_log_group", "http-api/access-logs");
    expect(group).toEqual({
      name: "/aws/apigateway/lambda-rds-iam-dev-api-test",
      retention_in_days: 30,
      kms_key_id: s.ref("aws_kms_key", "logs/key", "arn"),
    });
    const keyPolicy = s
      .data("aws_iam_policy_document", "logs/key-policy")
      .statement.find((st: { sid: string }) => st.sid === "CloudWatchLogsForTheseGroups");
    expect(keyPolicy.condition[0].values).toContain(
      `arn:${s.aws.partition}:logs:${s.aws.region}:${s.aws.accountId}:log-group:${group.name}`,
    );

    const { access_log_settings: settings } = s.resource("aws_apigatewayv2_stage", "http-api/stage");
    expect(settings.destination_arn).toBe(s.ref("aws_cloudwatch_log_group", "http-api/access-logs", "arn"));
    const format = JSON.parse(settings.format);
    expect(format).toEqual(ACCESS_LOG_FORMAT);
    expect(format).toMatchObject({
      requestId: "$context.requestId",
      routeKey: "$context.routeKey",
      status: "$context.status",
      responseLatency: "$context.responseLatency",
      callerArn: "$context.identity.userArn",
    });
    // Every field is one context variable, none of which carries a header, the path's values, the query or a body.
    for (const variable of Object.values(format) as string[]) {
      expect(variable).toMatch(/^\$context\.[A-Za-z.]+$/);
      expect(variable).not.toMatch(/header|authorization|path|query|body|request\.|requestOverride|responseOverride/i);
    }
  });

  it("alarms on 5XX answers and p99 latency of its stage, to the environment's topic", () => {
    const topicArn = s.ref("aws_sns_topic", "alarms/topic/topic", "arn");
    const stage = {
      namespace: "AWS/ApiGateway",
      dimensions: { ApiId: apiId, Stage: "$default" },
      comparison_operator: "GreaterThanOrEqualToThreshold",
    };
    const notify = { alarm_actions: [topicArn], ok_actions: [topicArn], actions_enabled: true, treat_missing_data: "notBreaching" };
    expect(s.resource("aws_cloudwatch_metric_alarm", "http-alarms/server-errors")).toMatchObject({
      alarm_name: "lambda-rds-iam-dev-api-test-http-5xx",
      ...stage,
      ...notify,
      metric_name: "5xx",
      statistic: "Sum",
      threshold: 1,
    });
    expect(s.resource("aws_cloudwatch_metric_alarm", "http-alarms/latency-p99")).toMatchObject({
      alarm_name: "lambda-rds-iam-dev-api-test-http-latency-p99",
      ...stage,
      ...notify,
      metric_name: "Latency",
      extended_statistic: "p99",
      threshold: 3000,
    });
  });

  describe("refuses before anything is written", () => {
    const attempt = (routes: unknown[]) => () =>
      new HttpApi(serviceStack(), "http-api", { name: "bad", function: fn, routes: routes as HttpRoute[], logs: stack.logs });
    const get = { method: "GET", path: "/items", authorization: "AWS_IAM" };

    it("a route without IAM authorization, by its type and at run time", () => {
      // @ts-expect-error a route without authorization does not type-check
      const untyped: HttpRoute = { method: "GET", path: "/items" };
      // @ts-expect-error nor one open to anyone
      const open: HttpRoute = { method: "GET", path: "/items", authorization: "NONE" };
      for (const route of [untyped, open]) {
        expect(attempt([route])).toThrow('HttpApi bad: routes.0.authorization must be "AWS_IAM": every route is called with SigV4');
      }
    });

    it.each([
      ["the same route twice", [get, get], "routes.1 declares GET /items twice; declare each route once"],
      ["a greedy path", [{ ...get, path: "/{proxy+}" }], 'routes.0.path must be a path like "/items/{id}"'],
      ["a method of every route", [{ ...get, method: "ANY" }], "routes.0.method must be one of GET, PUT, DELETE, POST, PATCH"],
      ["no route", [], "routes must declare at least one route"],
      [
        "a throttle past the account's quota",
        [{ ...get, throttle: { rateLimit: 20_000, burstLimit: 10 } }],
        "routes.0.throttle.rateLimit must be between 1 and 10000",
      ],
    ])("%s", (_, routes, message) => {
      expect(attempt(routes)).toThrow(`HttpApi bad: ${message}`);
    });
  });
});

describe("the callers' policies, simulated: allowed exactly their routes", () => {
  const requestArn = (arn: string, method: string, path: string, stage = STAGE) =>
    `${resolve(s.json, arn)}/${stage}/${method}${path.replace(/\{[^}]+\}/g, "item-1")}`;
  const thisApi = executionArn;
  const otherApi = s.ref("aws_apigatewayv2_api", "other-http-api/api", "execution_arn");
  const managed = (path: string): IamPolicy => policyOf(s.json, s.resource("aws_iam_policy", path).policy);
  const inline = (rolePath: string): IamPolicy => {
    const [policy, ...more] = Object.values(s.policiesOf(rolePath));
    expect(more).toEqual([]);
    return policyOf(s.json, policy.policy);
  };
  const callers: [string, () => IamPolicy, (route: HttpRoute) => boolean][] = [
    ["grantInvoke's role policy", () => inline("items-writer"), () => true],
    ["the invoke managed policy", () => managed("invoke-policy/policy"), () => true],
    ["grantRead's role policy", () => inline("items-reader"), isRead],
    ["the read managed policy", () => managed("read-policy/policy"), isRead],
  ];
  const paths = [...new Set(ROUTES.map((route) => route.path))];
  const declared = new Set(ROUTES.map(routeKey));
  const ask = (policy: IamPolicy, resource: string) =>
    decide({ principal: `arn:aws:iam::${AWS.accountId}:role/caller`, action: "execute-api:Invoke", resource }, [policy]);

  it.each(callers)("%s", async (_, policyOf, allowed) => {
    const policy = policyOf();
    expect(ROUTES.filter(allowed).length).toBeGreaterThan(0);
    for (const route of ROUTES) {
      const expected = allowed(route) ? "Allowed" : "ImplicitlyDenied";
      expect([routeKey(route), await ask(policy, requestArn(thisApi, route.method, route.path))]).toEqual([routeKey(route), expected]);
      // Not the same route of another API, nor of another stage of this one.
      expect(await ask(policy, requestArn(otherApi, route.method, route.path))).toBe("ImplicitlyDenied");
      expect(await ask(policy, requestArn(thisApi, route.method, route.path, "test"))).toBe("ImplicitlyDenied");
    }
    // Nor a method the API does not declare on any of its paths.
    for (const path of paths) {
      for (const method of HTTP_METHODS.filter((m) => !declared.has(`${m} ${path}`))) {
        expect([method, path, await ask(policy, requestArn(thisApi, method, path))]).toEqual([method, path, "ImplicitlyDenied"]);
      }
    }
  });
});
