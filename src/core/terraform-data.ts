import type { Construct } from "constructs";
import { AnyMap, TerraformResource, type TerraformResourceLifecycle } from "cdktf";

export interface TerraformDataProps {
  /** Stored in state on create and mirrored in `output`. */
  readonly input: Record<string, unknown>;
  readonly lifecycle?: TerraformResourceLifecycle;
}

/**
 * Terraform's built-in `terraform_data` resource, written as cdktf's `DataResource` writes it, minus
 * that class's synth-time validation, which runs `terraform version`: synthesizing needs no
 * Terraform binary; deploying does, and every stack already requires a newer one than this resource.
 */
export class TerraformData extends TerraformResource {
  /** The stored input, e.g. `output.lookup("at")`. */
  readonly output = new AnyMap(this, "output");
  private readonly input: Record<string, unknown>;

  constructor(scope: Construct, id: string, props: TerraformDataProps) {
    super(scope, id, {
      terraformResourceType: "terraform_data",
      // The built-in provider: cdktf's provider-presence validation skips it, as for DataResource.
      terraformGeneratorMetadata: { providerName: "terraform" },
      lifecycle: props.lifecycle,
    });
    this.input = props.input;
  }

  protected override synthesizeAttributes(): Record<string, unknown> {
    return { input: this.input };
  }
}
