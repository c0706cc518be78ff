/**
 * npm run plans:record [-- --out DIR] [--only NAME]
 *
 * Makes the real-plan fixtures (default __tests__/infra/fixtures/real-plans) with the Terraform on PATH
 * and the hashicorp/aws provider found in a filesystem mirror on this machine (TF_PLUGIN_MIRROR alone when
 * set, else /opt/tf-plugins, ~/.terraform.d/plugins, /usr/share/terraform/plugins), offline:
 * - the app is synthesized with its checked-in configuration; each stack is planned as a first deploy;
 * - a prior state is made from the first plan (made-up ids and ARNs), then planned with -refresh=false
 *   and rewritten from that plan until the unchanged code plans no changes;
 * - every change of plan-changes.ts is planned against that state.
 * The provider's two plan-time calls go to a local stub (aws-stub.ts). Each fixture keeps only what the
 * renderer reads (format and Terraform versions, resource_changes, one resource per line) and records
 * the provider version, the stack, the change, and the synthesized stack it was made from (its
 * resource addresses), so a test can tell a fixture from stale configuration. NAME limits the run to
 * one fixture's stack and changes (e.g. `prod` or `prod.timeout`). Runs are deterministic: the same
 * code, Terraform and provider write the same files.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { runCli, takeOption } from "../../cli/cli-args";
import { synthesizeApp, readSynthesizedStacks } from "../../stacks/synth-app";
import type { Block, TerraformJson } from "../../stacks/synthesized-stack";
import type { Json, ResourceChange, TerraformPlan } from "../../stacks/terraform-plan";
import { startAwsStub, stubAccessKey } from "./aws-stub";
import { PLAN_CHANGES, changed } from "./plan-changes";
import { type RealPlan, addressesOf, fixtureText } from "./real-plan";

const PROVIDER_SOURCE = "registry.terraform.io/hashicorp/aws";
const projectRoot = resolve(__dirname, "../../..");
export const DEFAULT_FIXTURES = join(projectRoot, "__tests__/infra/fixtures/real-plans");

/** The highest hashicorp/aws version in the first mirror that has one, with the mirror. */
export function findProvider(env: NodeJS.ProcessEnv = process.env): { mirror: string; version: string } {
  // A mirror named explicitly is the only one looked at.
  const mirrors = env.TF_PLUGIN_MIRROR
    ? [env.TF_PLUGIN_MIRROR]
    : ["/opt/tf-plugins", join(homedir(), ".terraform.d/plugins"), "/usr/share/terraform/plugins"];
  for (const mirror of mirrors.filter((path): path is string => Boolean(path))) {
    const dir = join(mirror, PROVIDER_SOURCE);
    if (!existsSync(dir)) continue;
    const versions = readdirSync(dir).filter((version) => /^\d+\.\d+\.\d+$/.test(version));
    const byNumber = (a: string, b: string) => a.localeCompare(b, "en", { numeric: true });
    if (versions.length > 0) return { mirror, version: versions.sort(byNumber).at(-1)! };
  }
  throw new Error(
    `no ${PROVIDER_SOURCE} provider in a filesystem mirror (${mirrors.filter(Boolean).join(", ")}); ` +
      "set TF_PLUGIN_MIRROR to a directory laid out as <host>/<namespace>/<type>/<version>/<os_arch>/",
  );
}

/**
 * The stack as this provider version and the stub can plan it: no backend, the provider pinned, its
 * calls sent to the stub with dummy keys, and what 5.x lacks of 6.x written the 5.x way.
 */
export function forPlanning(json: TerraformJson, providerVersion: string, endpoint: string): TerraformJson {
  const major = Number(providerVersion.split(".")[0]);
  let text = JSON.stringify(json);
  // 5.x names the region data source's attribute `name`.
  if (major < 6) text = text.replace(/(\$\{data\.aws_region\.[A-Za-z0-9_-]+)\.region\}/g, "$1.name}");
  const copy = JSON.parse(text) as TerraformJson;
  const { backend: _, required_providers: __, ...terraform } = copy.terraform ?? {};
  copy.terraform = { ...terraform, required_providers: { aws: { source: "hashicorp/aws", version: providerVersion } } };
  const providers = [copy.provider?.aws ?? []].flat() as Block[];
  copy.provider = {
    aws: providers.map(({ assume_role: _role, allowed_account_ids: accounts, ...provider }) => {
      const account = String([accounts ?? []].flat()[0] ?? "111111111111");
      return {
        ...provider,
        allowed_account_ids: [account],
        access_key: stubAccessKey(account),
        secret_key: "plan-stub",
        skip_credentials_validation: true,
        skip_metadata_api_check: true,
        skip_region_validation: true,
        endpoints: [{ sts: endpoint, ec2: endpoint, apigatewayv2: endpoint }],
      };
    }),
  };
  // 5.x has no default_auth_scheme and wants an auth block: the nearest, IAM required in front of the proxy.
  if (major < 6)
    for (const proxy of Object.values(copy.resource?.aws_db_proxy ?? {})) {
      delete proxy.default_auth_scheme;
      proxy.auth ??= [{ auth_scheme: "SECRETS", iam_auth: "REQUIRED", description: "stand-in for default_auth_scheme (provider 5.x)" }];
    }
  return copy;
}

