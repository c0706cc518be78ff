import { type App, Testing, type TerraformStack } from "cdktf";
import { invokeAspects } from "cdktf/lib/synthesize/synthesizer";
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, symlinkSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { ENVIRONMENTS, loadStackConfigs, parseServiceConfig } from "../../src/config/environments";
import { ConfigError, type StackConfig, type StackConfigInput } from "../../src/config/stack-config";
import type { ServiceStack } from "../../src/service-stack";
import type { StateStack } from "../../src/state/state-stack";
import { SYNTH_CACHE_VARIABLE } from "./synth-cache";
import { tempDir } from "./temp";

export const projectRoot = resolve(__dirname, "../..");

/** cdktf's testing app, writing (when it writes at all) into this test file's temporary directory rather than the OS's. */
export const testApp = (): App => Testing.app({ outdir: tempDir("cdktf.out-") });

/**
 * A second checkout of what a function bundle reads (function sources, migrations, tsconfig.json) at
 * another path. Its node_modules links each package of this one's, but not the build cache: the
 * checkout's builds stay in the checkout.
 */
export function checkout(): string {
  const root = tempDir("checkout-");
  for (const path of ["functions", "migrations", "tsconfig.json"]) cpSync(join(projectRoot, path), join(root, path), { recursive: true });
  mkdirSync(join(root, "node_modules"));
  for (const name of readdirSync(join(projectRoot, "node_modules")).filter((name) => name !== ".cache")) {
    symlinkSync(join(projectRoot, "node_modules", name), join(root, "node_modules", name));
  }
  return root;
}

/** What the configuration schema says is wrong with `input`, field by field; throws if it accepts it. */
export function configProblems(input: unknown): string[] {
  try {
    parseServiceConfig(input, "test");
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error("configuration was accepted");
}

/** The least a stack configuration needs; everything else takes its default (the dev shape). */
export const MINIMAL = { environment: "dev", accountId: "111111111111" } as const;

type Block = Record<string, any>;
export interface TerraformJson {
  terraform: Block;
  provider: Block;
  resource: Record<string, Record<string, Block>>;
  data: Record<string, Record<string, Block>>;
  output: Record<string, Block>;
}

export interface Synthesized<S extends TerraformStack = ServiceStack> {
  /** The stack's constructs: built anew on first use (the JSON may come from this run's shared synthesis). */
  readonly stack: S;
  /** The Terraform JSON as Testing.synth gives it: no `//` metadata. */
  json: TerraformJson;
  /** The Terraform JSON as `cdktf synth` writes it, `//` metadata (construct paths) included. */
  raw: TerraformJson;
  /** The resource made by the construct at `path` (relative to the stack), e.g. ("aws_vpc", "network/vpc"). */
  resource(type: string, path: string): Block;
  data(type: string, path: string): Block;
  /** Terraform reference to an attribute of that resource, as it appears in other blocks. */
  ref(type: string, path: string, attribute: string): string;
  dataRef(type: string, path: string, attribute: string): string;
  /** All resources of a type, keyed by construct path. */
  all(type: string): Record<string, Block>;
  /** The standalone ingress or egress rules of the security group with this id reference. */
  rulesOf(direction: "ingress" | "egress", groupId: string): Block[];
  /** The inline policies (aws_iam_role_policy) of the role made at `rolePath`, keyed by construct path. */
  policiesOf(rolePath: string): Record<string, Block>;
  /** References to the stack's partition, DNS suffix, region and account id (src/core/aws-context.ts), as ARNs embed them. */
  aws: { partition: string; dnsSuffix: string; region: string; accountId: string };
}

/** One environment of an app: its configuration, its service stack and its `<environment>-state` stack. */
export interface SynthesizedEnvironment {
  readonly name: string;
  readonly config: StackConfig;
  readonly service: Synthesized;
  readonly state: Synthesized<StateStack>;
}

/** A stack's Terraform JSON as `cdktf synth` writes it: with the `//` metadata (construct paths) that Testing.synth drops. */
export function synthesizedJson(stack: TerraformStack): TerraformJson {
  invokeAspects(stack);
  return JSON.parse(JSON.stringify(stack.toTerraform())) as TerraformJson;
}

const withoutMetadata = (value: unknown): any => {
  if (Array.isArray(value)) return value.map(withoutMetadata);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key]) => key !== "//")
      .map(([key, child]) => [key, withoutMetadata(child)]),
  );
};

