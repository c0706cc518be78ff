import { ConfigError } from "../../../src/config/stack-config";
import { parseServiceConfig } from "../../../src/config/environments";
import { loadStackConfigs } from "../../../src/config/environments";
import { ServiceStack } from "../../../src/service-stack";
import { MINIMAL, projectRoot, synthStack, synthesize, testApp } from "../synth";

const GIB = 1024 ** 3;

describe("ServiceAlarms (dev, defaults)", () => {
  const s = synthStack();
  const topicArn = s.ref("aws_sns_topic", "alarms/topic/topic", "arn");
  const { partition, region, accountId } = s.aws;
  /** Every alarm: 5-minute periods, the first one past the threshold fires, the topic hears it fire and clear. */
  const alarm = (name: string, metric: Record<string, unknown>) => ({
    alarm_name: `lambda-rds-iam-dev-${name}`,
    alarm_description: expect.any(String),
    ...metric,
    period: 300,
    evaluation_periods: 1,
    datapoints_to_alarm: 1,
    actions_enabled: true,
    alarm_actions: [topicArn],
    ok_actions: [topicArn],
  });

  it.each(["api", "ingest"])("watches the %s function's errors and throttles", (fn) => {
    const lambda = {
      namespace: "AWS/Lambda",
      dimensions: { FunctionName: s.ref("aws_lambda_function", `${fn}/function`, "function_name") },
    };
    const counted = { statistic: "Sum", comparison_operator: "GreaterThanOrEqualToThreshold", treat_missing_data: "notBreaching" };
    expect(s.resource("aws_cloudwatch_metric_alarm", `alarms/${fn}/errors`)).toEqual(
      alarm(`${fn}-errors`, { ...lambda, ...counted, metric_name: "Errors", threshold: 1 }),
    );
    expect(s.resource("aws_cloudwatch_metric_alarm", `alarms/${fn}/throttles`)).toEqual(
      alarm(`${fn}-throttles`, { ...lambda, ...counted, metric_name: "Throttles", threshold: 5 }),
    );
  });

  it.each(["api", "ingest"])("fires as soon as one event waits in the %s function's failure queue", (fn) => {
    expect(s.resource("aws_cloudwatch_metric_alarm", `alarms/${fn}/failures-queued`)).toEqual(
      alarm(`${fn}-failures-queued`, {
        namespace: "AWS/SQS",
        metric_name: "ApproximateNumberOfMessagesVisible",
        dimensions: { QueueName: s.ref("aws_sqs_queue", `${fn}/failures/queue`, "name") },
        statistic: "Maximum",
        comparison_operator: "GreaterThanOrEqualToThreshold",
        threshold: 1,
        treat_missing_data: "notBreaching",
      }),
    );
  });

  it("counts the database's refused IAM authentications from its iam-db-auth-error log", () => {
    expect(s.resource("aws_cloudwatch_log_metric_filter", "alarms/database/iam-auth-errors-filter")).toEqual({
      name: "lambda-rds-iam-dev-iam-auth-errors",
      log_group_name: s.ref("aws_cloudwatch_log_group", "database/log-group-iam-db-auth-error", "name"),
      pattern: "",
      metric_transformation: {
        name: "IamAuthenticationErrors",
        namespace: "lambda-rds-iam-dev",
        value: "1",
        default_value: "0",
        unit: "Count",
      },
    });
    expect(s.resource("aws_cloudwatch_metric_alarm", "alarms/database/iam-auth-errors")).toEqual(
      alarm("database-iam-auth-errors", {
        namespace: "lambda-rds-iam-dev",
        metric_name: "IamAuthenticationErrors",
        statistic: "Sum",
        comparison_operator: "GreaterThanOrEqualToThreshold",
        threshold: 1,
        treat_missing_data: "notBreaching",
      }),
    );
  });

  it("fires at 80% of db.t4g.micro's max_connections (85) and at 5% of the 20 GiB allocated storage free", () => {
    const rds = { namespace: "AWS/RDS", dimensions: { DBInstanceIdentifier: s.ref("aws_db_instance", "database/instance", "identifier") } };
    expect(s.resource("aws_cloudwatch_metric_alarm", "alarms/database/connections")).toEqual(
      alarm("database-connections", {
        ...rds,
        metric_name: "DatabaseConnections",
        statistic: "Maximum",
        comparison_operator: "GreaterThanOrEqualToThreshold",
        threshold: 68,
        treat_missing_data: "missing",
      }),
    );
    expect(s.resource("aws_cloudwatch_metric_alarm", "alarms/database/free-storage")).toEqual(
      alarm("database-free-storage", {
        ...rds,
        metric_name: "FreeStorageSpace",
        statistic: "Minimum",
        comparison_operator: "LessThanOrEqualToThreshold",
        threshold: 1 * GIB,
        treat_missing_data: "missing",
      }),
    );
  });

  it("has no proxy, so no pinned-sessions alarm; these are all its alarms", () => {
    expect(Object.keys(s.all("aws_cloudwatch_metric_alarm")).sort()).toEqual([
      "alarms/api-trigger/latency-p99",
      "alarms/api-trigger/server-errors",
      "alarms/api/errors",
      "alarms/api/failures-queued",
      "alarms/api/throttles",
      "alarms/database/connections",
      "alarms/database/free-storage",
      "alarms/database/iam-auth-errors",
      "alarms/ingest/errors",
      "alarms/ingest/failures-queued",
      "alarms/ingest/throttles",
      "alarms/purge-trigger/dead-letters-queued",
      "alarms/purge-trigger/unfinished",
      "alarms/purge/errors",
      "alarms/purge/failures-queued",
      "alarms/purge/throttles",
    ]);
  });

  it("notifies one topic, encrypted with a key of its own, with no subscription unless configured", () => {
    expect(s.resource("aws_sns_topic", "alarms/topic/topic")).toEqual({
      name: "lambda-rds-iam-dev-alarms",
      kms_master_key_id: s.ref("aws_kms_key", "alarms/topic/key", "arn"),
    });
    expect(s.resource("aws_kms_alias", "alarms/topic/key-alias").name).toBe("alias/lambda-rds-iam-dev-alarms");
    expect(s.json.resource.aws_sns_topic_subscription).toBeUndefined();
  });

  const fromTheseAlarms = [
    {
      test: "ArnLike",
      variable: "aws:SourceArn",
      values: [`arn:${partition}:cloudwatch:${region}:${accountId}:alarm:lambda-rds-iam-dev-*`],
    },
    { test: "StringEquals", variable: "aws:SourceAccount", values: [accountId] },
  ];

  it("lets CloudWatch use the topic's key for this environment's alarms only, and the account only through SNS", () => {
    const [administration, ...usage] = s.data("aws_iam_policy_document", "alarms/topic/key-policy").statement;
    expect(administration.sid).toBe("AccountAdministersKey");
    expect(usage).toEqual([
      {
        sid: "CloudWatchAlarmsPublish",
        principals: [{ type: "Service", identifiers: ["cloudwatch.amazonaws.com"] }],
        actions: ["kms:Decrypt", "kms:GenerateDataKey*"],
        resources: ["*"],
        condition: fromTheseAlarms,
      },
      {
        sid: "UseThroughSns",
        principals: [{ type: "AWS", identifiers: [`arn:${partition}:iam::${accountId}:root`] }],
        actions: ["kms:Decrypt", "kms:GenerateDataKey*"],
        resources: ["*"],
        condition: [{ test: "StringEquals", variable: "kms:ViaService", values: [`sns.${region}.${s.aws.dnsSuffix}`] }],
      },
    ]);
  });

  it("lets only this environment's alarms publish, and refuses requests without TLS", () => {
    expect(s.resource("aws_sns_topic_policy", "alarms/topic/topic-policy")).toEqual({
      arn: topicArn,
      policy: s.dataRef("aws_iam_policy_document", "alarms/topic/topic-policy-document", "json"),
    });
    expect(s.data("aws_iam_policy_document", "alarms/topic/topic-policy-document").statement).toEqual([
      {
        sid: "CloudWatchAlarmsPublish",
        principals: [{ type: "Service", identifiers: ["cloudwatch.amazonaws.com"] }],
        actions: ["sns:Publish"],
        resources: [topicArn],
        condition: fromTheseAlarms,
      },
      {
        sid: "DenyInsecureTransport",
        effect: "Deny",
        actions: ["sns:*"],
        principals: [{ type: "*", identifiers: ["*"] }],
        resources: [topicArn],
        condition: [{ test: "Bool", variable: "aws:SecureTransport", values: ["false"] }],
      },
    ]);
  });
});

