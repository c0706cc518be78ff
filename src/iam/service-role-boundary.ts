import { Construct } from "constructs";
import {
  DataAwsIamPolicyDocument,
  type DataAwsIamPolicyDocumentStatement,
  type DataAwsIamPolicyDocumentStatementCondition,
} from "@cdktf/provider-aws/lib/data-aws-iam-policy-document";
import { IamPolicy } from "@cdktf/provider-aws/lib/iam-policy";
import { AwsContext } from "../core/aws-context";
import { ENHANCED_MONITORING_LOG_GROUP } from "../database/database-instance";
import { VPC_NETWORK_INTERFACE_ACTIONS, XRAY_ACTIONS } from "../functions/execution-role";
import { flowLogGroupName } from "../network/network";
import { scheduleRoleName } from "../schedule/schedule-rules";

/** Name of the boundary policy of the service stack `namePrefix`; the service stack builds its ARN from it. */
export const serviceRoleBoundaryName = (namePrefix: string) => `${namePrefix}-role-boundary`;

export interface ServiceRoleBoundaryProps {
  /** Prefix of every name the service stack makes, e.g. "lambda-rds-iam-dev": its functions, log groups and queues. */
  readonly namePrefix: string;
  /** The MySQL accounts the service's roles connect as with IAM tokens: the functions' users. */
  readonly dbUsers: readonly string[];
  /** The data bucket, parts of which S3-triggered functions read and write. */
  readonly dataBucketName: string;
  /** What the S3-triggered functions read and write of the data bucket, by key prefix. @default none */
  readonly objectAccess?: readonly { readonly readPrefix: string; readonly writePrefix?: string }[];
  /** Names of the functions EventBridge Scheduler invokes, each with its schedule's role (FunctionSchedule). @default none */
  readonly scheduledFunctions?: readonly string[];
  /**
   * Whether the database's enhanced monitoring role publishes to RDSOSMetrics.
   * @default false
   */
  readonly enhancedMonitoring?: boolean;
}

/** Invoking the scheduled functions, only by their schedules' roles: no function's role invokes another. */
function scheduleStatements(context: AwsContext, functionNames: readonly string[]): DataAwsIamPolicyDocumentStatement[] {
  if (functionNames.length === 0) return [];
  return [
    {
      sid: "SchedulesInvokeTheirFunctions",
      actions: ["lambda:InvokeFunction"],
      resources: functionNames.map((name) => context.arn("lambda", `function:${name}`)),
      condition: [
        {
          test: "ArnEquals",
          variable: "aws:PrincipalArn",
          values: functionNames.map((name) => context.iamArn(`role/${scheduleRoleName(name)}`)),
        },
      ],
    },
  ];
}

/** Reading and writing the data bucket's prefixes that S3-triggered functions read and write, only from the service's functions. */
function objectStatements(
  bucket: string,
  access: NonNullable<ServiceRoleBoundaryProps["objectAccess"]>,
  fromServiceFunctions: DataAwsIamPolicyDocumentStatementCondition,
): DataAwsIamPolicyDocumentStatement[] {
  const reads = access.map((prefixes) => `${bucket}/${prefixes.readPrefix}*`);
  const writes = access.flatMap((prefixes) => (prefixes.writePrefix ? [`${bucket}/${prefixes.writePrefix}*`] : []));
  return [
    ...(reads.length > 0
      ? [
          {
            sid: "ReadIncomingObjects",
            actions: ["s3:GetObject", "s3:GetObjectVersion"],
            resources: reads,
            condition: [fromServiceFunctions],
          },
        ]
      : []),
    ...(writes.length > 0
      ? [{ sid: "WriteResultObjects", actions: ["s3:PutObject"], resources: writes, condition: [fromServiceFunctions] }]
      : []),
  ];
}

