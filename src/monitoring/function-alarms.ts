import { Construct } from "constructs";
import type { FailureQueue } from "../functions/failure-queue";
import type { VpcFunction } from "../functions/vpc-function";
import type { AlarmTopic } from "./alarm-topic";

export interface FunctionAlarmsProps {
  readonly function: VpcFunction;
  /** Its on-failure destination: an event there was lost to the function's every retry. */
  readonly failures: FailureQueue;
  readonly topic: AlarmTopic;
  /** Short name in the alarms' names, e.g. "api": `<prefix>-api-errors`. */
  readonly name: string;
  /** Invocations that failed, per 5 minutes, at which the errors alarm fires. */
  readonly errors: number;
  /** Invocations refused for want of concurrency, per 5 minutes, at which the throttles alarm fires. */
  readonly throttles: number;
}

/** A function's alarms: errors, throttles, and any event in its failure queue. */
export class FunctionAlarms extends Construct {
  constructor(scope: Construct, id: string, props: FunctionAlarmsProps) {
    super(scope, id);
    const { topic, name } = props;
    const functionName = props.function.functionName;
    const lambda = {
      namespace: "AWS/Lambda",
      dimensions: { FunctionName: functionName },
      statistic: "Sum",
      comparisonOperator: "GreaterThanOrEqualToThreshold",
    };
    // No invocations, no data points: nothing is wrong.
    topic.alarm(this, "errors", {
      ...lambda,
      name: `${name}-errors`,
      description: `${functionName} failed ${props.errors} or more invocations in 5 minutes: see its log group's "error" lines`,
      metricName: "Errors",
      threshold: props.errors,
      treatMissingData: "notBreaching",
    });
    topic.alarm(this, "throttles", {
      ...lambda,
      name: `${name}-throttles`,
      description: `${functionName} was throttled ${props.throttles} or more times in 5 minutes: its reserved concurrency is used up`,
      metricName: "Throttles",
      threshold: props.throttles,
      treatMissingData: "notBreaching",
    });
    const queueName = props.failures.queue.name;
    topic.alarm(this, "failures-queued", {
      name: `${name}-failures-queued`,
      description: `An event of ${functionName} failed all its retries and waits in ${queueName} (kept 14 days): read it, fix the cause, replay it`,
      namespace: "AWS/SQS",
      metricName: "ApproximateNumberOfMessagesVisible",
      dimensions: { QueueName: queueName },
      statistic: "Maximum",
      comparisonOperator: "GreaterThanOrEqualToThreshold",
      threshold: 1,
      treatMissingData: "notBreaching",
    });
  }
}
