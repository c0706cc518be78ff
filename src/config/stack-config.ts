import { z } from "zod";
import { cidrContains, cidrPrefix, cidrProblem, cidrsOverlap } from "./cidr";
import { NETWORK_DEFAULTS } from "../network/network-props";
import { DATABASE_INSTANCE_DEFAULTS } from "../database/database-instance-props";
import { ALARM_DEFAULTS, type SubscriptionProtocol } from "../monitoring/alarm-props";
import { SUBNET_TIERS } from "../network/subnet-layout";
import { directPathConcurrency, maxConnections } from "../database/instance-classes";
import { intInRange, logRetention, mysqlAccount } from "./fields";
import { type FunctionDeclaration, functionsSchema } from "./function-schema";
import { functionChecks } from "./function-checks";
import { isObject, mergeJson } from "./json-merge";

const cidr = z.string().superRefine((value, ctx) => {
  const problem = cidrProblem(value);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

const ACCOUNT_ID = /^\d{12}$/;
const TAG_KEY = /^[\w .:/=+@-]{1,128}$/;
const INSTANCE_CLASS = /^db\.[a-z0-9]+\.[a-z0-9]+$/;

const networkSchema = z
  .object({
    /** The VPC's IPv4 block, /16 to /24. */
    vpcCidr: cidr.default(NETWORK_DEFAULTS.vpcCidr),
    /** How many availability zones the subnets span (each tier gets one subnet per zone). */
    azCount: intInRange(2, 6, " (a VPC spans at least two availability zones)").default(NETWORK_DEFAULTS.azCount),
    /** Zone names to use; taken from the aws_availability_zones data source when absent. */
    availabilityZones: z
      .array(z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d[a-z]$/, { error: "must be a zone name like eu-west-1a" }))
      .optional(),
    /** "single" shares one NAT gateway (cheap); "per-az" gives each zone its own (no cross-zone dependency). */
    natGateways: z.enum(["single", "per-az"], { error: 'must be "single" or "per-az"' }).default(NETWORK_DEFAULTS.natGateways),
    /** Explicit subnet blocks per tier, one per zone; split evenly from vpcCidr when absent. */
    subnetCidrs: z
      .object({ public: z.array(cidr), private: z.array(cidr), isolated: z.array(cidr) })
      .strict()
      .optional(),
    /** Retention of the VPC flow log group, in days. */
    flowLogRetentionDays: logRetention.default(NETWORK_DEFAULTS.flowLogRetentionDays),
  })
  .strict();

const databaseSchema = z
  .object({
    /** MySQL major version; RDS picks the newest minor and upgrades it automatically. */
    engineVersion: z.enum(["8.0", "8.4"], { error: 'must be "8.0" or "8.4"' }).default(DATABASE_INSTANCE_DEFAULTS.engineVersion),
    instanceClass: z
      .string()
      .regex(INSTANCE_CLASS, { error: "must be an RDS class like db.t4g.micro" })
      .default(DATABASE_INSTANCE_DEFAULTS.instanceClass),
    /** Initial storage in GiB (gp3, 20 GiB minimum). */
    allocatedStorageGb: intInRange(20, 65536, " GiB").default(DATABASE_INSTANCE_DEFAULTS.allocatedStorageGb),
    /** Storage autoscaling ceiling in GiB. */
    maxAllocatedStorageGb: intInRange(20, 65536, " GiB").default(DATABASE_INSTANCE_DEFAULTS.maxAllocatedStorageGb),
    databaseName: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9_]{0,63}$/, { error: "must be a MySQL database name: a letter, then letters, digits or _" })
      .default(DATABASE_INSTANCE_DEFAULTS.databaseName),
    /** The RDS master user; its password is generated and kept in Secrets Manager by RDS. */
    masterUsername: mysqlAccount.default(DATABASE_INSTANCE_DEFAULTS.masterUsername),
    port: intInRange(1150, 65535).default(DATABASE_INSTANCE_DEFAULTS.port),
    backupRetentionDays: intInRange(7, 35, " days (at least a week of backups)").default(DATABASE_INSTANCE_DEFAULTS.backupRetentionDays),
    logRetentionDays: logRetention.default(DATABASE_INSTANCE_DEFAULTS.logRetentionDays),
    multiAz: z.boolean().default(DATABASE_INSTANCE_DEFAULTS.multiAz),
    deletionProtection: z.boolean().default(DATABASE_INSTANCE_DEFAULTS.deletionProtection),
    /** Terraform refuses any plan that destroys the instance or its key (lifecycle prevent_destroy). */
    preventDestroy: z.boolean().default(DATABASE_INSTANCE_DEFAULTS.preventDestroy),
    /** Destroying the stack without a final snapshot loses the data: acceptable for a throwaway dev database only. */
    skipFinalSnapshot: z.boolean().default(DATABASE_INSTANCE_DEFAULTS.skipFinalSnapshot),
    /** Performance Insights (7 days, free tier); not offered on micro and small classes. */
    performanceInsights: z.boolean().default(DATABASE_INSTANCE_DEFAULTS.performanceInsights),
    /**
     * RDS Proxy with end-to-end IAM authentication between the API function and the instance: the
     * function's environments share a bounded pool of connections (about $22 a month for a 2-vCPU class).
     */
    proxy: z.boolean().default(false),
    /** Enhanced monitoring interval in seconds; 0 turns it off. */
    monitoringIntervalSeconds: z
      .union([z.literal(0), z.literal(1), z.literal(5), z.literal(10), z.literal(15), z.literal(30), z.literal(60)], {
        error: "must be one of 0 (off), 1, 5, 10, 15, 30, 60",
      })
      .default(DATABASE_INSTANCE_DEFAULTS.monitoringIntervalSeconds),
  })
  .strict();

