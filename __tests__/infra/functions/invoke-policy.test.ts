import { loadStackConfigs } from "../../../src/config/environments";
import { ServiceStack } from "../../../src/service-stack";
import { StateStack } from "../../../src/state/state-stack";
import { resolve } from "../iam-simulation";
import { projectRoot, synthesize, testApp } from "../synth";

describe("the API function's invoke policy", () => {
  const [config] = loadStackConfigs({});
  const app = testApp();
  const serviceStack = new ServiceStack(app, config.environment, { config, projectRoot });
  const service = synthesize(serviceStack);
  const state = synthesize(new StateStack(app, `${config.environment}-state`, { config, service: serviceStack }));

  it("is made by the state stack, which the deploy role cannot change, and output there for the platform team", () => {
    expect(state.resource("aws_iam_policy", "api-invoke-policy/policy")).toEqual({
      name: "lambda-rds-iam-dev-api-invoke",
      description: "Invoke the lambda-rds-iam-dev-api function (its versions and aliases included) and nothing else",
      policy: state.dataRef("aws_iam_policy_document", "api-invoke-policy/document", "json"),
    });
    expect(state.json.output.invoke_policy_arn.value).toBe(state.ref("aws_iam_policy", "api-invoke-policy/policy", "arn"));
    expect(service.json.output.invoke_policy_arn).toBeUndefined();
  });

  it("allows invoking the service stack's API function, its versions and aliases, and nothing else", () => {
    const functionArn = resolve(service.json, service.ref("aws_lambda_function", "api/function", "arn"));
    const [statement, ...others] = state.data("aws_iam_policy_document", "api-invoke-policy/document").statement;
    expect(others).toEqual([]);
    expect({ ...statement, resources: statement.resources.map((arn: string) => resolve(state.json, arn)) }).toEqual({
      sid: "InvokeThisFunction",
      actions: ["lambda:InvokeFunction"],
      resources: [functionArn, `${functionArn}:*`],
    });
  });
});
