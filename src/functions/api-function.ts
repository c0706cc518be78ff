import type { Construct } from "constructs";
import { DataAwsIamPolicyDocument } from "@cdktf/provider-aws/lib/data-aws-iam-policy-document";
import { IamPolicy } from "@cdktf/provider-aws/lib/iam-policy";
import { VpcSecurityGroupEgressRule } from "@cdktf/provider-aws/lib/vpc-security-group-egress-rule";
import type { FunctionConfig } from "../config/stack-config";
import { type DatabaseEndpoint, connectionEnvironment } from "../database/database-instance";
import { FailureQueue } from "./failure-queue";
import type { LogEncryption } from "../storage/log-encryption";
import type { Network } from "../network/network";
import { VpcFunction } from "./vpc-function";

export interface ApiFunctionProps {
  /** Prefix of the function name, e.g. "lambda-rds-iam-dev"; the name is `<prefix>-<source>`. */
  readonly namePrefix: string;
  /** Directory that holds functions/ and node_modules/. */
  readonly projectRoot: string;
  readonly config: FunctionConfig;
  readonly logs: LogEncryption;
  readonly network: Network;
  /** The instance, or RDS Proxy in front of it. */
  readonly database: DatabaseEndpoint;
  /** Terraform refuses any plan that destroys the failure queue's key. @default false */
  readonly keyPreventDestroy?: boolean;
}

/**
 * The API function: talks to the database as `config.dbUser` with IAM auth tokens. Its security
 * group reaches only the database port and HTTPS; its environment names the database and holds no secret.
 */
export class ApiFunction extends VpcFunction {
  /** Allows invoking this function and nothing else; the platform team attaches it to the callers' groups or roles. */
  readonly invokePolicy: IamPolicy;
  /** Where failed asynchronous invocations go, after Lambda's retries. */
  readonly failures: FailureQueue;

  constructor(scope: Construct, id: string, props: ApiFunctionProps) {
    const { config, database } = props;
    const functionName = `${props.namePrefix}-${config.source}`;
    super(scope, id, {
      functionName,
      description: `${functionName}: items API on RDS MySQL with IAM database authentication`,
      projectRoot: props.projectRoot,
      source: config.source,
      runtime: config.runtime,
      memoryMb: config.memoryMb,
      timeoutSeconds: config.timeoutSeconds,
      reservedConcurrency: config.reservedConcurrency,
      logRetentionDays: config.logRetentionDays,
      logs: props.logs,
      network: props.network,
      environment: connectionEnvironment(database, config.dbUser),
      access: (fn) => {
        fn.allowTcpTo(database.securityGroup, database.port, "MySQL to the database");
        new VpcSecurityGroupEgressRule(fn, "egress-https", {
          securityGroupId: fn.securityGroup.id,
          cidrIpv4: "0.0.0.0/0",
          ipProtocol: "tcp",
          fromPort: 443,
          toPort: 443,
          description: "HTTPS to AWS APIs through the NAT gateway and gateway endpoints",
        });
        // The first invocation needs both the grant and the way in.
        return [
          database.grantConnect(fn.role.role, config.dbUser),
          database.allowConnectionsFrom(fn.securityGroup, `MySQL from Lambda ${functionName}`),
        ];
      },
    });

    // Callers reach the database only through the function: user -> Lambda by this policy, Lambda -> RDS by the role.
    const invoke = new DataAwsIamPolicyDocument(this, "invoke-document", {
      statement: [
        {
          sid: "InvokeThisFunction",
          actions: ["lambda:InvokeFunction"],
          resources: [this.function.arn, `${this.function.arn}:*`],
        },
      ],
    });
    this.failures = new FailureQueue(this, "failures", {
      name: `${functionName}-failures`,
      function: this,
      preventDestroy: props.keyPreventDestroy,
    });

    this.invokePolicy = new IamPolicy(this, "invoke-policy", {
      name: `${functionName}-invoke`,
      description: `Invoke the ${functionName} function (its versions and aliases included) and nothing else`,
      policy: invoke.json,
    });
  }
}
