import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CONNECTIONS_PER_ENVIRONMENT as CLIENT_CONNECTIONS } from "../../../functions/shared/database-client";
import { ConfigError } from "../../../src/config/stack-config";
import { parseServiceConfig } from "../../../src/config/environments";
import { CONNECTIONS_PER_ENVIRONMENT, directPathConcurrency, maxConnections } from "../../../src/database/instance-classes";
import { MINIMAL, byDescription, functionsOf, projectRoot, synthStack } from "../synth";

const mysqlRule = (group: string, peer: string, description: string) => ({
  security_group_id: group,
  referenced_security_group_id: peer,
  ip_protocol: "tcp",
  from_port: 3306,
  to_port: 3306,
  description,
});

describe("RDS Proxy, off by default", () => {
  const s = synthStack();

  it("is absent: the API function connects to the instance and may connect as its user there", () => {
    expect(s.json.resource.aws_db_proxy).toBeUndefined();
    expect(s.resource("aws_lambda_function", "api/function").environment.variables).toMatchObject({
      DB_HOST: s.ref("aws_db_instance", "database/instance", "address"),
      DB_PORT: "3306",
    });
  });

  it("has the instance reap idle connections after 5 minutes, not MySQL's 8 hours, so frozen environments free theirs", () => {
    const { parameter } = s.resource("aws_db_parameter_group", "database/parameters");
    expect(parameter).toContainEqual({ name: "wait_timeout", value: "300" });
    expect(parameter).toContainEqual({ name: "interactive_timeout", value: "300" });
  });
});

describe("RDS Proxy, on", () => {
  const s = synthStack({ database: { proxy: true } });
  const proxy = s.resource("aws_db_proxy", "database-proxy/proxy");
  const proxyGroup = s.ref("aws_security_group", "database-proxy/security-group", "id");
  const databaseGroup = s.ref("aws_security_group", "database/security-group", "id");
  const apiGroup = s.ref("aws_security_group", "api/security-group", "id");
  /** The functions whose environment points them at the proxy. */
  const throughProxy = () => functionsOf(s).filter(({ dbHost }) => dbHost === s.ref("aws_db_proxy", "database-proxy/proxy", "endpoint"));
  const migrateGroup = s.ref("aws_security_group", "bootstrap/migrate/security-group", "id");
  const ingestGroup = s.ref("aws_security_group", "ingest/security-group", "id");
  const partition = s.dataRef("aws_partition", "aws-context/partition", "partition");
  const region = s.dataRef("aws_region", "aws-context/region", "region");
  const account = s.dataRef("aws_caller_identity", "aws-context/caller", "account_id");

  it("is a MySQL proxy that requires TLS and authenticates end to end with IAM, with no secret", () => {
    expect(proxy).toMatchObject({
      name: "lambda-rds-iam-dev",
      engine_family: "MYSQL",
      require_tls: true,
      default_auth_scheme: "IAM_AUTH",
      role_arn: s.ref("aws_iam_role", "database-proxy/role", "arn"),
      idle_client_timeout: 900,
      vpc_subnet_ids: [s.ref("aws_subnet", "network/isolated-subnet-0", "id"), s.ref("aws_subnet", "network/isolated-subnet-1", "id")],
      vpc_security_group_ids: [proxyGroup],
    });
    expect(proxy.auth).toBeUndefined();
    expect(JSON.stringify(s.json)).not.toMatch(/secretsmanager:GetSecretValue[^}]*database-proxy/);
  });

  it("pools at most 80% of the instance's connections and refuses a borrower within 3 s, before the handler's 5 s timer", () => {
    expect(s.resource("aws_db_proxy_default_target_group", "database-proxy/target-group")).toEqual({
      db_proxy_name: s.ref("aws_db_proxy", "database-proxy/proxy", "name"),
      connection_pool_config: { connection_borrow_timeout: 3, max_connections_percent: 80, max_idle_connections_percent: 40 },
    });
    expect(s.resource("aws_db_proxy_target", "database-proxy/target")).toMatchObject({
      db_proxy_name: s.ref("aws_db_proxy", "database-proxy/proxy", "name"),
      target_group_name: s.ref("aws_db_proxy_default_target_group", "database-proxy/target-group", "name"),
      db_instance_identifier: s.ref("aws_db_instance", "database/instance", "identifier"),
    });
  });

  it("has a role only RDS of this account may assume, allowed rds-db:connect on the instance as each user that connects through it, and nothing else", () => {
    expect(s.data("aws_iam_policy_document", "database-proxy/role-trust").statement).toEqual([
      {
        actions: ["sts:AssumeRole"],
        principals: [{ type: "Service", identifiers: ["rds.amazonaws.com"] }],
        condition: [{ test: "StringEquals", variable: "aws:SourceAccount", values: [account] }],
      },
    ]);
    const policies = Object.entries(s.all("aws_iam_role_policy")).filter(([path]) => path.startsWith("database-proxy/"));
    const users = [...new Set(throughProxy().map(({ dbUser }) => dbUser!))];
    expect(users).toEqual(expect.arrayContaining(["app_user", "ingest"]));
    expect(policies.map(([path]) => path).sort()).toEqual(users.map((user) => `database-proxy/role/rds-connect-${user}`).sort());
    for (const user of users) {
      expect(s.data("aws_iam_policy_document", `database-proxy/role/rds-connect-${user}-document`).statement).toEqual([
        {
          sid: "ConnectAsDbUser",
          actions: ["rds-db:connect"],
          resources: [
            `arn:${partition}:rds-db:${region}:${account}:dbuser:${s.ref("aws_db_instance", "database/instance", "resource_id")}/${user}`,
          ],
        },
      ]);
    }
    expect(Object.keys(s.all("aws_iam_role_policy_attachment")).filter((path) => path.startsWith("database-proxy/"))).toEqual([]);
  });

  it("points the API function at the proxy: its endpoint, port 3306, and rds-db:connect on the proxy's prx- resource id", () => {
    expect(s.resource("aws_lambda_function", "api/function").environment.variables).toMatchObject({
      DB_HOST: s.ref("aws_db_proxy", "database-proxy/proxy", "endpoint"),
      DB_PORT: "3306",
      DB_USER: "app_user",
    });
    const proxyResourceId = `\${element(split(":", ${s.ref("aws_db_proxy", "database-proxy/proxy", "arn").slice(2, -1)}), 6)}`;
    expect(s.data("aws_iam_policy_document", "api/role/role/rds-connect-app_user-document").statement).toEqual([
      {
        sid: "ConnectAsDbUser",
        actions: ["rds-db:connect"],
        resources: [`arn:${partition}:rds-db:${region}:${account}:dbuser:${proxyResourceId}/app_user`],
      },
    ]);
  });

  it("keeps the migrate function on the instance itself", () => {
    expect(s.resource("aws_lambda_function", "bootstrap/migrate/function").environment.variables.DB_HOST).toBe(
      s.ref("aws_db_instance", "database/instance", "address"),
    );
  });

  it("lets MySQL flow from each function that connects through the proxy -> proxy -> instance, and the migrate function -> instance, nothing else", () => {
    expect(throughProxy().map(({ group }) => group)).toEqual(expect.arrayContaining([apiGroup, ingestGroup]));
    expect(byDescription(s.rulesOf("ingress", proxyGroup))).toEqual(
      byDescription(throughProxy().map(({ group, name }) => mysqlRule(proxyGroup, group, `MySQL from Lambda ${name}`))),
    );
    expect(s.rulesOf("egress", proxyGroup)).toEqual([mysqlRule(proxyGroup, databaseGroup, "MySQL to the database")]);
    expect(byDescription(s.rulesOf("ingress", databaseGroup))).toEqual(
      byDescription([
        mysqlRule(databaseGroup, proxyGroup, "MySQL from RDS Proxy lambda-rds-iam-dev"),
        mysqlRule(databaseGroup, migrateGroup, "MySQL from Lambda lambda-rds-iam-dev-migrate"),
      ]),
    );
    expect(s.rulesOf("egress", apiGroup)).toContainEqual(mysqlRule(apiGroup, proxyGroup, "MySQL to RDS Proxy lambda-rds-iam-dev"));
    expect(s.rulesOf("egress", apiGroup).filter((rule) => rule.referenced_security_group_id === databaseGroup)).toEqual([]);
  });

  it("keeps the proxy's log group for the database's retention and names the endpoint in the outputs", () => {
    expect(s.resource("aws_cloudwatch_log_group", "database-proxy/log-group")).toMatchObject({
      name: "/aws/rds/proxy/lambda-rds-iam-dev",
      retention_in_days: 30,
    });
    expect(s.json.output.db_proxy_endpoint.value).toBe(s.ref("aws_db_proxy", "database-proxy/proxy", "endpoint"));
  });
});

