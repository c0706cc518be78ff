import { Construct } from "constructs";
import type { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { DataAwsIamPolicyDocument, type DataAwsIamPolicyDocumentStatement } from "@cdktf/provider-aws/lib/data-aws-iam-policy-document";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";

/** The EC2 calls Lambda makes with the role to attach a function to VPC subnets (AWSLambdaVPCAccessExecutionRole without its logs:*). */
export const VPC_NETWORK_INTERFACE_ACTIONS = [
  "ec2:CreateNetworkInterface",
  "ec2:DescribeNetworkInterfaces",
  "ec2:DescribeSubnets",
  "ec2:DeleteNetworkInterface",
  "ec2:AssignPrivateIpAddresses",
  "ec2:UnassignPrivateIpAddresses",
] as const;

export const XRAY_ACTIONS = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"] as const;

export interface ExecutionRoleProps {
  /** Role name, e.g. "lambda-rds-iam-dev-api". */
  readonly name: string;
}

/**
 * A Lambda execution role that only Lambda can assume and that starts with what a VPC function
 * needs to run (network interfaces, X-Ray). Everything else is granted explicitly: log writing by
 * `grantLogWriting`, database access by `DatabaseInstance.grantConnect`, sending failures by `FailureQueue`.
 */
export class ExecutionRole extends Construct {
  readonly role: IamRole;
  /** Attach before creating a function in a VPC: Lambda checks these permissions at creation. */
  readonly networkPolicy: IamRolePolicy;

  constructor(scope: Construct, id: string, props: ExecutionRoleProps) {
    super(scope, id);
    const trust = new DataAwsIamPolicyDocument(this, "trust", {
      statement: [
        {
          actions: ["sts:AssumeRole"],
          principals: [{ type: "Service", identifiers: ["lambda.amazonaws.com"] }],
        },
      ],
    });
    this.role = new IamRole(this, "role", {
      name: props.name,
      description: `Execution role of the ${props.name} Lambda function`,
      assumeRolePolicy: trust.json,
    });
    this.networkPolicy = this.allow("vpc-and-tracing", [
      // Lambda creates and deletes the function's interfaces; these actions take no resource ARN.
      { sid: "VpcNetworkInterfaces", actions: [...VPC_NETWORK_INTERFACE_ACTIONS], resources: ["*"] },
      { sid: "XRayTraces", actions: [...XRAY_ACTIONS], resources: ["*"] },
    ]);
  }

  get arn(): string {
    return this.role.arn;
  }

  /** Lets the function write to its own log group (the group is made by Terraform, so no CreateLogGroup). */
  grantLogWriting(logGroup: CloudwatchLogGroup): IamRolePolicy {
    return this.allow("write-logs", [
      { sid: "WriteOwnLogGroup", actions: ["logs:CreateLogStream", "logs:PutLogEvents"], resources: [`${logGroup.arn}:*`] },
    ]);
  }

  /** An inline policy of the role, named `name`, holding `statement`. */
  allow(name: string, statement: DataAwsIamPolicyDocumentStatement[]): IamRolePolicy {
    const document = new DataAwsIamPolicyDocument(this, `${name}-document`, { statement });
    return new IamRolePolicy(this, name, { name, role: this.role.name, policy: document.json });
  }
}