/** The data bucket: S3-triggered functions read their prefix of it and write theirs. */
const dataBucketSchema = z
  .object({
    /** Days an object (incoming/ and results/) is kept after it was written; superseded versions are kept 7 days. */
    objectRetentionDays: intInRange(1, 3650, " days").default(30),
    /** Terraform refuses any plan that destroys the data bucket or its key. */
    preventDestroy: z.boolean().default(false),
    /**
     * Destroying the environment deletes the data bucket with every object and version in it (force_destroy):
     * for a disposable environment only, never with preventDestroy.
     */
    forceDestroy: z.boolean().default(false),
    /**
     * Server access logs of the data bucket (who wrote or read which object, when, from where) in a bucket of
     * their own, `<project>-<environment>-data-logs-<accountId>`, kept objectRetentionDays and from destroy.
     */
    accessLogs: z.boolean().default(false),
  })
  .strict();

/** What a subscription's endpoint must look like, per protocol. */
const SUBSCRIPTION_ENDPOINTS: Record<SubscriptionProtocol, { pattern: RegExp; what: string }> = {
  email: { pattern: /^[^@\s]+@[^@\s]+\.[^@\s]+$/, what: "an email address like team@example.com" },
  https: { pattern: /^https:\/\/[^\s/]+\S*$/, what: "an https:// URL" },
  sqs: { pattern: /^arn:aws[a-z-]*:sqs:[a-z0-9-]+:\d{12}:[\w-]{1,80}$/, what: "the ARN of an SQS queue" },
  lambda: { pattern: /^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[\w-]{1,64}(:[\w-]+)?$/, what: "the ARN of a Lambda function" },
  sms: { pattern: /^\+[1-9]\d{6,14}$/, what: "a phone number in E.164 form like +447700900123" },
};
const SUBSCRIPTION_PROTOCOLS = Object.keys(SUBSCRIPTION_ENDPOINTS) as [SubscriptionProtocol, ...SubscriptionProtocol[]];

const subscriptionSchema = z
  .object({
    protocol: z.enum(SUBSCRIPTION_PROTOCOLS, {
      error: `must be one of ${SUBSCRIPTION_PROTOCOLS.map((protocol) => `"${protocol}"`).join(", ")}`,
    }),
    endpoint: z.string(),
  })
  .strict()
  .superRefine((subscription, ctx) => {
    const rule = SUBSCRIPTION_ENDPOINTS[subscription.protocol];
    if (rule && !rule.pattern.test(subscription.endpoint)) {
      ctx.addIssue({ code: "custom", path: ["endpoint"], message: `must be ${rule.what} for protocol ${subscription.protocol}` });
    }
  });

