import { PURGE_SUMMARY_LINE } from "../../../functions/purge/summary-line";
import { parseStackConfig, serviceNamePrefix } from "../../../src/config/stack-config";
import { VpcFunction } from "../../../src/functions/vpc-function";
import { ScheduleAlarms, type ScheduleAlarmsProps } from "../../../src/monitoring/schedule-alarms";
import { ScheduleGroup } from "../../../src/schedule/schedule-group";
import { ScheduleTrigger, type ScheduleTriggerProps } from "../../../src/schedule/schedule-trigger";
import { ServiceStack } from "../../../src/service-stack";
import { StateStack } from "../../../src/state/state-stack";
import { AWS, type IamPolicy, contextOf, decide, managedPoliciesOf, policyOf, resolve, roleOf, sampleOf } from "../iam-simulation";
import { MINIMAL, projectRoot, synthesize, testApp } from "../synth";

const PREFIX = "lambda-rds-iam-dev";
type TriggerOptions = Partial<Omit<ScheduleTriggerProps, "group" | "function" | "name">>;
type AlarmOptions = Partial<Pick<ScheduleAlarmsProps, "unfinishedSchedules" | "intervalSeconds">>;

/** The dev service stack with the purge function on a schedule, its alarms, and the state stack that holds the boundary. */
function scheduled(trigger: TriggerOptions = {}, alarms: AlarmOptions = {}) {
  const config = parseStackConfig({ ...MINIMAL, ci: { repository: "acme/lambda-rds-iam" } }, "test");
  const app = testApp();
  const stack = new ServiceStack(app, config.environment, { config, projectRoot });
  const namePrefix = serviceNamePrefix(config);
  const fn = new VpcFunction(stack, "purge", {
    functionName: `${namePrefix}-purge`,
    description: "purges expired items",
    projectRoot,
    source: "purge",
    runtime: "nodejs22.x",
    memoryMb: 256,
    timeoutSeconds: 900,
    reservedConcurrency: 1,
    logRetentionDays: 14,
    logs: stack.logs,
    network: stack.network,
    database: { endpoint: stack.database, user: "purge" },
  });
  const group = new ScheduleGroup(stack, "schedules", { namePrefix });
  const schedule = new ScheduleTrigger(stack, "purge-schedule", {
    name: `${namePrefix}-purge`,
    group,
    function: fn,
    expression: "rate(1 hour)",
    ...trigger,
  });
  new ScheduleAlarms(stack, "purge-alarms", {
    topic: stack.alarms.topic,
    name: "purge",
    namespace: namePrefix,
    trigger: schedule,
    function: fn,
    summary: PURGE_SUMMARY_LINE,
    errors: 1,
    ...alarms,
  });
  const state = new StateStack(app, `${config.environment}-state`, { config, service: stack });
  return { service: synthesize(stack), state: synthesize(state) };
}

const { service: s, state } = scheduled();
const functionArn = (name: string) => `arn:${AWS.partition}:lambda:${AWS.region}:${AWS.accountId}:function:${name}`;
const queueArn = (name: string) => `arn:${AWS.partition}:sqs:${AWS.region}:${AWS.accountId}:${name}`;
const groupArn = `arn:${AWS.partition}:scheduler:${AWS.region}:${AWS.accountId}:schedule-group/${PREFIX}`;
const role = roleOf(s.json, s.resource("aws_iam_role", "purge-schedule/role"));
const rolePolicies = role.inlinePolicies.map(({ policy }) => policy);
const boundary = policyOf(state.json, state.resource("aws_iam_policy", "service-role-boundary/policy").policy);
const queuePolicy = policyOf(s.json, s.resource("aws_sqs_queue_policy", "purge-schedule/queue-policy").policy);
const trustPolicy = policyOf(s.json, s.resource("aws_iam_role", "purge-schedule/role").assume_role_policy);
const deadLetters = queueArn(`${PREFIX}-purge-dead-letters`);
/** What AWS puts in every request of a role's session: the role's ARN, which the boundary and the queue policy test. */
const asPrincipal = (roleArn: string) => ({ "aws:PrincipalArn": roleArn });

