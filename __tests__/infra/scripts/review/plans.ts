import type { Block, TerraformJson } from "../../../../scripts/stacks/synthesized-stack";
import type { Json, ResourceChange, TerraformPlan } from "../../../../scripts/stacks/terraform-plan";

const PROVIDER = "registry.terraform.io/hashicorp/aws";
const isReference = (value: Json) => JSON.stringify(value).includes("${");

/**
 * The plan `terraform show -json` prints for a first deploy of a synthesized stack, in Terraform's JSON
 * plan format: every resource created, its literal arguments known, and every argument that refers to
 * another resource (a policy embedding an ARN, a rule's group) known only after apply, as are ids and ARNs.
 */
export function firstDeployPlan(json: TerraformJson): TerraformPlan {
  const resourceChanges: ResourceChange[] = Object.entries(json.resource ?? {}).flatMap(([type, byName]) =>
    Object.entries(byName).map(([name, { "//": _, lifecycle: __, depends_on: ___, provider: ____, ...block }]) => {
      const after: Block = {};
      const unknown: Record<string, Json> = { id: true, arn: true };
      for (const [key, value] of Object.entries(block)) {
        if (isReference(value)) unknown[key] = true;
        else after[key] = value;
      }
      return {
        address: `${type}.${name}`,
        mode: "managed" as const,
        type,
        name,
        provider_name: PROVIDER,
        change: { actions: ["create"], before: null, after, after_unknown: unknown, before_sensitive: false, after_sensitive: {} },
      };
    }),
  );
  return {
    format_version: "1.2",
    terraform_version: "1.12.2",
    planned_values: { root_module: { resources: [] } },
    resource_changes: resourceChanges,
    configuration: { provider_config: { aws: { name: "aws", full_name: PROVIDER } }, root_module: {} },
  } as TerraformPlan;
}

/** An update of one resource in the plan format: before and after known, nothing sensitive. */
export function update(type: string, name: string, before: Block, after: Block): ResourceChange {
  return {
    address: `${type}.${name}`,
    mode: "managed",
    type,
    name,
    change: { actions: ["update"], before, after, after_unknown: {}, before_sensitive: {}, after_sensitive: {} },
  };
}
