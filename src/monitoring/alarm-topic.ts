import { createHash } from "node:crypto";
import { Construct } from "constructs";
import { CloudwatchMetricAlarm, type CloudwatchMetricAlarmConfig } from "@cdktf/provider-aws/lib/cloudwatch-metric-alarm";
import { DataAwsIamPolicyDocument } from "@cdktf/provider-aws/lib/data-aws-iam-policy-document";
import type { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import { SnsTopic } from "@cdktf/provider-aws/lib/sns-topic";
import { SnsTopicPolicy } from "@cdktf/provider-aws/lib/sns-topic-policy";
import { SnsTopicSubscription } from "@cdktf/provider-aws/lib/sns-topic-subscription";
import { AwsContext } from "../core/aws-context";
import type { AlarmSubscription } from "./alarm-props";
import { accountPrincipal, customerManagedKey, viaService } from "../storage/kms-key";
import { denyInsecureTransport } from "../storage/policy-statements";

/** An alarm looks at 5-minute periods and alarms on the first one past its threshold, unless it says otherwise. */
export const ALARM_PERIOD_SECONDS = 300;

export interface AlarmTopicProps {
  /** Prefix of the topic's and every alarm's name, e.g. "lambda-rds-iam-dev": the topic is `<prefix>-alarms`. */
  readonly namePrefix: string;
  /** Who hears the alarms (email, HTTPS, SQS, Lambda, SMS); none when empty. */
  readonly subscriptions: readonly AlarmSubscription[];
  /** Terraform refuses any plan that destroys the topic's key. @default false */
  readonly preventDestroy?: boolean;
}

/** What an alarm watches; its name, period, evaluation and actions are the topic's. */
export type AlarmProps = Pick<
  CloudwatchMetricAlarmConfig,
  "namespace" | "metricName" | "dimensions" | "statistic" | "extendedStatistic" | "threshold" | "comparisonOperator" | "treatMissingData"
> & {
  /** Appended to the name prefix: `<prefix>-<name>`. */
  readonly name: string;
  /** What it means when it fires, and where to look. */
  readonly description: string;
  /**
   * Looks at `evaluationPeriods` periods of `periodSeconds` and fires when every one of them is past the threshold.
   * @default one period of ALARM_PERIOD_SECONDS
   */
  readonly window?: { readonly periodSeconds: number; readonly evaluationPeriods: number };
};

/**
 * The environment's alarm topic: SNS encrypted with a key of its own, which CloudWatch may use only for
 * this environment's alarms (`aws:SourceArn`, `aws:SourceAccount`), as may the account's principals
 * through SNS. Only those alarms may publish; subscriptions come from configuration.
 */
export class AlarmTopic extends Construct {
  readonly topic: SnsTopic;
  readonly key: KmsKey;
  private readonly namePrefix: string;

  constructor(scope: Construct, id: string, props: AlarmTopicProps) {
    super(scope, id);
    const { namePrefix } = props;
    this.namePrefix = namePrefix;
    const context = AwsContext.of(this);
    const name = `${namePrefix}-alarms`;
    const fromTheseAlarms = [
      { test: "ArnLike", variable: "aws:SourceArn", values: [context.arn("cloudwatch", `alarm:${namePrefix}-*`)] },
      { test: "StringEquals", variable: "aws:SourceAccount", values: [context.accountId] },
    ];

    this.key = customerManagedKey(this, "key", {
      description: `${name}: alarm notifications`,
      alias: `alias/${name}`,
      preventDestroy: props.preventDestroy,
      usage: [
        // CloudWatch encrypts the notifications it publishes to the topic, for this environment's alarms only.
        {
          sid: "CloudWatchAlarmsPublish",
          principals: [{ type: "Service", identifiers: ["cloudwatch.amazonaws.com"] }],
          actions: ["kms:Decrypt", "kms:GenerateDataKey*"],
          resources: ["*"],
          condition: fromTheseAlarms,
        },
        // An operator publishing a test notification, with an IAM policy that allows it.
        {
          sid: "UseThroughSns",
          principals: accountPrincipal(context),
          actions: ["kms:Decrypt", "kms:GenerateDataKey*"],
          resources: ["*"],
          condition: [viaService(context, "sns")],
        },
      ],
    });
    this.topic = new SnsTopic(this, "topic", { name, kmsMasterKeyId: this.key.arn });

    const policy = new DataAwsIamPolicyDocument(this, "topic-policy-document", {
      statement: [
        {
          sid: "CloudWatchAlarmsPublish",
          principals: [{ type: "Service", identifiers: ["cloudwatch.amazonaws.com"] }],
          actions: ["sns:Publish"],
          resources: [this.topic.arn],
          condition: fromTheseAlarms,
        },
        denyInsecureTransport("sns", [this.topic.arn]),
      ],
    });
    new SnsTopicPolicy(this, "topic-policy", { arn: this.topic.arn, policy: policy.json });

    for (const subscription of props.subscriptions) {
      // Named by what it is, so removing one subscription leaves the others' addresses alone.
      const id = `subscription-${subscription.protocol}-${createHash("sha256").update(subscription.endpoint).digest("hex").slice(0, 12)}`;
      new SnsTopicSubscription(this, id, { topicArn: this.topic.arn, protocol: subscription.protocol, endpoint: subscription.endpoint });
    }
  }

  /** An alarm named `<prefix>-<name>` that notifies this topic when it fires and when it clears; by default on the first 5-minute period past its threshold. */
  alarm(scope: Construct, id: string, props: AlarmProps): CloudwatchMetricAlarm {
    const { name, description, window, ...metric } = props;
    const { periodSeconds, evaluationPeriods } = window ?? { periodSeconds: ALARM_PERIOD_SECONDS, evaluationPeriods: 1 };
    return new CloudwatchMetricAlarm(scope, id, {
      alarmName: `${this.namePrefix}-${name}`,
      alarmDescription: description,
      ...metric,
      period: periodSeconds,
      evaluationPeriods,
      datapointsToAlarm: evaluationPeriods,
      actionsEnabled: true,
      alarmActions: [this.topic.arn],
      okActions: [this.topic.arn],
    });
  }
}
