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

/** Ends the name of every schedule's role: the permissions boundary lets only such roles invoke the service's functions. */
export const SCHEDULER_ROLE_SUFFIX = "-scheduler";

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

export interface ScheduleTriggerProps {
  /** Schedule name, e.g. "lambda-rds-iam-dev-purge"; also its role's, and `<name>-dead-letters` its queue's. */
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
  /** Terraform refuses any plan that destroys the dead-letter queue's key. @default false */
  readonly keyPreventDestroy?: boolean;
}

const EXPRESSION = /^(rate\(\d+ (minute|minutes|hour|hours|day|days)\)|cron\(\S+ \S+ \S+ \S+ \S+ \S+\))$/;
const RATE = /^rate\((\d+) (minute|hour|day)s?\)$/;
const UNIT_SECONDS = { minute: 60, hour: 3600, day: 86_400 } as const;

/** Seconds between two runs of a rate() expression; undefined for cron(), whose runs need not be evenly spaced. */
export function rateSeconds(expression: string): number | undefined {
  const match = RATE.exec(expression);
  return match ? Number(match[1]) * UNIT_SECONDS[match[2] as keyof typeof UNIT_SECONDS] : undefined;
}

/** A prop outside what EventBridge Scheduler takes: names the prop, what it was and what it takes. */
function refuse(name: string, prop: string, value: unknown, takes: string): never {
  throw new Error(`ScheduleTrigger ${name}: ${prop} is ${JSON.stringify(value)}; it takes ${takes}`);
}

/**
 * Invokes one function on a schedule with EventBridge Scheduler, in the service's schedule group: a role
 * that only the scheduler may assume, for this account's schedules of this group, which may invoke this
 * function and nothing else; retries, and a dead-letter queue that only that role may send to (its own key,
 * TLS only) for invocations it could not deliver. No resource policy on the function: the role is the grant.
 */
export class ScheduleTrigger extends Construct {
  readonly schedule: SchedulerSchedule;
  readonly role: IamRole;
  readonly deadLetters: SenderOnlyQueue;
  /** Seconds between two runs when the expression is a rate(). */
  readonly intervalSeconds?: number;

  constructor(scope: Construct, id: string, props: ScheduleTriggerProps) {
    super(scope, id);
    const settings = withDefaults(SCHEDULE_DEFAULTS, props);
    const { name, group, function: fn } = props;
    if (!EXPRESSION.test(props.expression)) {
      refuse(
        name,
        "expression",
        props.expression,
        "rate(<n> minutes|hours|days) or cron(<6 fields>), e.g. rate(1 hour) or cron(0 3 * * ? *)",
      );
    }
    if (!Intl.supportedValuesOf("timeZone").includes(settings.timeZone) && settings.timeZone !== "UTC") {
      refuse(name, "timeZone", settings.timeZone, 'an IANA time zone such as "UTC" or "Europe/Paris"');
    }
    const whole = (value: number, min: number, max: number) => Number.isInteger(value) && value >= min && value <= max;
    if (!whole(settings.flexibleWindowMinutes, 0, 1440)) refuse(name, "flexibleWindowMinutes", settings.flexibleWindowMinutes, "0 to 1440");
    if (!whole(settings.retryAttempts, 0, 185)) refuse(name, "retryAttempts", settings.retryAttempts, "0 to 185");
    if (!whole(settings.maxEventAgeSeconds, 60, 86_400)) refuse(name, "maxEventAgeSeconds", settings.maxEventAgeSeconds, "60 to 86400");

    this.intervalSeconds = rateSeconds(props.expression);
    const context = AwsContext.of(this);
    const roleName = `${name}${SCHEDULER_ROLE_SUFFIX}`;
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
        input: "{}",
        retryPolicy: { maximumRetryAttempts: settings.retryAttempts, maximumEventAgeInSeconds: settings.maxEventAgeSeconds },
        deadLetterConfig: { arn: this.deadLetters.queue.arn },
      },
      // The scheduler checks nothing at creation, but its first invocation needs the policy.
      dependsOn: [invoke],
    });
  }
}
