import { Construct } from "constructs";
import type { DatabaseProxy } from "../database/database-proxy";
import type { AlarmTopic } from "./alarm-topic";

export interface ProxyAlarmsProps {
  readonly proxy: DatabaseProxy;
  readonly topic: AlarmTopic;
  /** Client sessions pinned to a database connection at which the alarm fires. */
  readonly pinnedSessions: number;
}

/**
 * RDS Proxy's alarm: sessions pinned to one database connection (session state the proxy cannot move:
 * SET, user variables, locks, temporary tables, server-side prepared statements) are not multiplexed.
 */
export class ProxyAlarms extends Construct {
  constructor(scope: Construct, id: string, props: ProxyAlarmsProps) {
    super(scope, id);
    const proxyName = props.proxy.proxy.name;
    props.topic.alarm(this, "pinned-sessions", {
      name: "proxy-pinned-sessions",
      description: `${proxyName} has ${props.pinnedSessions} or more sessions pinned to a database connection: they are not multiplexed, so the pool serves fewer clients`,
      namespace: "AWS/RDS",
      metricName: "DatabaseConnectionsCurrentlySessionPinned",
      dimensions: { ProxyName: proxyName },
      statistic: "Maximum",
      comparisonOperator: "GreaterThanOrEqualToThreshold",
      threshold: props.pinnedSessions,
      treatMissingData: "missing",
    });
  }
}
