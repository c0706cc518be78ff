import { Construct } from "constructs";
import { DataAwsIamPolicyDocument } from "@cdktf/provider-aws/lib/data-aws-iam-policy-document";
import type { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import { LambdaFunctionEventInvokeConfig } from "@cdktf/provider-aws/lib/lambda-function-event-invoke-config";
import { SqsQueue } from "@cdktf/provider-aws/lib/sqs-queue";
import { SqsQueuePolicy } from "@cdktf/provider-aws/lib/sqs-queue-policy";
import { AwsContext } from "../core/aws-context";
import { accountPrincipal, customerManagedKey, viaService } from "../storage/kms-key";
import { denyInsecureTransport } from "../storage/policy-statements";
import type { VpcFunction } from "./vpc-function";

/** Failed events wait 14 days, SQS's longest: still there to be read and replayed after a long weekend and a week. */
export const FAILURE_RETENTION_SECONDS = 14 * 24 * 3600;
/** Lambda's two retries, about one and then two minutes later: they ride out a multi-AZ failover or a short throttle. */
export const ASYNC_MAX_RETRY_ATTEMPTS = 2;
/** An event not processed within an hour (throttled, the database down) goes to the queue rather than waiting Lambda's default 6 hours. */
export const ASYNC_MAX_EVENT_AGE_SECONDS = 3600;

export interface FailureQueueProps {
  /** Queue name, e.g. "lambda-rds-iam-dev-api-failures"; also the key's alias. */
  readonly name: string;
  /** The function whose failed asynchronous invocations land in the queue. */
  readonly function: VpcFunction;
  /** Terraform refuses any plan that destroys the queue's key (and with it every failure queued). @default false */
  readonly preventDestroy?: boolean;
}

/**
 * The on-failure destination of a function's asynchronous invocations: an SQS queue that only the
 * function's role may send to. A record holds the event (item data too), the error and the request id,
 * so the queue has a key of its own that only SQS may use, for this queue.
 */
export class FailureQueue extends Construct {
  readonly queue: SqsQueue;
  readonly key: KmsKey;

  constructor(scope: Construct, id: string, props: FailureQueueProps) {
    super(scope, id);
    const { name, function: fn } = props;
    const context = AwsContext.of(this);

    this.key = customerManagedKey(this, "key", {
      description: `${name}: failed asynchronous invocations`,
      alias: `alias/${name}`,
      preventDestroy: props.preventDestroy,
      usage: [
        // SQS encrypts and decrypts this queue's messages for principals whose own IAM policies allow it:
        // the function's role sending, an operator reading. The ARN is built, not referenced: the queue needs the key first.
        {
          sid: "UseThroughSqsForThisQueue",
          principals: accountPrincipal(context),
          actions: ["kms:GenerateDataKey", "kms:Decrypt"],
          resources: ["*"],
          condition: [
            viaService(context, "sqs"),
            { test: "StringEquals", variable: "kms:EncryptionContext:aws:sqs:arn", values: [context.arn("sqs", name)] },
          ],
        },
      ],
    });
    this.queue = new SqsQueue(this, "queue", { name, kmsMasterKeyId: this.key.arn, messageRetentionSeconds: FAILURE_RETENTION_SECONDS });

    const policy = new DataAwsIamPolicyDocument(this, "queue-policy-document", {
      statement: [
        {
          sid: "OnlyTheFunctionSends",
          effect: "Deny",
          actions: ["sqs:SendMessage"],
          principals: [{ type: "*", identifiers: ["*"] }],
          resources: [this.queue.arn],
          condition: [{ test: "ArnNotEquals", variable: "aws:PrincipalArn", values: [fn.role.arn] }],
        },
        denyInsecureTransport("sqs", [this.queue.arn]),
      ],
    });
    new SqsQueuePolicy(this, "queue-policy", { queueUrl: this.queue.url, policy: policy.json });

    // Lambda sends the record with the function's role, and checks it may when the destination is set.
    const send = fn.role.allow("send-failures", [
      { sid: "SendToFailureQueue", actions: ["sqs:SendMessage"], resources: [this.queue.arn] },
      {
        sid: "EncryptFailuresThroughSqs",
        actions: ["kms:GenerateDataKey", "kms:Decrypt"],
        resources: [this.key.arn],
        condition: [viaService(context, "sqs")],
      },
    ]);
    new LambdaFunctionEventInvokeConfig(this, "async-invocation", {
      functionName: fn.functionName,
      maximumRetryAttempts: ASYNC_MAX_RETRY_ATTEMPTS,
      maximumEventAgeInSeconds: ASYNC_MAX_EVENT_AGE_SECONDS,
      destinationConfig: { onFailure: { destination: this.queue.arn } },
      dependsOn: [send],
    });
  }
}
