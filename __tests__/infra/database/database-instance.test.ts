import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { byDescription, functionsOf, synthStack } from "../synth";

describe("DatabaseInstance", () => {
  const s = synthStack();
  const instance = s.resource("aws_db_instance", "database/instance");
  const keyArn = s.ref("aws_kms_key", "database/key", "arn");
  const databaseGroup = s.ref("aws_security_group", "database/security-group", "id");
  const { partition, dnsSuffix, region, accountId } = s.aws;

  it("runs MySQL 8.4 with IAM database authentication, upgrading minor versions automatically", () => {
    expect(instance).toMatchObject({
      engine: "mysql",
      engine_version: "8.4",
      auto_minor_version_upgrade: true,
      iam_database_authentication_enabled: true,
      port: 3306,
      db_name: "app",
      ca_cert_identifier: "rds-ca-rsa2048-g1",
    });
  });

  it("lets RDS generate the master password into Secrets Manager: no password in the configuration", () => {
    expect(instance.manage_master_user_password).toBe(true);
    expect(instance.master_user_secret_kms_key_id).toBe(keyArn);
    expect(instance.password).toBeUndefined();
    expect(instance.password_wo).toBeUndefined();
    const passwordFields = JSON.stringify(s.json).match(/"[a-z_]*password[a-z_]*"\s*:/g) ?? [];
    expect(passwordFields).toEqual(['"manage_master_user_password":']);
  });

  it("encrypts storage with a customer-managed key that rotates", () => {
    expect(instance).toMatchObject({ storage_encrypted: true, kms_key_id: keyArn });
    expect(s.resource("aws_kms_key", "database/key")).toMatchObject({ enable_key_rotation: true });
  });

  it("lets only RDS and Secrets Manager use its key, for principals of the account that IAM allows", () => {
    expect(s.resource("aws_kms_key", "database/key").policy).toBe(s.dataRef("aws_iam_policy_document", "database/key-policy", "json"));
    const [administration, ...usage] = s.data("aws_iam_policy_document", "database/key-policy").statement;
    expect(administration.sid).toBe("AccountAdministersKey");
    const account = [{ type: "AWS", identifiers: [`arn:${partition}:iam::${accountId}:root`] }];
    const use = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:CreateGrant", "kms:DescribeKey"];
    expect(usage).toEqual([
      {
        sid: "UseThroughRds",
        principals: account,
        actions: [...use, "kms:ListGrants"],
        resources: ["*"],
        condition: [{ test: "StringEquals", variable: "kms:ViaService", values: [`rds.${region}.${dnsSuffix}`] }],
      },
      {
        sid: "UseThroughSecretsManager",
        principals: account,
        actions: use,
        resources: ["*"],
        condition: [{ test: "StringEquals", variable: "kms:ViaService", values: [`secretsmanager.${region}.${dnsSuffix}`] }],
      },
    ]);
    expect(s.resource("aws_kms_alias", "database/key-alias")).toEqual({
      name: "alias/lambda-rds-iam-dev-database",
      target_key_id: s.ref("aws_kms_key", "database/key", "key_id"),
    });
  });

  it("requires TLS through its parameter group and keeps the slow query log for export", () => {
    expect(instance.parameter_group_name).toBe(s.ref("aws_db_parameter_group", "database/parameters", "name"));
    const group = s.resource("aws_db_parameter_group", "database/parameters");
    expect(group.family).toBe("mysql8.4");
    expect(group.parameter).toContainEqual({ name: "require_secure_transport", value: "1" });
    expect(group.parameter).toContainEqual({ name: "slow_query_log", value: "1" });
  });

  it("keeps a week of backups, copies tags to snapshots and exports error, slow query and IAM auth error logs to encrypted groups with retention", () => {
    expect(instance.backup_retention_period).toBeGreaterThanOrEqual(7);
    expect(instance.copy_tags_to_snapshot).toBe(true);
    expect(instance.enabled_cloudwatch_logs_exports).toEqual(["error", "slowquery", "iam-db-auth-error"]);
    for (const logType of ["error", "slowquery", "iam-db-auth-error"]) {
      expect(s.resource("aws_cloudwatch_log_group", `database/log-group-${logType}`)).toEqual({
        name: `/aws/rds/instance/lambda-rds-iam-dev/${logType}`,
        retention_in_days: 30,
        kms_key_id: s.ref("aws_kms_key", "logs/key", "arn"),
      });
      expect(instance.depends_on).toContain(s.ref("aws_cloudwatch_log_group", `database/log-group-${logType}`, "id").slice(2, -4));
    }
  });

  it("lives in the isolated subnets, not publicly accessible", () => {
    expect(instance.publicly_accessible).toBe(false);
    expect(instance.db_subnet_group_name).toBe(s.ref("aws_db_subnet_group", "database/subnet-group", "name"));
    expect(s.resource("aws_db_subnet_group", "database/subnet-group").subnet_ids).toEqual([
      s.ref("aws_subnet", "network/isolated-subnet-0", "id"),
      s.ref("aws_subnet", "network/isolated-subnet-1", "id"),
    ]);
  });

  it("admits TCP 3306 only from the groups of the functions that connect to it, and nothing else", () => {
    expect(instance.vpc_security_group_ids).toEqual([databaseGroup]);
    const group = s.resource("aws_security_group", "database/security-group");
    expect(group.ingress).toBeUndefined();
    expect(group.egress).toBeUndefined();
    const connecting = functionsOf(s).filter(({ dbHost }) => dbHost === s.ref("aws_db_instance", "database/instance", "address"));
    expect(connecting.map(({ path }) => path)).toEqual(
      expect.arrayContaining(["api/function", "ingest/function", "bootstrap/migrate/function"]),
    );
    expect(byDescription(s.rulesOf("ingress", databaseGroup))).toEqual(
      byDescription(
        connecting.map(({ group, name }) => ({
          security_group_id: databaseGroup,
          referenced_security_group_id: group,
          ip_protocol: "tcp",
          from_port: 3306,
          to_port: 3306,
          description: `MySQL from Lambda ${name}`,
        })),
      ),
    );
    expect(s.rulesOf("egress", databaseGroup)).toEqual([]);
  });

  it("grants rds-db:connect on the dbuser ARN built from the instance's resource_id and the account's partition, region and id", () => {
    const [statement] = s.data("aws_iam_policy_document", "api/role/role/rds-connect-app_user-document").statement;
    const resourceId = s.ref("aws_db_instance", "database/instance", "resource_id");
    expect(statement).toEqual({
      sid: "ConnectAsDbUser",
      actions: ["rds-db:connect"],
      resources: [`arn:${partition}:rds-db:${region}:${accountId}:dbuser:${resourceId}/app_user`],
    });
    expect(statement.resources[0]).not.toContain("identifier");
    expect(statement.resources[0]).not.toContain("*");
  });

  it("refuses a database user name that is not a MySQL account name", () => {
    const role = new IamRole(s.stack, "other-role", { assumeRolePolicy: "{}" });
    expect(() => s.stack.database.grantConnect(role, "app_user/*")).toThrow(/dbUser "app_user\/\*" is not a MySQL account name/);
    expect(() => s.stack.database.grantConnect(role, "")).toThrow(/dbUser "" is not a MySQL account name/);
  });
});

describe("DatabaseInstance, hardened settings from configuration", () => {
  const s = synthStack({
    database: { engineVersion: "8.0", multiAz: true, deletionProtection: true, skipFinalSnapshot: false, backupRetentionDays: 14 },
  });

  it("applies them to the instance and names a final snapshot after the instance's creation time", () => {
    expect(s.resource("aws_db_instance", "database/instance")).toMatchObject({
      engine_version: "8.0",
      multi_az: true,
      deletion_protection: true,
      skip_final_snapshot: false,
      final_snapshot_identifier: `lambda-rds-iam-dev-final-\${formatdate("YYYYMMDDhhmmss", ${s.ref("terraform_data", "database/created-at", "output").slice(2, -1)}["at"])}`,
      backup_retention_period: 14,
    });
    // Taken once: later plans ignore the changing timestamp(), so the name is stable for the instance's life.
    expect(s.resource("terraform_data", "database/created-at")).toEqual({
      input: { at: "${timestamp()}" },
      lifecycle: { ignore_changes: ["input"] },
    });
    expect(s.resource("aws_db_parameter_group", "database/parameters").family).toBe("mysql8.0");
  });
});