/**
 * Lookups by construct path over a stack's JSON with metadata, the way reviewers name what they read.
 * `makeStack` builds the constructs again when a test asks for them.
 */
function synthesizedOf<S extends TerraformStack>(raw: TerraformJson, makeStack: () => S): Synthesized<S> {
  const json = withoutMetadata(raw) as TerraformJson;
  type Found = { kind: "resource" | "data"; type: string; id: string };
  const byPath = new Map<string, Found>();
  for (const kind of ["resource", "data"] as const) {
    for (const [type, blocks] of Object.entries(raw[kind] ?? {})) {
      for (const [id, block] of Object.entries(blocks)) {
        const path: string = block["//"].metadata.path;
        byPath.set(`${kind} ${path.slice(path.indexOf("/") + 1)}`, { kind, type, id });
      }
    }
  }
  const find = (kind: "resource" | "data", type: string, path: string): [string, Block] => {
    const found = byPath.get(`${kind} ${path}`);
    if (!found) throw new Error(`no Terraform element at ${path}`);
    if (found.type !== type) throw new Error(`${path} is not a ${type}`);
    return [found.id, json[kind][type][found.id]];
  };
  const dataRef = (type: string, path: string, attribute: string) => `\${data.${type}.${find("data", type, path)[0]}.${attribute}}`;
  const all = (type: string): Record<string, Block> =>
    Object.fromEntries(
      [...byPath.entries()]
        .filter(([, found]) => found.kind === "resource" && found.type === type)
        .map(([key, found]) => [key.slice("resource ".length), json.resource[type][found.id]]),
    );
  let stack: S | undefined;
  return {
    get stack() {
      stack ??= makeStack();
      return stack;
    },
    json,
    raw,
    resource: (type, path) => find("resource", type, path)[1],
    data: (type, path) => find("data", type, path)[1],
    ref: (type, path, attribute) => `\${${type}.${find("resource", type, path)[0]}.${attribute}}`,
    dataRef,
    all,
    rulesOf: (direction, groupId) =>
      Object.values(all(`aws_vpc_security_group_${direction}_rule`)).filter((rule) => rule.security_group_id === groupId),
    policiesOf: (rolePath) => {
      const roleName = `\${aws_iam_role.${find("resource", "aws_iam_role", rolePath)[0]}.name}`;
      return Object.fromEntries(Object.entries(all("aws_iam_role_policy")).filter(([, policy]) => policy.role === roleName));
    },
    get aws() {
      return {
        partition: dataRef("aws_partition", "aws-context/partition", "partition"),
        dnsSuffix: dataRef("aws_partition", "aws-context/partition", "dns_suffix"),
        region: dataRef("aws_region", "aws-context/region", "region"),
        accountId: dataRef("aws_caller_identity", "aws-context/caller", "account_id"),
      };
    },
  };
}

/** Any stack's Terraform JSON, with lookups by construct path. */
export function synthesize<S extends TerraformStack>(stack: S): Synthesized<S> {
  return synthesizedOf(synthesizedJson(stack), () => stack);
}

/**
 * The stacks `make` synthesizes, by name, made once per jest run: the first test file that asks writes
 * them to the run's cache (__tests__/infra/synth-cache.ts), every later one reads them. Without a run's
 * cache (a script importing this file), they are synthesized every time.
 */
function sharedSynthesis(key: unknown, make: () => TerraformStack[]): Record<string, TerraformJson> {
  const synthesizeAll = () => Object.fromEntries(make().map((stack) => [stack.node.id, synthesizedJson(stack)]));
  const dir = process.env[SYNTH_CACHE_VARIABLE];
  if (!dir) return synthesizeAll();
  const file = join(dir, `${createHash("sha256").update(JSON.stringify(key)).digest("hex")}.json`);
  if (existsSync(file)) return JSON.parse(readFileSync(file, "utf8"));
  const stacks = synthesizeAll();
  // Written whole, then renamed: a test file in another worker reads all of it or nothing.
  const partial = `${file}.${process.pid}`;
  writeFileSync(partial, JSON.stringify(stacks));
  renameSync(partial, file);
  return stacks;
}

/**
 * The stacks' constructs, loaded on first use: a test file that reads only this run's shared synthesis
 * never loads the AWS provider's classes, which is most of a test file's start-up.
 */
