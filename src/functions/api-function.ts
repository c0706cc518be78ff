import type { Construct } from "constructs";
import { DataAwsIamPolicyDocument } from "@cdktf/provider-aws/lib/data-aws-iam-policy-document";
import { IamPolicy } from "@cdktf/provider-aws/lib/iam-policy";
import { VpcSecurityGroupEgressRule } from "@cdktf/provider-aws/lib/vpc-security-group-egress-rule";
import type { DatabaseEndpoint } from "../database/database-instance";
import { withDefaults } from "../core/with-defaults";
import { FailureQueue } from "./failure-queue";
import { API_FUNCTION_DEFAULTS, type FunctionOptions } from "./function-props";
import { VpcFunction } from "./vpc-function";

export interface ApiFunctionProps extends FunctionOptions {
  /** Prefix of the function name, e.g. "lambda-rds-iam-dev"; the name is `<prefix>-<source>`. */
  readonly namePrefix: string;
  /** The instance, or RDS Proxy in front of it. */
  readonly database: DatabaseEndpoint;
  /**
   * Directory under functions/ that holds the handler (index.ts).
   * @default "api"
   */
  readonly source?: string;
  /**
   * The MySQL account the function signs IAM tokens for.
   * @default "app_user"
   */
  readonly dbUser?: string;
  /** Terraform refuses any plan that destroys the failure queue's key. @default false */
  readonly keyPreventDestroy?: boolean;
}

/**
 * The API function: talks to the database as `dbUser` with IAM auth tokens. Its security
 * group reaches only the database port and HTTPS; its environment names the database and holds no secret.
 */
export class ApiFunction extends VpcFunction {
  /** Allows invoking this function and nothing else; the platform team attaches it to the callers' groups or roles. */
  readonly invokePolicy: IamPolicy;
  /** Where failed asynchronous invocations go, after Lambda's retries. */
  readonly failures: FailureQueue;

  constructor(scope: Construct, id: string, props: ApiFunctionProps) {
    const { namePrefix, database, dbUser, keyPreventDestroy, ...options } = withDefaults(API_FUNCTION_DEFAULTS, props);
    const functionName = `${namePrefix}-${options.source}`;
    super(scope, id, {
      ...options,
      functionName,
      description: `${functionName}: items API on RDS MySQL with IAM database authentication`,
      database: { endpoint: database, user: dbUser },
      access: (fn) => {
        new VpcSecurityGroupEgressRule(fn, "egress-https", {
          securityGroupId: fn.securityGroup.id,
          cidrIpv4: "0.0.0.0/0",
          ipProtocol: "tcp",
          fromPort: 443,
          toPort: 443,
          description: "HTTPS to AWS APIs through the NAT gateway and gateway endpoints",
        });
        return [];
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
      preventDestroy: keyPreventDestroy,
    });

    this.invokePolicy = new IamPolicy(this, "invoke-policy", {
      name: `${functionName}-invoke`,
      description: `Invoke the ${functionName} function (its versions and aliases included) and nothing else`,
      policy: invoke.json,
    });
  }
}
