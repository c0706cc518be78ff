import type { Construct } from "constructs";
import {
  DataAwsIamPolicyDocument,
  type DataAwsIamPolicyDocumentStatement,
  type DataAwsIamPolicyDocumentStatementCondition,
} from "@cdktf/provider-aws/lib/data-aws-iam-policy-document";
import { KmsAlias } from "@cdktf/provider-aws/lib/kms-alias";
import { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import { AwsContext } from "../core/aws-context";

/**
 * What the account may do to a key, through its IAM policies, without using it: AWS's key
 * administrator statement spelled out, less kms:CreateGrant (a grant is a way to use the key).
 * Every key keeps it, so no key can become unmanageable; using a key is allowed only by the other
 * statements of its policy.
 */
export const KEY_ADMINISTRATION_ACTIONS = [
  "kms:CancelKeyDeletion",
  "kms:CreateAlias",
  "kms:DeleteAlias",
  "kms:DescribeKey",
  "kms:DisableKey",
  "kms:DisableKeyRotation",
  "kms:EnableKey",
  "kms:EnableKeyRotation",
  "kms:GetKeyPolicy",
  "kms:GetKeyRotationStatus",
  "kms:ListGrants",
  "kms:ListKeyPolicies",
  "kms:ListKeyRotations",
  "kms:ListResourceTags",
  "kms:PutKeyPolicy",
  "kms:RevokeGrant",
  "kms:RotateKeyOnDemand",
  "kms:ScheduleKeyDeletion",
  "kms:TagResource",
  "kms:UntagResource",
  "kms:UpdateAlias",
  "kms:UpdateKeyDescription",
] as const;

/** The account as a key policy principal: a principal of it also needs its own IAM policy to allow the call. */
export function accountPrincipal(context: AwsContext): DataAwsIamPolicyDocumentStatement["principals"] {
  return [{ type: "AWS", identifiers: [`arn:${context.partition}:iam::${context.accountId}:root`] }];
}

/** Only when `service` of the stack's region calls KMS for the caller (an RDS or S3 request), never directly. */
export function viaService(context: AwsContext, service: string): DataAwsIamPolicyDocumentStatementCondition {
  return { test: "StringEquals", variable: "kms:ViaService", values: [`${service}.${context.region}.${context.dnsSuffix}`] };
}

/**
 * Lets S3 encrypt and decrypt the objects of one bucket (with its bucket key, or per object) for the
 * account's principals whose own IAM policies allow it. The ARN is built, not referenced: the bucket needs the key first.
 */
export function usableThroughS3ForBucket(context: AwsContext, sid: string, bucketName: string): DataAwsIamPolicyDocumentStatement {
  const bucketArn = `arn:${context.partition}:s3:::${bucketName}`;
  return {
    sid,
    principals: accountPrincipal(context),
    actions: ["kms:Decrypt", "kms:GenerateDataKey"],
    resources: ["*"],
    condition: [
      viaService(context, "s3"),
      { test: "ArnLike", variable: "kms:EncryptionContext:aws:s3:arn", values: [bucketArn, `${bucketArn}/*`] },
    ],
  };
}

export interface CustomerManagedKeyProps {
  readonly description: string;
  /** "alias/..." */
  readonly alias: string;
  /** Who may use the key and how, each statement with its conditions; the account's administration comes first. */
  readonly usage: DataAwsIamPolicyDocumentStatement[];
  /** Terraform refuses any plan that destroys the key (and so everything it encrypted). */
  readonly preventDestroy?: boolean;
}

/**
 * A rotating customer-managed key with an explicit key policy (`<id>-policy`) and an alias (`<id>-alias`),
 * made in `scope` itself so the key keeps its Terraform address where it had one.
 */
export function customerManagedKey(scope: Construct, id: string, props: CustomerManagedKeyProps): KmsKey {
  const policy = new DataAwsIamPolicyDocument(scope, `${id}-policy`, {
    statement: [
      {
        sid: "AccountAdministersKey",
        principals: accountPrincipal(AwsContext.of(scope)),
        actions: [...KEY_ADMINISTRATION_ACTIONS],
        resources: ["*"],
      },
      ...props.usage,
    ],
  });
  const key = new KmsKey(scope, id, {
    description: props.description,
    enableKeyRotation: true,
    deletionWindowInDays: 30,
    policy: policy.json,
    lifecycle: props.preventDestroy ? { preventDestroy: true } : undefined,
  });
  new KmsAlias(scope, `${id}-alias`, { name: props.alias, targetKeyId: key.keyId });
  return key;
}
