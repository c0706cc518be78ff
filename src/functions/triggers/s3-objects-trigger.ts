import type { ITerraformDependable } from "cdktf";
import { LambdaPermission } from "@cdktf/provider-aws/lib/lambda-permission";
import { AwsContext } from "../../core/aws-context";
import type { DataBucket } from "../../storage/data-bucket";
import { viaService } from "../../storage/kms-key";
import type { VpcFunction } from "../vpc-function";
import type { FunctionTrigger } from "./function-trigger";

export interface S3ObjectsTriggerProps {
  /** The function's name: its ARN is built, not referenced, because the role's policies must exist before the function. */
  readonly functionName: string;
  readonly dataBucket: DataBucket;
  /** Objects created under this prefix invoke the function; it may read only them. */
  readonly prefix: string;
  /** Where the function may write; nowhere when absent. */
  readonly writePrefix?: string;
}

/**
 * Objects created under a prefix of the service's data bucket invoke the function (asynchronously: failures
 * go to its failure queue). The function reads the bucket through the S3 gateway endpoint, may read only
 * that prefix and write only its write prefix, and only from its own code; only this bucket of this
 * account may invoke it.
 */
export class S3ObjectsTrigger implements FunctionTrigger {
  readonly httpsEgress = ["s3"] as const;
  readonly environment: Readonly<Record<string, string>>;

  constructor(private readonly props: S3ObjectsTriggerProps) {
    this.environment = { DATA_BUCKET: props.dataBucket.bucket.bucket };
  }

  grant(fn: VpcFunction): ITerraformDependable[] {
    const { dataBucket, prefix, writePrefix } = this.props;
    const context = AwsContext.of(fn);
    const functionArn = context.arn("lambda", `function:${this.props.functionName}`);
    // Credentials taken out of the function (a dependency's code, a leaked environment) cannot use these.
    const fromThisFunction = { test: "ArnEquals", variable: "lambda:SourceFunctionArn", values: [functionArn] };
    return [
      fn.role.allow("data-bucket-objects", [
        {
          sid: "ReadIncoming",
          actions: ["s3:GetObject", "s3:GetObjectVersion"],
          resources: [`${dataBucket.arn}/${prefix}*`],
          condition: [fromThisFunction],
        },
        ...(writePrefix
          ? [
              {
                sid: "WriteResults",
                actions: ["s3:PutObject"],
                resources: [`${dataBucket.arn}/${writePrefix}*`],
                condition: [fromThisFunction],
              },
            ]
          : []),
        {
          sid: "DataKeyThroughS3",
          actions: writePrefix ? ["kms:Decrypt", "kms:GenerateDataKey"] : ["kms:Decrypt"],
          resources: [dataBucket.key.arn],
          condition: [viaService(context, "s3")],
        },
      ]),
    ];
  }

  bind(fn: VpcFunction): void {
    const context = AwsContext.of(fn);
    const permission = new LambdaPermission(fn, "invoke-from-s3", {
      // The ingest function's statement id from before the function list: changing it replaces the permission.
      statementId: "IngestFromDataBucket",
      action: "lambda:InvokeFunction",
      functionName: fn.functionName,
      principal: "s3.amazonaws.com",
      // Only this bucket of this account: a bucket of the same name elsewhere cannot invoke it.
      sourceArn: this.props.dataBucket.arn,
      sourceAccount: context.accountId,
    });
    this.props.dataBucket.notifyOnObjectCreated(fn, { functionArn: fn.arn, prefix: this.props.prefix, permission });
  }
}