interface Terraform {
  run(dir: string, args: string[]): Promise<string>;
  version: string;
}

/** Terraform with this CLI configuration; asynchronous, since the stub answering the provider runs in this process. */
async function terraformIn(cliConfig: string): Promise<Terraform> {
  const run = (dir: string, args: string[]) =>
    new Promise<string>((resolve, reject) => {
      const env = { ...process.env, TF_CLI_CONFIG_FILE: cliConfig, TF_IN_AUTOMATION: "1", TF_INPUT: "0", CHECKPOINT_DISABLE: "1" };
      execFile(
        "terraform",
        [`-chdir=${dir}`, ...args],
        { encoding: "utf8", maxBuffer: 1024 * 1024 * 1024, env },
        (error, stdout, stderr) => {
          if (!error) resolve(stdout);
          else if ((error as NodeJS.ErrnoException).code === "ENOENT")
            reject(new Error("terraform is not on PATH; install Terraform >= 1.10"));
          else reject(new Error(`terraform ${args[0]} failed in ${dir}:\n${stderr.slice(-4000)}`));
        },
      );
    });
  const version = (JSON.parse(await run(".", ["version", "-json"])) as { terraform_version: string }).terraform_version;
  return { run, version };
}

// ---- a prior state from a plan ----

type SchemaType = string | [string, SchemaType | Record<string, SchemaType>];
interface SchemaBlock {
  attributes?: Record<string, { type?: SchemaType; computed?: boolean }>;
  block_types?: Record<string, { nesting_mode: string; block: SchemaBlock }>;
}
type Schemas = Record<string, { version: number; block: SchemaBlock }>;

const SERVICE: Record<string, string> = {
  db: "rds",
  cloudwatch: "logs",
  lambda: "lambda",
  vpc: "ec2",
  default: "ec2",
  eip: "ec2",
  nat: "ec2",
};
const shortHash = (text: string) => createHash("sha256").update(text).digest("hex").slice(0, 12);

/** Attributes others refer to (ids, ARNs, names, addresses): made up, since a reference to null fails validation. */
const REFERENCED = /(^|_)(id|arn|name|endpoint|address|url)$/;

/**
 * A made-up value for an attribute known only after apply: stable per address, an ARN where the name
 * says so; null for a string nobody refers to (a made-up one may be invalid), empty for lists and blocks.
 */
function madeUp(address: string, attribute: string, schema: SchemaBlock, region: string, account: string): Json {
  const nested = schema.block_types?.[attribute];
  if (nested) {
    const attributes = Object.fromEntries(
      Object.entries(nested.block.attributes ?? {}).map(([inner, { type }]) => [inner, type ?? "string"]),
    );
    const element = madeUpOfType(`${address}.${attribute}`, ["object", attributes], attribute, region, account);
    return ["list", "set"].includes(nested.nesting_mode) ? [element] : element;
  }
  return madeUpOfType(address, schema.attributes?.[attribute]?.type ?? "string", attribute, region, account);
}

/** A made-up value of a schema type; a list of objects (a computed block: a secret's ARN in master_user_secret) gets one, for references to its [0]. */
function madeUpOfType(
  address: string,
  type: SchemaType | Record<string, SchemaType>,
  attribute: string,
  region: string,
  account: string,
): Json {
  if (type === "number") return 0;
  if (type === "bool") return false;
  if (Array.isArray(type)) {
    const [kind, inner] = type;
    if (kind === "object") {
      const fields = Object.entries(inner as unknown as Record<string, SchemaType>);
      return Object.fromEntries(
        fields.map(([name, fieldType]) => [name, madeUpOfType(`${address}.${name}`, fieldType, name, region, account)]),
      );
    }
    if ((kind === "list" || kind === "set") && Array.isArray(inner) && inner[0] === "object")
      return [madeUpOfType(address, inner, attribute, region, account)];
    return kind === "map" ? {} : [];
  }
  if (typeof type !== "string" || !REFERENCED.test(attribute)) return null;
  const [resourceType] = address.split(".");
  const part = resourceType.split("_")[1];
  const service = SERVICE[part] ?? part;
  if (attribute.endsWith("arn"))
    return `arn:aws:${service}:${service === "iam" || service === "s3" ? "" : region}:${service === "s3" ? "" : account}:${resourceType.slice(4)}/${shortHash(`${address}.${attribute}`)}`;
  return `${resourceType.slice(4).replace(/_/g, "-")}-${shortHash(`${address}.${attribute}`)}`;
}

