import { synthStateStack } from "../synth";

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
    expect(s.resource("aws_s3_bucket_versioning", "versioning")).toEqual({
      bucket: bucketId,
      versioning_configuration: { status: "Enabled" },
    });
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
      rule: [
        {
          apply_server_side_encryption_by_default: { sse_algorithm: "aws:kms", kms_master_key_id: s.ref("aws_kms_key", "key", "arn") },
          bucket_key_enabled: true,
        },
      ],
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

  describe.each([
    ["the state bucket", ""],
    ["the access-log bucket", "access-logs/"],
  ])("%s", (_, scope) => {
    const id = s.ref("aws_s3_bucket", `${scope}bucket`, "id");
    const arn = s.ref("aws_s3_bucket", `${scope}bucket`, "arn");

    it("blocks every kind of public access and disables ACLs", () => {
      expect(s.resource("aws_s3_bucket_public_access_block", `${scope}public-access-block`)).toEqual({
        bucket: id,
        block_public_acls: true,
        block_public_policy: true,
        ignore_public_acls: true,
        restrict_public_buckets: true,
      });
      expect(s.resource("aws_s3_bucket_ownership_controls", `${scope}ownership`)).toEqual({
        bucket: id,
        rule: { object_ownership: "BucketOwnerEnforced" },
      });
    });

    it("denies any request that does not use TLS, last in its bucket policy", () => {
      expect(s.resource("aws_s3_bucket_policy", `${scope}policy`)).toEqual({
        bucket: id,
        policy: s.dataRef("aws_iam_policy_document", `${scope}policy-document`, "json"),
      });
      expect(s.data("aws_iam_policy_document", `${scope}policy-document`).statement.at(-1)).toEqual({
        sid: "DenyInsecureTransport",
        effect: "Deny",
        actions: ["s3:*"],
        principals: [{ type: "*", identifiers: ["*"] }],
        resources: [arn, `${arn}/*`],
        condition: [{ test: "Bool", variable: "aws:SecureTransport", values: ["false"] }],
      });
    });
  });

  it("allows nothing else in the state bucket's policy: access is by IAM, through the key's policy", () => {
    expect(s.data("aws_iam_policy_document", "policy-document").statement).toHaveLength(1);
  });

  describe("server access logs", () => {
    const logBucketId = s.ref("aws_s3_bucket", "access-logs/bucket", "id");
    const logBucketArn = s.ref("aws_s3_bucket", "access-logs/bucket", "arn");
    const prefix = `${s.ref("aws_s3_bucket", "bucket", "bucket")}/`;

    it("are on by default: every request to the state bucket is logged to a bucket of their own, kept from destroy", () => {
      expect(s.resource("aws_s3_bucket_logging", "access-logs/source-logging")).toEqual({
        bucket: bucketId,
        target_bucket: logBucketId,
        target_prefix: prefix,
      });
      expect(s.resource("aws_s3_bucket", "access-logs/bucket")).toEqual({
        bucket: "lambda-rds-iam-dev-tfstate-logs-111111111111",
        lifecycle: keep,
      });
      expect(s.json.output.access_log_bucket_name.value).toBe(s.ref("aws_s3_bucket", "access-logs/bucket", "bucket"));
    });

    it("are encrypted with SSE-S3, the only default encryption S3's log delivery accepts", () => {
      expect(s.resource("aws_s3_bucket_server_side_encryption_configuration", "access-logs/encryption").rule).toEqual([
        { apply_server_side_encryption_by_default: { sse_algorithm: "AES256" } },
      ]);
    });

    it("are kept as long as the superseded state versions they account for, a deleted log as long again", () => {
      expect(s.resource("aws_s3_bucket_versioning", "access-logs/versioning").versioning_configuration).toEqual({ status: "Enabled" });
      expect(s.resource("aws_s3_bucket_lifecycle_configuration", "access-logs/lifecycle")).toEqual({
        bucket: logBucketId,
        rule: [
          {
            id: "expire-access-logs",
            status: "Enabled",
            filter: [{}],
            expiration: [{ days: 90 }],
            noncurrent_version_expiration: [{ noncurrent_days: 90 }],
            abort_incomplete_multipart_upload: [{ days_after_initiation: 1 }],
          },
        ],
      });
    });

    it("may be written only by S3's log delivery, for the state bucket of this account", () => {
      expect(s.data("aws_iam_policy_document", "access-logs/policy-document").statement.slice(0, -1)).toEqual([
        {
          sid: "S3ServerAccessLogDelivery",
          principals: [{ type: "Service", identifiers: ["logging.s3.amazonaws.com"] }],
          actions: ["s3:PutObject"],
          resources: [`${logBucketArn}/${prefix}*`],
          condition: [
            { test: "ArnLike", variable: "aws:SourceArn", values: [s.ref("aws_s3_bucket", "bucket", "arn")] },
            { test: "StringEquals", variable: "aws:SourceAccount", values: [s.aws.accountId] },
          ],
        },
      ]);
    });

    it("follow prod's longer retention, and can be turned off", () => {
      expect(
        synthStateStack({ state: { noncurrentVersionDays: 365 } }).resource(
          "aws_s3_bucket_lifecycle_configuration",
          "access-logs/lifecycle",
        ).rule[0].expiration,
      ).toEqual([{ days: 365 }]);
      const off = synthStateStack({ state: { accessLogs: false } });
      expect(off.json.resource.aws_s3_bucket_logging).toBeUndefined();
      expect(Object.keys(off.all("aws_s3_bucket"))).toEqual(["bucket"]);
      expect(off.json.output.access_log_bucket_name).toBeUndefined();
    });
  });
});