describe("ServiceAlarms (prod)", () => {
  const config = loadStackConfigs({}).find((candidate) => candidate.environment === "prod")!;
  const s = synthesize(new ServiceStack(testApp(), "prod", { config, projectRoot }));
  const topicArn = s.ref("aws_sns_topic", "alarms/topic/topic", "arn");

  it("watches the proxy's pinned sessions", () => {
    expect(s.resource("aws_cloudwatch_metric_alarm", "alarms/proxy/pinned-sessions")).toMatchObject({
      alarm_name: "lambda-rds-iam-prod-proxy-pinned-sessions",
      namespace: "AWS/RDS",
      metric_name: "DatabaseConnectionsCurrentlySessionPinned",
      dimensions: { ProxyName: s.ref("aws_db_proxy", "database-proxy/proxy", "name") },
      statistic: "Maximum",
      comparison_operator: "GreaterThanOrEqualToThreshold",
      threshold: 10,
      alarm_actions: [topicArn],
      ok_actions: [topicArn],
    });
  });

  it("sizes the database alarms from db.m7g.large (682 connections) and 100 GiB of storage", () => {
    expect(s.resource("aws_cloudwatch_metric_alarm", "alarms/database/connections").threshold).toBe(545);
    expect(s.resource("aws_cloudwatch_metric_alarm", "alarms/database/free-storage").threshold).toBe(5 * GIB);
  });
});