/** Thresholds are per 5-minute period (defaults and their reasons in src/monitoring/alarm-props.ts); every alarm notifies the alarm topic when it fires and when it clears. */
const alarmsSchema = z
  .object({
    /**
     * Who hears the alarms: subscriptions of the topic `<project>-<environment>-alarms`. None by default (the
     * alarms still show in the console). An email or HTTPS endpoint must confirm its subscription once.
     */
    subscriptions: z.array(subscriptionSchema).default([]),
    /** Failed invocations of one function. */
    functionErrors: intInRange(1, 100000).default(ALARM_DEFAULTS.functionErrors),
    /** Throttled invocations of one function. */
    functionThrottles: intInRange(1, 100000).default(ALARM_DEFAULTS.functionThrottles),
    /** IAM authentications the database refused (its iam-db-auth-error log). */
    iamAuthFailures: intInRange(1, 100000).default(ALARM_DEFAULTS.iamAuthFailures),
    /** Connections, as a share of the instance class's max_connections (src/database/instance-classes.ts). */
    connectionsPercent: intInRange(10, 100, " percent").default(ALARM_DEFAULTS.connectionsPercent),
    /** The instance's max_connections, for a class whose memory src/database/instance-classes.ts does not know; worked out from the class when absent. */
    maxConnections: intInRange(1, 100000).optional(),
    /** Free storage, as a share of database.allocatedStorageGb, at or below which the alarm fires. */
    freeStoragePercent: intInRange(1, 50, " percent").default(ALARM_DEFAULTS.freeStoragePercent),
    /** Proxy sessions pinned to one database connection (with database.proxy). */
    proxyPinnedSessions: intInRange(1, 100000).default(ALARM_DEFAULTS.proxyPinnedSessions),
  })
  .strict();

const kmsSchema = z
  .object({
    /**
     * Terraform refuses any plan that destroys one of the environment's keys (logs, failure queues, alarm
     * topic, and the database and data-bucket keys, which database.preventDestroy and dataBucket.preventDestroy keep too).
     */
    preventDestroy: z.boolean().default(false),
  })
  .strict();

const stateSchema = z
  .object({
    /** S3 bucket that holds Terraform state; `<project>-<environment>-tfstate-<accountId>` (made by the state stack) when absent. */
    bucket: z
      .string()
      .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, { error: "must be an S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)" })
      .optional(),
    /** Days the state bucket keeps superseded state versions, and the access log bucket the logs that account for them. */
    noncurrentVersionDays: intInRange(1, 3650, " days").default(90),
    /**
     * Server access logs of the state bucket (who read or wrote which state, when, from where) in a bucket of
     * their own, `<project>-<environment>-tfstate-logs-<accountId>`. On by default, dev included: the state is
     * the environment's most sensitive object, and the logs cost cents a month.
     */
    accessLogs: z.boolean().default(true),
    /** Prefix of the state keys; each stack appends its own name. The project when absent. */
    keyPrefix: z
      .string()
      .regex(/^[A-Za-z0-9!_.*'()-]+(\/[A-Za-z0-9!_.*'()-]+)*$/, { error: "must be an S3 key prefix without leading or trailing /" })
      .optional(),
    /** Region of the state bucket; the stack's region when absent. */
    region: z.string().optional(),
    /**
     * The `<environment>-state` stack keeps its own state in the bucket it made (`<keyPrefix>/<environment>-state.tfstate`,
     * beside the service stack's), so pull requests plan it like the service stack. Off, it keeps a local file
     * (`terraform.<environment>-state.tfstate`), which its first apply needs: the bucket does not exist before it.
     * Turn it on after that first apply, then move the file into the bucket once with `npm run state:migrate -- <environment>`.
     * @default false
     */
    selfHosted: z.boolean().default(false),
  })
  .strict();

/** IAM role names as IAM accepts them (64 characters at most). */
const roleName = z.string().regex(/^[\w+=,.@-]{1,64}$/, { error: "must be an IAM role name: 1-64 letters, digits or +=,.@_-" });

