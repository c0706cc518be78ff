import { Construct } from "constructs";
import { type HttpApi, STAGE } from "../api/http-api";
import type { AlarmTopic } from "./alarm-topic";

/** The HTTP API alarms' thresholds, per 5-minute period. */
export const HTTP_API_ALARM_DEFAULTS = {
  /** Requests answered 5XX (the function's 500s, its failures and timeouts, API Gateway's own): any is worth a look. */
  serverErrors: 1,
  /**
   * p99 of the time API Gateway took to answer, in ms: warm requests take tens of milliseconds and a cold
   * start in the VPC about a second; past 3 s the database or the function's concurrency is the bottleneck.
   */
  latencyP99Ms: 3000,
} as const;

export interface HttpApiAlarmsProps {
  readonly api: HttpApi;
  readonly topic: AlarmTopic;
  /** Short name in the alarms' names, e.g. "api-http": `<prefix>-api-http-5xx`. */
  readonly name: string;
  /** @default HTTP_API_ALARM_DEFAULTS.serverErrors */
  readonly serverErrors?: number;
  /** @default HTTP_API_ALARM_DEFAULTS.latencyP99Ms */
  readonly latencyP99Ms?: number;
}

/** An HTTP API's alarms: 5XX answers and p99 latency of its stage, to the environment's topic. */
export class HttpApiAlarms extends Construct {
  constructor(scope: Construct, id: string, props: HttpApiAlarmsProps) {
    super(scope, id);
    const { api, topic, name } = props;
    const serverErrors = props.serverErrors ?? HTTP_API_ALARM_DEFAULTS.serverErrors;
    const latencyP99Ms = props.latencyP99Ms ?? HTTP_API_ALARM_DEFAULTS.latencyP99Ms;
    const stage = {
      namespace: "AWS/ApiGateway",
      dimensions: { ApiId: api.apiId, Stage: STAGE },
      comparisonOperator: "GreaterThanOrEqualToThreshold",
      // No requests, no data points: nothing is wrong.
      treatMissingData: "notBreaching",
    };
    topic.alarm(this, "server-errors", {
      ...stage,
      name: `${name}-5xx`,
      description: `${api.name} answered ${serverErrors} or more requests with a 5XX in 5 minutes: see its access log's integrationStatus and error, then the function's "error" lines`,
      metricName: "5xx",
      statistic: "Sum",
      threshold: serverErrors,
    });
    topic.alarm(this, "latency-p99", {
      ...stage,
      name: `${name}-latency-p99`,
      description: `${api.name} took ${latencyP99Ms} ms or more to answer at p99 over 5 minutes: compare responseLatency with integrationLatency in its access log`,
      metricName: "Latency",
      extendedStatistic: "p99",
      threshold: latencyP99Ms,
    });
  }
}
