import { ITEM_ROUTES } from "../../../functions/api/routes";
import { routeKey } from "../../../functions/shared/http-event";
import { parseServiceConfig } from "../../../src/config/environments";
import { AWS, FOUND_API_ID, decide, policyOf } from "../iam-simulation";
import { MINIMAL, synthStack, synthStateStack } from "../synth";

const config = parseServiceConfig({ ...MINIMAL }, "test");
const s = synthStack();
const state = synthStateStack();
const triggered = config.functions.flatMap((fn) => (fn.trigger.kind === "http" ? [{ ...fn, trigger: fn.trigger }] : []));

describe("functions with an HTTP trigger", () => {
  it("include the items function, on every route its handler serves, each authorized by IAM", () => {
    const api = triggered.find((fn) => fn.name === "api");
    expect(api?.trigger.routes).toEqual(ITEM_ROUTES.map(({ method, path }) => ({ method, path, authorization: "AWS_IAM" })));
  });

  describe.each(triggered.map((fn) => [fn.name, fn] as const))("%s", (name, fn) => {
    const functionName = `lambda-rds-iam-dev-${name}`;
    const keys = fn.trigger.routes.map(routeKey).sort();
    const apiId = s.ref("aws_apigatewayv2_api", `${name}/http-api/api`, "id");

    it("gets an API named after it whose routes are exactly the declared ones, each invoking it by its own source ARN", () => {
      expect(s.resource("aws_apigatewayv2_api", `${name}/http-api/api`)).toMatchObject({ name: functionName, protocol_type: "HTTP" });
      const routes = Object.values(s.all("aws_apigatewayv2_route")).filter((route) => route.api_id === apiId);
      expect(routes.map((route) => [route.route_key, route.authorization_type]).sort()).toEqual(keys.map((key) => [key, "AWS_IAM"]));
      const executionArn = s.ref("aws_apigatewayv2_api", `${name}/http-api/api`, "execution_arn");
      const permissions = Object.values(s.all("aws_lambda_permission")).filter((p) => p.principal === "apigateway.amazonaws.com");
      const ofThisFunction = permissions.filter(
        (p) => p.function_name === s.ref("aws_lambda_function", `${name}/function`, "function_name"),
      );
      expect(ofThisFunction.map((p) => p.source_arn).sort()).toEqual(
        fn.trigger.routes.map((route) => `${executionArn}/$default/${route.method}${route.path}`).sort(),
      );
    });

    it("outputs its endpoint; its callers' policies, every route or the GET ones, are the state stack's", () => {
      expect(s.json.output[`${fn.outputPrefix}http_api_endpoint`].value).toBe(
        s.ref("aws_apigatewayv2_api", `${name}/http-api/api`, "api_endpoint"),
      );
      expect(s.json.resource.aws_iam_policy).toBeUndefined();
      for (const access of ["invoke", "read"]) {
        expect(state.resource("aws_iam_policy", `${name}-http-${access}-policy/policy`)).toMatchObject({
          name: `${functionName}-http-${access}`,
        });
        expect(state.json.output[`${fn.outputPrefix}http_${access}_policy_arn`].value).toBe(
          state.ref("aws_iam_policy", `${name}-http-${access}-policy/policy`, "arn"),
        );
      }
      // Found by the API's name: the function's.
      expect(state.data("aws_apigatewayv2_apis", `${name}-http-api`)).toEqual({ name: functionName, protocol_type: "HTTP" });
    });

    it.each([
      ["invoke", () => true],
      ["read", (route: { method: string }) => route.method === "GET"],
    ] as const)(
      "lets callers holding its %s policy call exactly their routes of its API, and nothing of another",
      async (access, allowed) => {
        const policy = policyOf(state.json, state.resource("aws_iam_policy", `${name}-http-${access}-policy/policy`).policy);
        const request = (apiId: string, method: string, path: string) => ({
          principal: `arn:aws:iam::${AWS.accountId}:role/caller`,
          action: "execute-api:Invoke",
          resource: `arn:aws:execute-api:${AWS.region}:${AWS.accountId}:${apiId}/$default/${method}${path.replace(/\{[^}]+\}/g, "item-1")}`,
        });
        for (const route of fn.trigger.routes) {
          expect([routeKey(route), await decide(request(FOUND_API_ID, route.method, route.path), [policy])]).toEqual([
            routeKey(route),
            allowed(route) ? "Allowed" : "ImplicitlyDenied",
          ]);
          expect(await decide(request("z9y8x7w6v5", route.method, route.path), [policy])).toBe("ImplicitlyDenied");
        }
      },
    );

    it("keeps its direct invoke policy in the state stack", () => {
      expect(state.resource("aws_iam_policy", `${name}-invoke-policy/policy`)).toMatchObject({ name: `${functionName}-invoke` });
    });

    it("has the API's 5XX and p99 latency alarms, to the environment's topic", () => {
      const topicArn = s.ref("aws_sns_topic", "alarms/topic/topic", "arn");
      for (const [id, metric] of [
        ["server-errors", "5xx"],
        ["latency-p99", "Latency"],
      ]) {
        expect(s.resource("aws_cloudwatch_metric_alarm", `alarms/${name}-trigger/${id}`)).toMatchObject({
          metric_name: metric,
          dimensions: { ApiId: apiId, Stage: "$default" },
          alarm_actions: [topicArn],
        });
      }
    });
  });

  it("cannot declare a route without IAM authorization", () => {
    const open = { functions: { api: { trigger: { kind: "http", routes: [{ method: "GET", path: "/items" }] } } } };
    expect(() => parseServiceConfig({ ...MINIMAL, ...open }, "test")).toThrow(
      'functions.api.trigger.routes.0.authorization: must be "AWS_IAM": every route is called with SigV4 and allowed by IAM',
    );
  });
});
