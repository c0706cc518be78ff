import { Construct } from "constructs";
import type { AlarmsConfig, DatabaseConfig } from "../config/stack-config";
import type { DatabaseInstance } from "../database/database-instance";
import type { DatabaseProxy } from "../database/database-proxy";
import { maxConnections } from "../database/instance-classes";
import type { FailureQueue } from "../functions/failure-queue";
import type { VpcFunction } from "../functions/vpc-function";
import { AlarmTopic } from "./alarm-topic";
import { DatabaseAlarms } from "./database-alarms";
import { FunctionAlarms } from "./function-alarms";
import { ProxyAlarms } from "./proxy-alarms";

/** A function with its on-failure destination. */
export type MonitoredFunction = VpcFunction & { readonly failures: FailureQueue };

export interface ServiceAlarmsProps {
  /** Prefix of the topic's and the alarms' names, e.g. "lambda-rds-iam-dev". */
  readonly namePrefix: string;
  /** Thresholds and subscriptions. */
  readonly config: AlarmsConfig;
  /** The instance's class and storage, which the connection and storage thresholds are shares of. */
  readonly databaseConfig: DatabaseConfig;
  /** Terraform refuses any plan that destroys the alarm topic's key. @default false */
  readonly preventDestroy?: boolean;
  /** The functions to watch, by the short name their alarms carry ("api", "ingest"). */
  readonly functions: Readonly<Record<string, MonitoredFunction>>;
  readonly database: DatabaseInstance;
  /** Its pinned sessions are watched when present. */
  readonly proxy?: DatabaseProxy;
}

/** Every alarm of the environment, all to one encrypted topic. */
export class ServiceAlarms extends Construct {
  readonly topic: AlarmTopic;

  constructor(scope: Construct, id: string, props: ServiceAlarmsProps) {
    super(scope, id);
    const { config, databaseConfig, namePrefix } = props;
    this.topic = new AlarmTopic(this, "topic", { namePrefix, subscriptions: config.subscriptions, preventDestroy: props.preventDestroy });
    const topic = this.topic;

    for (const [name, fn] of Object.entries(props.functions)) {
      new FunctionAlarms(this, name, {
        function: fn,
        failures: fn.failures,
        topic,
        name,
        errors: config.functionErrors,
        throttles: config.functionThrottles,
      });
    }

    const connections = config.maxConnections ?? maxConnections(databaseConfig.instanceClass);
    if (connections === undefined) {
      throw new Error(
        `ServiceAlarms: max_connections of ${databaseConfig.instanceClass} is unknown; set alarms.maxConnections or add the class's memory to src/database/instance-classes.ts`,
      );
    }
    new DatabaseAlarms(this, "database", {
      database: props.database,
      topic,
      namePrefix,
      iamAuthFailures: config.iamAuthFailures,
      connections: Math.floor((connections * config.connectionsPercent) / 100),
      freeStorageGb: (databaseConfig.allocatedStorageGb * config.freeStoragePercent) / 100,
    });
    if (props.proxy) new ProxyAlarms(this, "proxy", { proxy: props.proxy, topic, pinnedSessions: config.proxyPinnedSessions });
  }
}
