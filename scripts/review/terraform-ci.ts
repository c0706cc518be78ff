/**
 * npm run ci:terraform -- [--stacks-dir cdktf.out/stacks] validate <stack>...
 * npm run ci:terraform -- [--stacks-dir cdktf.out/stacks] plan <stack>... [--out plans]
 * npm run ci:terraform -- [--stacks-dir cdktf.out/stacks] apply <stack>
 *
 * What the workflows run on the synthesized stacks (<stacks-dir>/<stack>):
 * - validate: `terraform init -backend=false` and `terraform validate`; no credentials needed.
 * - plan: `terraform plan` into OUT/<stack>.tfplan and `terraform show -json` into OUT/<stack>.json,
 *   with cdk.tf.json copied to OUT/stacks/<stack>/ for the construct paths. When the stack gets no
 *   plan (a fork, no plan role configured, a failed plan), OUT/<stack>.skipped says why instead.
 * - apply: plans and applies that saved plan, so what is applied is what was printed; never an
 *   `<env>-state` stack, which only a person deploys.
 * Environment: PLAN_ROLE_VARIABLE names the repository variable holding the plan role (PLAN_ROLE_ARN
 * is its value; the workflow has assumed it already), FORK=true for a pull request from a fork,
 * TERRAFORM overrides the binary (tests).
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { runCli, takeOption } from "../cli/cli-args";

export const FORK_REASON = "pull request from a fork: GitHub gives it no OIDC token, so no AWS credentials (validate and tests ran)";
export const STATE_STACK_REASON =
  "deployed by hand (see the README); its state is a local file on the deployer's machine, so CI validates it only";

function terraform(stackDir: string, args: string[], capture = false): string {
  const binary = process.env.TERRAFORM ?? "terraform";
  console.log(`$ terraform -chdir=${stackDir} ${args.join(" ")}`);
  const run = spawnSync(binary, [`-chdir=${stackDir}`, ...args], {
    encoding: "utf8",
    stdio: ["ignore", capture ? "pipe" : "inherit", "inherit"],
    maxBuffer: 512 * 1024 * 1024,
    env: { ...process.env, TF_IN_AUTOMATION: "1", TF_INPUT: "0" },
  });
  if (run.error) throw run.error;
  if (run.status !== 0) throw new Error(`terraform ${args[0]} failed in ${stackDir} (exit ${run.status})`);
  return run.stdout ?? "";
}

/** Why `stack` gets no plan in this run, or undefined when it should be planned. */
export function skipReason(stack: string, env: Record<string, string | undefined>): string | undefined {
  if (stack.endsWith("-state")) return STATE_STACK_REASON;
  if (env.FORK === "true") return FORK_REASON;
  if (!env.PLAN_ROLE_ARN)
    return `the repository variable ${env.PLAN_ROLE_VARIABLE ?? "for this environment's plan role"} is not set (see the README: plan review in pull requests)`;
  return undefined;
}

export function validate(stacksDir: string, stacks: string[]): void {
  for (const stack of stacks) {
    terraform(join(stacksDir, stack), ["init", "-backend=false", "-no-color"]);
    terraform(join(stacksDir, stack), ["validate", "-no-color"]);
  }
}

/** Plans `stack` into `out`, or writes why it gets no plan; a failed plan is written down, then thrown. */
export function plan(stacksDir: string, stack: string, out: string, env: Record<string, string | undefined>): void {
  const stackDir = join(stacksDir, stack);
  mkdirSync(join(out, "stacks", stack), { recursive: true });
  copyFileSync(join(stackDir, "cdk.tf.json"), join(out, "stacks", stack, "cdk.tf.json"));
  const reason = skipReason(stack, env);
  if (reason) {
    writeFileSync(join(out, `${stack}.skipped`), `${reason}\n`);
    console.log(`${stack}: no plan: ${reason}`);
    return;
  }
  try {
    const planFile = resolve(out, `${stack}.tfplan`);
    terraform(stackDir, ["init", "-no-color"]);
    terraform(stackDir, ["plan", "-no-color", "-lock-timeout=5m", `-out=${planFile}`]);
    writeFileSync(join(out, `${stack}.json`), terraform(stackDir, ["show", "-json", planFile], true));
  } catch (error) {
    writeFileSync(join(out, `${stack}.skipped`), `terraform plan failed (${(error as Error).message}); see the job log\n`);
    throw error;
  }
}

export function apply(stacksDir: string, stack: string): void {
  if (stack.endsWith("-state")) throw new Error(`${stack} is deployed by hand only (it holds the CI roles themselves); see the README`);
  const stackDir = join(stacksDir, stack);
  const planFile = resolve(stackDir, "deploy.tfplan");
  terraform(stackDir, ["init", "-no-color"]);
  terraform(stackDir, ["plan", "-no-color", "-lock-timeout=10m", `-out=${planFile}`]);
  terraform(stackDir, ["apply", "-no-color", "-lock-timeout=10m", planFile]);
}

function main(args: string[]): void {
  const stacksDir = takeOption(args, "--stacks-dir") ?? "cdktf.out/stacks";
  const out = takeOption(args, "--out") ?? "plans";
  const [command, ...stacks] = args;
  if (stacks.length === 0 || !["validate", "plan", "apply"].includes(command)) {
    throw new Error(
      "usage: npm run ci:terraform -- [--stacks-dir DIR] (validate <stack>... | plan <stack>... [--out DIR] | apply <stack>...)",
    );
  }
  if (command === "validate") validate(stacksDir, stacks);
  for (const stack of command === "plan" ? stacks : []) plan(stacksDir, stack, out, process.env);
  for (const stack of command === "apply" ? stacks : []) apply(stacksDir, stack);
}

runCli(module, main);