const ciSchema = z
  .object({
    /**
     * GitHub repository, "owner/repo", whose workflows may assume this environment's CI roles: the plan
     * role from its pull requests, the deploy role from its GitHub environment of this environment's name.
     * No CI roles (nor OIDC provider) exist while it is absent.
     */
    repository: z
      .string()
      .regex(/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/[A-Za-z0-9._-]{1,100}$/, {
        error: 'must be a GitHub repository "owner/repo" (no wildcards)',
      })
      .optional(),
    /** Role the pull-request workflow assumes to run `terraform plan`; `<project>-<environment>-ci-plan` when absent. */
    planRoleName: roleName.optional(),
    /** Role the main-branch workflow assumes to apply the service stack; `<project>-<environment>-ci-deploy` when absent. */
    deployRoleName: roleName.optional(),
    /**
     * ARN of the account's GitHub OIDC provider when it exists already (there is one per account: another
     * environment in the same account, or another project, may have made it); this stack creates it when absent.
     */
    oidcProviderArn: z
      .string()
      .regex(/^arn:aws[a-z-]*:iam::\d{12}:oidc-provider\/token\.actions\.githubusercontent\.com$/, {
        error: "must be the ARN of GitHub's OIDC provider, arn:aws:iam::<account>:oidc-provider/token.actions.githubusercontent.com",
      })
      .optional(),
  })
  .strict();

const region = z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, { error: "must be an AWS region like eu-west-1" });

/** Each declared function with the configuration's settings of its name merged over it, then the names not declared. */
function overDeclared(declared: Readonly<Record<string, FunctionDeclaration>>, overrides: unknown): unknown {
  if (overrides === undefined) return declared;
  if (!isObject(overrides)) return overrides;
  return Object.fromEntries(
    [...new Set([...Object.keys(declared), ...Object.keys(overrides)])].map((name) => [name, mergeJson(declared[name], overrides[name])]),
  );
}

/** The functions a service declares once (its own `functions.ts`), by name; environments override their sizes. */
export type DeclaredFunctions = Readonly<Record<string, FunctionDeclaration>>;

/** What a service is made of besides its settings: its functions, and where their sources and its migrations are. */
export interface ServiceDefinition {
  /** Its functions, each declared once. */
  readonly functions: DeclaredFunctions;
  /** The app's directory: each function's `source` is relative to it. */
  readonly projectRoot: string;
  /**
   * Its migrations (NNNN_lowercase_words.sql): a function may be granted only tables they create.
   * @default `<projectRoot>/migrations`
   */
  readonly migrationsDir?: string;
}

const stackConfigObjectFor = (service: ServiceDefinition) =>
  z
    .object({
      environment: z.string().regex(/^[a-z][a-z0-9-]{0,15}$/, { error: "must be 1-16 lowercase letters, digits or -" }),
      /** The only AWS account this environment may be deployed to (the provider refuses any other). */
      accountId: z
        .string({ error: "must be the 12-digit AWS account id of this environment" })
        .regex(ACCOUNT_ID, { error: "must be the 12-digit AWS account id of this environment" }),
      /** Role in that account that Terraform assumes to deploy; the caller's own credentials when absent. */
      deployRoleArn: z
        .string()
        .regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/, {
          error: "must be an IAM role ARN like arn:aws:iam::123456789012:role/deploy",
        })
        .optional(),
      project: z
        .string()
        .regex(/^[a-z][a-z0-9-]{0,23}$/, { error: "must be 1-24 lowercase letters, digits or -" })
        .default("lambda-rds-iam"),
      region: region.default("eu-west-1"),
      /** Tags on every resource of the environment, besides Project, Environment and ManagedBy. */
      tags: z
        .record(
          z.string(),
          z.string({ error: "must be a tag value: a string" }).max(256, { error: "must be a tag value of at most 256 characters" }),
          {
            error: 'must be an object of tag keys and values, like {"CostCentre": "42"}',
          },
        )
        .superRefine((tags, ctx) => {
          for (const key of Object.keys(tags).filter((name) => !TAG_KEY.test(name))) {
            ctx.addIssue({ code: "custom", path: [key], message: "must be a tag key: 1-128 letters, digits, spaces or _.:/=+-@" });
          }
        })
        .default({}),
      network: networkSchema.default(() => networkSchema.parse({})),
      database: databaseSchema.default(() => databaseSchema.parse({})),
      /**
       * The service's functions: those it declares (this repository's: src/config/functions.ts), each with what
       * is given here for its name merged over it (an environment's sizes); a name not declared adds a function.
       */
      functions: z.preprocess((overrides) => overDeclared(service.functions, overrides), functionsSchema),
      dataBucket: dataBucketSchema.default(() => dataBucketSchema.parse({})),
      state: stateSchema.default(() => stateSchema.parse({})),
      ci: ciSchema.default(() => ciSchema.parse({})),
      alarms: alarmsSchema.default(() => alarmsSchema.parse({})),
      kms: kmsSchema.default(() => kmsSchema.parse({})),
    })
    .strict();

