import { spawnSync } from "node:child_process";
import { basename } from "node:path";
import { REQUIRED_TERRAFORM_VERSION } from "../../src/state/required-terraform";

/** What runs the stacks: Terraform, or OpenTofu through cdktf's own TERRAFORM_BINARY_NAME. */
export interface TerraformProduct {
  readonly name: string;
  /** The releases the stacks need, in the product's own numbering. */
  readonly required: string;
  readonly installPage: string;
}

/**
 * S3-native state locking (the backends' `use_lockfile`) arrived in Terraform 1.10 and in OpenTofu 1.10
 * (OpenTofu numbers its releases on from its fork of Terraform 1.6), and OpenTofu checks the stacks'
 * `required_version` against its own version: one constraint serves both.
 */
export const TERRAFORM_PRODUCTS = {
  terraform: { name: "Terraform", required: REQUIRED_TERRAFORM_VERSION, installPage: "https://developer.hashicorp.com/terraform/install" },
  opentofu: { name: "OpenTofu", required: REQUIRED_TERRAFORM_VERSION, installPage: "https://opentofu.org/docs/intro/install/" },
} as const satisfies Record<string, TerraformProduct>;

/** The binary cdktf runs (TERRAFORM_BINARY_NAME, else terraform) and what it is: OpenTofu when its name says tofu. */
export function terraformBinary(env: NodeJS.ProcessEnv): { binary: string; product: TerraformProduct } {
  const binary = env.TERRAFORM_BINARY_NAME || "terraform";
  return { binary, product: /tofu/i.test(basename(binary)) ? TERRAFORM_PRODUCTS.opentofu : TERRAFORM_PRODUCTS.terraform };
}

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
 * Why `<runner> <command>` (`cdktf deploy`, `npm run state:migrate`) cannot run here, as one line that names the binary it looked for, what is
 * wrong with it and where to get a good one; undefined when the binary cdktf will run
 * (TERRAFORM_BINARY_NAME, else terraform on PATH) meets what its product needs.
 */
export function terraformProblem(command: string, env: NodeJS.ProcessEnv, runner = "cdktf"): string | undefined {
  const { binary, product } = terraformBinary(env);
  const needs = `${runner} ${command} needs ${product.name} ${product.required}`;
  // A path names one file; a bare name is looked up on PATH.
  const where = binary.includes("/") ? binary : `${binary} on PATH`;
  const run = spawnSync(binary, ["version", "-json"], { env, encoding: "utf8" });
  // EACCES: a PATH directory this user may not search (another user's home) hid no usable binary either.
  if (["ENOENT", "EACCES"].includes((run.error as NodeJS.ErrnoException | undefined)?.code ?? "")) {
    const chosen = env.TERRAFORM_BINARY_NAME ? ` (TERRAFORM_BINARY_NAME=${binary})` : "";
    const orTofu = env.TERRAFORM_BINARY_NAME ? "" : `, or OpenTofu and set TERRAFORM_BINARY_NAME=tofu`;
    return `${needs}, and there is no ${where}${chosen}: install it from ${product.installPage}${orTofu}, then run again (synth needs none).`;
  }
  let version: string | undefined;
  try {
    // OpenTofu answers with the same field name as Terraform.
    version = JSON.parse(run.stdout).terraform_version;
  } catch {
    // Reported below, with how the command ended.
  }
  if (typeof version !== "string" || !parseVersion(version)) {
    const ended = run.error ? run.error.message : `exit status ${run.status}`;
    return `${needs}, and "${binary} version -json" did not tell its version (${ended}): install ${product.name} from ${product.installPage}, then run again.`;
  }
  if (!meetsConstraint(version, product.required)) {
    return `${needs}, and the ${where} is ${version}: install a newer one from ${product.installPage}, then run again.`;
  }
  return undefined;
}
