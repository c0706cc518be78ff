import type { DataAwsIamPolicyDocumentStatement } from "@cdktf/provider-aws/lib/data-aws-iam-policy-document";

/** A resource policy statement that refuses every request to `resources` not made over TLS, whoever makes it. */
export function denyInsecureTransport(service: "s3" | "sqs" | "sns", resources: string[]): DataAwsIamPolicyDocumentStatement {
  return {
    sid: "DenyInsecureTransport",
    effect: "Deny",
    actions: [`${service}:*`],
    principals: [{ type: "*", identifiers: ["*"] }],
    resources,
    condition: [{ test: "Bool", variable: "aws:SecureTransport", values: ["false"] }],
  };
}
