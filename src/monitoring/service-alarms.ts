import { Construct } from "constructs";
import { withDefaults } from "../core/with-defaults";
import type { DatabaseInstance } from "../database/database-instance";
import type { DatabaseProxy } from "../database/database-proxy";
import { maxConnections } from "../database/instance-classes";
import type { ServiceFunction } from "../functions/service-function";
import { ALARM_DEFAULTS, type AlarmSubscription } from "./alarm-props";
import { AlarmTopic } from "./alarm-topic";
import { DatabaseAlarms } from "./database-alarms";
import { FunctionAlarms } from "./function-alarms";
import { ProxyAlarms } from "./proxy-alarms";

export interface ServiceAlarmsProps {
  /** Prefix of the topic's and the alarms' names, e.g. "lambda-rds-iam-dev". */
  readonly namePrefix: string;
  /** The functions to watch: each one's alarms carry its name and take its thresholds where it declares them. */
  readonly functions: readonly ServiceFunction[];
  readonly database: DatabaseInstance;
  /** The instance's class, whose max_connections the connections threshold is a share of. */
  readonly instanceClass: string;
  /** The instance's initial storage, which the free-storage threshold is a share of. */
  readonly allocatedStorageGb: number;
  /** Its pinned sessions are watched when present. */
  readonly proxy?: DatabaseProxy;
  /**
   * Who hears the alarms.
   * @default none (the alarms still show in the console)
   */
  readonly subscriptions?: readonly AlarmSubscription[];
  /**
   * Terraform refuses any plan that destroys the alarm topic's key.
   * @default false
   */
  readonly keyPreventDestroy?: boolean;
  /** @default 1 */
  readonly functionErrors?: number;
  /** @default 5 */
  readonly functionThrottles?: number;
  /** @default 1 */
  readonly iamAuthFailures?: number;
  /** @default 80 */
  readonly connectionsPercent?: number;
  /**
   * max_connections of the instance.
   * @default worked out from instanceClass (src/database/instance-classes.ts)
   */
  readonly maxConnections?: number;
  /** @default 5 */
  readonly freeStoragePercent?: number;
  /** @default 10 */
  readonly proxyPinnedSessions?: number;
}

/** Every alarm of the environment, all to one encrypted topic. */
export class ServiceAlarms extends Construct {
  readonly topic: AlarmTopic;

  constructor(scope: Construct, id: string, props: ServiceAlarmsProps) {
    super(scope, id);
    const settings = withDefaults(ALARM_DEFAULTS, props);
    const { namePrefix } = props;
    this.topic = new AlarmTopic(this, "topic", {
      namePrefix,
      subscriptions: props.subscriptions ?? [],
      preventDestroy: props.keyPreventDestroy,
    });
    const topic = this.topic;

    for (const fn of props.functions) {
      const { name, alarms } = fn.config;
      new FunctionAlarms(this, name, {
        function: fn,
        failures: fn.failures,
        topic,
        name,
        errors: alarms.errors ?? settings.functionErrors,
        throttles: alarms.throttles ?? settings.functionThrottles,
      });
      fn.trigger.alarms?.(this, `${name}-trigger`, { topic, name, fn });
    }

    const connections = props.maxConnections ?? maxConnections(props.instanceClass);
    if (connections === undefined) {
      throw new Error(
        `ServiceAlarms: max_connections of ${props.instanceClass} is unknown; set maxConnections (alarms.maxConnections) or add the class's memory to src/database/instance-classes.ts`,
      );
    }
    new DatabaseAlarms(this, "database", {
      database: props.database,
      topic,
      namePrefix,
      iamAuthFailures: settings.iamAuthFailures,
      connections: Math.floor((connections * settings.connectionsPercent) / 100),
      freeStorageGb: (props.allocatedStorageGb * settings.freeStoragePercent) / 100,
    });
    if (props.proxy) new ProxyAlarms(this, "proxy", { proxy: props.proxy, topic, pinnedSessions: settings.proxyPinnedSessions });
  }
}
