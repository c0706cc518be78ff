import { Construct } from "constructs";
import { TerraformStack } from "cdktf";
import { DataAwsCallerIdentity } from "@cdktf/provider-aws/lib/data-aws-caller-identity";
import { DataAwsPartition } from "@cdktf/provider-aws/lib/data-aws-partition";
import { DataAwsRegion } from "@cdktf/provider-aws/lib/data-aws-region";

/** Partition, region and account of the stack's provider, read once per stack so ARNs are never hand-typed. */
export class AwsContext extends Construct {
  readonly partition: string;
  readonly region: string;
  readonly accountId: string;
  /** DNS suffix of the partition (amazonaws.com, amazonaws.com.cn, ...). */
  readonly dnsSuffix: string;

  static of(scope: Construct): AwsContext {
    const stack = TerraformStack.of(scope);
    return (stack.node.tryFindChild("aws-context") as AwsContext | undefined) ?? new AwsContext(stack, "aws-context");
  }

  private constructor(scope: Construct, id: string) {
    super(scope, id);
    const partition = new DataAwsPartition(this, "partition");
    this.partition = partition.partition;
    this.dnsSuffix = partition.dnsSuffix;
    this.region = new DataAwsRegion(this, "region").region;
    this.accountId = new DataAwsCallerIdentity(this, "caller").accountId;
  }

  /** ARN of a regional resource of this account. */
  arn(service: string, resource: string): string {
    return `arn:${this.partition}:${service}:${this.region}:${this.accountId}:${resource}`;
  }

  /** ARN of an IAM resource of this account (IAM is global: no region), e.g. "role/name", "policy/name". */
  iamArn(resource: string): string {
    return `arn:${this.partition}:iam::${this.accountId}:${resource}`;
  }
}
