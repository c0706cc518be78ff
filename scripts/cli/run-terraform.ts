import { spawnSync } from "node:child_process";
import { basename } from "node:path";
import { terraformBinary } from "./terraform-version";

export interface TerraformRunOptions {
  /** Return its stdout rather than showing it. */
  readonly capture?: boolean;
  /** Handed what it printed to stderr (still shown) when it fails, before the error is thrown. */
  readonly onFailure?: (stderr: string) => void;
  /** @default process.env */
  readonly env?: NodeJS.ProcessEnv;
}

/** Runs terraform (or TERRAFORM_BINARY_NAME) in `dir`, never asking for input; throws naming the command when it fails. */
export function terraform(dir: string, args: string[], options: TerraformRunOptions = {}): string {
  const env = options.env ?? process.env;
  const { binary } = terraformBinary(env);
  const name = basename(binary);
  console.log(`$ ${name} -chdir=${dir} ${args.join(" ")}`);
  const run = spawnSync(binary, [`-chdir=${dir}`, ...args], {
    encoding: "utf8",
    stdio: ["ignore", options.capture ? "pipe" : "inherit", options.onFailure ? "pipe" : "inherit"],
    maxBuffer: 512 * 1024 * 1024,
    env: { ...env, TF_IN_AUTOMATION: "1", TF_INPUT: "0" },
  });
  if (run.error) throw run.error;
  if (run.stderr) process.stderr.write(run.stderr);
  if (run.status !== 0) {
    options.onFailure?.(run.stderr ?? "");
    throw new Error(`${name} ${args[0]} failed in ${dir} (exit ${run.status})`);
  }
  return run.stdout ?? "";
}

/**
 * What `terraform state list [options]` prints in `dir` (initialized, or `-state=FILE`), sorted: every resource and data source address
 * of the state; none when there is no state at all (where Terraform fails, saying "No state file was found!").
 */
export function stateList(dir: string, env: NodeJS.ProcessEnv = process.env, options: string[] = []): string[] {
  let noState = false;
  try {
    const listed = terraform(dir, ["state", "list", "-no-color", ...options], {
      env,
      capture: true,
      onFailure: (stderr) => {
        noState = /No state file was found/.test(stderr);
      },
    });
    return listed
      .split("\n")
      .filter((line) => line !== "")
      .sort();
  } catch (error) {
    if (noState) return [];
    throw error;
  }
}
