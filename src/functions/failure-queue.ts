import { Construct } from "constructs";
import type { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import { LambdaFunctionEventInvokeConfig } from "@cdktf/provider-aws/lib/lambda-function-event-invoke-config";
import type { SqsQueue } from "@cdktf/provider-aws/lib/sqs-queue";
import { senderOnlyQueue } from "../storage/sender-only-queue";
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
 * function's role may send to (senderOnlyQueue). A record holds the event (item data too), the error
 * and the request id.
 */
export class FailureQueue extends Construct {
  readonly queue: SqsQueue;
  readonly key: KmsKey;

  constructor(scope: Construct, id: string, props: FailureQueueProps) {
    super(scope, id);
    const { name, function: fn } = props;
    const queue = senderOnlyQueue(this, {
      name,
      holds: "failed asynchronous invocations",
      senderArn: fn.role.arn,
      senderSid: "OnlyTheFunctionSends",
      messageRetentionSeconds: FAILURE_RETENTION_SECONDS,
      preventDestroy: props.preventDestroy,
    });
    this.queue = queue.queue;
    this.key = queue.key;

    // Lambda sends the record with the function's role, and checks it may when the destination is set.
    const send = fn.role.allow("send-failures", queue.sendStatements({ send: "SendToFailureQueue", encrypt: "EncryptFailuresThroughSqs" }));
    new LambdaFunctionEventInvokeConfig(this, "async-invocation", {
      functionName: fn.functionName,
      maximumRetryAttempts: ASYNC_MAX_RETRY_ATTEMPTS,
      maximumEventAgeInSeconds: ASYNC_MAX_EVENT_AGE_SECONDS,
      destinationConfig: { onFailure: { destination: this.queue.arn } },
      dependsOn: [send],
    });
  }
}
