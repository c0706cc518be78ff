/**
 * npm run state:migrate -- <environment> [--backend-config FILE]
 *
 * Moves an environment's `<environment>-state` stack's state from its local file
 * (terraform.<environment>-state.tfstate beside cdktf.json, where its first apply wrote it) into the
 * bucket that stack made, once, after state.selfHosted was turned on for the environment:
 * 1. synthesizes the app (into cdktf.json's output, as `npm run synth`) and reads the state stack's backend;
 * 2. lists the local file's resources (`terraform state list`); in a scratch directory that holds only
 *    that backend, `terraform init`, checks the bucket holds no state for the stack yet, and copies the
 *    file there with `terraform state push`, under the backend's lock. Not `terraform init -migrate-state`
 *    in the stack's directory: init installs the AWS provider that the configuration and the state name
 *    (hundreds of MB) to copy a file, and -force-copy would overwrite a state the bucket holds;
 * 3. lists the bucket's copy, and only when it holds the same resources renames the local file to
 *    terraform.<environment>-state.tfstate.migrated (never deleted) and forgets the local backend the
 *    synthesized stack's directory was initialized with, so the next `npm run deploy` uses the bucket.
 * It refuses, naming the fix and changing nothing, when the switch is off, the local file is missing,
 * the bucket holds the stack's state already, or Terraform is missing. FILE is given to every
 * `terraform init` of the bucket as -backend-config (a profile, credentials, an endpoint).
 */
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { CONFIG_OVERRIDE_VARIABLE, loadStackConfigs } from "../../src/config/environments";
import { localStateFile } from "../../src/state/local-state-file";
import { runCli, takeOption } from "../cli/cli-args";
import { stateList, terraform } from "../cli/run-terraform";
import { terraformProblem } from "../cli/terraform-version";
import { readCdktfJson, synthesizeApp } from "../stacks/synth-app";

export interface MigrateStateOptions {
  readonly environment: string;
  /** The checkout whose app is synthesized. */
  readonly projectRoot: string;
  /**
   * Where the stacks are synthesized; the local state file is in its parent, where the stack's local
   * backend (`../../../terraform.<stack>.tfstate` from its directory) has it.
   * @default cdktf.json's output (cdktf.out) under projectRoot
   */
  readonly outDir?: string;
  /** Passed to `terraform init` of the bucket as -backend-config. */
  readonly backendConfig?: string;
  /** @default process.env */
  readonly env?: NodeJS.ProcessEnv;
}

export interface Migrated {
  /** The resources the state holds, as `terraform state list` names them: the same before and after. */
  readonly resources: string[];
  /** Where the local file went. */
  readonly movedAside: string;
  /** s3://bucket/key of the state now. */
  readonly location: string;
}

/** The file a migrated local state is renamed to. */
export const movedAsideFile = (stack: string) => `${localStateFile(stack)}.migrated`;

