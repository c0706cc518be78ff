import { synthStack } from "../synth";

describe("ExecutionRole of the API function", () => {
  const s = synthStack();
  const role = s.resource("aws_iam_role", "api/role/role");
  const policies = Object.entries(s.policiesOf("api/role/role"));
  /** Every statement the role's policies hold, read from the policy documents they reference. */
  const statements = policies.flatMap(([, policy]) => {
    const logicalId = /^\$\{data\.aws_iam_policy_document\.([^.]+)\.json\}$/.exec(policy.policy)?.[1];
    if (!logicalId) throw new Error(`policy ${policy.name} is not built from a policy document`);
    return s.json.data.aws_iam_policy_document[logicalId].statement as { actions: string[]; resources: string[]; condition?: object[] }[];
  });
  const logGroupArn = s.ref("aws_cloudwatch_log_group", "api/log-group", "arn");

  it("can be assumed by lambda.amazonaws.com and nothing else", () => {
    expect(role.assume_role_policy).toBe(s.dataRef("aws_iam_policy_document", "api/role/trust", "json"));
    expect(s.data("aws_iam_policy_document", "api/role/trust").statement).toEqual([
      { actions: ["sts:AssumeRole"], principals: [{ type: "Service", identifiers: ["lambda.amazonaws.com"] }] },
    ]);
  });

  it("holds inline policies only: no managed policy (AWSLambdaBasicExecutionRole grants logs on *)", () => {
    expect(s.json.resource.aws_iam_role_policy_attachment).toBeUndefined();
    expect(role.managed_policy_arns).toBeUndefined();
    expect(policies.map(([path]) => path).sort()).toEqual([
      "api/role/role/rds-connect-app_user",
      "api/role/send-failures",
      "api/role/vpc-and-tracing",
      "api/role/write-logs",
    ]);
  });

  it("allows exactly network interfaces, X-Ray, its own log group, connecting as its database user and sending to its failure queue", () => {
    const allowed = statements.map(({ actions, resources }) => ({ actions: [...actions].sort(), resources }));
    expect(allowed).toEqual(
      expect.arrayContaining([
        {
          actions: [
            "ec2:AssignPrivateIpAddresses",
            "ec2:CreateNetworkInterface",
            "ec2:DeleteNetworkInterface",
            "ec2:DescribeNetworkInterfaces",
            "ec2:DescribeSubnets",
            "ec2:UnassignPrivateIpAddresses",
          ],
          resources: ["*"],
        },
        { actions: ["xray:PutTelemetryRecords", "xray:PutTraceSegments"], resources: ["*"] },
        { actions: ["logs:CreateLogStream", "logs:PutLogEvents"], resources: [`${logGroupArn}:*`] },
        { actions: ["rds-db:connect"], resources: [expect.stringContaining(":dbuser:")] },
        { actions: ["sqs:SendMessage"], resources: [s.ref("aws_sqs_queue", "api/failures/queue", "arn")] },
        { actions: ["kms:Decrypt", "kms:GenerateDataKey"], resources: [s.ref("aws_kms_key", "api/failures/key", "arn")] },
      ]),
    );
    // Exact on purpose: this is the API role's whole permission set, the least-privilege contract reviewers read.
    expect(allowed).toHaveLength(6);
  });

  it("uses KMS only through SQS, with its failure queue's key", () => {
    const kms = statements.filter((statement) => statement.actions.some((action) => action.startsWith("kms:")));
    expect(kms.map(({ resources, condition }) => ({ resources, condition }))).toEqual([
      {
        resources: [s.ref("aws_kms_key", "api/failures/key", "arn")],
        condition: [{ test: "StringEquals", variable: "kms:ViaService", values: [`sqs.${s.aws.region}.${s.aws.dnsSuffix}`] }],
      },
    ]);
  });

  it.each([
    ["any wildcard action", /\*/],
    ["logs:* or log groups it does not own", /^logs:(?!CreateLogStream$|PutLogEvents$)/],
    ["the master secret or any other secret", /^secretsmanager:/],
    ["KMS calls other than encrypting for SQS", /^kms:(?!GenerateDataKey$|Decrypt$)/],
    ["SQS other than sending", /^sqs:(?!SendMessage$)/],
    ["S3 buckets", /^s3:/],
    ["passing or assuming roles", /^(iam:PassRole|sts:)/],
    ["managing RDS", /^rds:/],
  ])("allows nothing of %s", (_, forbidden) => {
    const actions = statements.flatMap((statement) => statement.actions);
    expect(actions.filter((action) => forbidden.test(action))).toEqual([]);
  });

  it("writes logs only to the function's own group", () => {
    const logResources = statements
      .filter((statement) => statement.actions.some((action) => action.startsWith("logs:")))
      .flatMap((statement) => statement.resources);
    expect(logResources).toEqual([`${logGroupArn}:*`]);
  });
});
