import { Construct } from "constructs";
import { CloudwatchLogMetricFilter } from "@cdktf/provider-aws/lib/cloudwatch-log-metric-filter";
import type { VpcFunction } from "../functions/vpc-function";
import type { ScheduleTrigger } from "../schedule/schedule-trigger";
import type { AlarmTopic } from "./alarm-topic";

/** The scheduled job's one summary log line per run, as the job writes it (functions/purge/index.ts). */
export interface JobSummaryLine {
  /** Its `message`, e.g. "purge run". */
  readonly message: string;
  /** Its field that is 1 when the run finished a pass and 0 otherwise, e.g. "passesFinished". */
  readonly finishedField: string;
}

export interface ScheduleAlarmsProps {
  readonly topic: AlarmTopic;
  /** Short name in the alarms' names, e.g. "purge": `<prefix>-purge-errors`. */
  readonly name: string;
  /** Namespace of the metric counted from the summary lines, e.g. the service's name prefix. */
  readonly namespace: string;
  readonly trigger: ScheduleTrigger;
  /** The function the schedule invokes. */
  readonly function: VpcFunction;
  readonly summary: JobSummaryLine;
  /** Failed invocations, per 5 minutes, at which the errors alarm fires. */
  readonly errors: number;
  /** Schedule intervals in a row without a finished pass at which the unfinished alarm fires. @default 3 */
  readonly unfinishedSchedules?: number;
  /** Seconds between two runs. @default worked out from a rate() expression; a cron() schedule must give it */
  readonly intervalSeconds?: number;
}

/** CloudWatch evaluates at most a day of periods shorter than an hour, and at most 7 days of longer ones. */
function evaluationLimitSeconds(periodSeconds: number): number {
  return periodSeconds < 3600 ? 86_400 : 7 * 86_400;
}

/**
 * A scheduled job's alarms: an invocation the scheduler could not deliver (its dead-letter queue not
 * empty), the function's errors, and a job that has not finished a pass for `unfinishedSchedules`
 * intervals in a row, counted from its summary log lines (no line at all counts as not finished).
 */
export class ScheduleAlarms extends Construct {
  constructor(scope: Construct, id: string, props: ScheduleAlarmsProps) {
    super(scope, id);
    const { topic, name, trigger } = props;
    const functionName = props.function.functionName;
    const unfinished = props.unfinishedSchedules ?? 3;
    const interval = props.intervalSeconds ?? trigger.intervalSeconds;
    if (interval === undefined) {
      throw new Error(
        `ScheduleAlarms ${name}: a cron() schedule has no fixed interval; set intervalSeconds to the longest time between two runs`,
      );
    }
    if (
      interval % 60 !== 0 ||
      !Number.isInteger(unfinished) ||
      unfinished < 1 ||
      interval * unfinished > evaluationLimitSeconds(interval)
    ) {
      throw new Error(
        `ScheduleAlarms ${name}: ${unfinished} intervals of ${interval} s is no window CloudWatch evaluates; it takes whole minutes, ` +
          `at most a day of periods under an hour and at most 7 days of longer ones: lower unfinishedSchedules`,
      );
    }

    topic.alarm(this, "dead-letters-queued", {
      name: `${name}-dead-letters-queued`,
      description: `The scheduler could not invoke ${functionName} (throttled, denied, deleted) and left the invocation in ${trigger.deadLetters.queue.name}: read its error attributes, fix the cause`,
      namespace: "AWS/SQS",
      metricName: "ApproximateNumberOfMessagesVisible",
      dimensions: { QueueName: trigger.deadLetters.queue.name },
      statistic: "Maximum",
      comparisonOperator: "GreaterThanOrEqualToThreshold",
      threshold: 1,
      treatMissingData: "notBreaching",
    });
    topic.alarm(this, "errors", {
      name: `${name}-errors`,
      description: `${functionName} failed ${props.errors} or more runs in 5 minutes: see its "${props.summary.message}" lines at level error`,
      namespace: "AWS/Lambda",
      metricName: "Errors",
      dimensions: { FunctionName: functionName },
      statistic: "Sum",
      comparisonOperator: "GreaterThanOrEqualToThreshold",
      threshold: props.errors,
      treatMissingData: "notBreaching",
    });

    // In Lambda's JSON log format the job's fields are under `message` (functions/shared/log.ts).
    const metricName = `${name}-passes-finished`;
    new CloudwatchLogMetricFilter(this, "passes-finished-filter", {
      name: `${functionName}-passes-finished`,
      logGroupName: props.function.logGroup.name,
      pattern: `{ $.message.message = "${props.summary.message}" }`,
      metricTransformation: { name: metricName, namespace: props.namespace, value: `$.message.${props.summary.finishedField}` },
    });
    topic.alarm(this, "unfinished", {
      name: `${name}-unfinished`,
      description: `${functionName} has not finished a pass in ${unfinished} schedule intervals (${interval} s each): its runs stop early, fail or do not start; see its "${props.summary.message}" lines`,
      namespace: props.namespace,
      metricName,
      statistic: "Sum",
      comparisonOperator: "LessThanThreshold",
      threshold: 1,
      // No run at all is the worst case of not finishing.
      treatMissingData: "breaching",
      window: { periodSeconds: interval, evaluationPeriods: unfinished },
    });
  }
}
