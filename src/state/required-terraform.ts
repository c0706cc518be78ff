/** Terraform 1.10 is the first with S3-native state locking (use_lockfile), which the app stacks' backends use. */
export const REQUIRED_TERRAFORM_VERSION = ">= 1.10";
