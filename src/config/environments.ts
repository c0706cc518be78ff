import {
  ConfigError,
  type ConfigProblem,
  type StackConfig,
  type StackConfigInput,
  describeValue,
  formatProblem,
  parseStackConfig,
  validateStackConfig,
} from "./stack-config";
import { SERVICE } from "./functions";
import { type Json, isObject, mergeJson } from "./json-merge";

/**
 * Checked-in settings per environment; everything left out takes the documented default in
 * src/config/stack-config.ts, which is the cheap dev shape. The account ids are placeholders: set your own here
 * or through LAMBDA_RDS_IAM_CONFIG; until then the provider refuses to touch any real account.
 */
export const ENVIRONMENTS: Readonly<Record<string, StackConfigInput>> = {
  dev: {
    environment: "dev",
    accountId: "111111111111",
    // Disposable: `npm run destroy -- dev` removes the data bucket with whatever it holds.
    dataBucket: { forceDestroy: true },
  },
  prod: {
    environment: "prod",
    accountId: "222222222222",
    deployRoleArn: "arn:aws:iam::222222222222:role/lambda-rds-iam-deploy",
    network: { azCount: 3, natGateways: "per-az", flowLogRetentionDays: 365 },
    database: {
      instanceClass: "db.m7g.large",
      allocatedStorageGb: 100,
      maxAllocatedStorageGb: 500,
      multiAz: true,
      deletionProtection: true,
      preventDestroy: true,
      skipFinalSnapshot: false,
      backupRetentionDays: 30,
      logRetentionDays: 365,
      performanceInsights: true,
      monitoringIntervalSeconds: 30,
      proxy: true,
    },
    functions: {
      api: { memoryMb: 512, reservedConcurrency: 50, logRetentionDays: 365 },
      ingest: { memoryMb: 1024, reservedConcurrency: 5, logRetentionDays: 365 },
      purge: { logRetentionDays: 365 },
    },
    dataBucket: { objectRetentionDays: 90, preventDestroy: true, accessLogs: true },
    state: { noncurrentVersionDays: 365 },
    kms: { preventDestroy: true },
  },
};

/** One environment's configuration of this repository's service (its functions: src/config/functions.ts). */
export const parseServiceConfig = (input: unknown, source: string): StackConfig => parseStackConfig(input, source, SERVICE);

/** JSON object of per-environment overrides, e.g. {"dev":{"network":{"azCount":3}}}: settings change without code edits. */
export const CONFIG_OVERRIDE_VARIABLE = "LAMBDA_RDS_IAM_CONFIG";

/**
 * "ambient" makes Terraform use the caller's credentials as they are and never assume an environment's
 * deployRoleArn: CI already holds the environment's plan or deploy role through GitHub's OIDC token.
 */
export const CREDENTIALS_VARIABLE = "LAMBDA_RDS_IAM_CREDENTIALS";

function readOverrides(raw: string | undefined, environments: Readonly<Record<string, StackConfigInput>>): Json {
  if (raw === undefined || raw.trim() === "") return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (error) {
    throw new ConfigError(CONFIG_OVERRIDE_VARIABLE, [`${CONFIG_OVERRIDE_VARIABLE}: not valid JSON (${(error as Error).message})`]);
  }
  if (!isObject(parsed)) {
    throw new ConfigError(CONFIG_OVERRIDE_VARIABLE, [
      `${CONFIG_OVERRIDE_VARIABLE}: must be a JSON object keyed by environment (${Object.keys(environments).join(", ")})`,
    ]);
  }
  const problems = Object.entries(parsed).flatMap(([name, override]) => {
    if (!(name in environments)) return [`${name}: no such environment; use one of ${Object.keys(environments).join(", ")}`];
    return isObject(override) ? [] : [`${name}: must be an object of settings to override`];
  });
  if (problems.length > 0) throw new ConfigError(CONFIG_OVERRIDE_VARIABLE, problems);
  return parsed;
}

const valueAt = (settings: unknown, path: readonly PropertyKey[]): unknown =>
  path.reduce<unknown>((value, key) => (isObject(value) ? value[key as string] : undefined), settings);

/**
 * A problem of environment `name`, with the field's checked-in value and what to do when an override
 * changed another field and this one, left as checked in, no longer fits (a deploy role of the old
 * account after accountId was overridden, for instance).
 */
function describeProblem(name: string, problem: ConfigProblem, settings: Json, override: Json | undefined): string {
  const text = `${name}.${formatProblem(problem)}`;
  const checkedIn = valueAt(settings, problem.path);
  if (!override || valueAt(override, problem.path) !== undefined || checkedIn === undefined) return text;
  return `${text}; it is ${describeValue(checkedIn)} in src/config/environments.ts: override ${name}.${problem.path.join(".")} in ${CONFIG_OVERRIDE_VARIABLE} too`;
}

/**
 * Every environment's configuration, validated; throws one ConfigError that lists every problem of every
 * environment. `environments` is the checked-in list unless a caller (a test, another app) brings its own.
 */
export function loadStackConfigs(
  env: Record<string, string | undefined>,
  environments: Readonly<Record<string, StackConfigInput>> = ENVIRONMENTS,
): StackConfig[] {
  const overrides = readOverrides(env[CONFIG_OVERRIDE_VARIABLE], environments);
  const credentials = env[CREDENTIALS_VARIABLE] ?? "";
  if (!["", "ambient"].includes(credentials)) {
    throw new ConfigError(CREDENTIALS_VARIABLE, [`${CREDENTIALS_VARIABLE}: must be "ambient" or unset (got "${credentials}")`]);
  }
  const configs: StackConfig[] = [];
  const invalid: string[] = [];
  const problems: string[] = [];
  for (const [name, settings] of Object.entries(environments)) {
    const override = overrides[name] as Json | undefined;
    const result = validateStackConfig(mergeJson(settings, override) as Json, SERVICE);
    if (result.success) {
      configs.push(result.config);
    } else {
      invalid.push(name);
      problems.push(...result.problems.map((problem) => describeProblem(name, problem, settings as Json, override)));
    }
  }
  for (const { environment, problem } of sharedOidcProviderProblems(configs)) {
    if (!invalid.includes(environment)) invalid.push(environment);
    problems.push(problem);
  }
  if (problems.length > 0)
    throw new ConfigError(`${invalid.length === 1 ? "environment" : "environments"} ${invalid.join(", ")}`, problems);
  return credentials === "ambient" ? configs.map((config) => ({ ...config, deployRoleArn: undefined })) : configs;
}

/** An account has one GitHub OIDC provider: at most one environment per account may create it. */
function sharedOidcProviderProblems(configs: StackConfig[]): { environment: string; problem: string }[] {
  const creators = configs.filter((config) => config.ci.repository && !config.ci.oidcProviderArn);
  return creators.flatMap((config) => {
    const first = creators.find((other) => other.accountId === config.accountId);
    if (!first || first === config) return [];
    return [
      {
        environment: config.environment,
        problem:
          `${config.environment}.ci.oidcProviderArn: ${first.environment} creates the GitHub OIDC provider of account ${config.accountId} already; ` +
          `set this to arn:aws:iam::${config.accountId}:oidc-provider/token.actions.githubusercontent.com`,
      },
    ];
  });
}

/** The configurations for a command line: bad configuration prints every problem, once, and exits 1. */
export function stackConfigsOrExit(env: Record<string, string | undefined>): StackConfig[] {
  try {
    return loadStackConfigs(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
}
