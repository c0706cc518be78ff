import { existsSync } from "node:fs";
import { join } from "node:path";
import type { StackConfig } from "../../src/config/stack-config";
import { localStateFile } from "../../src/state/local-state-file";

/** Whether a stack name given to the cdktf CLI (a name, or a pattern with `*`) names `stack`. */
const names = (pattern: string, stack: string) =>
  new RegExp(
    `^${pattern
      .split("*")
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
      .join(".*")}$`,
  ).test(stack);

/**
 * Why `cdktf <command> <args>` must not run: a state stack it names keeps its state in the bucket
 * (state.selfHosted) while its local state file is still beside cdktf.json. Terraform would start from
 * the bucket's empty state and create everything the file knows again. Undefined when nothing is wrong.
 */
export function unmigratedStateProblem(
  command: string,
  args: readonly string[],
  configs: readonly StackConfig[],
  projectRoot: string,
): string | undefined {
  const stacks = args.filter((arg) => !arg.startsWith("-"));
  for (const config of configs.filter((candidate) => candidate.state.selfHosted)) {
    const stack = `${config.environment}-state`;
    if (!stacks.some((pattern) => names(pattern, stack)) || !existsSync(join(projectRoot, localStateFile(stack)))) continue;
    return (
      `${stack} keeps its state in the bucket (state.selfHosted), but ${localStateFile(stack)} is still here: ` +
      `cdktf ${command} would start from an empty state and create everything again. Move it into the bucket first: npm run state:migrate -- ${config.environment}`
    );
  }
  return undefined;
}
