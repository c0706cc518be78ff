import { loadStackConfigs } from "../../../src/config/environments";
import { ServiceStack } from "../../../src/service-stack";
import { projectRoot, synthesize, testApp } from "../synth";

const configs = Object.fromEntries(loadStackConfigs({}).map((config) => [config.environment, config]));
const synthEnvironment = (name: string) => synthesize(new ServiceStack(testApp(), name, { config: configs[name], projectRoot }));

describe("checked-in environments", () => {
  it("are dev and prod, each in its own account", () => {
    expect(Object.keys(configs)).toEqual(["dev", "prod"]);
    expect(configs.dev.accountId).not.toBe(configs.prod.accountId);
  });
});

describe("prod", () => {
  const s = synthEnvironment("prod");
  const instance = s.resource("aws_db_instance", "database/instance");
  const keep = { prevent_destroy: true };

  it("may only touch the prod account, through its deploy role", () => {
    expect(s.json.provider.aws[0]).toMatchObject({
      allowed_account_ids: ["222222222222"],
      assume_role: [{ role_arn: "arn:aws:iam::222222222222:role/lambda-rds-iam-deploy", session_name: "lambda-rds-iam-prod" }],
    });
    expect(s.json.terraform.backend.s3).toMatchObject({ key: "lambda-rds-iam/prod.tfstate", allowed_account_ids: ["222222222222"] });
  });

  it("runs the database multi-AZ with deletion protection, and Terraform refuses to destroy it or its key", () => {
    expect(instance).toMatchObject({ multi_az: true, deletion_protection: true, lifecycle: keep, instance_class: "db.m7g.large" });
    expect(s.resource("aws_kms_key", "database/key").lifecycle).toEqual(keep);
  });

  it("takes a final snapshot with a stable, unique name on destroy", () => {
    expect(instance.skip_final_snapshot).toBe(false);
    expect(instance.final_snapshot_identifier).toMatch(
      /^lambda-rds-iam-prod-final-\$\{formatdate\("YYYYMMDDhhmmss", terraform_data\.[^.]+\.output\["at"\]\)\}$/,
    );
  });

  it("keeps backups longer, and every log group (functions, database, proxy, flow logs) a year", () => {
    expect(instance.backup_retention_period).toBe(30);
    const groups = s.all("aws_cloudwatch_log_group");
    expect(Object.keys(groups)).toEqual(
      expect.arrayContaining(["api/log-group", "bootstrap/migrate/log-group", "database-proxy/log-group", "network/flow-log-group"]),
    );
    for (const group of Object.values(groups)) expect(group.retention_in_days).toBe(365);
  });

  it("has Performance Insights, encrypted with the database key, and enhanced monitoring through its own role", () => {
    expect(instance).toMatchObject({
      performance_insights_enabled: true,
      performance_insights_kms_key_id: s.ref("aws_kms_key", "database/key", "arn"),
      performance_insights_retention_period: 7,
      monitoring_interval: 30,
      monitoring_role_arn: s.ref("aws_iam_role", "database/monitoring-role", "arn"),
    });
    expect(s.data("aws_iam_policy_document", "database/monitoring-trust").statement[0].principals).toEqual([
      { type: "Service", identifiers: ["monitoring.rds.amazonaws.com"] },
    ]);
    expect(s.resource("aws_iam_role_policy_attachment", "database/monitoring-policy")).toEqual({
      role: s.ref("aws_iam_role", "database/monitoring-role", "name"),
      policy_arn: `arn:${s.dataRef("aws_partition", "aws-context/partition", "partition")}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole`,
    });
  });

  it("keeps the data bucket from destroy, objects and all, and logs every access to it in a bucket of its own", () => {
    const bucket = s.resource("aws_s3_bucket", "data-bucket/bucket");
    expect(bucket).toMatchObject({ bucket: "lambda-rds-iam-prod-data-222222222222", lifecycle: keep });
    expect(bucket.force_destroy).toBe(false);
    const logBucketArn = s.ref("aws_s3_bucket", "data-bucket/access-logs/bucket", "arn");
    expect(s.resource("aws_s3_bucket_logging", "data-bucket/access-logs/source-logging")).toEqual({
      bucket: s.ref("aws_s3_bucket", "data-bucket/bucket", "id"),
      target_bucket: s.ref("aws_s3_bucket", "data-bucket/access-logs/bucket", "id"),
      target_prefix: `${s.ref("aws_s3_bucket", "data-bucket/bucket", "bucket")}/`,
    });
    expect(s.resource("aws_s3_bucket", "data-bucket/access-logs/bucket")).toEqual({
      bucket: "lambda-rds-iam-prod-data-logs-222222222222",
      lifecycle: keep,
    });
    // SSE-S3: the only encryption S3 log delivery accepts; written only by S3's log delivery for the data bucket of this account.
    expect(s.resource("aws_s3_bucket_server_side_encryption_configuration", "data-bucket/access-logs/encryption").rule).toEqual([
      { apply_server_side_encryption_by_default: { sse_algorithm: "AES256" } },
    ]);
    expect(s.data("aws_iam_policy_document", "data-bucket/access-logs/policy-document").statement[0]).toEqual({
      sid: "S3ServerAccessLogDelivery",
      principals: [{ type: "Service", identifiers: ["logging.s3.amazonaws.com"] }],
      actions: ["s3:PutObject"],
      resources: [`${logBucketArn}/${s.ref("aws_s3_bucket", "data-bucket/bucket", "bucket")}/*`],
      condition: [
        { test: "ArnLike", variable: "aws:SourceArn", values: [s.ref("aws_s3_bucket", "data-bucket/bucket", "arn")] },
        { test: "StringEquals", variable: "aws:SourceAccount", values: [s.aws.accountId] },
      ],
    });
    expect(s.resource("aws_s3_bucket_lifecycle_configuration", "data-bucket/access-logs/lifecycle").rule[0].expiration).toEqual([
      { days: 90 },
    ]);
  });

  it("spans three zones with a NAT gateway in each", () => {
    expect(Object.keys(s.all("aws_nat_gateway"))).toHaveLength(3);
    expect(Object.keys(s.all("aws_subnet"))).toHaveLength(9);
  });
});