/** `value` with every part `unknown` marks true filled: from `prior` where it has one, else made up. */
function settled(
  value: Json | undefined,
  unknown: Json | undefined,
  prior: Json | undefined,
  fill: (key: string, path: string[]) => Json,
  path: string[] = [],
): Json {
  if (unknown === true) return prior ?? fill(path.at(-1) ?? "", path);
  if (unknown === null || unknown === undefined || typeof unknown !== "object") return value ?? null;
  if (Array.isArray(unknown)) {
    const items = Array.isArray(value) ? value : [];
    const priors = Array.isArray(prior) ? prior : [];
    return Array.from({ length: Math.max(items.length, unknown.length) }, (_, index) =>
      settled(items[index], unknown[index], priors[index], fill, [...path, String(index)]),
    );
  }
  const object = (value ?? {}) as Record<string, Json>;
  const priors = (prior ?? {}) as Record<string, Json>;
  const keys = [...new Set([...Object.keys(object), ...Object.keys(unknown)])];
  return Object.fromEntries(
    keys.map((key) => [key, settled(object[key], (unknown as Record<string, Json>)[key], priors[key], fill, [...path, key])]),
  );
}

interface StateResource {
  mode: "managed";
  type: string;
  name: string;
  provider: string;
  instances: { schema_version: number; attributes: Record<string, Json>; sensitive_attributes: never[] }[];
}

/** The state after applying `plan` on top of `prior`: each planned resource as the plan says, its unknowns settled. */
function stateAfter(plan: TerraformPlan, prior: StateResource[], schemas: Schemas, region: string, account: string): StateResource[] {
  const before = new Map(prior.map((resource) => [`${resource.type}.${resource.name}`, resource.instances[0].attributes]));
  return (plan.resource_changes ?? [])
    .filter((resource) => resource.mode === "managed" && resource.change.actions.join() !== "delete")
    .map((resource: ResourceChange) => {
      // A type no provider describes (none here) gets version 0 and made-up ids only.
      const schema = schemas[resource.type] ?? { version: 0, block: {} };
      // terraform_data here holds timestamps (a creation time): an unknown part of its input is one, fixed.
      const fill = (key: string, path: string[]) =>
        path.length === 1
          ? madeUp(resource.address, key, schema.block, region, account)
          : resource.type === "terraform_data"
            ? "2026-01-01T00:00:00Z"
            : null;
      const attributes = settled(
        resource.change.after,
        resource.change.after_unknown as Json,
        before.get(resource.address),
        fill,
      ) as Record<string, Json>;
      // terraform_data's output is its input once applied.
      if (resource.type === "terraform_data" && attributes.output === null) attributes.output = attributes.input ?? null;
      return {
        mode: "managed" as const,
        type: resource.type,
        name: resource.name ?? resource.address.split(".")[1],
        provider: `provider["${(resource as { provider_name?: string }).provider_name ?? PROVIDER_SOURCE}"]`,
        instances: [{ schema_version: schema.version, attributes, sensitive_attributes: [] }],
      };
    });
}

/** The type of a JSON value as Terraform writes it beside a dynamically-typed value in a state. */
function ctyType(value: Json): Json {
  if (typeof value === "string" || typeof value === "number" || typeof value === "boolean")
    return typeof value === "boolean" ? "bool" : typeof value;
  if (Array.isArray(value)) return ["tuple", value.map(ctyType)];
  if (value === null) return "dynamic";
  return ["object", Object.fromEntries(Object.entries(value).map(([key, item]) => [key, ctyType(item)]))];
}

