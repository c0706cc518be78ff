import type { IConstruct } from "constructs";
import { terraformTypeOf } from "../core/terraform-type";

/** What Terraform calls for one resource or data source type of the AWS provider. */
export interface TypePermissions {
  /** Calls that refresh it during `terraform plan` (read-only). */
  readonly read: readonly string[];
  /** Calls that create, update, tag and delete it during `terraform apply`. */
  readonly write?: readonly string[];
  /** Services its role arguments are passed to (iam:PassedToService). */
  readonly passRoleTo?: readonly string[];
  /** KMS calls that services make with the caller's rights, allowed only through them (kms:ViaService <service>.<region>...). */
  readonly kmsVia?: { readonly services: readonly string[]; readonly actions: readonly string[] };
}

const ec2Tags = ["ec2:CreateTags", "ec2:DeleteTags"];
const rdsTags = ["rds:AddTagsToResource", "rds:RemoveTagsFromResource"];
const sgRuleRead = ["ec2:DescribeSecurityGroups", "ec2:DescribeSecurityGroupRules"];
// API Gateway's IAM actions are the HTTP verbs of its management API, tags included.
const apiGatewayWrite = ["apigateway:POST", "apigateway:PATCH", "apigateway:PUT", "apigateway:DELETE"];

/**
 * Per Terraform type the service stack (and the state stack, which the plan role plans with state.selfHosted)
 * synthesizes, what the CI roles need for it. The CI roles are built from the types a stack really contains:
 * a type missing here stops synth (and fails a test).
 * IAM actions are scoped to the project's names by `CiRoles`, every other action applies to `*`.
 */
