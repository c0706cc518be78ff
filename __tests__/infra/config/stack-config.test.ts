import { ConfigError } from "../../../src/config/stack-config";
import { parseServiceConfig } from "../../../src/config/environments";
import { subnetLayout } from "../../../src/network/subnet-layout";
import { CONFIG_OVERRIDE_VARIABLE, CREDENTIALS_VARIABLE, ENVIRONMENTS, loadStackConfigs } from "../../../src/config/environments";
import { MINIMAL, configProblems as problemsOf } from "../synth";

describe("stack configuration", () => {
  it("fills every documented default for a bare environment", () => {
    const config = parseServiceConfig(MINIMAL, "test");
    expect(config).toMatchObject({
      project: "lambda-rds-iam",
      region: "eu-west-1",
      network: { vpcCidr: "10.0.0.0/16", azCount: 2, natGateways: "single", flowLogRetentionDays: 30 },
      database: { engineVersion: "8.4", instanceClass: "db.t4g.micro", backupRetentionDays: 7, port: 3306 },
      // A state stack keeps its local state file until a person moves it into the bucket (npm run state:migrate).
      state: { noncurrentVersionDays: 90, accessLogs: true, selfHosted: false },
    });
  });

  it("splits the VPC block evenly into disjoint subnets: public, then private, then isolated", () => {
    const { network } = parseServiceConfig({ ...MINIMAL, network: { vpcCidr: "10.1.0.0/20", azCount: 3 } }, "test");
    expect(subnetLayout(network)).toEqual({
      public: ["10.1.0.0/24", "10.1.1.0/24", "10.1.2.0/24"],
      private: ["10.1.3.0/24", "10.1.4.0/24", "10.1.5.0/24"],
      isolated: ["10.1.6.0/24", "10.1.7.0/24", "10.1.8.0/24"],
    });
  });

  it.each([
    [
      "one availability zone",
      { network: { azCount: 1 } },
      "network.azCount: must be between 2 and 6 (a VPC spans at least two availability zones)",
    ],
    ["an unknown NAT mode", { network: { natGateways: "double" } }, 'network.natGateways: must be "single" or "per-az"'],
    ["a malformed CIDR", { network: { vpcCidr: "10.0.0/16" } }, 'network.vpcCidr: "10.0.0/16" is not an IPv4 CIDR block like 10.0.0.0/16'],
    ["host bits in a CIDR", { network: { vpcCidr: "10.0.0.1/16" } }, 'network.vpcCidr: "10.0.0.1/16" has host bits set; use 10.0.0.0/16'],
    ["a VPC block too large", { network: { vpcCidr: "10.0.0.0/8" } }, "network.vpcCidr: must be between /16 and /24 (got /8)"],
    [
      "zones that do not match azCount",
      { network: { availabilityZones: ["eu-west-1a"] } },
      "network.availabilityZones: lists 1 zones but network.azCount is 2",
    ],
    [
      "a retention CloudWatch does not offer",
      { functions: { api: { logRetentionDays: 10 } } },
      "functions.api.logRetentionDays: must be one of CloudWatch's retention periods",
    ],
    [
      "less than a week of backups",
      { database: { backupRetentionDays: 1 } },
      "database.backupRetentionDays: must be between 7 and 35 days",
    ],
    ["an unsupported MySQL version", { database: { engineVersion: "5.7" } }, 'database.engineVersion: must be "8.0" or "8.4"'],
    ["a region that is not one", { region: "europe" }, "region: must be an AWS region like eu-west-1"],
    ["a misspelt field", { network: { natGateway: "single" } }, "network.natGateway: unknown field"],
    [
      "an HTTPS destination the function cannot have",
      { functions: { api: { httpsEgress: ["sqs"] } } },
      'functions.api.httpsEgress.0: must be "s3", "dynamodb", "internet"',
    ],
    [
      "an HTTPS destination twice",
      { functions: { api: { httpsEgress: ["s3", "s3"] } } },
      "functions.api.httpsEgress: names a destination twice",
    ],
    ["a value of the wrong type", { functions: { api: { memoryMb: "512" } } }, 'functions.api.memoryMb: must be a number, not "512"'],
    ["a fraction where a whole number belongs", { network: { azCount: 2.5 } }, "network.azCount: must be a whole number, not 2.5"],
    ["null for a group of settings", { network: null }, "network: must be an object, not null"],
    [
      "a single zone where a list belongs",
      { network: { availabilityZones: "eu-west-1a" } },
      'network.availabilityZones: must be a list, not "eu-west-1a"',
    ],
    ["a word for a switch", { database: { multiAz: "yes" } }, 'database.multiAz: must be true or false, not "yes"'],
    [
      "a subnet tier left out",
      { network: { subnetCidrs: { public: [], isolated: [] } } },
      "network.subnetCidrs.private: is missing; must be a list",
    ],
    [
      "a misspelt subnet tier",
      { network: { subnetCidrs: { public: [], private: [], isolated: [], isolate: [] } } },
      "network.subnetCidrs.isolate: unknown field",
    ],
    [
      "a function timeout shorter than the database timeouts",
      { functions: { api: { timeoutSeconds: 5 } } },
      "functions.api.timeoutSeconds: must be between 10 and 900 seconds (the handler's database timeouts take up to 9 s)",
    ],
    ["an account id that is not one", { accountId: "1234" }, "accountId: must be the 12-digit AWS account id of this environment"],
    [
      "a deploy role in another account",
      { deployRoleArn: "arn:aws:iam::999999999999:role/deploy" },
      "deployRoleArn: must be a role in accountId 111111111111",
    ],
    [
      "a deploy role that is not a role ARN",
      { deployRoleArn: "deploy" },
      "deployRoleArn: must be an IAM role ARN like arn:aws:iam::123456789012:role/deploy",
    ],
    [
      "Performance Insights on a class without it",
      { database: { performanceInsights: true } },
      "database.performanceInsights: db.t4g.micro does not offer Performance Insights; use a medium or larger class, or turn it off",
    ],
    [
      "a monitoring interval RDS does not offer",
      { database: { monitoringIntervalSeconds: 7 } },
      "database.monitoringIntervalSeconds: must be one of 0 (off), 1, 5, 10, 15, 30, 60",
    ],
    [
      "state versions kept for no days",
      { state: { noncurrentVersionDays: 0 } },
      "state.noncurrentVersionDays: must be between 1 and 3650 days",
    ],
    [
      "an access log bucket name S3 refuses",
      { project: "a-project-name-of-twenty", environment: "environment-abcd" },
      "state.accessLogs: the access log bucket a-project-name-of-twenty-environment-abcd-tfstate-logs-111111111111 would be longer than S3's 63 characters",
    ],
    [
      "a data bucket both kept from destroy and destroyed with its objects",
      { dataBucket: { preventDestroy: true, forceDestroy: true } },
      "dataBucket.forceDestroy: cannot be set with dataBucket.preventDestroy: a bucket kept from destroy is never destroyed with its objects; turn one off",
    ],
    [
      "access logs, kept from destroy, for a data bucket destroyed with the environment",
      { dataBucket: { forceDestroy: true, accessLogs: true } },
      "dataBucket.accessLogs: its bucket is kept from destroy, so an environment whose data bucket is force-destroyed could not be destroyed; turn off dataBucket.accessLogs or dataBucket.forceDestroy",
    ],
    [
      "a data access log bucket name S3 refuses",
      {
        project: "a-project-name-of-twenty",
        environment: "env-abcdefghijkl",
        state: { accessLogs: false },
        dataBucket: { accessLogs: true },
      },
      "dataBucket.accessLogs: the access log bucket a-project-name-of-twenty-env-abcdefghijkl-data-logs-111111111111 would be longer than S3's 63 characters",
    ],
    [
      "a CI repository with a wildcard owner",
      { ci: { repository: "*/lambda-rds-iam" } },
      'ci.repository: must be a GitHub repository "owner/repo" (no wildcards)',
    ],
    [
      "a CI repository with a wildcard name",
      { ci: { repository: "acme/*" } },
      'ci.repository: must be a GitHub repository "owner/repo" (no wildcards)',
    ],
    [
      "a CI repository without an owner",
      { ci: { repository: "lambda-rds-iam" } },
      'ci.repository: must be a GitHub repository "owner/repo" (no wildcards)',
    ],
    ["a CI role name IAM refuses", { ci: { planRoleName: "plan role" } }, "ci.planRoleName: must be an IAM role name"],
    [
      "one role for plan and deploy",
      { ci: { repository: "acme/app", planRoleName: "gha", deployRoleName: "gha" } },
      "ci.deployRoleName: must differ from ci.planRoleName (gha): pull requests must not get the deploy role",
    ],
    [
      "an OIDC provider that is not GitHub's",
      { ci: { oidcProviderArn: "arn:aws:iam::111111111111:oidc-provider/example.com" } },
      "ci.oidcProviderArn: must be the ARN of GitHub's OIDC provider",
    ],
    [
      "an OIDC provider in another account",
      { ci: { oidcProviderArn: "arn:aws:iam::999999999999:oidc-provider/token.actions.githubusercontent.com" } },
      "ci.oidcProviderArn: must be a provider in accountId 111111111111",
    ],
  ])("rejects %s, naming the field", (_, override, message) => {
    expect(problemsOf({ ...MINIMAL, ...override }).join("\n")).toContain(message);
  });

  const subnets = (overrides: Record<string, string[]>) => ({
    ...MINIMAL,
    network: {
      vpcCidr: "10.0.0.0/16",
      subnetCidrs: {
        public: ["10.0.0.0/24", "10.0.1.0/24"],
        private: ["10.0.2.0/24", "10.0.3.0/24"],
        isolated: ["10.0.4.0/24", "10.0.5.0/24"],
        ...overrides,
      },
    },
  });

  it("rejects overlapping subnet blocks, naming both", () => {
    expect(problemsOf(subnets({ isolated: ["10.0.4.0/24", "10.0.2.128/25"] }))).toEqual([
      "network.subnetCidrs.isolated.1: 10.0.2.128/25 overlaps 10.0.2.0/24 (network.subnetCidrs.private.0); subnet blocks must be disjoint",
    ]);
  });

  it("rejects subnet blocks outside the VPC and subnet lists that do not match azCount", () => {
    expect(problemsOf(subnets({ public: ["192.168.0.0/24"] }))).toEqual([
      "network.subnetCidrs.public: lists 1 blocks but network.azCount is 2; give one block per zone",
      "network.subnetCidrs.public.0: 192.168.0.0/24 lies outside network.vpcCidr 10.0.0.0/16",
    ]);
  });

  it("requires the account id", () => {
    expect(problemsOf({ environment: "dev" })).toEqual(["accountId: must be the 12-digit AWS account id of this environment"]);
  });

  it("says a missing field is missing, and what it must be", () => {
    expect(problemsOf({ accountId: "111111111111" })).toEqual(["environment: is missing; must be a string"]);
  });

  it("names each unknown field on its own", () => {
    expect(problemsOf({ ...MINIMAL, natGateway: "single", zones: 3 })).toEqual([
      "natGateway: unknown field; check its spelling against src/config/stack-config.ts",
      "zones: unknown field; check its spelling against src/config/stack-config.ts",
    ]);
  });

  it("checks the deploy role against the account id only once the account id is one", () => {
    expect(problemsOf({ ...MINIMAL, accountId: "1234", deployRoleArn: "arn:aws:iam::999999999999:role/deploy" })).toEqual([
      "accountId: must be the 12-digit AWS account id of this environment",
    ]);
  });

  it("never answers with zod's generic wording or an undefined, whatever the wrong value of whichever field", () => {
    const leaves = (value: unknown, path: string[] = []): string[][] =>
      typeof value === "object" && value !== null && !Array.isArray(value)
        ? Object.entries(value).flatMap(([key, child]) => leaves(child, [...path, key]))
        : [path];
    const optional = [
      ["deployRoleArn"],
      ["network", "availabilityZones"],
      ["network", "subnetCidrs"],
      ["network", "subnetCidrs", "public"],
      ["state", "bucket"],
      ["state", "keyPrefix"],
      ["state", "region"],
      ["tags"],
      ["tags", "Owner"],
    ];
    const fields = [...leaves(parseServiceConfig(MINIMAL, "test")), ...optional];
    const set = (path: string[], value: unknown): Record<string, unknown> => {
      const [key, ...rest] = path;
      return { [key]: rest.length === 0 ? value : set(rest, value) };
    };
    for (const path of fields) {
      for (const wrong of [null, "x", 2.5, -1, [], [7], {}, true]) {
        let problems: string[] = [];
        try {
          parseServiceConfig({ ...MINIMAL, ...set(path, wrong) }, "test");
        } catch (error) {
          problems = (error as ConfigError).problems;
        }
        for (const problem of problems) {
          expect(problem).not.toMatch(/undefined|Invalid input|expected .*, received/);
          expect(problem).toMatch(/^[\w.]+: \S/);
        }
      }
    }
  });

  it("lists every problem at once", () => {
    expect(problemsOf({ ...MINIMAL, environment: "Dev!", network: { azCount: 9 }, database: { port: 22 } })).toHaveLength(3);
  });

  it("accepts a valid explicit layout", () => {
    expect(() => parseServiceConfig(subnets({}), "test")).not.toThrow();
  });
});