describe("alarm configuration", () => {
  it("takes thresholds and subscriptions from configuration", () => {
    const subscriptions = [
      { protocol: "email", endpoint: "oncall@example.com" },
      { protocol: "https", endpoint: "https://hooks.example.com/alarms" },
    ] as const;
    const s = synthStack({
      alarms: {
        subscriptions: [...subscriptions],
        functionErrors: 3,
        functionThrottles: 20,
        iamAuthFailures: 2,
        connectionsPercent: 50,
        freeStoragePercent: 10,
      },
    });
    expect(s.resource("aws_cloudwatch_metric_alarm", "alarms/api/errors").threshold).toBe(3);
    expect(s.resource("aws_cloudwatch_metric_alarm", "alarms/ingest/throttles").threshold).toBe(20);
    expect(s.resource("aws_cloudwatch_metric_alarm", "alarms/database/iam-auth-errors").threshold).toBe(2);
    expect(s.resource("aws_cloudwatch_metric_alarm", "alarms/database/connections").threshold).toBe(42);
    expect(s.resource("aws_cloudwatch_metric_alarm", "alarms/database/free-storage").threshold).toBe(2 * GIB);
    const topicArn = s.ref("aws_sns_topic", "alarms/topic/topic", "arn");
    expect(Object.values(s.all("aws_sns_topic_subscription"))).toEqual(
      subscriptions.map((subscription) => ({ topic_arn: topicArn, ...subscription })),
    );
  });

  it("takes max_connections from configuration for a class the table does not know", () => {
    const s = synthStack({ database: { instanceClass: "db.x2g.large" }, alarms: { maxConnections: 1000 } });
    expect(s.resource("aws_cloudwatch_metric_alarm", "alarms/database/connections").threshold).toBe(800);
  });

  it("refuses endpoints that do not fit their protocol, repeated subscriptions, and an unknown class without maxConnections", () => {
    const problems = (alarms: unknown, database: unknown = {}) => {
      try {
        parseServiceConfig({ ...MINIMAL, alarms, database }, "test");
      } catch (error) {
        if (error instanceof ConfigError) return error.problems;
        throw error;
      }
      return [];
    };
    expect(
      problems({
        subscriptions: [
          { protocol: "email", endpoint: "not-an-address" },
          { protocol: "https", endpoint: "http://plain" },
        ],
      }),
    ).toEqual([
      "alarms.subscriptions.0.endpoint: must be an email address like team@example.com for protocol email",
      "alarms.subscriptions.1.endpoint: must be an https:// URL for protocol https",
    ]);
    expect(problems({ subscriptions: [{ protocol: "pager", endpoint: "x" }] })).toEqual([
      'alarms.subscriptions.0.protocol: must be one of "email", "https", "sqs", "lambda", "sms"',
    ]);
    const twice = { protocol: "email", endpoint: "oncall@example.com" };
    expect(problems({ subscriptions: [twice, twice] })).toEqual([
      "alarms.subscriptions.1: repeats email:oncall@example.com; list each subscription once",
    ]);
    expect(problems({}, { instanceClass: "db.x2g.large" })).toEqual([
      "alarms.maxConnections: is needed for the connections alarm: src/database/instance-classes.ts cannot work out max_connections of db.x2g.large; set it, or add the class's memory there",
    ]);
  });
});