export type Parsed = z.output<ReturnType<typeof stackConfigObjectFor>>;
/** One cross-field check. zod runs them even when a field they read failed its own pattern: each skips such fields. */
export type Check = (config: Parsed, issue: (path: (string | number)[], message: string) => void) => void;

const inTheAccount: Check = (config, issue) => {
  if (!ACCOUNT_ID.test(config.accountId)) return;
  if (config.deployRoleArn && !config.deployRoleArn.includes(`::${config.accountId}:`)) {
    issue(["deployRoleArn"], `must be a role in accountId ${config.accountId}`);
  }
  if (config.ci.oidcProviderArn && !config.ci.oidcProviderArn.includes(`::${config.accountId}:`)) {
    issue(["ci", "oidcProviderArn"], `must be a provider in accountId ${config.accountId}`);
  }
};

const separateIdentities: Check = (config, issue) => {
  const { planRoleName, deployRoleName } = ciRoleNames(config);
  if (config.ci.repository && planRoleName === deployRoleName) {
    issue(["ci", "deployRoleName"], `must differ from ci.planRoleName (${planRoleName}): pull requests must not get the deploy role`);
  }
};

const databaseFitsItsClass: Check = ({ database, functions }, issue) => {
  if (!INSTANCE_CLASS.test(database.instanceClass)) return;
  if (database.performanceInsights && /\.(micro|small)$/.test(database.instanceClass)) {
    issue(
      ["database", "performanceInsights"],
      `${database.instanceClass} does not offer Performance Insights; use a medium or larger class, or turn it off`,
    );
  }
  // Every environment of every function holds its own connections on the direct path.
  const capacity = directPathConcurrency(database.instanceClass);
  if (!Array.isArray(functions)) return;
  const reserved = functions.reduce((sum, fn) => sum + fn.reservedConcurrency, 0);
  if (database.proxy !== true && capacity !== undefined && reserved > capacity) {
    const each = functions.map((fn) => `${fn.name} ${fn.reservedConcurrency}`).join(", ");
    issue(
      ["functions"],
      `reserve ${reserved} environments together (${each}), but ${database.instanceClass} (max_connections about ${maxConnections(database.instanceClass)}) serves at most ${capacity} on the direct path; lower their reservedConcurrency, choose a larger database.instanceClass, or turn on database.proxy`,
    );
  }
};

const stateSettings: Check = (config, issue) => {
  if (config.state.accessLogs && accessLogBucketName(config).length > 63) {
    issue(
      ["state", "accessLogs"],
      `the access log bucket ${accessLogBucketName(config)} would be longer than S3's 63 characters; shorten project or environment, or turn it off`,
    );
  }
  if (config.state.region !== undefined && !region.safeParse(config.state.region).success) {
    issue(["state", "region"], "must be an AWS region like eu-west-1");
  }
};

const storageCeilingAboveStart: Check = ({ database }, issue) => {
  if (database.maxAllocatedStorageGb < database.allocatedStorageGb) {
    issue(["database", "maxAllocatedStorageGb"], `must be at least database.allocatedStorageGb (${database.allocatedStorageGb})`);
  }
};

const zonesMatchTheirCount: Check = ({ network }, issue) => {
  const zones = network.availabilityZones;
  if (!zones) return;
  if (zones.length !== network.azCount) {
    issue(
      ["network", "availabilityZones"],
      `lists ${zones.length} zones but network.azCount is ${network.azCount}; list exactly azCount zones or leave it out`,
    );
  }
  if (new Set(zones).size !== zones.length) {
    issue(["network", "availabilityZones"], "lists a zone twice; each subnet of a tier needs its own zone");
  }
};