describe(`overrides through ${CONFIG_OVERRIDE_VARIABLE}`, () => {
  it("merge into the checked-in environment without replacing its other settings", () => {
    const [dev] = loadStackConfigs({
      [CONFIG_OVERRIDE_VARIABLE]: '{"dev":{"network":{"azCount":3},"functions":{"api":{"memoryMb":512}}}}',
    });
    expect(dev.network).toMatchObject({ azCount: 3, vpcCidr: "10.0.0.0/16", natGateways: "single" });
    expect(dev.functions.find((fn) => fn.name === "api")).toMatchObject({ memoryMb: 512, runtime: "nodejs22.x" });
  });

  it.each([
    ["not JSON", "{dev:", `${CONFIG_OVERRIDE_VARIABLE}: not valid JSON`],
    [
      "not an object",
      "[]",
      `${CONFIG_OVERRIDE_VARIABLE}: must be a JSON object keyed by environment (${Object.keys(ENVIRONMENTS).join(", ")})`,
    ],
    ["an unknown environment", '{"qa":{}}', `qa: no such environment; use one of ${Object.keys(ENVIRONMENTS).join(", ")}`],
    ["settings that are not an object", '{"dev":3}', "dev: must be an object of settings to override"],
    ["an invalid setting", '{"dev":{"network":{"azCount":1}}}', "dev.network.azCount: must be between 2 and 6"],
  ])("are rejected when %s", (_, raw, message) => {
    expect(() => loadStackConfigs({ [CONFIG_OVERRIDE_VARIABLE]: raw })).toThrow(message);
  });
});

