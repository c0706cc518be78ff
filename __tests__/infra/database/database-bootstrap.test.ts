import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { unzipSync } from "fflate";
import { Testing } from "cdktf";
import { parseServiceConfig } from "../../../src/config/environments";
import { type FunctionDeclaration, databaseGrantsOf } from "../../../src/config/function-schema";
import { parseStackConfig } from "../../../src/config/stack-config";
import { REPORTS_FUNCTION } from "../../fixtures/functions/reports/declaration";
import { ServiceStack } from "../../../src/service-stack";
import { MINIMAL, checkout, projectRoot, synthStack, testApp } from "../synth";
import { tempDir } from "../temp";

describe("DatabaseBootstrap", () => {
  const s = synthStack();
  const migrateGroup = s.ref("aws_security_group", "bootstrap/migrate/security-group", "id");
  const endpointGroup = s.ref("aws_security_group", "network/secretsmanager-endpoint/security-group", "id");
  const migrate = s.resource("aws_lambda_function", "bootstrap/migrate/function");

  it("reaches Secrets Manager through an interface endpoint with private DNS in the private subnets", () => {
    expect(s.resource("aws_vpc_endpoint", "network/secretsmanager-endpoint/endpoint")).toMatchObject({
      vpc_id: s.ref("aws_vpc", "network/vpc", "id"),
      service_name: "com.amazonaws.eu-west-1.secretsmanager",
      vpc_endpoint_type: "Interface",
      private_dns_enabled: true,
      subnet_ids: [s.ref("aws_subnet", "network/private-subnet-0", "id"), s.ref("aws_subnet", "network/private-subnet-1", "id")],
      security_group_ids: [endpointGroup],
    });
  });

  it("lets only the migrate function's group reach the endpoint, on 443", () => {
    expect(s.rulesOf("ingress", endpointGroup)).toEqual([
      {
        security_group_id: endpointGroup,
        referenced_security_group_id: migrateGroup,
        ip_protocol: "tcp",
        from_port: 443,
        to_port: 443,
        description: "HTTPS from Lambda lambda-rds-iam-dev-migrate",
      },
    ]);
    expect(s.rulesOf("egress", endpointGroup)).toEqual([]);
  });

  it("gives the migrate function no way out but MySQL to the database and HTTPS to the endpoint", () => {
    expect(s.rulesOf("egress", migrateGroup).map((rule) => [rule.referenced_security_group_id, rule.from_port, rule.cidr_ipv4])).toEqual([
      [s.ref("aws_security_group", "database/security-group", "id"), 3306, undefined],
      [endpointGroup, 443, undefined],
    ]);
    expect(migrate.vpc_config.subnet_ids).toEqual([
      s.ref("aws_subnet", "network/private-subnet-0", "id"),
      s.ref("aws_subnet", "network/private-subnet-1", "id"),
    ]);
  });

  it("tells the function which secret to read by ARN, never the secret itself", () => {
    expect(migrate.environment.variables).toEqual({
      DB_HOST: s.ref("aws_db_instance", "database/instance", "address"),
      DB_PORT: "3306",
      DB_NAME: "app",
      DB_USER: s.ref("aws_db_instance", "database/instance", "username"),
      DB_GRANTS: JSON.stringify(databaseGrantsOf(parseServiceConfig(MINIMAL, "test").functions)),
      MASTER_SECRET_ARN: s.ref("aws_db_instance", "database/instance", "master_user_secret[0].secret_arn"),
    });
  });

  it("allows the migrate role to read exactly the master secret, decrypting only through Secrets Manager", () => {
    expect(Object.keys(s.policiesOf("bootstrap/migrate/role/role")).sort()).toEqual([
      "bootstrap/migrate/role/role/read-master-secret",
      "bootstrap/migrate/role/vpc-and-tracing",
      "bootstrap/migrate/role/write-logs",
    ]);
    expect(s.data("aws_iam_policy_document", "bootstrap/migrate/role/role/read-master-secret-document").statement).toEqual([
      {
        sid: "ReadMasterSecret",
        actions: ["secretsmanager:GetSecretValue"],
        resources: [s.ref("aws_db_instance", "database/instance", "master_user_secret[0].secret_arn")],
      },
      {
        sid: "DecryptMasterSecretViaSecretsManager",
        actions: ["kms:Decrypt"],
        resources: [s.ref("aws_kms_key", "database/key", "arn")],
        condition: [
          {
            test: "StringEquals",
            variable: "kms:ViaService",
            values: [
              `secretsmanager.${s.dataRef("aws_region", "aws-context/region", "region")}.${s.dataRef("aws_partition", "aws-context/partition", "dns_suffix")}`,
            ],
          },
        ],
      },
    ]);
  });

  it("runs one invocation at a time: a reserved concurrency of 1", () => {
    expect(migrate.reserved_concurrent_executions).toBe(1);
  });

  it("is invoked by Terraform once the instance and the endpoint exist", () => {
    const run = s.resource("aws_lambda_invocation", "bootstrap/run");
    expect(run.function_name).toBe(s.ref("aws_lambda_function", "bootstrap/migrate/function", "function_name"));
    expect(run.depends_on).toEqual([
      s.ref("aws_db_instance", "database/instance", "id").slice(2, -4),
      s.ref("aws_vpc_endpoint", "network/secretsmanager-endpoint/endpoint", "id").slice(2, -4),
    ]);
    expect(JSON.parse(run.input)).toMatchObject({
      database: "app",
      grants: databaseGrantsOf(parseServiceConfig(MINIMAL, "test").functions),
      migrations: [
        "0001_create_items.sql",
        "0002_create_ingested_objects.sql",
        "0003_create_ingested_keys.sql",
        "0004_create_batch_jobs.sql",
      ],
    });
  });

  it("re-invokes only when the migrations change", () => {
    const inputOf = (root: string) => {
      const stack = new ServiceStack(testApp(), "dev", { config: parseServiceConfig(MINIMAL, "test"), projectRoot: root });
      return JSON.parse(Testing.synth(stack)).resource.aws_lambda_invocation[stack.bootstrap.invocation.friendlyUniqueId].input as string;
    };
    const root = checkout();
    expect(inputOf(root)).toBe(s.resource("aws_lambda_invocation", "bootstrap/run").input);
    writeFileSync(join(root, "migrations", "0005_add_owner.sql"), "ALTER TABLE items ADD COLUMN owner VARCHAR(64) NULL;\n");
    expect(JSON.parse(inputOf(root)).migrations).toEqual([
      "0001_create_items.sql",
      "0002_create_ingested_objects.sql",
      "0003_create_ingested_keys.sql",
      "0004_create_batch_jobs.sql",
      "0005_add_owner.sql",
    ]);
  });

  describe("of a service that declares other functions and migrations (another app's, say)", () => {
    const migrationsDir = tempDir("migrations-");
    writeFileSync(join(migrationsDir, "0001_create_reports.sql"), "CREATE TABLE reports (id INT PRIMARY KEY, total INT NOT NULL);\n");
    const reports: FunctionDeclaration = { ...REPORTS_FUNCTION, database: { user: "reports", grants: { reports: ["SELECT"] } } };
    const service = { functions: { reports }, projectRoot, migrationsDir };
    const config = parseStackConfig({ ...MINIMAL, project: "reports", database: { proxy: true } }, "test", service);
    const stack = new ServiceStack(testApp(), "dev", { config, projectRoot, migrationsDir });
    const json = JSON.parse(Testing.synth(stack));
    const migrateFunction = json.resource.aws_lambda_function[stack.bootstrap.function.function.friendlyUniqueId];

    it("creates exactly its declared users with their grants, and applies its migrations, not this checkout's", () => {
      const input = JSON.parse(json.resource.aws_lambda_invocation[stack.bootstrap.invocation.friendlyUniqueId].input);
      expect({ grants: input.grants, migrations: input.migrations }).toEqual({
        grants: { reports: { reports: ["SELECT"] } },
        migrations: ["0001_create_reports.sql"],
      });
      expect(JSON.parse(migrateFunction.environment.variables.DB_GRANTS)).toEqual({ reports: { reports: ["SELECT"] } });
      expect(Buffer.from(unzipSync(readFileSync(stack.bootstrap.function.bundle.zipPath))["index.js"]).toString("utf8")).toContain(
        "CREATE TABLE reports",
      );
    });

    it("names the migrate function for the service, and lets every role, the proxy's included, connect only as the declared user", () => {
      expect(migrateFunction.function_name).toBe("reports-dev-migrate");
      const users = [...JSON.stringify(json).matchAll(/:dbuser:[^"\\]*?\/([A-Za-z0-9_]+)/g)].map((match) => match[1]);
      expect(users.length).toBeGreaterThan(0);
      expect(new Set(users)).toEqual(new Set(["reports"]));
    });
  });

  it("bundles the repository's migrations into the migrate function, which loads with no node_modules", () => {
    const dir = tempDir("migrate-");
    const code = unzipSync(readFileSync(s.stack.bootstrap.function.bundle.zipPath))["index.js"];
    writeFileSync(join(dir, "index.js"), code);
    const probe = `const m = require(${JSON.stringify(join(dir, "index.js"))}); process.stdout.write(typeof m.handler);`;
    expect(execFileSync(process.execPath, ["-e", probe], { cwd: dir, env: { PATH: process.env.PATH } }).toString()).toBe("function");
    expect(Buffer.from(code).toString("utf8")).toContain(
      JSON.stringify(readFileSync(join(projectRoot, "migrations/0001_create_items.sql"), "utf8")).slice(1, 40),
    );
  });
});
