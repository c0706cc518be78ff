import { Construct } from "constructs";
import { Lazy } from "cdktf";
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import type { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import { AwsContext } from "../core/aws-context";
import { customerManagedKey } from "./kms-key";

export interface LogEncryptionProps {
  /** Prefix of names, e.g. "lambda-rds-iam-dev". */
  readonly namePrefix: string;
  /** Terraform refuses any plan that destroys the key (and with it every log event it encrypted). @default false */
  readonly preventDestroy?: boolean;
}

export interface EncryptedLogGroupProps {
  readonly name: string;
  readonly retentionDays: number;
}

/**
 * The environment's log groups, each encrypted with one customer-managed key that CloudWatch Logs may
 * use for exactly these groups. One key for all of them, not one per group: the encryption context
 * already binds each use to its group, and a key costs a dollar a month. Not the database key: that
 * one is for RDS and Secrets Manager only, lives as long as the data, and logs hold neither.
 */
export class LogEncryption extends Construct {
  readonly key: KmsKey;
  private readonly groupArns: string[] = [];

  constructor(scope: Construct, id: string, props: LogEncryptionProps) {
    super(scope, id);
    const context = AwsContext.of(this);
    this.key = customerManagedKey(this, "key", {
      description: `${props.namePrefix} CloudWatch log groups`,
      alias: `alias/${props.namePrefix}-logs`,
      preventDestroy: props.preventDestroy,
      usage: [
        // CloudWatch Logs of this region encrypts and decrypts events with the key itself, for the groups
        // made here only (filled in at synthesis, once every group exists); AWS's statement for log groups.
        {
          sid: "CloudWatchLogsForTheseGroups",
          principals: [{ type: "Service", identifiers: [`logs.${context.region}.${context.dnsSuffix}`] }],
          actions: ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
          resources: ["*"],
          condition: [
            {
              test: "ArnEquals",
              variable: "kms:EncryptionContext:aws:logs:arn",
              values: Lazy.listValue({ produce: () => this.groupArns }),
            },
          ],
        },
      ],
    });
  }

  /** A log group encrypted with the key and kept for `retentionDays`, made in `scope` so its address stays where it was. */
  logGroup(scope: Construct, id: string, props: EncryptedLogGroupProps): CloudwatchLogGroup {
    this.groupArns.push(AwsContext.of(this).arn("logs", `log-group:${props.name}`));
    return new CloudwatchLogGroup(scope, id, { name: props.name, retentionInDays: props.retentionDays, kmsKeyId: this.key.arn });
  }
}