describe("dev", () => {
  const s = synthEnvironment("dev");
  const instance = s.resource("aws_db_instance", "database/instance");

  it("stays cheap: one NAT gateway, a single-AZ micro instance, short retention, no extra monitoring", () => {
    expect(Object.keys(s.all("aws_nat_gateway"))).toHaveLength(1);
    expect(instance).toMatchObject({
      multi_az: false,
      instance_class: "db.t4g.micro",
      backup_retention_period: 7,
      performance_insights_enabled: false,
      monitoring_interval: 0,
    });
    expect(instance.monitoring_role_arn).toBeUndefined();
    expect(s.json.resource.aws_iam_role_policy_attachment).toBeUndefined();
    expect(s.resource("aws_cloudwatch_log_group", "api/log-group").retention_in_days).toBe(14);
  });

  it("can be torn down: no deletion protection, no prevent_destroy, no final snapshot", () => {
    expect(instance).toMatchObject({ deletion_protection: false, skip_final_snapshot: true });
    expect(instance.lifecycle).toBeUndefined();
    expect(s.resource("aws_kms_key", "database/key").lifecycle).toBeUndefined();
    expect(s.json.resource.terraform_data).toBeUndefined();
  });

  it("destroys the data bucket with its objects (force_destroy), with no access-log bucket to keep it", () => {
    expect(s.resource("aws_s3_bucket", "data-bucket/bucket")).toMatchObject({ force_destroy: true, lifecycle: { prevent_destroy: false } });
    expect(s.json.resource.aws_s3_bucket_logging).toBeUndefined();
    expect(Object.keys(s.all("aws_s3_bucket"))).toEqual(["data-bucket/bucket"]);
  });

  it("may only touch the dev account, with the caller's own credentials", () => {
    expect(s.json.provider.aws[0].allowed_account_ids).toEqual(["111111111111"]);
    expect(s.json.provider.aws[0].assume_role).toBeUndefined();
  });
});