/** Moves `<environment>-state`'s local state into its bucket; throws, having changed nothing, when it cannot. */
export async function migrateState(options: MigrateStateOptions): Promise<Migrated> {
  const { environment, projectRoot } = options;
  const env = options.env ?? process.env;
  const configs = loadStackConfigs(env);
  const config = configs.find((candidate) => candidate.environment === environment);
  if (!config) throw new Error(`no environment "${environment}"; use one of ${configs.map((c) => c.environment).join(", ")}`);
  const stack = `${environment}-state`;
  const outDir = resolve(options.outDir ?? join(projectRoot, readCdktfJson(projectRoot).output ?? "cdktf.out"));
  const stateDir = dirname(outDir);
  const localFile = join(stateDir, localStateFile(stack));
  const asideFile = join(stateDir, movedAsideFile(stack));
  if (!config.state.selfHosted) {
    throw new Error(
      `state.selfHosted is off for ${environment}, so ${stack} keeps its state in ${localStateFile(stack)}: turn it on ` +
        `(src/config/environments.ts, or ${CONFIG_OVERRIDE_VARIABLE}='{"${environment}":{"state":{"selfHosted":true}}}'), then run this again.`,
    );
  }
  if (!existsSync(localFile)) {
    if (existsSync(asideFile)) {
      throw new Error(
        `${stack} is migrated already: its local state was moved aside to ${movedAsideFile(stack)} and its state is in the bucket; nothing to do (npm run deploy -- ${stack} uses the bucket).`,
      );
    }
    throw new Error(
      `no ${localStateFile(stack)} in ${stateDir}, so nothing to migrate: run this in the checkout that deployed ${stack} (the file is there); ` +
        `a new environment deploys ${stack} first with state.selfHosted off.`,
    );
  }
  if (existsSync(asideFile)) {
    throw new Error(
      `${movedAsideFile(stack)} exists already beside ${localStateFile(stack)}: a migration ran before. Compare the two, keep one away from ${stateDir}, then run this again.`,
    );
  }
  const problem = terraformProblem("state:migrate", env, "npm run");
  if (problem) throw new Error(problem);

  await synthesizeApp(projectRoot, outDir, env);
  const stackDir = join(outDir, "stacks", stack);
  const { terraform: settings } = JSON.parse(readFileSync(join(stackDir, "cdk.tf.json"), "utf8"));
  const bucket = settings?.backend?.s3 as { bucket: string; key: string } | undefined;
  if (!bucket) throw new Error(`${stackDir}/cdk.tf.json has no s3 backend, though state.selfHosted is on for ${environment}`);
  const location = `s3://${bucket.bucket}/${bucket.key}`;

  const scratch = mkdtempSync(join(tmpdir(), "state-migrate-"));
  try {
    const run = (args: string[]) => terraform(scratch, [...args, "-no-color"], { env });
    // Read straight from the file, before the scratch directory has a backend: no init, so no provider to install.
    const before = stateList(scratch, env, [`-state=${localFile}`]);
    writeFileSync(join(scratch, "backend.tf.json"), JSON.stringify({ terraform: { backend: { s3: bucket } } }, null, 2));
    run(["init", "-input=false", ...(options.backendConfig ? [`-backend-config=${resolve(options.backendConfig)}`] : [])]);
    const there = stateList(scratch, env);
    if (there.length > 0) {
      throw new Error(
        `${location} holds ${stack}'s state already (${there.length} resources), and ${localStateFile(stack)} is still here; nothing was changed. ` +
          `If the bucket's is the state to keep, move the file aside (mv ${localStateFile(stack)} ${movedAsideFile(stack)}); if the file's, ask why the bucket has one first.`,
      );
    }
    // Under the backend's lock, and refused should a state of another lineage have appeared since the check above.
    // The copy starts a lineage of its own (serial 1): the file moved aside can never be pushed over it by mistake.
    run(["state", "push", localFile]);
    const after = stateList(scratch, env);
    if (JSON.stringify(after) !== JSON.stringify(before)) {
      throw new Error(
        `${location} lists ${after.length} resources after the copy, ${localStateFile(stack)} ${before.length}: the local file is kept, and npm run deploy ` +
          `refuses ${stack} while it is here; compare the two (terraform state list) before running this again.`,
      );
    }
    renameSync(localFile, asideFile);
    // The stack's directory may remember the local backend of an earlier deploy: its next init takes the bucket afresh.
    rmSync(join(stackDir, ".terraform", "terraform.tfstate"), { force: true });
    return { resources: after, movedAside: asideFile, location };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

async function main(args: string[]): Promise<void> {
  const backendConfig = takeOption(args, "--backend-config");
  const [environment, ...rest] = args;
  if (!environment || rest.length > 0) throw new Error("usage: npm run state:migrate -- <environment> [--backend-config FILE]");
  const projectRoot = resolve(__dirname, "../..");
  const { resources, movedAside, location } = await migrateState({ environment, projectRoot, backendConfig });
  console.log(
    `${environment}-state's state (${resources.length} resources) is in ${location} now; the local file is kept as ${movedAside}. ` +
      `Next: npm run deploy -- ${environment}-state, which lets the plan role plan it.`,
  );
}

runCli(module, main);
