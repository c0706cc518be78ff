import { Construct } from "constructs";
import { CloudwatchLogMetricFilter } from "@cdktf/provider-aws/lib/cloudwatch-log-metric-filter";
import type { VpcFunction } from "../functions/vpc-function";
import type { FunctionSchedule } from "../schedule/function-schedule";
import { evaluationLimitSeconds } from "../schedule/schedule-rules";
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
  /** Short name in the alarms' names, e.g. "purge": `<prefix>-purge-unfinished`. */
  readonly name: string;
  /** Namespace of the metric counted from the summary lines, e.g. the service's name prefix. */
  readonly namespace: string;
  readonly schedule: FunctionSchedule;
  /** The function the schedule invokes. */
  readonly function: VpcFunction;
  /** Without it, the job is not watched for unfinished passes. */
  readonly summary?: JobSummaryLine;
  /** Schedule intervals in a row without a finished pass at which the unfinished alarm fires. @default 3 */
  readonly unfinishedSchedules?: number;
  /** Seconds between two runs. @default worked out from a rate() expression; a cron() schedule must give it */
  readonly intervalSeconds?: number;
}

/**
 * A scheduled job's alarms, besides those every function has (its errors among them): an invocation the
 * scheduler could not deliver (its dead-letter queue not empty), and a job that has not finished a pass
 * for `unfinishedSchedules` intervals in a row, counted from its summary log lines (no line at all counts
 * as not finished).
 */
export class ScheduleAlarms extends Construct {
  constructor(scope: Construct, id: string, props: ScheduleAlarmsProps) {
    super(scope, id);
    const { topic, name, schedule } = props;
    topic.alarm(this, "dead-letters-queued", {
      name: `${name}-dead-letters-queued`,
      description: `The scheduler could not invoke ${props.function.functionName} (throttled, denied, deleted) and left the invocation in ${schedule.deadLetters.queue.name}: read its error attributes, fix the cause`,
      namespace: "AWS/SQS",
      metricName: "ApproximateNumberOfMessagesVisible",
      dimensions: { QueueName: schedule.deadLetters.queue.name },
      statistic: "Maximum",
      comparisonOperator: "GreaterThanOrEqualToThreshold",
      threshold: 1,
      treatMissingData: "notBreaching",
    });
    if (props.summary) this.watchUnfinished(props, props.summary);
  }

  private watchUnfinished(props: ScheduleAlarmsProps, summary: JobSummaryLine): void {
    const { name } = props;
    const functionName = props.function.functionName;
    const unfinished = props.unfinishedSchedules ?? 3;
    const interval = props.intervalSeconds ?? props.schedule.intervalSeconds;
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
          "at most a day of periods under an hour and at most 7 days of longer ones: lower unfinishedSchedules",
      );
    }
    // In Lambda's JSON log format the job's fields are under `message` (functions/shared/log.ts).
    const metricName = `${name}-passes-finished`;
    new CloudwatchLogMetricFilter(this, "passes-finished-filter", {
      name: `${functionName}-passes-finished`,
      logGroupName: props.function.logGroup.name,
      pattern: `{ $.message.message = "${summary.message}" }`,
      metricTransformation: { name: metricName, namespace: props.namespace, value: `$.message.${summary.finishedField}` },
    });
    props.topic.alarm(this, "unfinished", {
      name: `${name}-unfinished`,
      description: `${functionName} has not finished a pass in ${unfinished} schedule intervals (${interval} s each): its runs stop early, fail or do not start; see its "${summary.message}" lines`,
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