describe("direct-path sizing", () => {
  it("counts the connections the handler really holds per execution environment", () => {
    expect(CONNECTIONS_PER_ENVIRONMENT).toBe(CLIENT_CONNECTIONS);
  });

  it("follows RDS's max_connections formula for MySQL, memory / 12582880", () => {
    expect(maxConnections("db.t4g.micro")).toBe(85);
    expect(maxConnections("db.m7g.large")).toBe(682);
    expect(maxConnections("db.r7g.xlarge")).toBe(2730);
    expect(maxConnections("db.x2g.large")).toBeUndefined();
  });

  it("refuses reserved concurrency the class cannot serve on the direct path, summed over every function and naming the numbers, unless the proxy is on", () => {
    const declared = parseServiceConfig(MINIMAL, "test").functions;
    const others = declared.filter((fn) => fn.name !== "api").reduce((sum, fn) => sum + fn.reservedConcurrency, 0);
    const input = { ...MINIMAL, functions: { api: { reservedConcurrency: 68 - others } } };
    expect(() => parseServiceConfig(input, "test")).toThrow(ConfigError);
    expect(() => parseServiceConfig(input, "test")).toThrow(
      /^Invalid configuration[\s\S]*functions: reserve 68 environments together \(.*\), but db\.t4g\.micro \(max_connections about 85\) serves at most 67 on the direct path; lower their reservedConcurrency, choose a larger database\.instanceClass, or turn on database\.proxy/,
    );
    expect(() => parseServiceConfig({ ...input, functions: { api: { reservedConcurrency: 67 - others } } }, "test")).not.toThrow();
    expect(parseServiceConfig({ ...input, database: { proxy: true } }, "test").database.proxy).toBe(true);
    expect(() =>
      parseServiceConfig({ ...input, database: { instanceClass: "db.x2g.large" }, alarms: { maxConnections: 2000 } }, "test"),
    ).not.toThrow();
  });

  it("is the table docs/connections.md shows", () => {
    const readme = readFileSync(join(projectRoot, "docs", "connections.md"), "utf8");
    for (const instanceClass of [
      "db.t4g.micro",
      "db.t4g.small",
      "db.t4g.medium",
      "db.t4g.large",
      "db.m7g.large",
      "db.m7g.xlarge",
      "db.r7g.large",
    ]) {
      expect(readme).toContain(`| ${instanceClass} | ${maxConnections(instanceClass)} | ${directPathConcurrency(instanceClass)} |`);
    }
  });
});
