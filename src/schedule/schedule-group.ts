import { Construct } from "constructs";
import { SchedulerScheduleGroup } from "@cdktf/provider-aws/lib/scheduler-schedule-group";

export interface ScheduleGroupProps {
  /** Prefix of every name the service makes, e.g. "lambda-rds-iam-dev": the group is named that. */
  readonly namePrefix: string;
}

/**
 * The service's EventBridge Scheduler group: its schedules' roles trust the scheduler only for schedules
 * of this group (aws:SourceArn), and deleting the group deletes them with it.
 */
export class ScheduleGroup extends Construct {
  readonly group: SchedulerScheduleGroup;

  constructor(scope: Construct, id: string, props: ScheduleGroupProps) {
    super(scope, id);
    this.group = new SchedulerScheduleGroup(this, "group", { name: props.namePrefix });
  }

  get name(): string {
    return this.group.name;
  }

  get arn(): string {
    return this.group.arn;
  }
}
