import { Construct } from "constructs";
import type { ITerraformDependable } from "cdktf";
import { S3BucketNotification, type S3BucketNotificationLambdaFunction } from "@cdktf/provider-aws/lib/s3-bucket-notification";
import type { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import type { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import { AwsContext } from "../core/aws-context";
import { AccessLogBucket } from "./access-log-bucket";
import { customerManagedKey, usableThroughS3ForBucket } from "./kms-key";
import { privateBucket } from "./private-bucket";
/** Superseded versions (an input uploaded again, a result rewritten) stay recoverable this long. */
export const NONCURRENT_VERSION_DAYS = 7;

export interface DataBucketProps {
  /** Bucket name, e.g. "lambda-rds-iam-dev-data-111111111111"; the key's alias is `alias/<name>`. */
  readonly name: string;
  /** Days an object is kept after it was written: inputs are processed within minutes, results read within days. */
  readonly objectRetentionDays: number;
  /** Terraform refuses any plan that destroys the bucket or its key. */
  readonly preventDestroy: boolean;
  /** Terraform refuses any plan that destroys the key, even where the bucket may go (kms.preventDestroy). @default preventDestroy */
  readonly keyPreventDestroy?: boolean;
  /** Destroying the bucket deletes its objects first: a disposable environment's bucket only (not with preventDestroy). @default false */
  readonly forceDestroy?: boolean;
  /** Server access logs go to a bucket of this name (src/storage/access-log-bucket.ts), kept objectRetentionDays; none when absent. */
  readonly accessLogBucketName?: string;
}

/**
 * The environment's data bucket: inputs under incoming/, results under results/. Private, versioned,
 * TLS only, and encrypted with a key of its own that only S3 may use, for this bucket's objects.
 */
export class DataBucket extends Construct {
  readonly bucket: S3Bucket;
  readonly key: KmsKey;
  /** Where the bucket's server access logs go (accessLogBucketName). */
  readonly accessLogs?: AccessLogBucket;
  /** S3 keeps one notification configuration per bucket: every function notified is an entry of this one. */
  private notification?: S3BucketNotification;
  private readonly notifiedFunctions: S3BucketNotificationLambdaFunction[] = [];

  constructor(scope: Construct, id: string, props: DataBucketProps) {
    super(scope, id);
    const context = AwsContext.of(this);
    this.key = customerManagedKey(this, "key", {
      description: `${props.name}: objects of the data bucket`,
      alias: `alias/${props.name}`,
      preventDestroy: props.preventDestroy || props.keyPreventDestroy === true,
      usage: [
        // For this bucket's objects: the ingest function's role, whoever uploads.
        usableThroughS3ForBucket(context, "UseThroughS3ForDataBucket", props.name),
      ],
    });
    this.bucket = privateBucket(this, {
      name: props.name,
      preventDestroy: props.preventDestroy,
      forceDestroy: props.forceDestroy,
      // The bucket key makes S3 call KMS once per bucket key, not once per object.
      encryption: { applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: this.key.arn }, bucketKeyEnabled: true },
      lifecycleRule: {
        id: "expire-processed-objects",
        status: "Enabled",
        filter: [{}],
        expiration: [{ days: props.objectRetentionDays }],
        noncurrentVersionExpiration: [{ noncurrentDays: NONCURRENT_VERSION_DAYS }],
        abortIncompleteMultipartUpload: [{ daysAfterInitiation: 1 }],
      },
    });
    if (props.accessLogBucketName) {
      this.accessLogs = new AccessLogBucket(this, "access-logs", {
        name: props.accessLogBucketName,
        source: this.bucket,
        retentionDays: props.objectRetentionDays,
      });
    }
  }

  get arn(): string {
    return this.bucket.arn;
  }

  /**
   * Objects created under `prefix` invoke the function `functionArn`, once `permission` lets S3 do so (S3
   * checks when the notification is set). The bucket's one notification resource is made in the scope of
   * the first function notified, `<function>/incoming-notification`, the address it had before there was a list.
   */
  notifyOnObjectCreated(
    scope: Construct,
    notified: { readonly functionArn: string; readonly prefix: string; readonly permission: ITerraformDependable },
  ): void {
    const entry: S3BucketNotificationLambdaFunction = {
      lambdaFunctionArn: notified.functionArn,
      events: ["s3:ObjectCreated:*"],
      filterPrefix: notified.prefix,
    };
    this.notifiedFunctions.push(entry);
    if (this.notification) {
      this.notification.putLambdaFunction([...this.notifiedFunctions]);
      this.notification.dependsOn = [...(this.notification.dependsOn ?? []), notified.permission.fqn];
    } else {
      this.notification = new S3BucketNotification(scope, "incoming-notification", {
        bucket: this.bucket.id,
        lambdaFunction: [entry],
        dependsOn: [notified.permission],
      });
    }
  }
}
