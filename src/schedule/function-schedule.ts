import { Construct } from "constructs";
import { DataAwsIamPolicyDocument } from "@cdktf/provider-aws/lib/data-aws-iam-policy-document";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { SchedulerSchedule } from "@cdktf/provider-aws/lib/scheduler-schedule";
import { AwsContext } from "../core/aws-context";
import { withDefaults } from "../core/with-defaults";
import type { VpcFunction } from "../functions/vpc-function";
import { FAILURE_RETENTION_SECONDS } from "../functions/failure-queue";
import { type SenderOnlyQueue, senderOnlyQueue } from "../storage/sender-only-queue";
import type { ScheduleGroup } from "./schedule-group";
import {
  SCHEDULE_EXPRESSION,
  SCHEDULE_EXPRESSION_TAKES,
  SCHEDULE_RANGES,
  isTimeZone,
  rateSeconds,
  scheduleRoleName,
} from "./schedule-rules";

/** The defaults of a schedule: the configuration schema may take them from here. */
export const SCHEDULE_DEFAULTS = {
  timeZone: "UTC",
  /** The scheduler may start the run up to this late, which spreads schedules that fall on the same minute. */
  flexibleWindowMinutes: 15,
  /** Retries when the scheduler cannot deliver (Lambda throttling, a transient error); the run's own failures are Lambda's to retry. */
  retryAttempts: 3,
  /** An invocation not delivered within an hour goes to the dead-letter queue rather than starting late. */
  maxEventAgeSeconds: 3600,
} as const;

export interface FunctionScheduleProps {
  /** Schedule name, the function's, e.g. "lambda-rds-iam-dev-purge": its role is `<name>-scheduler`, its queue `<name>-dead-letters`. */
  readonly name: string;
  readonly group: ScheduleGroup;
  /** The function the schedule invokes, and the only one its role may invoke. */
  readonly function: VpcFunction;
  /** `rate(1 hour)` or `cron(0 3 * * ? *)`, as EventBridge Scheduler takes them. */
  readonly expression: string;
  /** IANA time zone a cron expression is read in. @default "UTC" */
  readonly timeZone?: string;
  /** Minutes the scheduler may start the invocation late; 0 starts it on time. @default 15 */
  readonly flexibleWindowMinutes?: number;
  /** Attempts to deliver the invocation again, 0 to 185. @default 3 */
  readonly retryAttempts?: number;
  /** Seconds after which an undelivered invocation goes to the dead-letter queue, 60 to 86,400. @default 3600 */
  readonly maxEventAgeSeconds?: number;
  /** The event every run gets (JSON): the job's settings. @default "{}" */
  readonly input?: string;
  /** Terraform refuses any plan that destroys the dead-letter queue's key. @default false */
  readonly keyPreventDestroy?: boolean;
}

/** A prop outside what EventBridge Scheduler takes: names the prop, what it was and what it takes. */
function refuse(name: string, prop: string, value: unknown, takes: string): never {
  throw new Error(`FunctionSchedule ${name}: ${prop} is ${JSON.stringify(value)}; it takes ${takes}`);
}

/**
 * Invokes one function on a schedule with EventBridge Scheduler, in the service's schedule group: a role
 * that only the scheduler may assume, for this account's schedules of this group, which may invoke this
 * function and nothing else; retries, and a dead-letter queue that only that role may send to (its own key,
 * TLS only) for invocations it could not deliver. No resource policy on the function: the role is the grant.
 */
export class FunctionSchedule extends Construct {
  readonly schedule: SchedulerSchedule;
  readonly role: IamRole;
  readonly deadLetters: SenderOnlyQueue;
  /** Seconds between two runs when the expression is a rate(). */
  readonly intervalSeconds?: number;

  constructor(scope: Construct, id: string, props: FunctionScheduleProps) {
    super(scope, id);
    const settings = withDefaults(SCHEDULE_DEFAULTS, props);
    const { name, group, function: fn } = props;
    if (!SCHEDULE_EXPRESSION.test(props.expression)) refuse(name, "expression", props.expression, SCHEDULE_EXPRESSION_TAKES);
    if (!isTimeZone(settings.timeZone)) refuse(name, "timeZone", settings.timeZone, 'an IANA time zone such as "UTC" or "Europe/Paris"');
    for (const prop of Object.keys(SCHEDULE_RANGES) as (keyof typeof SCHEDULE_RANGES)[]) {
      const [min, max] = SCHEDULE_RANGES[prop];
      const value = settings[prop];
      if (!Number.isInteger(value) || value < min || value > max) refuse(name, prop, value, `${min} to ${max}`);
    }

    this.intervalSeconds = rateSeconds(props.expression);
    const context = AwsContext.of(this);
    const roleName = scheduleRoleName(name);
    const roleArn = context.iamArn(`role/${roleName}`);
    this.deadLetters = senderOnlyQueue(this, {
      name: `${name}-dead-letters`,
      holds: "scheduled invocations the scheduler could not deliver",
      // Built, not referenced: the role's policy needs the queue first.
      senderArn: roleArn,
      senderSid: "OnlyTheSchedulerSends",
      messageRetentionSeconds: FAILURE_RETENTION_SECONDS,
      preventDestroy: props.keyPreventDestroy,
    });

    const trust = new DataAwsIamPolicyDocument(this, "trust", {
      statement: [
        {
          actions: ["sts:AssumeRole"],
          principals: [{ type: "Service", identifiers: ["scheduler.amazonaws.com"] }],
          // Only for this account's schedules of the service's group: no other account's scheduler, no other group.
          condition: [
            { test: "StringEquals", variable: "aws:SourceAccount", values: [context.accountId] },
            { test: "ArnEquals", variable: "aws:SourceArn", values: [group.arn] },
          ],
        },
      ],
    });
    this.role = new IamRole(this, "role", {
      name: roleName,
      description: `EventBridge Scheduler's role for ${name}: invokes ${fn.functionName} only`,
      assumeRolePolicy: trust.json,
    });
    const permissions = new DataAwsIamPolicyDocument(this, "invoke-document", {
      statement: [
        { sid: "InvokeThisFunction", actions: ["lambda:InvokeFunction"], resources: [fn.arn] },
        ...this.deadLetters.sendStatements({ send: "SendToDeadLetterQueue", encrypt: "EncryptDeadLettersThroughSqs" }),
      ],
    });
    const invoke = new IamRolePolicy(this, "invoke", { name: "invoke", role: this.role.name, policy: permissions.json });

    const window = settings.flexibleWindowMinutes;
    this.schedule = new SchedulerSchedule(this, "schedule", {
      name,
      groupName: group.name,
      description: `Invokes ${fn.functionName} on ${props.expression}`,
      scheduleExpression: props.expression,
      scheduleExpressionTimezone: settings.timeZone,
      flexibleTimeWindow: window > 0 ? { mode: "FLEXIBLE", maximumWindowInMinutes: window } : { mode: "OFF" },
      state: "ENABLED",
      target: {
        arn: fn.arn,
        roleArn: this.role.arn,
        input: props.input ?? "{}",
        retryPolicy: { maximumRetryAttempts: settings.retryAttempts, maximumEventAgeInSeconds: settings.maxEventAgeSeconds },
        deadLetterConfig: { arn: this.deadLetters.queue.arn },
      },
      // The scheduler checks nothing at creation, but its first invocation needs the policy.
      dependsOn: [invoke],
    });
  }
}