describe(`${CREDENTIALS_VARIABLE}`, () => {
  it('set to "ambient" keeps Terraform on the caller\'s credentials: no environment assumes its deploy role', () => {
    expect(loadStackConfigs({}).find((config) => config.environment === "prod")?.deployRoleArn).toBeDefined();
    for (const config of loadStackConfigs({ [CREDENTIALS_VARIABLE]: "ambient" })) expect(config.deployRoleArn).toBeUndefined();
  });

  it("rejects any other value", () => {
    expect(() => loadStackConfigs({ [CREDENTIALS_VARIABLE]: "oidc" })).toThrow(
      `${CREDENTIALS_VARIABLE}: must be "ambient" or unset (got "oidc")`,
    );
  });
});

describe("CI in one account shared by several environments", () => {
  const override = (prod: object) =>
    JSON.stringify({
      dev: { ci: { repository: "acme/app" } },
      prod: { accountId: "111111111111", deployRoleArn: "arn:aws:iam::111111111111:role/deploy", ci: { repository: "acme/app", ...prod } },
    });

  it("lets only one environment create the account's GitHub OIDC provider", () => {
    expect(() => loadStackConfigs({ [CONFIG_OVERRIDE_VARIABLE]: override({}) })).toThrow(
      "prod.ci.oidcProviderArn: dev creates the GitHub OIDC provider of account 111111111111 already; set this to arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com",
    );
  });

  it("accepts the others using it", () => {
    expect(() =>
      loadStackConfigs({
        [CONFIG_OVERRIDE_VARIABLE]: override({
          oidcProviderArn: "arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com",
        }),
      }),
    ).not.toThrow();
  });
});