describe("ScheduleTrigger", () => {
  it("invokes the function on the expression, in the service's schedule group, with retries and a dead-letter queue", () => {
    expect(s.resource("aws_scheduler_schedule_group", "schedules/group")).toEqual({ name: PREFIX });
    expect(s.resource("aws_scheduler_schedule", "purge-schedule/schedule")).toEqual({
      name: `${PREFIX}-purge`,
      group_name: s.ref("aws_scheduler_schedule_group", "schedules/group", "name"),
      description: expect.any(String),
      schedule_expression: "rate(1 hour)",
      schedule_expression_timezone: "UTC",
      flexible_time_window: { mode: "FLEXIBLE", maximum_window_in_minutes: 15 },
      state: "ENABLED",
      target: {
        arn: s.ref("aws_lambda_function", "purge/function", "arn"),
        role_arn: s.ref("aws_iam_role", "purge-schedule/role", "arn"),
        input: "{}",
        retry_policy: { maximum_retry_attempts: 3, maximum_event_age_in_seconds: 3600 },
        dead_letter_config: { arn: s.ref("aws_sqs_queue", "purge-schedule/queue", "arn") },
      },
      depends_on: [s.ref("aws_iam_role_policy", "purge-schedule/invoke", "id").slice(2, -4)],
    });
  });

  it("takes the expression, time zone, window and retry policy from its props; a window of 0 starts runs on time", () => {
    const { service } = scheduled(
      {
        expression: "cron(0 3 * * ? *)",
        timeZone: "Europe/Paris",
        flexibleWindowMinutes: 0,
        retryAttempts: 0,
        maxEventAgeSeconds: 60,
      },
      { intervalSeconds: 86_400, unfinishedSchedules: 2 },
    );
    expect(service.resource("aws_scheduler_schedule", "purge-schedule/schedule")).toMatchObject({
      schedule_expression: "cron(0 3 * * ? *)",
      schedule_expression_timezone: "Europe/Paris",
      flexible_time_window: { mode: "OFF" },
      target: { retry_policy: { maximum_retry_attempts: 0, maximum_event_age_in_seconds: 60 } },
    });
    expect(service.resource("aws_cloudwatch_metric_alarm", "purge-alarms/unfinished")).toMatchObject({
      period: 86_400,
      evaluation_periods: 2,
      datapoints_to_alarm: 2,
    });
  });

  it.each<[string, TriggerOptions, string]>([
    [
      "an expression it does not take",
      { expression: "every hour" },
      'expression is "every hour"; it takes rate(<n> minutes|hours|days) or cron',
    ],
    ["a one-time at() expression", { expression: "at(2027-01-01T00:00:00)" }, "expression is"],
    ["an unknown time zone", { timeZone: "Mars/Olympus" }, 'timeZone is "Mars/Olympus"; it takes an IANA time zone'],
    ["a window past a day", { flexibleWindowMinutes: 1441 }, "flexibleWindowMinutes is 1441; it takes 0 to 1440"],
    ["more retries than the scheduler makes", { retryAttempts: 186 }, "retryAttempts is 186; it takes 0 to 185"],
    ["an event age under a minute", { maxEventAgeSeconds: 30 }, "maxEventAgeSeconds is 30; it takes 60 to 86400"],
  ])("refuses %s, naming the prop and what it takes", (_, options, message) => {
    expect(() => scheduled(options)).toThrow(`ScheduleTrigger ${PREFIX}-purge: ${message}`);
  });

  it("keeps invocations it could not deliver 14 days, encrypted with a rotating key of its own that only SQS uses, for this queue", () => {
    expect(s.resource("aws_sqs_queue", "purge-schedule/queue")).toEqual({
      name: `${PREFIX}-purge-dead-letters`,
      kms_master_key_id: s.ref("aws_kms_key", "purge-schedule/key", "arn"),
      message_retention_seconds: 1_209_600,
    });
    expect(s.resource("aws_kms_key", "purge-schedule/key")).toMatchObject({ enable_key_rotation: true });
    const [, ...usage] = s.data("aws_iam_policy_document", "purge-schedule/key-policy").statement;
    expect(usage).toEqual([
      expect.objectContaining({
        sid: "UseThroughSqsForThisQueue",
        condition: expect.arrayContaining([
          expect.objectContaining({
            variable: "kms:EncryptionContext:aws:sqs:arn",
            values: [expect.stringContaining(`:${PREFIX}-purge-dead-letters`)],
          }),
        ]),
      }),
    ]);
  });

  it("has a role that only EventBridge Scheduler assumes, for this account's schedules of the service's group, bounded like every role", async () => {
    expect(role).toMatchObject({ name: `${PREFIX}-purge-scheduler`, services: ["scheduler.amazonaws.com"] });
    expect(role.boundary).toBe(resolve(state.json, state.ref("aws_iam_policy", "service-role-boundary/policy", "arn")));
    const assume = (principal: string, context: Record<string, string>) =>
      decide({ principal, action: "sts:AssumeRole", resource: role.arn, context }, [], undefined, trustPolicy);
    const ours = { "aws:SourceAccount": AWS.accountId, "aws:SourceArn": groupArn };
    expect(await assume("scheduler.amazonaws.com", ours)).toBe("Allowed");
    for (const [who, principal, context] of [
      ["another account's schedules", "scheduler.amazonaws.com", { ...ours, "aws:SourceAccount": "222222222222" }],
      ["another group's schedules", "scheduler.amazonaws.com", { ...ours, "aws:SourceArn": `${groupArn}-other` }],
      ["another service", "lambda.amazonaws.com", ours],
      ["a role of the account", `arn:${AWS.partition}:iam::${AWS.accountId}:role/${PREFIX}-api`, ours],
    ] as const) {
      expect([who, await assume(principal, context)]).toEqual([who, "ImplicitlyDenied"]);
    }
  });

  it("lets the role invoke exactly this function, no other of the stack's or anyone's, not even its versions", async () => {
    const invoke = (resource: string) =>
      decide({ principal: role.arn, action: "lambda:InvokeFunction", resource, context: asPrincipal(role.arn) }, rolePolicies, boundary);
    const functions = Object.values(s.json.resource.aws_lambda_function).map((block) => block.function_name as string);
    expect(functions).toContain(`${PREFIX}-purge`);
    for (const name of functions) {
      expect([name, await invoke(functionArn(name))]).toEqual([name, name === `${PREFIX}-purge` ? "Allowed" : "ImplicitlyDenied"]);
    }
    for (const other of [
      `${functionArn(`${PREFIX}-purge`)}:1`,
      functionArn("someone-elses"),
      functionArn(`${PREFIX}-purge`).replace(AWS.accountId, "222222222222"),
    ]) {
      expect([other, await invoke(other)]).toEqual([other, "ImplicitlyDenied"]);
    }
    // Every statement the role holds names this function, its dead-letter queue or that queue's key: nothing else.
    const keyArn = resolve(s.json, s.ref("aws_kms_key", "purge-schedule/key", "arn"));
    for (const statement of rolePolicies.flatMap((policy) => policy.Statement)) {
      expect([statement.Sid, statement.Resource]).toEqual([
        statement.Sid,
        [expect.stringMatching(new RegExp(`^(${functionArn(`${PREFIX}-purge`)}|${deadLetters}|${keyArn})$`))],
      ]);
    }
  });

  it("holds nothing the service roles' permissions boundary does not allow: every statement passes it", async () => {
    const refused: string[] = [];
    for (const statement of rolePolicies.flatMap((policy) => policy.Statement)) {
      for (const action of statement.Action!) {
        for (const resource of statement.Resource!) {
          const context = { ...contextOf(statement), ...asPrincipal(role.arn) };
          const decision = await decide({ principal: role.arn, action, resource: sampleOf(resource), context }, rolePolicies, boundary);
          if (decision !== "Allowed") refused.push(`${statement.Sid} ${action} on ${resource}: ${decision}`);
        }
      }
    }
    expect(refused).toEqual([]);
  });

  it("lets the role send to exactly its dead-letter queue, encrypting through SQS", async () => {
    const send = (resource: string) =>
      decide({ principal: role.arn, action: "sqs:SendMessage", resource, context: asPrincipal(role.arn) }, rolePolicies, boundary);
    const queues = Object.values(s.json.resource.aws_sqs_queue).map((block) => queueArn(block.name));
    expect(queues).toContain(deadLetters);
    for (const queue of queues) expect([queue, await send(queue)]).toEqual([queue, queue === deadLetters ? "Allowed" : "ImplicitlyDenied"]);
  });

  it("has a queue policy that admits only the scheduler's role, and only over TLS", async () => {
    const anything: IamPolicy = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: ["sqs:*"], Resource: ["*"] }] };
    const sendAs = (principal: string, secure = "true") =>
      decide(
        {
          principal,
          action: "sqs:SendMessage",
          resource: deadLetters,
          context: { "aws:SecureTransport": secure, ...asPrincipal(principal) },
        },
        [anything],
        undefined,
        queuePolicy,
      );
    expect(await sendAs(role.arn)).toBe("Allowed");
    expect(await sendAs(role.arn, "false")).toBe("ExplicitlyDenied");
    const others = Object.values(s.all("aws_iam_role")).map((block) => roleOf(s.json, block).arn);
    expect(others).toContain(role.arn);
    for (const other of others.filter((arn) => arn !== role.arn)) expect([other, await sendAs(other)]).toEqual([other, "ExplicitlyDenied"]);
  });
});