/**
 * The permissions boundary of every role the service stack makes: the most any of them can ever do,
 * whatever policies the deploy role writes into them. It is the union of what the roles need, by
 * resource wherever IAM allows it, and holds no IAM, STS or Organizations action and no wildcard
 * action. It lives in the hand-deployed `<env>-state` stack, which the deploy role cannot change.
 */
export class ServiceRoleBoundary extends Construct {
  readonly policy: IamPolicy;

  constructor(scope: Construct, id: string, props: ServiceRoleBoundaryProps) {
    super(scope, id);
    const context = AwsContext.of(this);
    const { namePrefix } = props;
    const logGroup = (name: string) => context.arn("logs", `log-group:${name}`);
    const viaServices = ["sqs", "s3", "secretsmanager"].map((service) => `${service}.${context.region}.${context.dnsSuffix}`);
    const bucket = `arn:${context.partition}:s3:::${props.dataBucketName}`;
    const fromServiceFunctions = {
      test: "ArnLike",
      variable: "lambda:SourceFunctionArn",
      values: [context.arn("lambda", `function:${namePrefix}-*`)],
    };
    const statement: DataAwsIamPolicyDocumentStatement[] = [
      // What Lambda does with every function's role; these actions take no resource ARN.
      { sid: "LambdaVpcNetworkInterfaces", actions: [...VPC_NETWORK_INTERFACE_ACTIONS], resources: ["*"] },
      { sid: "XRayTraces", actions: [...XRAY_ACTIONS], resources: ["*"] },
      {
        sid: "WriteFunctionLogs",
        actions: ["logs:CreateLogStream", "logs:PutLogEvents"],
        resources: [`${logGroup(`/aws/lambda/${namePrefix}-*`)}:*`],
      },
      {
        sid: "WriteFlowLogs",
        actions: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
        resources: [`${logGroup(flowLogGroupName(namePrefix))}:*`],
      },
      ...(props.enhancedMonitoring
        ? [
            {
              sid: "EnhancedMonitoringLogGroup",
              actions: ["logs:CreateLogGroup", "logs:PutRetentionPolicy"],
              resources: [logGroup(ENHANCED_MONITORING_LOG_GROUP)],
            },
            {
              sid: "EnhancedMonitoringLogStreams",
              actions: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams", "logs:GetLogEvents"],
              resources: [`${logGroup(ENHANCED_MONITORING_LOG_GROUP)}:log-stream:*`],
            },
          ]
        : []),
      // Any instance or proxy (their ids are not known here), only as the service's own users: never the master user.
      {
        sid: "ConnectAsServiceUsers",
        actions: ["rds-db:connect"],
        resources: props.dbUsers.map((user) => context.arn("rds-db", `dbuser:*/${user}`)),
      },
      { sid: "SendToServiceQueues", actions: ["sqs:SendMessage"], resources: [context.arn("sqs", `${namePrefix}-*`)] },
      ...scheduleStatements(context, props.scheduledFunctions ?? []),
      // The master secret RDS manages (rds!db-<id>): the migrate function reads it.
      {
        sid: "ReadRdsManagedSecrets",
        actions: ["secretsmanager:GetSecretValue"],
        resources: [context.arn("secretsmanager", "secret:rds!db-*")],
      },
      ...objectStatements(bucket, props.objectAccess ?? [], fromServiceFunctions),
      // Keys only as SQS, S3 and Secrets Manager use them for the queues, the bucket and the secret: never directly.
      {
        sid: "KeysThroughServices",
        actions: ["kms:Decrypt", "kms:GenerateDataKey"],
        resources: [context.arn("kms", "key/*")],
        condition: [{ test: "StringEquals", variable: "kms:ViaService", values: viaServices }],
      },
    ];
    const document = new DataAwsIamPolicyDocument(this, "document", { statement });
    this.policy = new IamPolicy(this, "policy", {
      name: serviceRoleBoundaryName(namePrefix),
      description: `Permissions boundary of every role of the ${namePrefix} service stack`,
      policy: document.json,
    });
  }

  get arn(): string {
    return this.policy.arn;
  }
}