/** Explicit subnet blocks: one per zone and tier, inside the VPC block, at least /28, and disjoint. */
const subnetBlocksFit: Check = ({ network }, issue) => {
  if (cidrProblem(network.vpcCidr)) return;
  const vpcPrefix = cidrPrefix(network.vpcCidr);
  if (vpcPrefix < 16 || vpcPrefix > 24) {
    issue(["network", "vpcCidr"], `must be between /16 and /24 (got /${vpcPrefix})`);
    return;
  }
  if (!network.subnetCidrs) return;
  const subnets: { path: (string | number)[]; cidr: string }[] = [];
  for (const tier of SUBNET_TIERS) {
    const blocks = network.subnetCidrs[tier];
    if (blocks.length !== network.azCount) {
      issue(
        ["network", "subnetCidrs", tier],
        `lists ${blocks.length} blocks but network.azCount is ${network.azCount}; give one block per zone`,
      );
    }
    blocks.forEach((block, index) => {
      if (cidrProblem(block)) return;
      const path = ["network", "subnetCidrs", tier, index];
      if (!cidrContains(network.vpcCidr, block)) {
        issue(path, `${block} lies outside network.vpcCidr ${network.vpcCidr}`);
      } else if (cidrPrefix(block) > 28) {
        issue(path, `${block} is smaller than /28, the smallest subnet AWS allows`);
      }
      const clash = subnets.find((other) => cidrsOverlap(other.cidr, block));
      if (clash) issue(path, `${block} overlaps ${clash.cidr} (${clash.path.join(".")}); subnet blocks must be disjoint`);
      subnets.push({ path, cidr: block });
    });
  }
};

/** The data bucket is kept, or destroyed with its objects, never both; its access-log bucket name fits S3. */
const dataBucketSettings: Check = (config, issue) => {
  const { dataBucket } = config;
  if (dataBucket.accessLogs && dataAccessLogBucketName(config).length > 63) {
    issue(
      ["dataBucket", "accessLogs"],
      `the access log bucket ${dataAccessLogBucketName(config)} would be longer than S3's 63 characters; shorten project or environment, or turn it off`,
    );
  }
  if (dataBucket.forceDestroy && dataBucket.preventDestroy) {
    issue(
      ["dataBucket", "forceDestroy"],
      "cannot be set with dataBucket.preventDestroy: a bucket kept from destroy is never destroyed with its objects; turn one off",
    );
  }
  if (dataBucket.forceDestroy && dataBucket.accessLogs) {
    issue(
      ["dataBucket", "accessLogs"],
      "its bucket is kept from destroy, so an environment whose data bucket is force-destroyed could not be destroyed; turn off dataBucket.accessLogs or dataBucket.forceDestroy",
    );
  }
};

/** The connections alarm needs max_connections; each subscription is listed once. */
const alarmSettings: Check = ({ alarms, database }, issue) => {
  if (
    INSTANCE_CLASS.test(database.instanceClass) &&
    alarms.maxConnections === undefined &&
    maxConnections(database.instanceClass) === undefined
  ) {
    issue(
      ["alarms", "maxConnections"],
      `is needed for the connections alarm: src/database/instance-classes.ts cannot work out max_connections of ${database.instanceClass}; set it, or add the class's memory there`,
    );
  }
  const endpoints = alarms.subscriptions.map((subscription) => `${subscription.protocol}:${subscription.endpoint}`);
  endpoints.forEach((endpoint, index) => {
    if (endpoints.indexOf(endpoint) !== index)
      issue(["alarms", "subscriptions", index], `repeats ${endpoint}; list each subscription once`);
  });
};

const CHECKS: Check[] = [
  inTheAccount,
  separateIdentities,
  databaseFitsItsClass,
  stateSettings,
  dataBucketSettings,
  alarmSettings,
  storageCeilingAboveStart,
  zonesMatchTheirCount,
  subnetBlocksFit,
];

const schemas = new WeakMap<ServiceDefinition, ReturnType<typeof buildStackConfigSchema>>();
const buildStackConfigSchema = (service: ServiceDefinition) => {
  const checks = [...CHECKS, ...functionChecks(service)];
  return stackConfigObjectFor(service).superRefine((config, ctx) => {
    for (const check of checks) check(config, (path, message) => ctx.addIssue({ code: "custom", path, message }));
  });
};

/** The schema of one environment's configuration of `service` (built once per definition). */
export function stackConfigSchemaFor(service: ServiceDefinition) {
  let schema = schemas.get(service);
  if (!schema) {
    schema = buildStackConfigSchema(service);
    schemas.set(service, schema);
  }
  return schema;
}