describe("ScheduleAlarms", () => {
  const topicArn = s.ref("aws_sns_topic", "alarms/topic/topic", "arn");

  it("sends every alarm of the job to the environment's topic, when it fires and when it clears", () => {
    const alarms = s.all("aws_cloudwatch_metric_alarm");
    const ours = Object.keys(alarms).filter((path) => path.startsWith("purge-alarms/"));
    expect(ours.sort()).toEqual(["purge-alarms/dead-letters-queued", "purge-alarms/errors", "purge-alarms/unfinished"]);
    for (const path of ours)
      expect([path, alarms[path]]).toEqual([
        path,
        expect.objectContaining({ alarm_actions: [topicArn], ok_actions: [topicArn], actions_enabled: true }),
      ]);
  });

  it("fires as soon as one invocation waits in the dead-letter queue, and at the function's first error", () => {
    expect(s.resource("aws_cloudwatch_metric_alarm", "purge-alarms/dead-letters-queued")).toMatchObject({
      alarm_name: `${PREFIX}-purge-dead-letters-queued`,
      namespace: "AWS/SQS",
      metric_name: "ApproximateNumberOfMessagesVisible",
      dimensions: { QueueName: s.ref("aws_sqs_queue", "purge-schedule/queue", "name") },
      statistic: "Maximum",
      comparison_operator: "GreaterThanOrEqualToThreshold",
      threshold: 1,
      period: 300,
    });
    expect(s.resource("aws_cloudwatch_metric_alarm", "purge-alarms/errors")).toMatchObject({
      alarm_name: `${PREFIX}-purge-errors`,
      namespace: "AWS/Lambda",
      metric_name: "Errors",
      dimensions: { FunctionName: s.ref("aws_lambda_function", "purge/function", "function_name") },
      statistic: "Sum",
      threshold: 1,
    });
  });

  it("counts finished passes from the job's summary lines and fires when none finished for 3 schedule intervals, or no run logged at all", () => {
    expect(s.resource("aws_cloudwatch_log_metric_filter", "purge-alarms/passes-finished-filter")).toEqual({
      name: `${s.ref("aws_lambda_function", "purge/function", "function_name")}-passes-finished`,
      log_group_name: s.ref("aws_cloudwatch_log_group", "purge/log-group", "name"),
      pattern: '{ $.message.message = "purge run" }',
      metric_transformation: { name: "purge-passes-finished", namespace: PREFIX, value: "$.message.passesFinished" },
    });
    expect(s.resource("aws_cloudwatch_metric_alarm", "purge-alarms/unfinished")).toMatchObject({
      alarm_name: `${PREFIX}-purge-unfinished`,
      namespace: PREFIX,
      metric_name: "purge-passes-finished",
      statistic: "Sum",
      comparison_operator: "LessThanThreshold",
      threshold: 1,
      treat_missing_data: "breaching",
      period: 3600,
      evaluation_periods: 3,
      datapoints_to_alarm: 3,
    });
  });

  it.each<[string, TriggerOptions, AlarmOptions, string]>([
    [
      "a cron() schedule without its interval",
      { expression: "cron(0 3 * * ? *)" },
      {},
      "a cron() schedule has no fixed interval; set intervalSeconds",
    ],
    [
      "a window longer than CloudWatch evaluates",
      { expression: "rate(1 day)" },
      { unfinishedSchedules: 8 },
      "8 intervals of 86400 s is no window CloudWatch evaluates",
    ],
    [
      "a window of a day and more in periods under an hour",
      { expression: "rate(30 minutes)" },
      { unfinishedSchedules: 49 },
      "49 intervals of 1800 s",
    ],
  ])("refuses %s, saying what to set", (_, trigger, alarms, message) => {
    expect(() => scheduled(trigger, alarms)).toThrow(`ScheduleAlarms purge: ${message}`);
  });
});

