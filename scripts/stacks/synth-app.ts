/**
 * Synthesizes a checkout of this project by running the app command its own cdktf.json names, the way
 * `cdktf synth` runs it but without the CLI around it (about 2 s less per synth), into a directory of
 * the caller's choice; and reads synthesized stacks back.
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { TerraformJson } from "./synthesized-stack";

/** What the cdktf CLI reads of cdktf.json to synthesize. */
export interface CdktfJson {
  app?: string;
  /** Where `cdktf synth` writes unless told otherwise. */
  output?: string;
  context?: Record<string, unknown>;
}

export const readCdktfJson = (projectDir: string): CdktfJson =>
  JSON.parse(readFileSync(join(projectDir, "cdktf.json"), "utf8")) as CdktfJson;

/** The app exited with a failure: its exit status, and the end of its stderr unless it went to this process's. */
export class AppFailed extends Error {
  constructor(
    message: string,
    readonly status: number | null,
  ) {
    super(message);
  }
}

export interface SynthesizeOptions {
  /**
   * The app's stdout and stderr go to this process's as they come (what a person running a synth wants
   * to see), rather than stderr being kept for the error.
   * @default false
   */
  readonly passOutput?: boolean;
}

/** Runs `app` of `projectDir`/cdktf.json with its output in `outDir`; rejects with an AppFailed when it fails. */
export function synthesizeApp(
  projectDir: string,
  outDir: string,
  env: NodeJS.ProcessEnv = process.env,
  { passOutput = false }: SynthesizeOptions = {},
): Promise<void> {
  const { app, context } = readCdktfJson(projectDir);
  if (!app) throw new Error(`${projectDir}/cdktf.json names no app command`);
  return new Promise((resolve, reject) => {
    // The variables `cdktf synth` gives the app: where to write, and cdktf.json's context.
    const child = spawn(app, {
      shell: true,
      cwd: projectDir,
      env: { ...env, CDKTF_OUTDIR: outDir, CDKTF_CONTEXT_JSON: JSON.stringify(context ?? {}), CHECKPOINT_DISABLE: "1" },
      stdio: passOutput ? ["ignore", "inherit", "inherit"] : ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr?.on("data", (chunk) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code === 0) resolve();
      else
        reject(
          new AppFailed(`synth of ${projectDir} (${app}) exited with ${code}${passOutput ? "" : `:\n${stderr.trim().slice(-4000)}`}`, code),
        );
    });
  });
}

/** Every stack in a directory of synthesized stacks (`<dir>/<stack>/cdk.tf.json`, as in cdktf.out/stacks), by name. */
export function readSynthesizedStacks(stacksDir: string): Record<string, TerraformJson> {
  const stacks = readdirSync(stacksDir).filter((name) => existsSync(join(stacksDir, name, "cdk.tf.json")));
  if (stacks.length === 0) throw new Error(`no synthesized stacks in ${stacksDir}`);
  return Object.fromEntries(
    stacks.sort().map((name) => [name, JSON.parse(readFileSync(join(stacksDir, name, "cdk.tf.json"), "utf8")) as TerraformJson]),
  );
}