/** Dynamically-typed attributes (terraform_data's input and output) as a state holds them: value and type. */
const withDynamicTypes = (resources: StateResource[], schemas: Schemas): StateResource[] =>
  resources.map((resource) => {
    const dynamic = Object.entries(schemas[resource.type]?.block.attributes ?? {})
      .filter(([, attribute]) => attribute.type === "dynamic")
      .map(([name]) => name);
    const [instance] = resource.instances;
    const attributes = Object.fromEntries(
      Object.entries(instance.attributes).map(([key, value]) =>
        dynamic.includes(key) && value !== null ? [key, { value, type: ctyType(value) }] : [key, value],
      ),
    );
    return { ...resource, instances: [{ ...instance, attributes }] };
  });

const stateFile = (resources: StateResource[], terraformVersion: string, serial: number) =>
  JSON.stringify(
    { version: 4, terraform_version: terraformVersion, serial, lineage: "00000000-0000-4000-8000-000000000029", outputs: {}, resources },
    null,
    1,
  );

const changedAddresses = (plan: TerraformPlan) =>
  (plan.resource_changes ?? [])
    .filter((resource) => resource.mode === "managed" && !resource.change.actions.every((action) => action === "no-op"))
    .map(({ address, change }) => {
      const [before, after] = [change.before ?? {}, change.after ?? {}] as Record<string, Json>[];
      const unknown = (change.after_unknown ?? {}) as Record<string, Json>;
      const differing = Object.keys({ ...before, ...after }).filter(
        (key) => unknown[key] === true || JSON.stringify(before[key]) !== JSON.stringify(after[key]),
      );
      return `${address} (${change.actions.join(",")}: ${differing.join(", ")})`;
    });

// ---- recording ----

interface Recorder {
  terraform: Terraform;
  endpoint: string;
  providerVersion: string;
  work: string;
  out: string;
  synthesizedDir: string;
}

/** Plans `json` as `stack` in its working directory (assets copied once), with or without a state; returns the plan. */
async function planOnce(recorder: Recorder, stack: string, json: TerraformJson, state?: string): Promise<TerraformPlan> {
  const dir = join(recorder.work, stack);
  if (!existsSync(dir)) {
    cpSync(join(recorder.synthesizedDir, stack), dir, { recursive: true });
    writeFileSync(join(dir, "cdk.tf.json"), JSON.stringify(forPlanning(json, recorder.providerVersion, recorder.endpoint), null, 1));
    await recorder.terraform.run(dir, ["init", "-no-color"]);
  }
  writeFileSync(join(dir, "cdk.tf.json"), JSON.stringify(forPlanning(json, recorder.providerVersion, recorder.endpoint), null, 1));
  rmSync(join(dir, "terraform.tfstate"), { force: true });
  if (state) writeFileSync(join(dir, "terraform.tfstate"), state);
  await recorder.terraform.run(dir, ["plan", "-no-color", "-lock=false", "-refresh=false", "-out=plan.tfplan"]);
  return JSON.parse(await recorder.terraform.run(dir, ["show", "-json", "plan.tfplan"])) as TerraformPlan;
}

/**
 * A resource the plan leaves as it is, reduced to what names it (its id and ARN, which policies of
 * changed resources mention); everything else of it is the same on both sides and compares equal.
 */
function unlessChanged(resource: ResourceChange): ResourceChange {
  if (resource.change.actions.join() !== "no-op") return resource;
  const naming = (side: Json | undefined) => {
    const { id, arn } = (side ?? {}) as Record<string, Json>;
    return { ...(id === undefined ? {} : { id }), ...(arn === undefined ? {} : { arn }) };
  };
  return { ...resource, change: { actions: ["no-op"], before: naming(resource.change.before), after: naming(resource.change.after) } };
}

/** Rounds of plan and state before a prior state that still plans changes is taken as it is. */
const SETTLE_ROUNDS = 6;

function write(
  recorder: Recorder,
  name: string,
  stack: string,
  change: string | undefined,
  synthesized: TerraformJson,
  plan: TerraformPlan,
  unsettled: string[] = [],
): void {
  const fixture: RealPlan = {
    format_version: plan.format_version,
    terraform_version: plan.terraform_version,
    recorded: {
      provider: `${PROVIDER_SOURCE} ${recorder.providerVersion}`,
      stack,
      ...(change ? { change } : {}),
      synthesizedAddresses: shortHashOf(addressesOf(synthesized)),
      ...(unsettled.length > 0 ? { unsettled } : {}),
    },
    ...(plan.errored ? { errored: true } : {}),
    resource_changes: (plan.resource_changes ?? []).map(unlessChanged),
  };
  const file = join(recorder.out, `${name}.json`);
  writeFileSync(file, fixtureText(fixture));
  console.log(`${file}: ${(readFileSync(file).length / 1024).toFixed(0)} KiB, ${changedAddresses(plan).length} changes`);
}