describe("problems of the checked-in environments", () => {
  const messageOf = (overrides: unknown) => {
    try {
      loadStackConfigs({ [CONFIG_OVERRIDE_VARIABLE]: JSON.stringify(overrides) });
    } catch (error) {
      if (error instanceof ConfigError) return error.message;
      throw error;
    }
    throw new Error("configuration was accepted");
  };

  it("are headed by the environments that have them, and only those", () => {
    expect(messageOf({ prod: { network: { azCount: 1 } } }).split("\n")[0]).toBe("Invalid configuration (environment prod):");
    expect(messageOf({ dev: { network: { azCount: 1 } }, prod: { network: { azCount: 1 } } }).split("\n")[0]).toBe(
      "Invalid configuration (environments dev, prod):",
    );
  });

  it("show a field the override left as checked in, its value, and that it needs overriding too", () => {
    expect(messageOf({ prod: { accountId: "333333333333" } })).toBe(
      [
        "Invalid configuration (environment prod):",
        '  - prod.deployRoleArn: must be a role in accountId 333333333333; it is "arn:aws:iam::222222222222:role/lambda-rds-iam-deploy" in src/config/environments.ts: override prod.deployRoleArn in LAMBDA_RDS_IAM_CONFIG too',
        "Fix these fields and synthesize again; nothing was written.",
      ].join("\n"),
    );
    expect(messageOf({ prod: { database: { instanceClass: "db.t4g.small" } } })).toContain(
      "prod.database.performanceInsights: db.t4g.small does not offer Performance Insights; use a medium or larger class, or turn it off; it is true in src/config/environments.ts: override prod.database.performanceInsights in LAMBDA_RDS_IAM_CONFIG too",
    );
  });

  it("leave out that advice for a field the override set itself", () => {
    const message = messageOf({ prod: { accountId: "333333333333", deployRoleArn: "arn:aws:iam::444444444444:role/deploy" } });
    expect(message).toContain("  - prod.deployRoleArn: must be a role in accountId 333333333333\n");
    expect(message).not.toContain("src/config/environments.ts");
  });
});
