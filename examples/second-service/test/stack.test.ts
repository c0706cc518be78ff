import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { Testing } from "cdktf";
import { ServiceStack, parseStackConfig } from "lambda-rds-iam";
import { FUNCTIONS } from "../functions";

const projectRoot = join(__dirname, "..");
const config = parseStackConfig({ project: "orders", environment: "dev", accountId: "333333333333" }, "test", {
  functions: FUNCTIONS,
  projectRoot,
});
const stack = JSON.parse(Testing.synth(new ServiceStack(Testing.app(), "dev", { config, projectRoot })));
type Lambda = { function_name: string; environment: { variables: Record<string, string> } };
const lambdas = Object.values<Lambda>(stack.resource.aws_lambda_function);

test("the orders function connects as its own user, and the bootstrap creates only that user", () => {
  const orders = lambdas.find((fn) => fn.function_name === "orders-dev-orders");
  assert.equal(orders?.environment.variables.DB_USER, "orders_app");
  const migrate = lambdas.find((fn) => fn.function_name === "orders-dev-migrate");
  assert.deepEqual(JSON.parse(migrate?.environment.variables.DB_GRANTS ?? "{}"), { orders_app: { orders: ["SELECT", "INSERT"] } });
});
