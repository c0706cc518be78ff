/** The alarms' thresholds, each per 5-minute period: the configuration schema takes its defaults from here. */
export const ALARM_DEFAULTS = {
  /** Failed invocations of one function: any failure is worth a look. */
  functionErrors: 1,
  /** Throttled invocations of one function: a few are a burst Lambda retries; more mean its reserved concurrency is too low. */
  functionThrottles: 5,
  /** IAM authentications the database refused: tokens are re-signed before they expire, so any refusal is a fault. */
  iamAuthFailures: 1,
  /** Connections, as a percentage of the instance class's max_connections. */
  connectionsPercent: 80,
  /**
   * Free storage, as a percentage of the initial allocation: storage autoscaling acts below 10% of the current
   * allocation, so this fires when it did not keep up or reached its ceiling.
   */
  freeStoragePercent: 5,
  /** Proxy sessions pinned to one database connection. */
  proxyPinnedSessions: 10,
} as const;

/** Where the alarm topic delivers. */
export type SubscriptionProtocol = "email" | "https" | "sqs" | "lambda" | "sms";

export interface AlarmSubscription {
  readonly protocol: SubscriptionProtocol;
  /** An address, URL, ARN or phone number, as the protocol takes it. */
  readonly endpoint: string;
}
