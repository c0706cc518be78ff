import type { Construct } from "constructs";
import { LambdaPermission } from "@cdktf/provider-aws/lib/lambda-permission";
import { S3BucketNotification } from "@cdktf/provider-aws/lib/s3-bucket-notification";
import { AwsContext } from "../core/aws-context";
import { withDefaults } from "../core/with-defaults";
import { INCOMING_PREFIX, RESULTS_PREFIX } from "../../functions/ingest/layout";
import type { DataBucket } from "../storage/data-bucket";
import type { DatabaseEndpoint } from "../database/database-instance";
import { FailureQueue } from "./failure-queue";
import { viaService } from "../storage/kms-key";
import { type FunctionOptions, INGEST_FUNCTION_DEFAULTS } from "./function-props";
import { VpcFunction } from "./vpc-function";

export interface IngestFunctionProps extends FunctionOptions {
  /** Prefix of the function name, e.g. "lambda-rds-iam-dev"; the name is `<prefix>-ingest`. */
  readonly namePrefix: string;
  /** The instance, or RDS Proxy in front of it. */
  readonly database: DatabaseEndpoint;
  readonly dataBucket: DataBucket;
  /**
   * The MySQL account the function signs IAM tokens for: writes items, never deletes.
   * @default "ingest"
   */
  readonly dbUser?: string;
}

/**
 * Loads JSON Lines objects written under incoming/ of the data bucket into the items table, as its own
 * database user. It reads the bucket through the S3 gateway endpoint (its only HTTPS egress is S3's
 * prefix list), may read only incoming/ and write only results/, and only from this function's code.
 * An object that fails every retry lands, with its event and error, in the function's failure queue.
 */
export class IngestFunction extends VpcFunction {
  /** Where events go that failed Lambda's retries (S3 invokes the function asynchronously). */
  readonly failures: FailureQueue;

  constructor(scope: Construct, id: string, props: IngestFunctionProps) {
    const { namePrefix, database, dataBucket, dbUser, keyPreventDestroy, ...options } = withDefaults(INGEST_FUNCTION_DEFAULTS, props);
    const functionName = `${namePrefix}-ingest`;
    const context = AwsContext.of(scope);
    // Built, not referenced: the role's policies must exist before the function.
    const functionArn = context.arn("lambda", `function:${functionName}`);
    super(scope, id, {
      functionName,
      description: `${functionName}: loads JSON Lines objects from ${INCOMING_PREFIX} of the data bucket into the items table`,
      ...options,
      source: "ingest",
      database: { endpoint: database, user: dbUser },
      environment: { DATA_BUCKET: dataBucket.bucket.bucket },
      access: (fn) => {
        const toS3 = fn.connections.allowTo(options.network.gatewayEndpointPeer("s3"), 443, "HTTPS");
        // Credentials taken out of the function (a dependency's code, a leaked environment) cannot use these.
        const fromThisFunction = { test: "ArnEquals", variable: "lambda:SourceFunctionArn", values: [functionArn] };
        const objects = fn.role.allow("data-bucket-objects", [
          {
            sid: "ReadIncoming",
            actions: ["s3:GetObject", "s3:GetObjectVersion"],
            resources: [`${dataBucket.arn}/${INCOMING_PREFIX}*`],
            condition: [fromThisFunction],
          },
          {
            sid: "WriteResults",
            actions: ["s3:PutObject"],
            resources: [`${dataBucket.arn}/${RESULTS_PREFIX}*`],
            condition: [fromThisFunction],
          },
          {
            sid: "DataKeyThroughS3",
            actions: ["kms:Decrypt", "kms:GenerateDataKey"],
            resources: [dataBucket.key.arn],
            condition: [viaService(context, "s3")],
          },
        ]);
        return [objects, ...toS3.rules];
      },
    });

    this.failures = new FailureQueue(this, "failures", {
      name: `${functionName}-failures`,
      function: this,
      preventDestroy: keyPreventDestroy,
    });

    const permission = new LambdaPermission(this, "invoke-from-s3", {
      statementId: "IngestFromDataBucket",
      action: "lambda:InvokeFunction",
      functionName: this.functionName,
      principal: "s3.amazonaws.com",
      // Only this bucket of this account: a bucket of the same name elsewhere cannot invoke it.
      sourceArn: dataBucket.arn,
      sourceAccount: context.accountId,
    });
    new S3BucketNotification(this, "incoming-notification", {
      bucket: dataBucket.bucket.id,
      lambdaFunction: [{ lambdaFunctionArn: this.arn, events: ["s3:ObjectCreated:*"], filterPrefix: INCOMING_PREFIX }],
      // S3 checks it may invoke the function when the notification is set.
      dependsOn: [permission],
    });
  }
}
