import { functionsOf, synthStack } from "../synth";

describe("LogEncryption", () => {
  const s = synthStack({ database: { proxy: true } });
  const keyArn = s.ref("aws_kms_key", "logs/key", "arn");
  const groups = s.all("aws_cloudwatch_log_group");
  const { partition, region, accountId: account, dnsSuffix } = s.aws;

  it("encrypts every log group of the stack with the one log key", () => {
    // The proxy's, the database exports', the flow log's and every function's: whatever the stack gains.
    expect(Object.keys(groups)).toEqual(
      expect.arrayContaining(["database-proxy/log-group", "network/flow-log-group", "database/log-group-iam-db-auth-error"]),
    );
    for (const fn of functionsOf(s)) expect(Object.keys(groups)).toContain(fn.path.replace(/function$/, "log-group"));
    for (const [path, group] of Object.entries(groups)) expect({ path, key: group.kms_key_id }).toEqual({ path, key: keyArn });
  });

  it("is a rotating key with its own alias", () => {
    expect(s.resource("aws_kms_key", "logs/key")).toMatchObject({
      description: "lambda-rds-iam-dev CloudWatch log groups",
      enable_key_rotation: true,
    });
    expect(s.resource("aws_kms_alias", "logs/key-alias")).toEqual({
      name: "alias/lambda-rds-iam-dev-logs",
      target_key_id: s.ref("aws_kms_key", "logs/key", "key_id"),
    });
  });

  it("lets CloudWatch Logs of the stack's region use the key for exactly these groups, and nobody else use it", () => {
    expect(s.resource("aws_kms_key", "logs/key").policy).toBe(s.dataRef("aws_iam_policy_document", "logs/key-policy", "json"));
    const [administration, ...usage] = s.data("aws_iam_policy_document", "logs/key-policy").statement;
    expect(administration.sid).toBe("AccountAdministersKey");
    const groupArns = Object.values(groups).map((group) => `arn:${partition}:logs:${region}:${account}:log-group:${group.name}`);
    expect(usage).toEqual([
      {
        sid: "CloudWatchLogsForTheseGroups",
        principals: [{ type: "Service", identifiers: [`logs.${region}.${dnsSuffix}`] }],
        actions: ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
        resources: ["*"],
        condition: [{ test: "ArnEquals", variable: "kms:EncryptionContext:aws:logs:arn", values: expect.arrayContaining(groupArns) }],
      },
    ]);
    expect(usage[0].condition[0].values).toHaveLength(groupArns.length);
  });
});
