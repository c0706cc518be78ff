import type { FunctionSettings } from "../../../src/config/stack-config";
import { SERVICE_FUNCTIONS } from "../../../src/config/functions";
import { FunctionSchedule, type FunctionScheduleProps } from "../../../src/schedule/function-schedule";
import { ScheduleGroup } from "../../../src/schedule/schedule-group";
import { AWS, type IamPolicy, contextOf, decide, managedPoliciesOf, policyOf, resolve, roleOf, sampleOf } from "../iam-simulation";
import { MINIMAL, configProblems, serviceStack, synthStack, synthStateStack } from "../synth";

/** The purge, the service's scheduled function, as declared (src/config/functions.ts), with CI roles. */
const CI = { ci: { repository: "acme/lambda-rds-iam" } };
const PREFIX = "lambda-rds-iam-dev";
const PURGE = `${PREFIX}-purge`;
const s = synthStack(CI);
const state = synthStateStack(CI);
const purgeTrigger = SERVICE_FUNCTIONS.purge.trigger;

const functionArn = (name: string) => `arn:${AWS.partition}:lambda:${AWS.region}:${AWS.accountId}:function:${name}`;
const queueArn = (name: string) => `arn:${AWS.partition}:sqs:${AWS.region}:${AWS.accountId}:${name}`;
const groupArn = `arn:${AWS.partition}:scheduler:${AWS.region}:${AWS.accountId}:schedule-group/${PREFIX}`;
const role = roleOf(s.json, s.resource("aws_iam_role", "purge/schedule/role"));
const rolePolicies = role.inlinePolicies.map(({ policy }) => policy);
const boundary = policyOf(state.json, state.resource("aws_iam_policy", "service-role-boundary/policy").policy);
const queuePolicy = policyOf(s.json, s.resource("aws_sqs_queue_policy", "purge/schedule/queue-policy").policy);
const trustPolicy = policyOf(s.json, s.resource("aws_iam_role", "purge/schedule/role").assume_role_policy);
const deadLetters = queueArn(`${PURGE}-dead-letters`);
/** What AWS puts in every request of a role's session: the role's ARN, which the boundary and the queue policy test. */
const asPrincipal = (roleArn: string) => ({ "aws:PrincipalArn": roleArn });
const anyOf = <T>(values: T[]) => ({ asymmetricMatch: (actual: T) => values.includes(actual), toString: () => `one of ${values}` });

/** The configuration's problems when the purge's trigger is `trigger` on top of its declaration. */
const problemsOf = (trigger: Record<string, unknown>) => configProblems({ ...MINIMAL, functions: { purge: { trigger } } });

