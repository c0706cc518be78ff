/**
 * The model of a `terraform show -json` plan (format 1.x, Terraform's documented JSON output format):
 * resource changes and their kinds. The plan comment, the deploy summary and the review read plans
 * through this.
 */
import type { TerraformJson } from "./synthesized-stack";

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
/** after_unknown, before_sensitive, after_sensitive: true where the value is unknown or sensitive, at any depth. */
export type Marks = boolean | Json | undefined;

export interface ResourceChange {
  address: string;
  mode?: "managed" | "data";
  type: string;
  name?: string;
  change: {
    actions: string[];
    before?: Json;
    after?: Json;
    after_unknown?: Marks;
    before_sensitive?: Marks;
    after_sensitive?: Marks;
    replace_paths?: (string | number)[][];
  };
  action_reason?: string;
}

export interface TerraformPlan {
  format_version: string;
  terraform_version?: string;
  resource_changes?: ResourceChange[];
  errored?: boolean;
}

export interface StackPlan {
  stack: string;
  plan: TerraformPlan;
  /** Terraform address ("aws_vpc.network_vpc_1A2B") to construct path ("dev/network/vpc"), from cdk.tf.json. */
  constructPaths: Record<string, string>;
  /** Its synthesized JSON (cdk.tf.json), when at hand: what the plan knows only after apply is read from it. */
  synthesized?: TerraformJson;
}

/** A stack that has no plan, and why (a fork, no plan role configured, a failed plan). */
export interface SkippedStack {
  stack: string;
  reason: string;
}

export type Kind = "create" | "update" | "replace" | "delete";
export const KINDS: readonly Kind[] = ["create", "update", "replace", "delete"];

/** Kind of a change, or undefined for no-op and data reads. */
export function kindOf(actions: string[]): Kind | undefined {
  const key = actions.join(",");
  if (key === "create") return "create";
  if (key === "update") return "update";
  if (key === "delete") return "delete";
  if (key === "delete,create" || key === "create,delete") return "replace";
  return undefined;
}

/** The managed resources the plan changes, with the kind of each change. */
export function changesOf(plan: TerraformPlan): { resource: ResourceChange; kind: Kind }[] {
  return (plan.resource_changes ?? []).flatMap((resource) => {
    const kind = resource.mode === "data" ? undefined : kindOf(resource.change.actions);
    return kind ? [{ resource, kind }] : [];
  });
}

export function countsOf(plan: TerraformPlan): Record<Kind, number> {
  const counts: Record<Kind, number> = { create: 0, update: 0, replace: 0, delete: 0 };
  for (const { kind } of changesOf(plan)) counts[kind] += 1;
  return counts;
}

/** Refuses a plan of a format this model does not read. */
export function checkPlanFormat({ stack, plan }: StackPlan): void {
  if (!/^1\./.test(plan.format_version ?? ""))
    throw new Error(`${stack}: plan format_version ${plan.format_version} is not 1.x; this renderer reads format 1 only`);
}