const constructs = () => ({
  ServiceStack: (require("../../src/service-stack") as typeof import("../../src/service-stack")).ServiceStack,
  StateStack: (require("../../src/state/state-stack") as typeof import("../../src/state/state-stack")).StateStack,
});

/** A service stack of the minimal configuration with `input` on top, not synthesized yet: a test may add constructs to it. */
export function serviceStack(input: Partial<StackConfigInput> = {}): ServiceStack {
  const config = parseServiceConfig({ ...MINIMAL, ...input }, "test");
  return new (constructs().ServiceStack)(testApp(), config.environment, { config, projectRoot });
}

/** The service and state stacks of one configuration, in one app, as main.ts makes them. */
function environmentStacks(config: StackConfig, app = testApp()): { service: ServiceStack; state: StateStack } {
  const { ServiceStack, StateStack } = constructs();
  const service = new ServiceStack(app, config.environment, { config, projectRoot });
  return { service, state: new StateStack(app, `${config.environment}-state`, { config, service }) };
}

/** A service stack of the minimal configuration with `input` on top, synthesized once per run. */
export function synthStack(input: Partial<StackConfigInput> = {}): Synthesized {
  const stacks = sharedSynthesis({ service: input }, () => [serviceStack(input)]);
  const [raw] = Object.values(stacks);
  return synthesizedOf(raw, () => serviceStack(input));
}

/** The `<environment>-state` stack of the minimal configuration with `input` on top, beside its service stack, synthesized once per run. */
export function synthStateStack(input: Partial<StackConfigInput> = {}): Synthesized<StateStack> {
  const config = parseServiceConfig({ ...MINIMAL, ...input }, "test");
  const stacks = sharedSynthesis({ state: input }, () => Object.values(environmentStacks(config)));
  return synthesizedOf(stacks[`${config.environment}-state`], () => environmentStacks(config).state);
}

export interface AppOptions {
  /** What LAMBDA_RDS_IAM_CONFIG would hold: per-environment overrides. */
  readonly overrides?: Record<string, unknown>;
  /** The environments themselves. @default the checked-in ones (src/config/environments.ts) */
  readonly environments?: Readonly<Record<string, StackConfigInput>>;
}

/** Every environment of the app as main.ts composes it (both stacks each), synthesized once per run. */
export function synthApp(options: AppOptions = {}): SynthesizedEnvironment[] {
  const configs = loadStackConfigs(
    { LAMBDA_RDS_IAM_CONFIG: JSON.stringify(options.overrides ?? {}) },
    options.environments ?? ENVIRONMENTS,
  );
  const stacks = sharedSynthesis({ app: options }, () => {
    const app = testApp();
    return configs.flatMap((config) => Object.values(environmentStacks(config, app)));
  });
  return configs.map((config) => {
    const name = config.environment;
    let constructs: ReturnType<typeof environmentStacks> | undefined;
    const made = () => {
      constructs ??= environmentStacks(config);
      return constructs;
    };
    return {
      name,
      config,
      service: synthesizedOf(stacks[name], () => made().service),
      state: synthesizedOf(stacks[`${name}-state`], () => made().state),
    };
  });
}

/** A Lambda function of a synthesized stack, as the rules about functions read it. */
export interface SynthesizedFunction {
  /** Construct path of the aws_lambda_function, e.g. "api/function". */
  readonly path: string;
  readonly block: Block;
  readonly name: string;
  /** Reference to the id of its (first) security group. */
  readonly group: string;
  /** What its environment says it connects to (DB_HOST, DB_USER), when it connects to the database. */
  readonly dbHost?: string;
  readonly dbUser?: string;
}

/** Every Lambda function of the stack: a rule over them holds for any function the stack gains. */
export function functionsOf(s: Synthesized<any>): SynthesizedFunction[] {
  return Object.entries(s.all("aws_lambda_function")).map(([path, block]) => ({
    path,
    block,
    name: block.function_name,
    group: block.vpc_config?.security_group_ids?.[0],
    dbHost: block.environment?.variables?.DB_HOST,
    dbUser: block.environment?.variables?.DB_USER,
  }));
}

/** Security-group rules in the order of their descriptions: rules compared as a set, whatever order constructs made them in. */
export const byDescription = (rules: Block[]): Block[] =>
  [...rules].sort((a, b) => String(a.description).localeCompare(String(b.description)));
