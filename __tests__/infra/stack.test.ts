import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type App, Testing } from "cdktf";
import { parseServiceConfig } from "../../src/config/environments";
import { ServiceStack } from "../../src/service-stack";
import { StateStack } from "../../src/state/state-stack";
import { MINIMAL, projectRoot, synthStack, testApp } from "./synth";

describe("ServiceStack", () => {
  const s = synthStack();

  it("keeps state in the environment's S3 bucket, KMS-encrypted and locked with S3-native lock files, under a key of its own", () => {
    expect(s.json.terraform.backend).toEqual({
      s3: {
        bucket: "lambda-rds-iam-dev-tfstate-111111111111",
        key: "lambda-rds-iam/dev.tfstate",
        region: "eu-west-1",
        encrypt: true,
        kms_key_id: "arn:aws:kms:eu-west-1:111111111111:alias/lambda-rds-iam-dev-tfstate-111111111111",
        allowed_account_ids: ["111111111111"],
        use_lockfile: true,
      },
    });
    expect(s.json.terraform.required_version).toBe(">= 1.10");
  });

  it("takes bucket, key prefix and region of the state from configuration, with a distinct key per stack", () => {
    const app = testApp();
    const state = { bucket: "acme-tfstate", keyPrefix: "platform/lambda-rds-iam", region: "us-east-1" };
    const keys = ["dev", "staging"].map((environment) => {
      const config = parseServiceConfig({ ...MINIMAL, environment, state }, "test");
      const stack = new ServiceStack(app, environment, { config, projectRoot });
      return JSON.parse(Testing.synth(stack)).terraform.backend.s3;
    });
    expect(keys).toEqual([
      expect.objectContaining({
        bucket: "acme-tfstate",
        key: "platform/lambda-rds-iam/dev.tfstate",
        region: "us-east-1",
        kms_key_id: "arn:aws:kms:us-east-1:111111111111:alias/acme-tfstate",
      }),
      expect.objectContaining({ bucket: "acme-tfstate", key: "platform/lambda-rds-iam/staging.tfstate", region: "us-east-1" }),
    ]);
  });

  it("keys the state under the project's name when no key prefix is configured", () => {
    const config = parseServiceConfig({ ...MINIMAL, project: "orders" }, "test");
    const backend = JSON.parse(Testing.synth(new ServiceStack(testApp(), "dev", { config, projectRoot }))).terraform.backend.s3;
    expect(backend).toMatchObject({ bucket: "orders-dev-tfstate-111111111111", key: "orders/dev.tfstate" });
  });

  it("configures the AWS provider for the configured region and account only, with tags on everything", () => {
    expect(s.json.provider.aws).toEqual([
      {
        region: "eu-west-1",
        allowed_account_ids: ["111111111111"],
        default_tags: [{ tags: { Project: "lambda-rds-iam", Environment: "dev", ManagedBy: "cdktf" } }],
      },
    ]);
  });

  it("adds the configured tags to every resource of both stacks, under the project's own, which they cannot replace", () => {
    const tags = { CostCentre: "platform-42", Owner: "orders team" };
    const tagged = parseServiceConfig({ ...MINIMAL, tags }, "test");
    const app = testApp();
    const service = new ServiceStack(app, "dev", { config: tagged, projectRoot });
    for (const stack of [service, new StateStack(app, "dev-state", { config: tagged, service })]) {
      expect(JSON.parse(Testing.synth(stack)).provider.aws[0].default_tags).toEqual([
        { tags: { ...tags, Project: "lambda-rds-iam", Environment: "dev", ManagedBy: "cdktf" } },
      ]);
    }
    expect(() => parseServiceConfig({ ...MINIMAL, tags: { "bad|key": "x" } }, "test")).toThrow("tags.bad|key: must be a tag key");
  });

  it("assumes the environment's deploy role, for the provider and the state alike, when one is configured", () => {
    const role = "arn:aws:iam::111111111111:role/deploy";
    const { json } = synthStack({ deployRoleArn: role });
    expect(json.provider.aws[0].assume_role).toEqual([{ role_arn: role, session_name: "lambda-rds-iam-dev" }]);
    expect(json.terraform.backend.s3.assume_role).toEqual({ role_arn: role });
  });

  // Nothing secret in any output of any environment: environment-rules.ts.
  it("outputs what operators and the other stacks need, each described", () => {
    const value = (name: string) => s.json.output[name].value;
    for (const [name, output] of Object.entries(s.json.output)) {
      expect({ name, described: typeof output.description === "string" && output.description.length > 0 }).toEqual({
        name,
        described: true,
      });
    }
    expect(value("vpc_id")).toBe(s.ref("aws_vpc", "network/vpc", "id"));
    expect(value("private_subnet_ids")).toEqual([0, 1].map((zone) => s.ref("aws_subnet", `network/private-subnet-${zone}`, "id")));
    expect(value("isolated_subnet_ids")).toEqual([0, 1].map((zone) => s.ref("aws_subnet", `network/isolated-subnet-${zone}`, "id")));
    expect(value("public_subnet_ids")).toEqual([0, 1].map((zone) => s.ref("aws_subnet", `network/public-subnet-${zone}`, "id")));
    expect(value("db_address")).toBe(s.ref("aws_db_instance", "database/instance", "address"));
    expect(value("db_port")).toBe("3306");
    expect(value("db_resource_id")).toBe(s.ref("aws_db_instance", "database/instance", "resource_id"));
    expect(value("alarm_topic_arn")).toBe(s.ref("aws_sns_topic", "alarms/topic/topic", "arn"));
  });

  it("outputs each declared function's name, ARN, role and failure queue under the function's prefix", () => {
    const functions = Object.values(s.stack.functions);
    expect(functions.length).toBeGreaterThan(0);
    for (const { name, outputPrefix } of functions.map((fn) => fn.config)) {
      const outputs = Object.fromEntries(
        ["function_name", "function_arn", "role_arn", "failure_queue_url", "failure_queue_arn"].map((key) => [
          key,
          s.json.output[`${outputPrefix}${key}`]?.value,
        ]),
      );
      expect({ name, outputs }).toEqual({
        name,
        outputs: {
          function_name: s.ref("aws_lambda_function", `${name}/function`, "function_name"),
          function_arn: s.ref("aws_lambda_function", `${name}/function`, "arn"),
          role_arn: s.ref("aws_iam_role", `${name}/role/role`, "arn"),
          failure_queue_url: s.ref("aws_sqs_queue", `${name}/failures/queue`, "url"),
          failure_queue_arn: s.ref("aws_sqs_queue", `${name}/failures/queue`, "arn"),
        },
      });
    }
  });

  it("writes the function zip where the plan expects it when fully synthesized", () => {
    const app = s.stack.node.root as App;
    app.synth();
    const stackDir = join(app.outdir, "stacks", "dev");
    const written = JSON.parse(readFileSync(join(stackDir, "cdk.tf.json"), "utf8"));
    const fn = Object.values(written.resource.aws_lambda_function)[0] as { filename: string };
    expect(readFileSync(join(stackDir, fn.filename)).equals(readFileSync(s.stack.functions.api.bundle.zipPath))).toBe(true);
  });
});
