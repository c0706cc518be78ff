import type { Construct } from "constructs";
import { DataAwsIamPolicyDocument, type DataAwsIamPolicyDocumentStatement } from "@cdktf/provider-aws/lib/data-aws-iam-policy-document";
import { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import {
  S3BucketLifecycleConfiguration,
  type S3BucketLifecycleConfigurationRule,
} from "@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration";
import { S3BucketOwnershipControls } from "@cdktf/provider-aws/lib/s3-bucket-ownership-controls";
import { S3BucketPolicy } from "@cdktf/provider-aws/lib/s3-bucket-policy";
import { S3BucketPublicAccessBlock } from "@cdktf/provider-aws/lib/s3-bucket-public-access-block";
import {
  S3BucketServerSideEncryptionConfigurationA,
  type S3BucketServerSideEncryptionConfigurationRuleA,
} from "@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration";
import { S3BucketVersioningA } from "@cdktf/provider-aws/lib/s3-bucket-versioning";
import { denyInsecureTransport } from "./policy-statements";

export interface PrivateBucketProps {
  readonly name: string;
  /** Encryption of every object written without one of its own. */
  readonly encryption: S3BucketServerSideEncryptionConfigurationRuleA;
  /** What expires, and when: versions pile up otherwise. */
  readonly lifecycleRule: S3BucketLifecycleConfigurationRule;
  /** Bucket policy statements besides the TLS-only one, given the bucket. */
  readonly policy?: (bucket: S3Bucket) => DataAwsIamPolicyDocumentStatement[];
  /** Terraform refuses any plan that destroys the bucket (default true). */
  readonly preventDestroy?: boolean;
  /** Destroying the bucket deletes every object and version in it first (only with preventDestroy false). @default false */
  readonly forceDestroy?: boolean;
}

/**
 * A bucket (kept from destroy unless told otherwise) that no one outside the account reaches: public access blocked, ACLs off
 * (objects belong to the bucket owner; grants are by policy only), versioned, encrypted by default,
 * expired by `lifecycleRule`, TLS only. Made in `scope` itself under fixed ids (bucket, ownership,
 * versioning, ...), so the state bucket keeps the Terraform addresses it had.
 */
export function privateBucket(scope: Construct, props: PrivateBucketProps): S3Bucket {
  const preventDestroy = props.preventDestroy ?? true;
  if (props.forceDestroy && preventDestroy) {
    throw new Error(
      `privateBucket ${props.name}: forceDestroy deletes the objects of a bucket that is destroyed; set preventDestroy: false with it, or leave it out`,
    );
  }
  const s3Bucket = new S3Bucket(scope, "bucket", {
    bucket: props.name,
    forceDestroy: props.forceDestroy,
    lifecycle: { preventDestroy },
  });
  const bucket = s3Bucket.id;
  new S3BucketOwnershipControls(scope, "ownership", { bucket, rule: { objectOwnership: "BucketOwnerEnforced" } });
  new S3BucketPublicAccessBlock(scope, "public-access-block", {
    bucket,
    blockPublicAcls: true,
    blockPublicPolicy: true,
    ignorePublicAcls: true,
    restrictPublicBuckets: true,
  });
  new S3BucketVersioningA(scope, "versioning", { bucket, versioningConfiguration: { status: "Enabled" } });
  new S3BucketServerSideEncryptionConfigurationA(scope, "encryption", { bucket, rule: [props.encryption] });
  new S3BucketLifecycleConfiguration(scope, "lifecycle", { bucket, rule: [props.lifecycleRule] });
  const policy = new DataAwsIamPolicyDocument(scope, "policy-document", {
    statement: [...(props.policy?.(s3Bucket) ?? []), denyInsecureTransport("s3", [s3Bucket.arn, `${s3Bucket.arn}/*`])],
  });
  new S3BucketPolicy(scope, "policy", { bucket, policy: policy.json });
  return s3Bucket;
}
