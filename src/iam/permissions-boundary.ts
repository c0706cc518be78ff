import { Aspects, type IAspect } from "cdktf";
import type { IConstruct } from "constructs";
import type { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { terraformTypeOf } from "../core/terraform-type";

/**
 * Puts one permissions boundary on every IAM role under a scope, those made later included, like
 * aws-cdk-lib's `iam.PermissionsBoundary.of(scope).apply(policy)`: no role can be forgotten.
 */
export class PermissionsBoundary {
  static of(scope: IConstruct): PermissionsBoundary {
    return new PermissionsBoundary(scope);
  }

  private constructor(private readonly scope: IConstruct) {}

  /** Bounds every role under the scope by the managed policy `policyArn`. */
  apply(policyArn: string): void {
    Aspects.of(this.scope).add(new BoundaryAspect(policyArn));
  }
}

class BoundaryAspect implements IAspect {
  constructor(private readonly policyArn: string) {}

  visit(construct: IConstruct): void {
    // By declared type, not instanceof: a role made by another copy of the provider is bounded too.
    if (terraformTypeOf(construct) !== "aws_iam_role") return;
    const node = construct as IamRole;
    const existing = node.permissionsBoundaryInput;
    if (existing !== undefined && existing !== this.policyArn) {
      throw new Error(
        `${node.node.path}: has the permissions boundary ${existing}, but ${this.policyArn} bounds every role here; remove the role's own`,
      );
    }
    node.permissionsBoundary = this.policyArn;
  }
}
