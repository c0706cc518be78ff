import type { Construct } from "constructs";
import type { AlarmTopic } from "../../monitoring/alarm-topic";
import { ScheduleAlarms } from "../../monitoring/schedule-alarms";
import { FunctionSchedule } from "../../schedule/function-schedule";
import { ScheduleGroup } from "../../schedule/schedule-group";
import type { FunctionTrigger as TriggerConfig } from "../../config/function-schema";
import type { VpcFunction } from "../vpc-function";
import type { FunctionTrigger } from "./function-trigger";

export type ScheduleTriggerConfig = Extract<TriggerConfig, { kind: "schedule" }>;

export interface ScheduleTriggerProps extends Omit<ScheduleTriggerConfig, "kind"> {
  /** The function's name, which the schedule, its role and its queue are named after. */
  readonly functionName: string;
  /** Prefix of the service's names: the schedule group is named that. */
  readonly namePrefix: string;
  /** Terraform refuses any plan that destroys the dead-letter queue's key. @default false */
  readonly keyPreventDestroy?: boolean;
}

/**
 * EventBridge Scheduler invokes the function on its expression (FunctionSchedule, made in the function's
 * scope: `<function>/schedule/...`), in the service's schedule group, with `input` as the event: its role
 * may invoke this function only, and what it cannot deliver lands in a dead-letter queue of its own. Lambda
 * runs it asynchronously, so a failed run is retried and then kept in the function's failure queue.
 */
export class ScheduleTrigger implements FunctionTrigger {
  readonly httpsEgress = [];
  readonly environment = {};
  private schedule?: FunctionSchedule;

  constructor(private readonly props: ScheduleTriggerProps) {}

  grant(): [] {
    return [];
  }

  bind(fn: VpcFunction): void {
    const { functionName, namePrefix, keyPreventDestroy, input, unfinished, ...schedule } = this.props;
    this.schedule = new FunctionSchedule(fn, "schedule", {
      ...schedule,
      name: functionName,
      group: ScheduleGroup.of(fn, { namePrefix }),
      function: fn,
      input: JSON.stringify(input),
      keyPreventDestroy,
    });
  }

  alarms(scope: Construct, id: string, props: { topic: AlarmTopic; name: string; fn: VpcFunction }): void {
    if (!this.schedule) throw new Error(`${props.fn.functionName}: its schedule's alarms come after the schedule (bind)`);
    const { unfinished } = this.props;
    new ScheduleAlarms(scope, id, {
      topic: props.topic,
      name: props.name,
      namespace: this.props.namePrefix,
      schedule: this.schedule,
      function: props.fn,
      summary: unfinished && { message: unfinished.message, finishedField: unfinished.finishedField },
      unfinishedSchedules: unfinished?.afterSchedules,
      intervalSeconds: unfinished?.intervalSeconds,
    });
  }
}
