import { SUBNET_TIERS } from "../../../src/network/subnet-layout";
import { dataAccessLogBucketName, dataBucketName, serviceNamePrefix } from "../../../src/config/stack-config";
import type { SynthesizedEnvironment } from "../synth";
import { stateObjectKey } from "../../../src/state/remote-state";

/** A year: what an environment that protects its data keeps every log for. */
const PROTECTED_LOG_RETENTION_DAYS = 365;

/** What an output must neither be named after nor reference: outputs are plain text in state, CI logs and the plan. */
const SECRET = /password|secret|token/i;

/**
 * The rules every environment of an app keeps, whatever its name or shape: each stated from the
 * environment's own configuration, so that an environment added to src/config/environments.ts is held
 * to them with no test edited (third-environment.test.ts adds one shaped like prod).
 */
export function describeEnvironmentRules(environments: SynthesizedEnvironment[]): void {
  it("each live in an account of their own", () => {
    const accounts = environments.map(({ config }) => config.accountId);
    expect(new Set(accounts).size).toBe(accounts.length);
  });

  describe.each(environments.map((environment) => [environment.name, environment] as const))(
    "%s",
    (name, { config, service: s, state }) => {
      const prefix = serviceNamePrefix(config);
      const instance = s.resource("aws_db_instance", "database/instance");
      const keep = (on: boolean) => (on ? { prevent_destroy: true } : undefined);

      it("may only touch its own account, through its deploy role when it has one", () => {
        const [provider] = s.json.provider.aws;
        expect(provider.allowed_account_ids).toEqual([config.accountId]);
        expect(provider.assume_role).toEqual(config.deployRoleArn ? [{ role_arn: config.deployRoleArn, session_name: prefix }] : undefined);
        expect(s.json.terraform.backend.s3).toMatchObject({
          key: stateObjectKey(config, name),
          allowed_account_ids: [config.accountId],
        });
      });

      it("runs the database as configured, and Terraform refuses to destroy it or its key where it is protected", () => {
        const { database } = config;
        expect(instance).toMatchObject({
          instance_class: database.instanceClass,
          multi_az: database.multiAz,
          deletion_protection: database.deletionProtection,
          backup_retention_period: database.backupRetentionDays,
          skip_final_snapshot: database.skipFinalSnapshot,
        });
        expect(instance.lifecycle).toEqual(keep(database.preventDestroy));
        expect(s.resource("aws_kms_key", "database/key").lifecycle).toEqual(keep(database.preventDestroy || config.kms.preventDestroy));
      });

      it("takes a final snapshot with a stable, unique name on destroy, unless it may skip it", () => {
        if (config.database.skipFinalSnapshot) {
          expect(instance.final_snapshot_identifier).toBeUndefined();
          expect(s.json.resource.terraform_data).toBeUndefined();
        } else {
          expect(instance.final_snapshot_identifier).toMatch(
            new RegExp(`^${prefix}-final-\\$\\{formatdate\\("YYYYMMDDhhmmss", terraform_data\\.[^.]+\\.output\\["at"\\]\\)\\}$`),
          );
        }
      });

      it(`keeps every log group as long as configured, and a year (${PROTECTED_LOG_RETENTION_DAYS} days) or more where the database is protected`, () => {
        const groups = Object.entries(s.all("aws_cloudwatch_log_group"));
        expect(groups.length).toBeGreaterThan(0);
        const floor = config.database.deletionProtection ? PROTECTED_LOG_RETENTION_DAYS : 1;
        for (const [path, group] of groups) {
          expect({ path, atLeastTheFloor: group.retention_in_days >= floor }).toEqual({ path, atLeastTheFloor: true });
        }
        expect(s.resource("aws_cloudwatch_log_group", "network/flow-log-group").retention_in_days).toBe(
          config.network.flowLogRetentionDays,
        );
      });

      it("has Performance Insights and enhanced monitoring exactly when configured", () => {
        const { performanceInsights, monitoringIntervalSeconds } = config.database;
        expect(instance.performance_insights_enabled).toBe(performanceInsights);
        if (performanceInsights) expect(instance.performance_insights_kms_key_id).toBe(s.ref("aws_kms_key", "database/key", "arn"));
        expect(instance.monitoring_interval).toBe(monitoringIntervalSeconds);
        expect(instance.monitoring_role_arn).toEqual(
          monitoringIntervalSeconds > 0 ? s.ref("aws_iam_role", "database/monitoring-role", "arn") : undefined,
        );
      });

      it("keeps or force-destroys its data bucket as configured, and logs every access to it where configured", () => {
        const ingest = config.dataBucket;
        const bucket = s.resource("aws_s3_bucket", "data-bucket/bucket");
        expect(bucket).toMatchObject({ bucket: dataBucketName(config), force_destroy: ingest.forceDestroy });
        expect(bucket.lifecycle?.prevent_destroy ?? false).toBe(ingest.preventDestroy);
        const logBuckets = Object.entries(s.all("aws_s3_bucket")).filter(([path]) => path.startsWith("data-bucket/access-logs/"));
        if (!ingest.accessLogs) {
          expect(logBuckets).toEqual([]);
          return;
        }
        expect(s.resource("aws_s3_bucket", "data-bucket/access-logs/bucket")).toEqual({
          bucket: dataAccessLogBucketName(config),
          lifecycle: { prevent_destroy: true },
        });
        expect(s.resource("aws_s3_bucket_logging", "data-bucket/access-logs/source-logging")).toEqual({
          bucket: s.ref("aws_s3_bucket", "data-bucket/bucket", "id"),
          target_bucket: s.ref("aws_s3_bucket", "data-bucket/access-logs/bucket", "id"),
          target_prefix: `${s.ref("aws_s3_bucket", "data-bucket/bucket", "bucket")}/`,
        });
        // SSE-S3: the only encryption S3 log delivery accepts; written only by S3's log delivery for the data bucket of this account.
        expect(s.resource("aws_s3_bucket_server_side_encryption_configuration", "data-bucket/access-logs/encryption").rule).toEqual([
          { apply_server_side_encryption_by_default: { sse_algorithm: "AES256" } },
        ]);
        expect(s.data("aws_iam_policy_document", "data-bucket/access-logs/policy-document").statement[0]).toEqual({
          sid: "S3ServerAccessLogDelivery",
          principals: [{ type: "Service", identifiers: ["logging.s3.amazonaws.com"] }],
          actions: ["s3:PutObject"],
          resources: [
            `${s.ref("aws_s3_bucket", "data-bucket/access-logs/bucket", "arn")}/${s.ref("aws_s3_bucket", "data-bucket/bucket", "bucket")}/*`,
          ],
          condition: [
            { test: "ArnLike", variable: "aws:SourceArn", values: [s.ref("aws_s3_bucket", "data-bucket/bucket", "arn")] },
            { test: "StringEquals", variable: "aws:SourceAccount", values: [s.aws.accountId] },
          ],
        });
        expect(s.resource("aws_s3_bucket_lifecycle_configuration", "data-bucket/access-logs/lifecycle").rule[0].expiration).toEqual([
          { days: ingest.objectRetentionDays },
        ]);
      });

      it("outputs nothing secret from either stack: no output is sensitive, or named after or referencing a password, secret or token", () => {
        const outputs = [s, state].flatMap(({ json }) => Object.entries(json.output ?? {}));
        expect(outputs.length).toBeGreaterThan(0);
        for (const [name, output] of outputs) {
          const secret = SECRET.test(name) || SECRET.test(JSON.stringify(output.value));
          expect({ name, sensitive: output.sensitive ?? false, secret }).toEqual({ name, sensitive: false, secret: false });
        }
      });

      it("spans its zones with a subnet of each tier in each, and one NAT gateway or one per zone as configured", () => {
        const { azCount, natGateways } = config.network;
        expect(Object.keys(s.all("aws_subnet")).sort()).toEqual(
          SUBNET_TIERS.flatMap((tier) => Array.from({ length: azCount }, (_, zone) => `network/${tier}-subnet-${zone}`)).sort(),
        );
        expect(Object.keys(s.all("aws_nat_gateway"))).toHaveLength(natGateways === "per-az" ? azCount : 1);
      });
    },
  );
}
