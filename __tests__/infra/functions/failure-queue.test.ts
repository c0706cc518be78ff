import { SERVICE_FUNCTIONS } from "../../../src/config/functions";
import { synthStack } from "../synth";

const s = synthStack();
const declared = Object.keys(SERVICE_FUNCTIONS);

// S3 and the scheduler invoke functions asynchronously, as callers may invoke the API function: all get the same destination.
describe.each(declared)("FailureQueue of the %s function", (fn) => {
  const queueArn = s.ref("aws_sqs_queue", `${fn}/failures/queue`, "arn");
  const keyArn = s.ref("aws_kms_key", `${fn}/failures/key`, "arn");
  const roleArn = s.ref("aws_iam_role", `${fn}/role/role`, "arn");
  const { partition, region, accountId: account, dnsSuffix } = s.aws;
  const viaSqs = { test: "StringEquals", variable: "kms:ViaService", values: [`sqs.${region}.${dnsSuffix}`] };

  it("is the on-failure destination of the function's asynchronous invocations, after two retries within an hour", () => {
    const config = s.resource("aws_lambda_function_event_invoke_config", `${fn}/failures/async-invocation`);
    expect(config).toMatchObject({
      function_name: s.ref("aws_lambda_function", `${fn}/function`, "function_name"),
      maximum_retry_attempts: 2,
      maximum_event_age_in_seconds: 3600,
      destination_config: { on_failure: { destination: queueArn } },
    });
    expect(config.qualifier).toBeUndefined();
    // Lambda checks the role may send there when the destination is set.
    expect(config.depends_on).toEqual([s.ref("aws_iam_role_policy", `${fn}/role/send-failures`, "id").slice(2, -4)]);
  });

  it("keeps failures 14 days, encrypted with a rotating key of its own", () => {
    expect(s.resource("aws_sqs_queue", `${fn}/failures/queue`)).toEqual({
      name: `lambda-rds-iam-dev-${fn}-failures`,
      kms_master_key_id: keyArn,
      message_retention_seconds: 1209600,
    });
    expect(s.resource("aws_kms_key", `${fn}/failures/key`)).toMatchObject({
      enable_key_rotation: true,
      policy: s.dataRef("aws_iam_policy_document", `${fn}/failures/key-policy`, "json"),
    });
    expect(s.resource("aws_kms_alias", `${fn}/failures/key-alias`).name).toBe(`alias/lambda-rds-iam-dev-${fn}-failures`);
  });

  it("lets only SQS use the key, for this queue's messages and principals of the account that IAM allows", () => {
    const [administration, ...usage] = s.data("aws_iam_policy_document", `${fn}/failures/key-policy`).statement;
    expect(administration.sid).toBe("AccountAdministersKey");
    expect(usage).toEqual([
      {
        sid: "UseThroughSqsForThisQueue",
        principals: [{ type: "AWS", identifiers: [`arn:${partition}:iam::${account}:root`] }],
        actions: ["kms:GenerateDataKey", "kms:Decrypt"],
        resources: ["*"],
        condition: [
          viaSqs,
          {
            test: "StringEquals",
            variable: "kms:EncryptionContext:aws:sqs:arn",
            values: [`arn:${partition}:sqs:${region}:${account}:lambda-rds-iam-dev-${fn}-failures`],
          },
        ],
      },
    ]);
  });

  it("refuses messages from anyone but the function's role, and any request without TLS", () => {
    expect(s.resource("aws_sqs_queue_policy", `${fn}/failures/queue-policy`)).toEqual({
      queue_url: s.ref("aws_sqs_queue", `${fn}/failures/queue`, "url"),
      policy: s.dataRef("aws_iam_policy_document", `${fn}/failures/queue-policy-document`, "json"),
    });
    const everyone = [{ type: "*", identifiers: ["*"] }];
    expect(s.data("aws_iam_policy_document", `${fn}/failures/queue-policy-document`).statement).toEqual([
      {
        sid: "OnlyTheFunctionSends",
        effect: "Deny",
        actions: ["sqs:SendMessage"],
        principals: everyone,
        resources: [queueArn],
        condition: [{ test: "ArnNotEquals", variable: "aws:PrincipalArn", values: [roleArn] }],
      },
      {
        sid: "DenyInsecureTransport",
        effect: "Deny",
        actions: ["sqs:*"],
        principals: everyone,
        resources: [queueArn],
        condition: [{ test: "Bool", variable: "aws:SecureTransport", values: ["false"] }],
      },
    ]);
  });

  it("lets the function's role send to exactly this queue, encrypting through SQS with its key only", () => {
    expect(s.resource("aws_iam_role_policy", `${fn}/role/send-failures`)).toMatchObject({
      role: s.ref("aws_iam_role", `${fn}/role/role`, "name"),
      policy: s.dataRef("aws_iam_policy_document", `${fn}/role/send-failures-document`, "json"),
    });
    expect(s.data("aws_iam_policy_document", `${fn}/role/send-failures-document`).statement).toEqual([
      { sid: "SendToFailureQueue", actions: ["sqs:SendMessage"], resources: [queueArn] },
      { sid: "EncryptFailuresThroughSqs", actions: ["kms:GenerateDataKey", "kms:Decrypt"], resources: [keyArn], condition: [viaSqs] },
    ]);
  });
});

describe("FailureQueue", () => {
  it("is every declared function's only: the migrate function, invoked synchronously by Terraform, has none", () => {
    expect(Object.keys(s.all("aws_lambda_function_event_invoke_config"))).toEqual(declared.map((fn) => `${fn}/failures/async-invocation`));
    const queues = Object.keys(s.all("aws_sqs_queue"));
    expect(queues.filter((path) => path.includes("/failures/"))).toEqual(declared.map((fn) => `${fn}/failures/queue`));
    // The other queues are the schedules' dead-letter queues (FunctionSchedule), for what the scheduler could not deliver.
    for (const path of queues.filter((path) => !path.includes("/failures/"))) expect(path).toMatch(/^[a-z-]+\/schedule\/queue$/);
  });
});
