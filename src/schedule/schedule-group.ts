import { TerraformStack } from "cdktf";
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

  /** The stack's one group (id "schedules"), made by the first schedule that asks: a stack without schedules has none. */
  static of(scope: Construct, props: ScheduleGroupProps): ScheduleGroup {
    const stack = TerraformStack.of(scope);
    return (stack.node.tryFindChild("schedules") as ScheduleGroup | undefined) ?? new ScheduleGroup(stack, "schedules", props);
  }

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
