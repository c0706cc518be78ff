import { spawnSync } from "node:child_process";

import { REQUIRED_TERRAFORM_VERSION } from "../../src/state/required-terraform";

const INSTALL_PAGE = "https://developer.hashicorp.com/terraform/install";

type Version = readonly [number, number, number];

/** "1.10.3", "v1.10" or "1.11.0-beta1" as [major, minor, patch]; a pre-release counts as its release. */
function parseVersion(text: string): Version | undefined {
  const match = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(text.trim());
  return match ? [Number(match[1]), Number(match[2] ?? 0), Number(match[3] ?? 0)] : undefined;
}

const compare = (a: Version, b: Version) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2];

/** Whether `version` meets a Terraform version constraint: clauses of =, !=, >, >=, <, <= or ~>, separated by commas. */
export function meetsConstraint(version: string, constraint: string): boolean {
  const actual = parseVersion(version);
  if (!actual) throw new Error(`"${version}" is not a Terraform version`);
  return constraint.split(",").every((clause) => {
    const match = /^\s*(=|!=|>=|<=|>|<|~>)?\s*(\d+(?:\.\d+){0,2})\s*$/.exec(clause);
    if (!match) throw new Error(`"${clause.trim()}" is not a Terraform version constraint`);
    const [, operator = "=", text] = match;
    const wanted = parseVersion(text)!;
    const order = compare(actual, wanted);
    switch (operator) {
      case "=":
        return order === 0;
      case "!=":
        return order !== 0;
      case ">":
        return order > 0;
      case ">=":
        return order >= 0;
      case "<":
        return order < 0;
      case "<=":
        return order <= 0;
      default: {
        // ~> lets only the last given part grow: ~> 1.10 is below 2.0, ~> 1.10.3 below 1.11.
        const below: Version = text.split(".").length < 3 ? [wanted[0] + 1, 0, 0] : [wanted[0], wanted[1] + 1, 0];
        return order >= 0 && compare(actual, below) < 0;
      }
    }
  });
}

/**
 * Why `cdktf <command>` cannot run here, as one line that names what is missing and where to get
 * it; undefined when the Terraform cdktf will run (TERRAFORM_BINARY_NAME, else terraform on PATH)
 * meets REQUIRED_TERRAFORM_VERSION.
 */
export function terraformProblem(command: string, env: NodeJS.ProcessEnv): string | undefined {
  const binary = env.TERRAFORM_BINARY_NAME || "terraform";
  const needs = `cdktf ${command} needs Terraform ${REQUIRED_TERRAFORM_VERSION}`;
  const run = spawnSync(binary, ["version", "-json"], { env, encoding: "utf8" });
  // EACCES: a PATH directory this user may not search (another user's home) hid no usable terraform either.
  if (["ENOENT", "EACCES"].includes((run.error as NodeJS.ErrnoException | undefined)?.code ?? "")) {
    return `${needs}, and there is no ${binary} on PATH: install it from ${INSTALL_PAGE}, then run again (synth needs none).`;
  }
  let version: string | undefined;
  try {
    version = JSON.parse(run.stdout).terraform_version;
  } catch {
    // Reported below, with how the command ended.
  }
  if (typeof version !== "string" || !parseVersion(version)) {
    const ended = run.error ? run.error.message : `exit status ${run.status}`;
    return `${needs}, and "${binary} version -json" did not tell its version (${ended}): install Terraform from ${INSTALL_PAGE}, then run again.`;
  }
  if (!meetsConstraint(version, REQUIRED_TERRAFORM_VERSION)) {
    return `${needs}, and the ${binary} on PATH is ${version}: install a newer one from ${INSTALL_PAGE}, then run again.`;
  }
  return undefined;
}
