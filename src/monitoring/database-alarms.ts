import { Construct } from "constructs";
import { CloudwatchLogMetricFilter } from "@cdktf/provider-aws/lib/cloudwatch-log-metric-filter";
import type { DatabaseInstance } from "../database/database-instance";
import type { AlarmTopic } from "./alarm-topic";

const GIB = 1024 ** 3;

export interface DatabaseAlarmsProps {
  readonly database: DatabaseInstance;
  readonly topic: AlarmTopic;
  /** Prefix of names, e.g. "lambda-rds-iam-dev"; also the namespace of the metric counted from the IAM authentication error log. */
  readonly namePrefix: string;
  /** Refused IAM authentications, per 5 minutes, at which the alarm fires. */
  readonly iamAuthFailures: number;
  /** Connections at which the connections alarm fires: a share of the class's max_connections. */
  readonly connections: number;
  /** Free storage, in GiB, at or below which the storage alarm fires. */
  readonly freeStorageGb: number;
}

/**
 * The instance's alarms: IAM authentication refused (counted from its iam-db-auth-error log, one event
 * per refusal), connections near max_connections, free storage low.
 */
export class DatabaseAlarms extends Construct {
  constructor(scope: Construct, id: string, props: DatabaseAlarmsProps) {
    super(scope, id);
    const { database, topic } = props;
    const identifier = database.instance.identifier;
    const rds = { namespace: "AWS/RDS", dimensions: { DBInstanceIdentifier: identifier } };

    const authErrors = database.logGroups["iam-db-auth-error"];
    const metricName = "IamAuthenticationErrors";
    // An empty pattern matches every event: that log holds nothing but refusals.
    new CloudwatchLogMetricFilter(this, "iam-auth-errors-filter", {
      name: `${props.namePrefix}-iam-auth-errors`,
      logGroupName: authErrors.name,
      pattern: "",
      metricTransformation: { name: metricName, namespace: props.namePrefix, value: "1", defaultValue: "0", unit: "Count" },
    });
    topic.alarm(this, "iam-auth-errors", {
      name: "database-iam-auth-errors",
      description: `${identifier} refused ${props.iamAuthFailures} or more IAM authentications in 5 minutes: see ${authErrors.name} for why (expired token, no such user, not IDENTIFIED WITH AWSAuthenticationPlugin)`,
      namespace: props.namePrefix,
      metricName,
      statistic: "Sum",
      comparisonOperator: "GreaterThanOrEqualToThreshold",
      threshold: props.iamAuthFailures,
      treatMissingData: "notBreaching",
    });
    topic.alarm(this, "connections", {
      ...rds,
      name: "database-connections",
      description: `${identifier} holds ${props.connections} or more connections, near its max_connections: new ones will soon be refused (ER_CON_COUNT_ERROR)`,
      metricName: "DatabaseConnections",
      statistic: "Maximum",
      comparisonOperator: "GreaterThanOrEqualToThreshold",
      threshold: props.connections,
      treatMissingData: "missing",
    });
    topic.alarm(this, "free-storage", {
      ...rds,
      name: "database-free-storage",
      description: `${identifier} has ${props.freeStorageGb} GiB or less of free storage: storage autoscaling did not keep up, or reached its maximum`,
      metricName: "FreeStorageSpace",
      statistic: "Minimum",
      comparisonOperator: "LessThanOrEqualToThreshold",
      threshold: props.freeStorageGb * GIB,
      treatMissingData: "missing",
    });
  }
}