/** Settings of one function of the configuration: all of a new one, or what an environment changes of a declared one. */
export type FunctionSettings = Partial<FunctionDeclaration>;
export type StackConfigInput = Omit<z.input<ReturnType<typeof buildStackConfigSchema>>, "functions"> & {
  readonly functions?: Readonly<Record<string, FunctionSettings>>;
};
export type StackConfig = z.output<ReturnType<typeof buildStackConfigSchema>>;
export type CiConfig = StackConfig["ci"];
export type DataBucketConfig = StackConfig["dataBucket"];

/** Prefix of the names of what an environment's service stack makes, e.g. "lambda-rds-iam-dev". */
export const serviceNamePrefix = (config: Pick<StackConfig, "project" | "environment">) => `${config.project}-${config.environment}`;

/** The bucket of the state bucket's server access logs. */
export const accessLogBucketName = (config: Pick<StackConfig, "project" | "environment" | "accountId">) =>
  `${config.project}-${config.environment}-tfstate-logs-${config.accountId}`;

/** The bucket of the data bucket's server access logs. */
export const dataAccessLogBucketName = (config: Pick<StackConfig, "project" | "environment" | "accountId">) =>
  `${config.project}-${config.environment}-data-logs-${config.accountId}`;

/** The environment's data bucket: S3 names are global, so the account id keeps them apart (59 characters at most). */
export const dataBucketName = (config: Pick<StackConfig, "project" | "environment" | "accountId">) =>
  `${config.project}-${config.environment}-data-${config.accountId}`;

/** The CI roles' names: the configured ones, or `<project>-<environment>-ci-plan` and `-ci-deploy`. */
export function ciRoleNames(config: Pick<StackConfig, "project" | "environment" | "ci">): { planRoleName: string; deployRoleName: string } {
  const prefix = `${serviceNamePrefix(config)}-ci`;
  return { planRoleName: config.ci.planRoleName ?? `${prefix}-plan`, deployRoleName: config.ci.deployRoleName ?? `${prefix}-deploy` };
}

/** Configuration that cannot be synthesized; lists every problem with the field that has it. */
export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(
      `Invalid configuration (${source}):\n${problems.map((p) => `  - ${p}`).join("\n")}\nFix these fields and synthesize again; nothing was written.`,
    );
    this.name = "ConfigError";
  }
}

/** A field that fails validation, and what it must be. */
export interface ConfigProblem {
  readonly path: readonly PropertyKey[];
  readonly message: string;
}

export const formatProblem = (problem: ConfigProblem) => `${problem.path.join(".") || "(root)"}: ${problem.message}`;

/** A value as written in the configuration, cut short. */
export function describeValue(value: unknown): string {
  const text = typeof value === "number" ? String(value) : (JSON.stringify(value) ?? String(value));
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

const TYPE_NAMES: Record<string, string> = {
  string: "a string",
  number: "a number",
  int: "a whole number",
  boolean: "true or false",
  object: "an object",
  array: "a list",
};

/** zod's issues in the configuration's words: never zod's generic "expected X, received undefined". */
function problemsOf(issue: z.core.$ZodIssue): ConfigProblem[] {
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((key) => ({
      path: [...issue.path, key],
      message: "unknown field; check its spelling against src/config/stack-config.ts",
    }));
  }
  // A field's own message says more than zod's wording for a wrong type.
  if (issue.code === "invalid_type" && issue.message.startsWith("Invalid input")) {
    const type = TYPE_NAMES[issue.expected] ?? issue.expected;
    return [
      {
        path: issue.path,
        message: issue.input === undefined ? `is missing; must be ${type}` : `must be ${type}, not ${describeValue(issue.input)}`,
      },
    ];
  }
  return [{ path: issue.path, message: issue.message }];
}

export type ConfigResult =
  | { readonly success: true; readonly config: StackConfig }
  | { readonly success: false; readonly problems: ConfigProblem[] };

/** Validates one environment's configuration of `service`, collecting every problem rather than stopping at the first. */
export function validateStackConfig(input: unknown, service: ServiceDefinition): ConfigResult {
  const result = stackConfigSchemaFor(service).safeParse(input, { reportInput: true });
  return result.success ? { success: true, config: result.data } : { success: false, problems: result.error.issues.flatMap(problemsOf) };
}

/** One environment's configuration, validated; a ConfigError naming `source` lists every problem. */
export function parseStackConfig(input: unknown, source: string, service: ServiceDefinition): StackConfig {
  const result = validateStackConfig(input, service);
  if (result.success) return result.config;
  throw new ConfigError(source, result.problems.map(formatProblem));
}