describe("a schedule trigger (the purge's)", () => {
  it("has EventBridge Scheduler invoke the function on its expression, in the service's group, with retries and a dead-letter queue", () => {
    expect(s.resource("aws_scheduler_schedule_group", "schedules/group")).toEqual({ name: PREFIX });
    expect(s.resource("aws_scheduler_schedule", "purge/schedule/schedule")).toEqual({
      name: PURGE,
      group_name: s.ref("aws_scheduler_schedule_group", "schedules/group", "name"),
      description: expect.any(String),
      schedule_expression: purgeTrigger.expression,
      schedule_expression_timezone: "UTC",
      flexible_time_window: { mode: "FLEXIBLE", maximum_window_in_minutes: 15 },
      state: "ENABLED",
      target: {
        arn: s.ref("aws_lambda_function", "purge/function", "arn"),
        role_arn: s.ref("aws_iam_role", "purge/schedule/role", "arn"),
        input: JSON.stringify(purgeTrigger.input),
        retry_policy: { maximum_retry_attempts: 3, maximum_event_age_in_seconds: 3600 },
        dead_letter_config: { arn: s.ref("aws_sqs_queue", "purge/schedule/queue", "arn") },
      },
      depends_on: [s.ref("aws_iam_role_policy", "purge/schedule/invoke", "id").slice(2, -4)],
    });
    // One run at a time: the lease in batch_jobs is the second guard.
    expect(s.resource("aws_lambda_function", "purge/function").reserved_concurrent_executions).toBe(1);
  });

  it("takes the expression, time zone, window, retry policy and input from the configuration; a window of 0 starts runs on time", () => {
    const trigger = {
      expression: "cron(0 3 * * ? *)",
      timeZone: "Europe/Paris",
      flexibleWindowMinutes: 0,
      retryAttempts: 0,
      maxEventAgeSeconds: 60,
      input: { retentionDays: 30 },
      unfinished: { intervalSeconds: 86_400, afterSchedules: 2 },
    };
    const other = synthStack({ functions: { purge: { trigger: trigger as unknown as FunctionSettings["trigger"] } } });
    expect(other.resource("aws_scheduler_schedule", "purge/schedule/schedule")).toMatchObject({
      schedule_expression: "cron(0 3 * * ? *)",
      schedule_expression_timezone: "Europe/Paris",
      flexible_time_window: { mode: "OFF" },
      target: { input: '{"retentionDays":30}', retry_policy: { maximum_retry_attempts: 0, maximum_event_age_in_seconds: 60 } },
    });
    expect(other.resource("aws_cloudwatch_metric_alarm", "alarms/purge-trigger/unfinished")).toMatchObject({
      period: 86_400,
      evaluation_periods: 2,
      datapoints_to_alarm: 2,
    });
  });

  it.each<[string, Record<string, unknown>, string]>([
    [
      "an expression it does not take",
      { expression: "every hour" },
      "functions.purge.trigger.expression: must be rate(<n> minutes|hours|days) or cron",
    ],
    ["a one-time at() expression", { expression: "at(2027-01-01T00:00:00)" }, "functions.purge.trigger.expression: must be rate("],
    ["an unknown time zone", { timeZone: "Mars/Olympus" }, 'functions.purge.trigger.timeZone: must be an IANA time zone such as "UTC"'],
    [
      "a window past a day",
      { flexibleWindowMinutes: 1441 },
      "functions.purge.trigger.flexibleWindowMinutes: must be between 0 and 1440 minutes",
    ],
    ["more retries than the scheduler makes", { retryAttempts: 186 }, "functions.purge.trigger.retryAttempts: must be between 0 and 185"],
    [
      "an event age under a minute",
      { maxEventAgeSeconds: 30 },
      "functions.purge.trigger.maxEventAgeSeconds: must be between 60 and 86400 seconds",
    ],
    [
      "a cron() schedule watched for unfinished passes without its interval",
      { expression: "cron(0 3 * * ? *)" },
      "functions.purge.trigger.unfinished.intervalSeconds: a cron() schedule has no fixed interval",
    ],
  ])("refuses %s, naming the field and the fix", (_, trigger, problem) => {
    expect(problemsOf(trigger).join("\n")).toContain(problem);
  });

  it("refuses, made directly, what the configuration refuses, naming the prop", () => {
    const stack = serviceStack();
    const group = new ScheduleGroup(stack, "other-schedules", { namePrefix: PREFIX });
    const props: FunctionScheduleProps = { name: `${PREFIX}-api`, group, function: stack.functions.api, expression: "rate(1 hour)" };
    expect(() => new FunctionSchedule(stack, "bad-expression", { ...props, expression: "hourly" })).toThrow(
      `FunctionSchedule ${PREFIX}-api: expression is "hourly"; it takes rate(<n> minutes|hours|days) or cron(<6 fields>)`,
    );
    expect(() => new FunctionSchedule(stack, "bad-retries", { ...props, retryAttempts: -1 })).toThrow(
      `FunctionSchedule ${PREFIX}-api: retryAttempts is -1; it takes 0 to 185`,
    );
  });

  it("has the service's one schedule group, made by the first schedule that asks for it", () => {
    const stack = serviceStack();
    expect(ScheduleGroup.of(stack.functions.api, { namePrefix: PREFIX })).toBe(stack.node.findChild("schedules"));
    expect(Object.keys(s.all("aws_scheduler_schedule_group"))).toEqual(["schedules/group"]);
  });

  it("keeps invocations it could not deliver 14 days, encrypted with a rotating key of its own that only SQS uses, for this queue", () => {
    expect(s.resource("aws_sqs_queue", "purge/schedule/queue")).toEqual({
      name: `${PURGE}-dead-letters`,
      kms_master_key_id: s.ref("aws_kms_key", "purge/schedule/key", "arn"),
      message_retention_seconds: 1_209_600,
    });
    expect(s.resource("aws_kms_key", "purge/schedule/key")).toMatchObject({ enable_key_rotation: true });
    const [, ...usage] = s.data("aws_iam_policy_document", "purge/schedule/key-policy").statement;
    expect(usage).toEqual([
      expect.objectContaining({
        sid: "UseThroughSqsForThisQueue",
        condition: expect.arrayContaining([
          expect.objectContaining({
            variable: "kms:EncryptionContext:aws:sqs:arn",
            values: [expect.stringContaining(`:${PURGE}-dead-letters`)],
          }),
        ]),
      }),
    ]);
  });

  it("has a role that only EventBridge Scheduler assumes, for this account's schedules of the service's group, bounded like every role", async () => {
    expect(role).toMatchObject({ name: `${PURGE}-scheduler`, services: ["scheduler.amazonaws.com"] });
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
    expect(functions).toContain(PURGE);
    for (const name of functions) {
      expect([name, await invoke(functionArn(name))]).toEqual([name, name === PURGE ? "Allowed" : "ImplicitlyDenied"]);
    }
    for (const other of [
      `${functionArn(PURGE)}:1`,
      functionArn("someone-elses"),
      functionArn(PURGE).replace(AWS.accountId, "222222222222"),
    ]) {
      expect([other, await invoke(other)]).toEqual([other, "ImplicitlyDenied"]);
    }
    // Every statement the role holds names this function, its dead-letter queue or that queue's key: nothing else.
    const keyArn = resolve(s.json, s.ref("aws_kms_key", "purge/schedule/key", "arn"));
    for (const statement of rolePolicies.flatMap((policy) => policy.Statement)) {
      expect([statement.Sid, statement.Resource]).toEqual([statement.Sid, [anyOf([functionArn(PURGE), deadLetters, keyArn])]]);
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

  it("is the only role the boundary lets invoke a function: any other role of the stack filled with Action * cannot", async () => {
    const everything: IamPolicy = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: ["*"], Resource: ["*"] }] };
    const roles = Object.values(s.all("aws_iam_role")).map((block) => roleOf(s.json, block).arn);
    expect(roles).toContain(role.arn);
    for (const arn of roles) {
      const request = { principal: arn, action: "lambda:InvokeFunction", resource: functionArn(PURGE), context: asPrincipal(arn) };
      expect([arn, await decide(request, [everything], boundary)]).toEqual([arn, arn === role.arn ? "Allowed" : "ImplicitlyDenied"]);
    }
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

describe("a schedule trigger's alarms (the purge's)", () => {
  const topicArn = s.ref("aws_sns_topic", "alarms/topic/topic", "arn");

  it("sends every alarm of the job to the environment's topic, when it fires and when it clears, its errors among them", () => {
    const alarms = s.all("aws_cloudwatch_metric_alarm");
    const ours = Object.keys(alarms).filter((path) => path.startsWith("alarms/purge"));
    expect(ours.sort()).toEqual([
      "alarms/purge-trigger/dead-letters-queued",
      "alarms/purge-trigger/unfinished",
      "alarms/purge/errors",
      "alarms/purge/failures-queued",
      "alarms/purge/throttles",
    ]);
    for (const path of ours) {
      expect([path, alarms[path]]).toEqual([
        path,
        expect.objectContaining({ alarm_actions: [topicArn], ok_actions: [topicArn], actions_enabled: true }),
      ]);
    }
  });

  it("fires as soon as one invocation waits in the dead-letter queue", () => {
    expect(s.resource("aws_cloudwatch_metric_alarm", "alarms/purge-trigger/dead-letters-queued")).toMatchObject({
      alarm_name: `${PREFIX}-purge-dead-letters-queued`,
      namespace: "AWS/SQS",
      metric_name: "ApproximateNumberOfMessagesVisible",
      dimensions: { QueueName: s.ref("aws_sqs_queue", "purge/schedule/queue", "name") },
      statistic: "Maximum",
      comparison_operator: "GreaterThanOrEqualToThreshold",
      threshold: 1,
      period: 300,
    });
  });

  it("counts finished passes from the job's summary lines and fires when none finished for 3 intervals, or no run logged at all", () => {
    expect(s.resource("aws_cloudwatch_log_metric_filter", "alarms/purge-trigger/passes-finished-filter")).toEqual({
      name: `${s.ref("aws_lambda_function", "purge/function", "function_name")}-passes-finished`,
      log_group_name: s.ref("aws_cloudwatch_log_group", "purge/log-group", "name"),
      pattern: '{ $.message.message = "purge run" }',
      metric_transformation: { name: "purge-passes-finished", namespace: PREFIX, value: "$.message.passesFinished" },
    });
    expect(s.resource("aws_cloudwatch_metric_alarm", "alarms/purge-trigger/unfinished")).toMatchObject({
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

  it("refuses a window CloudWatch does not evaluate, saying what to lower", () => {
    const trigger = { expression: "rate(1 day)", unfinished: { afterSchedules: 8 } } as unknown as FunctionSettings["trigger"];
    expect(() => synthStack({ functions: { purge: { trigger } } })).toThrow(
      "ScheduleAlarms purge: 8 intervals of 86400 s is no window CloudWatch evaluates",
    );
  });
});

describe("the deploy role, derived from the service stack with a schedule", () => {
  const deployRole = roleOf(state.json, state.resource("aws_iam_role", "ci/deploy-role"));
  const deploy = managedPoliciesOf(state.json, deployRole);
  const asDeployRole = (action: string, resource: string, context: Record<string, string> = {}) =>
    decide({ principal: deployRole.arn, action, resource, context }, deploy);
  const scheduleArn = `arn:${AWS.partition}:scheduler:${AWS.region}:${AWS.accountId}:schedule/${PREFIX}/${PURGE}`;

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