export const TYPE_PERMISSIONS: Readonly<Record<string, TypePermissions>> = {
  // Resources
  aws_apigatewayv2_api: { read: ["apigateway:GET"], write: apiGatewayWrite },
  aws_apigatewayv2_integration: { read: ["apigateway:GET"], write: apiGatewayWrite },
  aws_apigatewayv2_route: { read: ["apigateway:GET"], write: apiGatewayWrite },
  aws_apigatewayv2_stage: {
    read: ["apigateway:GET"],
    // Access logs: API Gateway delivers to the log group through a log delivery its caller sets up.
    write: [
      ...apiGatewayWrite,
      "logs:CreateLogDelivery",
      "logs:GetLogDelivery",
      "logs:UpdateLogDelivery",
      "logs:DeleteLogDelivery",
      "logs:ListLogDeliveries",
      "logs:PutResourcePolicy",
      "logs:DescribeResourcePolicies",
    ],
  },
  aws_cloudwatch_log_group: {
    read: ["logs:DescribeLogGroups", "logs:ListTagsForResource", "logs:ListTagsLogGroup"],
    write: [
      "logs:CreateLogGroup",
      "logs:DeleteLogGroup",
      "logs:PutRetentionPolicy",
      "logs:DeleteRetentionPolicy",
      // kms_key_id on a group that exists: CloudWatch Logs itself uses the key (its key policy says so).
      "logs:AssociateKmsKey",
      "logs:DisassociateKmsKey",
      "logs:TagResource",
      "logs:UntagResource",
      "logs:TagLogGroup",
      "logs:UntagLogGroup",
    ],
  },
  aws_cloudwatch_log_metric_filter: {
    read: ["logs:DescribeMetricFilters"],
    write: ["logs:PutMetricFilter", "logs:DeleteMetricFilter"],
  },
  aws_cloudwatch_metric_alarm: {
    read: ["cloudwatch:DescribeAlarms", "cloudwatch:ListTagsForResource"],
    write: ["cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms", "cloudwatch:TagResource", "cloudwatch:UntagResource"],
  },
  aws_db_instance: {
    read: ["rds:DescribeDBInstances", "rds:ListTagsForResource"],
    write: [
      "rds:CreateDBInstance",
      "rds:ModifyDBInstance",
      "rds:RebootDBInstance",
      "rds:DeleteDBInstance",
      // The final snapshot taken on delete.
      "rds:CreateDBSnapshot",
      ...rdsTags,
      // RDS creates the master secret with the caller's rights.
      "secretsmanager:CreateSecret",
      "secretsmanager:TagResource",
      "secretsmanager:DeleteSecret",
    ],
    passRoleTo: ["monitoring.rds.amazonaws.com"],
    // Storage, Performance Insights and the master secret are encrypted with the database key on the caller's behalf.
    kmsVia: { services: ["rds", "secretsmanager"], actions: ["kms:CreateGrant", "kms:DescribeKey", "kms:Decrypt", "kms:GenerateDataKey"] },
  },
  aws_db_proxy: {
    read: ["rds:DescribeDBProxies", "rds:ListTagsForResource"],
    write: ["rds:CreateDBProxy", "rds:ModifyDBProxy", "rds:DeleteDBProxy", ...rdsTags],
    passRoleTo: ["rds.amazonaws.com"],
  },
  aws_db_proxy_default_target_group: {
    read: ["rds:DescribeDBProxyTargetGroups"],
    write: ["rds:ModifyDBProxyTargetGroup"],
  },
  aws_db_proxy_target: {
    read: ["rds:DescribeDBProxyTargets"],
    write: ["rds:RegisterDBProxyTargets", "rds:DeregisterDBProxyTargets"],
  },
  aws_db_parameter_group: {
    read: ["rds:DescribeDBParameterGroups", "rds:DescribeDBParameters", "rds:ListTagsForResource"],
    write: [
      "rds:CreateDBParameterGroup",
      "rds:ModifyDBParameterGroup",
      "rds:ResetDBParameterGroup",
      "rds:DeleteDBParameterGroup",
      ...rdsTags,
    ],
  },
  aws_db_subnet_group: {
    read: ["rds:DescribeDBSubnetGroups", "rds:ListTagsForResource"],
    write: ["rds:CreateDBSubnetGroup", "rds:ModifyDBSubnetGroup", "rds:DeleteDBSubnetGroup", ...rdsTags],
  },
  aws_default_security_group: {
    read: sgRuleRead,
    write: [
      "ec2:AuthorizeSecurityGroupIngress",
      "ec2:AuthorizeSecurityGroupEgress",
      "ec2:RevokeSecurityGroupIngress",
      "ec2:RevokeSecurityGroupEgress",
      ...ec2Tags,
    ],
  },
  aws_eip: {
    read: ["ec2:DescribeAddresses", "ec2:DescribeAddressesAttribute"],
    write: ["ec2:AllocateAddress", "ec2:ReleaseAddress", "ec2:DisassociateAddress", ...ec2Tags],
  },
  aws_flow_log: {
    read: ["ec2:DescribeFlowLogs"],
    write: ["ec2:CreateFlowLogs", "ec2:DeleteFlowLogs", "logs:CreateLogDelivery", "logs:DeleteLogDelivery", ...ec2Tags],
    passRoleTo: ["vpc-flow-logs.amazonaws.com"],
  },
  // Only the state stack has one (the CI roles' provider): the plan role reads it; a person applies it, never CI.
  aws_iam_openid_connect_provider: { read: ["iam:GetOpenIDConnectProvider"] },
  aws_iam_policy: {
    read: ["iam:GetPolicy", "iam:GetPolicyVersion", "iam:ListPolicyVersions", "iam:ListPolicyTags"],
    write: [
      "iam:CreatePolicy",
      "iam:CreatePolicyVersion",
      "iam:DeletePolicyVersion",
      "iam:DeletePolicy",
      "iam:TagPolicy",
      "iam:UntagPolicy",
    ],
  },
  aws_iam_role: {
    read: ["iam:GetRole", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies", "iam:ListInstanceProfilesForRole", "iam:ListRoleTags"],
    write: [
      "iam:CreateRole",
      "iam:DeleteRole",
      "iam:UpdateRole",
      "iam:UpdateRoleDescription",
      "iam:UpdateAssumeRolePolicy",
      // permissions_boundary on a role that has none yet; never DeleteRolePermissionsBoundary (the deploy role is denied it).
      "iam:PutRolePermissionsBoundary",
      "iam:TagRole",
      "iam:UntagRole",
    ],
  },
  aws_iam_role_policy: {
    read: ["iam:GetRolePolicy"],
    write: ["iam:PutRolePolicy", "iam:DeleteRolePolicy"],
  },
  aws_iam_role_policy_attachment: {
    read: ["iam:ListAttachedRolePolicies"],
    write: ["iam:AttachRolePolicy", "iam:DetachRolePolicy"],
  },
  aws_internet_gateway: {
    read: ["ec2:DescribeInternetGateways"],
    write: ["ec2:CreateInternetGateway", "ec2:AttachInternetGateway", "ec2:DetachInternetGateway", "ec2:DeleteInternetGateway", ...ec2Tags],
  },
  aws_kms_alias: {
    read: ["kms:ListAliases"],
    write: ["kms:CreateAlias", "kms:UpdateAlias", "kms:DeleteAlias"],
  },
  aws_kms_key: {
    read: ["kms:DescribeKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListResourceTags"],
    write: [
      "kms:CreateKey",
      "kms:PutKeyPolicy",
      "kms:UpdateKeyDescription",
      "kms:EnableKeyRotation",
      "kms:DisableKeyRotation",
      "kms:EnableKey",
      "kms:DisableKey",
      "kms:ScheduleKeyDeletion",
      "kms:TagResource",
      "kms:UntagResource",
    ],
  },
  aws_lambda_function: {
    read: [
      "lambda:GetFunction",
      "lambda:GetFunctionConfiguration",
      "lambda:GetFunctionCodeSigningConfig",
      "lambda:GetFunctionConcurrency",
      "lambda:GetRuntimeManagementConfig",
      "lambda:ListVersionsByFunction",
      "lambda:ListTags",
    ],
    write: [
      "lambda:CreateFunction",
      "lambda:UpdateFunctionCode",
      "lambda:UpdateFunctionConfiguration",
      "lambda:PutFunctionConcurrency",
      "lambda:DeleteFunctionConcurrency",
      "lambda:DeleteFunction",
      "lambda:TagResource",
      "lambda:UntagResource",
    ],
    passRoleTo: ["lambda.amazonaws.com"],
  },
  aws_lambda_function_event_invoke_config: {
    read: ["lambda:GetFunctionEventInvokeConfig"],
    write: ["lambda:PutFunctionEventInvokeConfig", "lambda:UpdateFunctionEventInvokeConfig", "lambda:DeleteFunctionEventInvokeConfig"],
  },
  // The S3 event notification's right to invoke the ingest function.
  aws_lambda_permission: { read: ["lambda:GetPolicy"], write: ["lambda:AddPermission", "lambda:RemovePermission"] },
  // Invoked on apply only; reading it calls nothing.
  aws_lambda_invocation: { read: [], write: ["lambda:InvokeFunction"] },
  aws_nat_gateway: {
    read: ["ec2:DescribeNatGateways"],
    write: ["ec2:CreateNatGateway", "ec2:DeleteNatGateway", ...ec2Tags],
  },
  aws_route: { read: ["ec2:DescribeRouteTables"], write: ["ec2:CreateRoute", "ec2:ReplaceRoute", "ec2:DeleteRoute"] },
  aws_route_table: { read: ["ec2:DescribeRouteTables"], write: ["ec2:CreateRouteTable", "ec2:DeleteRouteTable", ...ec2Tags] },
  aws_route_table_association: {
    read: ["ec2:DescribeRouteTables"],
    write: ["ec2:AssociateRouteTable", "ec2:ReplaceRouteTableAssociation", "ec2:DisassociateRouteTable"],
  },
  aws_security_group: {
    read: [...sgRuleRead, "ec2:DescribeNetworkInterfaces"],
    write: [
      "ec2:CreateSecurityGroup",
      "ec2:DeleteSecurityGroup",
      "ec2:RevokeSecurityGroupEgress",
      "ec2:RevokeSecurityGroupIngress",
      ...ec2Tags,
    ],
  },
  // S3 actions are scoped to the service's own buckets by `CiRoles`.
  aws_s3_bucket: {
    // The provider refreshes every sub-configuration of a bucket, set here or not.
    read: [
      "s3:ListBucket",
      "s3:GetBucketAcl",
      "s3:GetBucketCORS",
      "s3:GetBucketWebsite",
      "s3:GetBucketVersioning",
      "s3:GetAccelerateConfiguration",
      "s3:GetBucketRequestPayment",
      "s3:GetBucketLogging",
      "s3:GetLifecycleConfiguration",
      "s3:GetReplicationConfiguration",
      "s3:GetEncryptionConfiguration",
      "s3:GetBucketObjectLockConfiguration",
      "s3:GetBucketTagging",
      "s3:GetBucketPolicy",
    ],
    write: ["s3:CreateBucket", "s3:DeleteBucket", "s3:PutBucketTagging"],
  },
  aws_s3_bucket_lifecycle_configuration: { read: ["s3:GetLifecycleConfiguration"], write: ["s3:PutLifecycleConfiguration"] },
  aws_s3_bucket_logging: { read: ["s3:GetBucketLogging"], write: ["s3:PutBucketLogging"] },
  aws_s3_bucket_notification: { read: ["s3:GetBucketNotification"], write: ["s3:PutBucketNotification"] },
  aws_s3_bucket_ownership_controls: { read: ["s3:GetBucketOwnershipControls"], write: ["s3:PutBucketOwnershipControls"] },
  aws_s3_bucket_policy: { read: ["s3:GetBucketPolicy"], write: ["s3:PutBucketPolicy", "s3:DeleteBucketPolicy"] },
  aws_s3_bucket_public_access_block: { read: ["s3:GetBucketPublicAccessBlock"], write: ["s3:PutBucketPublicAccessBlock"] },
  aws_s3_bucket_server_side_encryption_configuration: { read: ["s3:GetEncryptionConfiguration"], write: ["s3:PutEncryptionConfiguration"] },
  aws_s3_bucket_versioning: { read: ["s3:GetBucketVersioning"], write: ["s3:PutBucketVersioning"] },
  aws_scheduler_schedule: {
    read: ["scheduler:GetSchedule"],
    write: ["scheduler:CreateSchedule", "scheduler:UpdateSchedule", "scheduler:DeleteSchedule"],
    passRoleTo: ["scheduler.amazonaws.com"],
  },
  aws_scheduler_schedule_group: {
    read: ["scheduler:GetScheduleGroup", "scheduler:ListTagsForResource"],
    write: ["scheduler:CreateScheduleGroup", "scheduler:DeleteScheduleGroup", "scheduler:TagResource", "scheduler:UntagResource"],
  },
  aws_sns_topic: {
    read: ["sns:GetTopicAttributes", "sns:ListTagsForResource"],
    write: ["sns:CreateTopic", "sns:SetTopicAttributes", "sns:DeleteTopic", "sns:TagResource", "sns:UntagResource"],
  },
  aws_sns_topic_policy: { read: ["sns:GetTopicAttributes"], write: ["sns:SetTopicAttributes"] },
  // Only with alarms.subscriptions.
  aws_sns_topic_subscription: {
    read: ["sns:GetSubscriptionAttributes"],
    write: ["sns:Subscribe", "sns:Unsubscribe", "sns:SetSubscriptionAttributes"],
  },
  aws_sqs_queue: {
    read: ["sqs:GetQueueAttributes", "sqs:ListQueueTags"],
    write: ["sqs:CreateQueue", "sqs:SetQueueAttributes", "sqs:DeleteQueue", "sqs:TagQueue", "sqs:UntagQueue"],
  },
  aws_sqs_queue_policy: { read: ["sqs:GetQueueAttributes"], write: ["sqs:SetQueueAttributes"] },
  aws_subnet: { read: ["ec2:DescribeSubnets"], write: ["ec2:CreateSubnet", "ec2:ModifySubnetAttribute", "ec2:DeleteSubnet", ...ec2Tags] },
  aws_vpc: {
    read: [
      "ec2:DescribeVpcs",
      "ec2:DescribeVpcAttribute",
      "ec2:DescribeNetworkAcls",
      "ec2:DescribeRouteTables",
      "ec2:DescribeSecurityGroups",
    ],
    write: ["ec2:CreateVpc", "ec2:ModifyVpcAttribute", "ec2:DeleteVpc", ...ec2Tags],
  },
  aws_vpc_endpoint: {
    read: ["ec2:DescribeVpcEndpoints", "ec2:DescribeVpcEndpointServices", "ec2:DescribePrefixLists"],
    // Private DNS of an interface endpoint associates the VPC with AWS's hosted zone.
    write: ["ec2:CreateVpcEndpoint", "ec2:ModifyVpcEndpoint", "ec2:DeleteVpcEndpoints", "route53:AssociateVPCWithHostedZone", ...ec2Tags],
  },
  aws_vpc_endpoint_policy: { read: ["ec2:DescribeVpcEndpoints"], write: ["ec2:ModifyVpcEndpoint"] },
  aws_vpc_security_group_egress_rule: {
    read: sgRuleRead,
    write: [
      "ec2:AuthorizeSecurityGroupEgress",
      "ec2:RevokeSecurityGroupEgress",
      "ec2:ModifySecurityGroupRules",
      "ec2:UpdateSecurityGroupRuleDescriptionsEgress",
      ...ec2Tags,
    ],
  },
  aws_vpc_security_group_ingress_rule: {
    read: sgRuleRead,
    write: [
      "ec2:AuthorizeSecurityGroupIngress",
      "ec2:RevokeSecurityGroupIngress",
      "ec2:ModifySecurityGroupRules",
      "ec2:UpdateSecurityGroupRuleDescriptionsIngress",
      ...ec2Tags,
    ],
  },
  // Terraform's own resource: no AWS call.
  terraform_data: { read: [] },
  // Data sources
  // The state stack's lookup of the service's HTTP API (its callers' policies).
  "data.aws_apigatewayv2_apis": { read: ["apigateway:GET"] },
  "data.aws_availability_zones": { read: ["ec2:DescribeAvailabilityZones"] },
  "data.aws_caller_identity": { read: ["sts:GetCallerIdentity"] },
  "data.aws_iam_policy_document": { read: [] },
  "data.aws_partition": { read: [] },
  "data.aws_region": { read: [] },
};

/** Every Terraform type `stack` synthesizes: resource types as they are, data source types as `data.<type>` (see terraformTypeOf). */
export function terraformTypesOf(stack: IConstruct): string[] {
  const types = stack.node.findAll().flatMap((construct) => terraformTypeOf(construct) ?? []);
  return [...new Set(types)].sort();
}

export interface MergedPermissions {
  read: string[];
  write: string[];
  passRoleTo: string[];
  kmsVia: { services: string[]; actions: string[] };
}

/** What the given types need, merged; throws naming every type without an entry in TYPE_PERMISSIONS. */
export function permissionsFor(types: readonly string[]): MergedPermissions {
  const missing = types.filter((type) => !(type in TYPE_PERMISSIONS));
  if (missing.length > 0) {
    throw new Error(
      `No CI permissions for ${missing.join(", ")}: add what Terraform calls for them to TYPE_PERMISSIONS in src/ci/ci-permissions.ts`,
    );
  }
  const union = (pick: (entry: TypePermissions) => readonly string[] | undefined) =>
    [...new Set(types.flatMap((type) => pick(TYPE_PERMISSIONS[type]) ?? []))].sort();
  return {
    read: union((entry) => entry.read),
    write: union((entry) => entry.write),
    passRoleTo: union((entry) => entry.passRoleTo),
    kmsVia: { services: union((entry) => entry.kmsVia?.services), actions: union((entry) => entry.kmsVia?.actions) },
  };
}