describe("the deploy role, derived from a service stack with a schedule", () => {
  const deployRole = roleOf(state.json, state.resource("aws_iam_role", "ci/deploy-role"));
  const deploy = managedPoliciesOf(state.json, deployRole);
  const asDeployRole = (action: string, resource: string, context: Record<string, string> = {}) =>
    decide({ principal: deployRole.arn, action, resource, context }, deploy);
  const scheduleArn = `arn:${AWS.partition}:scheduler:${AWS.region}:${AWS.accountId}:schedule/${PREFIX}/${PREFIX}-purge`;

  it("may create, change and delete the group and the schedule, and pass the schedule's role to the scheduler only", async () => {
    for (const [action, resource] of [
      ["scheduler:CreateScheduleGroup", groupArn],
      ["scheduler:DeleteScheduleGroup", groupArn],
      ["scheduler:CreateSchedule", scheduleArn],
      ["scheduler:UpdateSchedule", scheduleArn],
      ["scheduler:DeleteSchedule", scheduleArn],
    ]) {
      expect([action, await asDeployRole(action, resource)]).toEqual([action, "Allowed"]);
    }
    expect(await asDeployRole("iam:PassRole", role.arn, { "iam:PassedToService": "scheduler.amazonaws.com" })).toBe("Allowed");
    expect(await asDeployRole("iam:PassRole", role.arn, { "iam:PassedToService": "ec2.amazonaws.com" })).toBe("ImplicitlyDenied");
  });
});
