import type { Construct } from "constructs";
import { DataAwsIamPolicyDocument, type DataAwsIamPolicyDocumentStatement } from "@cdktf/provider-aws/lib/data-aws-iam-policy-document";
import type { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import { SqsQueue } from "@cdktf/provider-aws/lib/sqs-queue";
import { SqsQueuePolicy } from "@cdktf/provider-aws/lib/sqs-queue-policy";
import { AwsContext } from "../core/aws-context";
import { accountPrincipal, customerManagedKey, viaService } from "./kms-key";
import { denyInsecureTransport } from "./policy-statements";

export interface SenderOnlyQueueProps {
  /** Queue name, also the key's alias. */
  readonly name: string;
  /** What the queue holds, for the key's description. */
  readonly holds: string;
  /** The one role that may send to the queue. */
  readonly senderArn: string;
  /** Sid of the queue policy's statement that refuses every other sender, e.g. "OnlyTheFunctionSends". */
  readonly senderSid: string;
  readonly messageRetentionSeconds: number;
  /** Terraform refuses any plan that destroys the queue's key (and with it every message queued). @default false */
  readonly preventDestroy?: boolean;
}

export interface SenderOnlyQueue {
  readonly queue: SqsQueue;
  readonly key: KmsKey;
  /** What the sender's role needs: sending to this queue, and its key through SQS only. */
  sendStatements(sids: { send: string; encrypt: string }): DataAwsIamPolicyDocumentStatement[];
}

/**
 * An SQS queue that only one role may send to, over TLS only, encrypted with a key of its own that only SQS
 * may use, for this queue: its messages hold events (item data too) and errors. Made in `scope` itself
 * (`key`, `queue`, `queue-policy`...), so a queue keeps its Terraform address where it had one.
 */
export function senderOnlyQueue(scope: Construct, props: SenderOnlyQueueProps): SenderOnlyQueue {
  const { name } = props;
  const context = AwsContext.of(scope);
  const key = customerManagedKey(scope, "key", {
    description: `${name}: ${props.holds}`,
    alias: `alias/${name}`,
    preventDestroy: props.preventDestroy,
    usage: [
      // SQS encrypts and decrypts this queue's messages for principals whose own IAM policies allow it:
      // the sender, an operator reading. The ARN is built, not referenced: the queue needs the key first.
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
  const queue = new SqsQueue(scope, "queue", { name, kmsMasterKeyId: key.arn, messageRetentionSeconds: props.messageRetentionSeconds });

  const policy = new DataAwsIamPolicyDocument(scope, "queue-policy-document", {
    statement: [
      {
        sid: props.senderSid,
        effect: "Deny",
        actions: ["sqs:SendMessage"],
        principals: [{ type: "*", identifiers: ["*"] }],
        resources: [queue.arn],
        condition: [{ test: "ArnNotEquals", variable: "aws:PrincipalArn", values: [props.senderArn] }],
      },
      denyInsecureTransport("sqs", [queue.arn]),
    ],
  });
  new SqsQueuePolicy(scope, "queue-policy", { queueUrl: queue.url, policy: policy.json });

  return {
    queue,
    key,
    sendStatements: (sids) => [
      { sid: sids.send, actions: ["sqs:SendMessage"], resources: [queue.arn] },
      { sid: sids.encrypt, actions: ["kms:GenerateDataKey", "kms:Decrypt"], resources: [key.arn], condition: [viaService(context, "sqs")] },
    ],
  };
}
