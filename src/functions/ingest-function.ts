import type { Construct } from "constructs";
import { LambdaPermission } from "@cdktf/provider-aws/lib/lambda-permission";
import { S3BucketNotification } from "@cdktf/provider-aws/lib/s3-bucket-notification";
import { VpcSecurityGroupEgressRule } from "@cdktf/provider-aws/lib/vpc-security-group-egress-rule";
import { AwsContext } from "../core/aws-context";
import type { IngestConfig } from "../config/stack-config";
import { INCOMING_PREFIX, RESULTS_PREFIX } from "../../functions/ingest/layout";
import type { DataBucket } from "../storage/data-bucket";
import { type DatabaseEndpoint, connectionEnvironment } from "../database/database-instance";
import { FailureQueue } from "./failure-queue";
import type { NodeRuntime } from "./function-bundle";
import { viaService } from "../storage/kms-key";
import type { LogEncryption } from "../storage/log-encryption";
import type { Network } from "../network/network";
import { VpcFunction } from "./vpc-function";

export interface IngestFunctionProps {
  /** Prefix of the function name, e.g. "lambda-rds-iam-dev"; the name is `<prefix>-ingest`. */
  readonly namePrefix: string;
  /** Directory that holds functions/ and node_modules/. */
  readonly projectRoot: string;
  readonly runtime: NodeRuntime;
  readonly config: IngestConfig;
  readonly logs: LogEncryption;
  readonly network: Network;
  /** The instance, or RDS Proxy in front of it. */
  readonly database: DatabaseEndpoint;
  readonly dataBucket: DataBucket;
  /** Terraform refuses any plan that destroys the failure queue's key. @default false */
  readonly keyPreventDestroy?: boolean;
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
    const { config, database, dataBucket, network } = props;
    const functionName = `${props.namePrefix}-ingest`;
    const context = AwsContext.of(scope);
    // Built, not referenced: the role's policies must exist before the function.
    const functionArn = context.arn("lambda", `function:${functionName}`);
    super(scope, id, {
      functionName,
      description: `${functionName}: loads JSON Lines objects from ${INCOMING_PREFIX} of the data bucket into the items table`,
      projectRoot: props.projectRoot,
      source: "ingest",
      runtime: props.runtime,
      memoryMb: config.memoryMb,
      timeoutSeconds: config.timeoutSeconds,
      reservedConcurrency: config.reservedConcurrency,
      logRetentionDays: config.logRetentionDays,
      logs: props.logs,
      network,
      environment: {
        ...connectionEnvironment(database, config.dbUser),
        DATA_BUCKET: dataBucket.bucket.bucket,
      },
      access: (fn) => {
        fn.allowTcpTo(database.securityGroup, database.port, "MySQL to the database");
        new VpcSecurityGroupEgressRule(fn, "egress-s3", {
          securityGroupId: fn.securityGroup.id,
          prefixListId: network.gatewayEndpoints.s3.prefixListId,
          ipProtocol: "tcp",
          fromPort: 443,
          toPort: 443,
          description: "HTTPS to S3 through the gateway endpoint only",
        });
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
        return [
          objects,
          database.grantConnect(fn.role.role, config.dbUser),
          database.allowConnectionsFrom(fn.securityGroup, `MySQL from Lambda ${functionName}`),
        ];
      },
    });

    this.failures = new FailureQueue(this, "failures", {
      name: `${functionName}-failures`,
      function: this,
      preventDestroy: props.keyPreventDestroy,
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
