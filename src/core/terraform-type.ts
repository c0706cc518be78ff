import { TerraformDataSource, TerraformResource } from "cdktf";
import type { IConstruct } from "constructs";

/**
 * The Terraform type a construct declares: its `terraformResourceType` for a resource, `data.<type>`
 * for a data source, undefined for anything else. Read from the construct itself and cdktf's marks of
 * a resource and a data source (registered symbols, the same in every copy of cdktf and in CDK
 * Terrain), never by `instanceof`: with two copies of the library or of the provider installed (an npm
 * alias, a provider package with its own), the constructs of one are no instances of the other's
 * classes, and whatever looked for them would find nothing, without an error.
 */
export function terraformTypeOf(construct: IConstruct): string | undefined {
  const { terraformResourceType: type } = construct as { terraformResourceType?: unknown };
  if (typeof type !== "string") return undefined;
  if (TerraformDataSource.isTerraformDataSource(construct)) return `data.${type}`;
  return TerraformResource.isTerraformResource(construct) ? type : undefined;
}

/** The resources of one Terraform type under `scope` (found by terraformTypeOf), as `T`. */
export function resourcesOfType<T extends IConstruct>(scope: IConstruct, type: string): T[] {
  return scope.node.findAll().filter((construct) => terraformTypeOf(construct) === type) as T[];
}
