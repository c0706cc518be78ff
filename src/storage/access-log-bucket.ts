import { Construct } from "constructs";
import type { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import { S3BucketLoggingA } from "@cdktf/provider-aws/lib/s3-bucket-logging";
import { AwsContext } from "../core/aws-context";
import { privateBucket } from "./private-bucket";

export interface AccessLogBucketProps {
  readonly name: string;
  /** The bucket whose server access logs this one receives, under `<source bucket name>/`. */
  readonly source: S3Bucket;
  /** Days a log is kept; a log deleted before that stays recoverable as many days again. */
  readonly retentionDays: number;
}

/**
 * Server access logs of one bucket (every request: who, what, when, from where, with what result) in a
 * private bucket of their own. SSE-S3, not KMS: S3 delivers server access logs only to buckets whose
 * default encryption is SSE-S3. ACLs are off, so the log delivery is allowed by bucket policy, for the
 * source bucket of this account only, as AWS documents.
 */
export class AccessLogBucket extends Construct {
  readonly bucket: S3Bucket;

  constructor(scope: Construct, id: string, props: AccessLogBucketProps) {
    super(scope, id);
    const { source } = props;
    const prefix = `${source.bucket}/`;
    this.bucket = privateBucket(this, {
      name: props.name,
      encryption: { applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } },
      lifecycleRule: {
        id: "expire-access-logs",
        status: "Enabled",
        filter: [{}],
        expiration: [{ days: props.retentionDays }],
        noncurrentVersionExpiration: [{ noncurrentDays: props.retentionDays }],
        abortIncompleteMultipartUpload: [{ daysAfterInitiation: 1 }],
      },
      policy: (bucket) => [
        {
          sid: "S3ServerAccessLogDelivery",
          principals: [{ type: "Service", identifiers: ["logging.s3.amazonaws.com"] }],
          actions: ["s3:PutObject"],
          resources: [`${bucket.arn}/${prefix}*`],
          condition: [
            { test: "ArnLike", variable: "aws:SourceArn", values: [source.arn] },
            { test: "StringEquals", variable: "aws:SourceAccount", values: [AwsContext.of(this).accountId] },
          ],
        },
      ],
    });
    new S3BucketLoggingA(this, "source-logging", { bucket: source.id, targetBucket: this.bucket.id, targetPrefix: prefix });
  }
}
