import { synthStateStack } from "./synth";

describe("StateStack", () => {
  const s = synthStateStack();
  const bucketId = s.ref("aws_s3_bucket", "bucket", "id");
  const keep = { prevent_destroy: true };

  it("keeps its own state in a local file beside cdktf.json, since the bucket does not exist before it", () => {
    expect(s.json.terraform.backend).toEqual({ local: { path: "../../../terraform.dev-state.tfstate" } });
  });

  it("guards the account like the app stacks", () => {
    expect(s.json.provider.aws[0]).toMatchObject({ region: "eu-west-1", allowed_account_ids: ["111111111111"] });
  });

  it("creates the bucket the app stacks expect, protected from destroy", () => {
    expect(s.resource("aws_s3_bucket", "bucket")).toEqual({ bucket: "lambda-rds-iam-dev-tfstate-111111111111", lifecycle: keep });
  });

  it("versions every state write and expires superseded versions after the configured days", () => {
    expect(s.resource("aws_s3_bucket_versioning", "versioning")).toEqual({ bucket: bucketId, versioning_configuration: { status: "Enabled" } });
    expect(s.resource("aws_s3_bucket_lifecycle_configuration", "lifecycle").rule).toEqual([
      {
        id: "expire-superseded-state",
        status: "Enabled",
        filter: [{}],
        noncurrent_version_expiration: [{ noncurrent_days: 90 }],
        abort_incomplete_multipart_upload: [{ days_after_initiation: 7 }],
      },
    ]);
  });

  it("encrypts with its own rotating KMS key, whose alias the app stacks' backends name", () => {
    expect(s.resource("aws_kms_key", "key")).toMatchObject({ enable_key_rotation: true, lifecycle: keep });
    expect(s.resource("aws_kms_alias", "key-alias")).toEqual({
      name: "alias/lambda-rds-iam-dev-tfstate-111111111111",
      target_key_id: s.ref("aws_kms_key", "key", "key_id"),
    });
    expect(s.resource("aws_s3_bucket_server_side_encryption_configuration", "encryption")).toEqual({
      bucket: bucketId,
      rule: [{ apply_server_side_encryption_by_default: { sse_algorithm: "aws:kms", kms_master_key_id: s.ref("aws_kms_key", "key", "arn") }, bucket_key_enabled: true }],
    });
  });

  it("lets only S3 use the key, for this bucket's objects and principals of the account that IAM allows", () => {
    expect(s.resource("aws_kms_key", "key").policy).toBe(s.dataRef("aws_iam_policy_document", "key-policy", "json"));
    const [administration, ...usage] = s.data("aws_iam_policy_document", "key-policy").statement;
    expect(administration.sid).toBe("AccountAdministersKey");
    const { partition, dnsSuffix, region, accountId } = s.aws;
    const bucketArn = `arn:${partition}:s3:::lambda-rds-iam-dev-tfstate-111111111111`;
    expect(usage).toEqual([
      {
        sid: "UseThroughS3ForStateBucket",
        principals: [{ type: "AWS", identifiers: [`arn:${partition}:iam::${accountId}:root`] }],
        actions: ["kms:Decrypt", "kms:GenerateDataKey"],
        resources: ["*"],
        condition: [
          { test: "StringEquals", variable: "kms:ViaService", values: [`s3.${region}.${dnsSuffix}`] },
          { test: "ArnLike", variable: "kms:EncryptionContext:aws:s3:arn", values: [bucketArn, `${bucketArn}/*`] },
        ],
      },
    ]);
  });

  it("blocks every kind of public access and disables ACLs", () => {
    expect(s.resource("aws_s3_bucket_public_access_block", "public-access-block")).toEqual({
      bucket: bucketId,
      block_public_acls: true,
      block_public_policy: true,
      ignore_public_acls: true,
      restrict_public_buckets: true,
    });
    expect(s.resource("aws_s3_bucket_ownership_controls", "ownership").rule).toEqual({ object_ownership: "BucketOwnerEnforced" });
  });

  it("denies any request that does not use TLS", () => {
    expect(s.resource("aws_s3_bucket_policy", "policy")).toEqual({ bucket: bucketId, policy: s.dataRef("aws_iam_policy_document", "tls-only", "json") });
    const bucketArn = s.ref("aws_s3_bucket", "bucket", "arn");
    expect(s.data("aws_iam_policy_document", "tls-only").statement).toEqual([
      {
        sid: "DenyInsecureTransport",
        effect: "Deny",
        actions: ["s3:*"],
        principals: [{ type: "*", identifiers: ["*"] }],
        resources: [bucketArn, `${bucketArn}/*`],
        condition: [{ test: "Bool", variable: "aws:SecureTransport", values: ["false"] }],
      },
    ]);
  });
});
