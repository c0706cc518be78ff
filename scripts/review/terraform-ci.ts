/**
 * npm run ci:terraform -- [--stacks-dir cdktf.out/stacks] validate <stack>...
 * npm run ci:terraform -- [--stacks-dir cdktf.out/stacks] plan <stack>... [--out plans]
 * npm run ci:terraform -- apply <stack> [--plans plans]
 *
 * What the workflows run on the synthesized stacks (<stacks-dir>/<stack>):
 * - validate: `terraform init -backend=false` and `terraform validate`; no credentials needed.
 * - plan: `terraform plan` into OUT/<stack>.tfplan and `terraform show -json` into OUT/<stack>.json,
 *   with the stack directory (cdk.tf.json, the function assets, the provider lock file; not .terraform)
 *   copied to OUT/stacks/<stack>/: the construct paths for the comment, and what applying the saved
 *   plan needs. When the stack gets no plan (a fork, no plan role configured, a failed plan),
 *   OUT/<stack>.skipped says why instead.
 * - apply: applies the saved plan PLANS/<stack>.tfplan in PLANS/stacks/<stack> (what `plan` wrote, in
 *   the artifact the environment's reviewers approved), never a new plan; a plan the state moved past
 *   stops with a message saying to re-run. Never an `<env>-state` stack, which only a person deploys.
 * Environment: PLAN_ROLE_VARIABLE names the repository variable holding the plan role (PLAN_ROLE_ARN
 * is its value; the workflow has assumed it already), FORK=true for a pull request from a fork,
 * TERRAFORM_BINARY_NAME names the binary (OpenTofu: tofu), as it does for cdktf and `npm run deploy`.
 */
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { runCli, takeOption } from "../cli/cli-args";
import { stateList, terraform } from "../cli/run-terraform";
import { localStateFile } from "../../src/state/local-state-file";

export const FORK_REASON = "pull request from a fork: GitHub gives it no OIDC token, so no AWS credentials (validate and tests ran)";

/** The environment of a state stack (`dev` of `dev-state`). */
const environmentOf = (stateStack: string) => stateStack.replace(/-state$/, "");

/** Why a stack whose state is a local file gets no plan. */
export const localStateReason = (stack: string) =>
  `its state is a local file on the deployer's machine (${localStateFile(stack)}), so CI validates it only; ` +
  `to have it planned, turn on state.selfHosted for ${environmentOf(stack)} and move the file into the bucket once with ` +
  `npm run state:migrate -- ${environmentOf(stack)} (docs/operations.md)`;

/** The backend the synthesized stack in `stackDir` keeps its state in: "s3", "local", ... */
function backendOf(stackDir: string): string | undefined {
  const { terraform } = JSON.parse(readFileSync(join(stackDir, "cdk.tf.json"), "utf8")) as { terraform?: { backend?: object } };
  return Object.keys(terraform?.backend ?? {})[0];
}

/** Why the stack synthesized in `stackDir` gets no plan in this run, or undefined when it should be planned. */
export function skipReason(stackDir: string, env: Record<string, string | undefined>): string | undefined {
  if (backendOf(stackDir) === "local") return localStateReason(basename(stackDir));
  if (env.FORK === "true") return FORK_REASON;
  if (!env.PLAN_ROLE_ARN)
    return `the repository variable ${env.PLAN_ROLE_VARIABLE ?? "for this environment's plan role"} is not set (docs/review.md: first-time setup)`;
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
  const saved = join(out, "stacks", stack);
  mkdirSync(saved, { recursive: true });
  const copyStack = () =>
    cpSync(stackDir, saved, {
      recursive: true,
      filter: (source) => !source.startsWith(join(stackDir, ".terraform/")) && source !== join(stackDir, ".terraform"),
    });
  copyStack();
  const reason = skipReason(stackDir, env);
  if (reason) {
    writeFileSync(join(out, `${stack}.skipped`), `${reason}\n`);
    console.log(`${stack}: no plan: ${reason}`);
    return;
  }
  try {
    const planFile = resolve(out, `${stack}.tfplan`);
    terraform(stackDir, ["init", "-no-color"]);
    // A person made the state stack: no state in the bucket means it was never moved there, and the plan would create it all again.
    if (stack.endsWith("-state") && stateList(stackDir).length === 0) {
      throw new Error(
        `${stack} has no state in the bucket yet, though state.selfHosted is on: move its local state there once with npm run state:migrate -- ${environmentOf(stack)}`,
      );
    }
    terraform(stackDir, ["plan", "-no-color", "-lock-timeout=5m", `-out=${planFile}`]);
    writeFileSync(join(out, `${stack}.json`), terraform(stackDir, ["show", "-json", planFile], { capture: true }));
    // Again after init: the provider lock file it wrote is what applying the saved plan checks against.
    copyStack();
  } catch (error) {
    writeFileSync(join(out, `${stack}.skipped`), `terraform plan failed (${(error as Error).message}); see the job log\n`);
    throw error;
  }
}

/** What Terraform says when the state changed after the plan was made. */
const STALE_PLAN = /Saved plan is stale/i;

/** Applies the saved plan `plans`/<stack>.tfplan in the stack directory saved beside it: exactly what was reviewed, or nothing. */
export function apply(plans: string, stack: string): void {
  if (stack.endsWith("-state")) throw new Error(`${stack} is deployed by hand only (it holds the CI roles themselves); see the README`);
  const stackDir = join(plans, "stacks", stack);
  const planFile = resolve(plans, `${stack}.tfplan`);
  if (!existsSync(planFile) || !existsSync(join(stackDir, "cdk.tf.json"))) {
    throw new Error(
      `${stack}: no saved plan at ${planFile} with its stack in ${stackDir}; the plan job writes both (npm run ci:terraform -- plan ${stack} --out ${plans})`,
    );
  }
  terraform(stackDir, ["init", "-no-color"]);
  terraform(stackDir, ["apply", "-no-color", "-lock-timeout=10m", planFile], {
    onFailure: (stderr) => {
      if (STALE_PLAN.test(stderr)) {
        throw new Error(
          `${stack}: the approved plan is stale: the state changed after it was made (another apply ran in between), so nothing was applied. ` +
            "Re-run this workflow (Re-run all jobs) to plan again, and approve the new plan.",
        );
      }
    },
  });
}

function main(args: string[]): void {
  const stacksDir = takeOption(args, "--stacks-dir") ?? "cdktf.out/stacks";
  const out = takeOption(args, "--out") ?? "plans";
  const plans = takeOption(args, "--plans") ?? "plans";
  const [command, ...stacks] = args;
  if (stacks.length === 0 || !["validate", "plan", "apply"].includes(command)) {
    throw new Error(
      "usage: npm run ci:terraform -- [--stacks-dir DIR] (validate <stack>... | plan <stack>... [--out DIR] | apply <stack>... [--plans DIR])",
    );
  }
  if (command === "validate") validate(stacksDir, stacks);
  for (const stack of command === "plan" ? stacks : []) plan(stacksDir, stack, out, process.env);
  for (const stack of command === "apply" ? stacks : []) apply(plans, stack);
}

runCli(module, main);
