/**
 * File, beside cdktf.json, that holds the state of a state stack that keeps it locally (state.selfHosted
 * off): its first apply, before the bucket exists. Here, apart from the constructs, for the scripts that look for it.
 */
export const localStateFile = (stackId: string) => `terraform.${stackId}.tfstate`;
