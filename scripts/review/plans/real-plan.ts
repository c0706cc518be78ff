/**
 * The real-plan fixtures: plans the AWS provider made of the synthesized stacks (npm run plans:record),
 * kept small (what the renderer reads) with what they were recorded with.
 */
import type { TerraformJson } from "../../stacks/synthesized-stack";
import type { TerraformPlan } from "../../stacks/terraform-plan";

export interface RealPlan extends TerraformPlan {
  recorded: {
    /** "registry.terraform.io/hashicorp/aws 5.100.0". */
    provider: string;
    stack: string;
    /** The change of plan-changes.ts planned against a deployed stack; none for a first deploy. */
    change?: string;
    /** Hash of the sorted managed-resource addresses of the synthesized stack planned. */
    synthesizedAddresses: string;
    /** Resources the unchanged code still planned to change in the prior state (made-up values that do not settle). */
    unsettled?: string[];
  };
}

/** The managed resources of a synthesized stack, as Terraform addresses, sorted. */
export const addressesOf = (json: TerraformJson): string[] =>
  Object.entries(json.resource ?? {})
    .flatMap(([type, byName]) => Object.keys(byName).map((name) => `${type}.${name}`))
    .sort();

/** A fixture as written: one resource change per line, so a re-recording diffs resource by resource. */
export function fixtureText({ resource_changes: changes = [], ...head }: RealPlan): string {
  const lines = changes.map((change) => JSON.stringify(change));
  return `${JSON.stringify(head).slice(0, -1)},"resource_changes":[\n${lines.join(",\n")}\n]}\n`;
}