export const shortHashOf = (addresses: string[]) => createHash("sha256").update(addresses.join("\n")).digest("hex").slice(0, 16);

async function main(args: string[]): Promise<void> {
  const out = resolve(takeOption(args, "--out") ?? DEFAULT_FIXTURES);
  const only = takeOption(args, "--only");
  if (args.length > 0) throw new Error("usage: npm run plans:record -- [--out DIR] [--only <stack>|<stack>.<change>]");
  const { mirror, version: providerVersion } = findProvider();
  const work = mkdtempSync(join(tmpdir(), "lambda-rds-iam-plans-"));
  const cliConfig = join(work, "terraform.rc");
  writeFileSync(
    cliConfig,
    `provider_installation {\n  filesystem_mirror {\n    path = "${mirror}"\n  }\n  direct {\n    exclude = ["*/*/*"]\n  }\n}\n`,
  );
  const terraform = await terraformIn(cliConfig);
  console.log(`Terraform ${terraform.version}, ${PROVIDER_SOURCE} ${providerVersion} from ${mirror}`);
  const stub = await startAwsStub();
  try {
    const synthesizedDir = join(work, "synth", "stacks");
    // The checked-in configuration, whatever this shell overrides.
    const { LAMBDA_RDS_IAM_CONFIG: _, ...env } = process.env;
    await synthesizeApp(projectRoot, join(work, "synth"), env);
    const stacks = readSynthesizedStacks(synthesizedDir);
    mkdirSync(out, { recursive: true });
    const recorder: Recorder = { terraform, endpoint: stub.url, providerVersion, work: join(work, "run"), out, synthesizedDir };
    mkdirSync(recorder.work);
    let schemas: Schemas | undefined;
    for (const [stack, json] of Object.entries(stacks)) {
      const changes = PLAN_CHANGES.filter(
        (change) => change.stack === stack && (!only || only === stack || only === `${stack}.${change.name}`),
      );
      if (only && only !== stack && changes.length === 0) continue;
      const first = await planOnce(recorder, stack, json);
      if (!only || only === stack) write(recorder, stack, stack, undefined, json, first);
      if (changes.length === 0) continue;
      // Every provider's resource schemas (terraform_data is the built-in provider's), of this stack: an earlier
      // stack without terraform_data has no built-in provider's.
      schemas = Object.assign(
        {},
        schemas,
        ...Object.values(
          (
            JSON.parse(await terraform.run(join(recorder.work, stack), ["providers", "schema", "-json"])) as {
              provider_schemas: Record<string, { resource_schemas?: Schemas }>;
            }
          ).provider_schemas,
        ).map((schema) => schema.resource_schemas ?? {}),
      ) as Schemas;
      const provider = [forPlanning(json, providerVersion, stub.url).provider?.aws ?? []].flat()[0] as Block;
      const [region, account] = [String(provider.region), String((provider.allowed_account_ids as string[])[0])];
      let state: StateResource[] = [];
      let plan = first;
      // A made-up value may replace a resource on the way; prevent_destroy would refuse that plan, so settling plans without it.
      const settling = JSON.parse(JSON.stringify(json, (key, value) => (key === "prevent_destroy" ? undefined : value))) as TerraformJson;
      let left: string[] = [];
      for (let round = 1; round <= SETTLE_ROUNDS; round += 1) {
        state = stateAfter(plan, state, schemas, region, account);
        plan = await planOnce(recorder, stack, settling, stateFile(withDynamicTypes(state, schemas), terraform.version, round));
        const now = changedAddresses(plan);
        const stuck = now.join() === left.join();
        left = now;
        if (left.length === 0 || stuck) break;
      }
      // What still changes is recorded, so a reader of the fixture can tell it from the change itself.
      if (left.length > 0) console.warn(`${stack}: the prior state did not settle; the unchanged code still plans:\n${left.join("\n")}`);
      const unsettled = left.map((line) => line.slice(0, line.indexOf(" ")));
      const prior = stateFile(withDynamicTypes(state, schemas), terraform.version, 1);
      for (const change of changes) {
        const edited = changed(json, change);
        const changePlan = await planOnce(recorder, stack, edited, prior);
        write(recorder, `${stack}.${change.name}`, stack, change.name, edited, changePlan, unsettled);
      }
    }
  } finally {
    stub.server.close();
    rmSync(work, { recursive: true, force: true });
  }
}

runCli(module, main);
