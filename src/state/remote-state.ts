import type { Construct } from "constructs";
import { S3Backend, type TerraformStack } from "cdktf";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import type { StackConfig } from "../config/stack-config";
import { REQUIRED_TERRAFORM_VERSION } from "./required-terraform";

export const stateBucketName = (config: StackConfig) =>
  config.state.bucket ?? `${config.project}-${config.environment}-tfstate-${config.accountId}`;
export const stateKeyAlias = (config: StackConfig) => `alias/${stateBucketName(config)}`;
export const stateRegion = (config: StackConfig) => config.state.region ?? config.region;
/** Object key of a stack's state in the bucket. */
export const stateObjectKey = (config: StackConfig, stackId: string) => `${config.state.keyPrefix ?? config.project}/${stackId}.tfstate`;

/** The environment's AWS provider: its account only, through its deploy role when one is set, with tags on everything. */
export function guardedAwsProvider(scope: Construct, config: StackConfig): AwsProvider {
  return new AwsProvider(scope, "aws", {
    region: config.region,
    allowedAccountIds: [config.accountId],
    assumeRole: config.deployRoleArn
      ? [{ roleArn: config.deployRoleArn, sessionName: `${config.project}-${config.environment}` }]
      : undefined,
    defaultTags: [{ tags: { ...config.tags, Project: config.project, Environment: config.environment, ManagedBy: "cdktf" } }],
  });
}

/** Keeps `stack`'s state in the environment's state bucket under a key of its own, encrypted with the bucket's key and locked. */
export function useRemoteState(stack: TerraformStack, config: StackConfig, stackId: string): void {
  const region = stateRegion(config);
  new S3Backend(stack, {
    bucket: stateBucketName(config),
    key: stateObjectKey(config, stackId),
    region,
    encrypt: true,
    kmsKeyId: `arn:aws:kms:${region}:${config.accountId}:${stateKeyAlias(config)}`,
    allowedAccountIds: [config.accountId],
  });
  // cdktf 0.21's S3Backend has no field for S3-native locking, nor the assume_role block.
  stack.addOverride("terraform.backend.s3.use_lockfile", true);
  if (config.deployRoleArn) stack.addOverride("terraform.backend.s3.assume_role", { role_arn: config.deployRoleArn });
  stack.addOverride("terraform.required_version", REQUIRED_TERRAFORM_VERSION);
}
