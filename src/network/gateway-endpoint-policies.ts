import { Construct } from "constructs";
import { DataAwsIamPolicyDocument } from "@cdktf/provider-aws/lib/data-aws-iam-policy-document";
import type { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import { VpcEndpointPolicy } from "@cdktf/provider-aws/lib/vpc-endpoint-policy";
import { AwsContext } from "../core/aws-context";
import type { Network } from "./network";

/**
 * What code in the VPC may do with this environment's buckets through the S3 endpoint: read and write
 * objects and list them. Bucket configuration is Terraform's business, and Terraform does not run here.
 */
export const S3_ENDPOINT_ACTIONS = [
  "s3:GetObject",
  "s3:GetObjectVersion",
  "s3:PutObject",
  "s3:AbortMultipartUpload",
  "s3:ListMultipartUploadParts",
  "s3:ListBucket",
  "s3:ListBucketVersions",
] as const;

export interface GatewayEndpointPoliciesProps {
  readonly network: Network;
  /** Every bucket the VPC's code uses: the only ones reachable through the S3 endpoint. */
  readonly buckets: S3Bucket[];
}

/**
 * Endpoint policies of the S3 and DynamoDB gateway endpoints. The private and isolated route tables send
 * all S3 and DynamoDB traffic to them, so these policies bound where data in the VPC can go: a role of
 * the VPC's code (or stolen credentials of another account used from inside it) cannot copy data to a
 * bucket or table of another account. Nothing else is admitted: Lambda fetches function code and
 * layers outside the VPC, and no EC2 instance here needs the package repository buckets.
 */
export class GatewayEndpointPolicies extends Construct {
  constructor(scope: Construct, id: string, props: GatewayEndpointPoliciesProps) {
    super(scope, id);
    const { network } = props;
    const s3 = new DataAwsIamPolicyDocument(this, "s3-document", {
      statement: [
        {
          sid: "ThisEnvironmentsBucketsOnly",
          principals: [{ type: "*", identifiers: ["*"] }],
          actions: [...S3_ENDPOINT_ACTIONS],
          resources: props.buckets.flatMap((bucket) => [bucket.arn, `${bucket.arn}/*`]),
        },
      ],
    });
    new VpcEndpointPolicy(this, "s3", { vpcEndpointId: network.gatewayEndpoints.s3.id, policy: s3.json });

    const dynamodb = new DataAwsIamPolicyDocument(this, "dynamodb-document", {
      statement: [
        {
          sid: "ThisAccountsTablesOnly",
          principals: [{ type: "*", identifiers: ["*"] }],
          actions: ["dynamodb:*"],
          resources: ["*"],
          condition: [{ test: "StringEquals", variable: "aws:ResourceAccount", values: [AwsContext.of(this).accountId] }],
        },
      ],
    });
    new VpcEndpointPolicy(this, "dynamodb", { vpcEndpointId: network.gatewayEndpoints.dynamodb.id, policy: dynamodb.json });
  }
}
