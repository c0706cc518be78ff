import { Construct } from "constructs";
import { DataAwsIamPolicyDocument } from "@cdktf/provider-aws/lib/data-aws-iam-policy-document";
import { IamPolicy } from "@cdktf/provider-aws/lib/iam-policy";
import type { HttpApi } from "./http-api";

export interface HttpApiInvokePolicyProps {
  readonly api: HttpApi;
  /** "invoke": every route; "read": the GET routes only. */
  readonly access: "invoke" | "read";
  /**
   * Name of the managed policy.
   * @default `<api name>-<access>`
   */
  readonly name?: string;
}

/**
 * A managed policy that allows calling this API's routes (all, or the GET ones) and nothing else, for
 * the platform team to attach to the callers' roles or groups: the HTTP counterpart of InvokePolicy.
 */
export class HttpApiInvokePolicy extends Construct {
  readonly policy: IamPolicy;

  constructor(scope: Construct, id: string, props: HttpApiInvokePolicyProps) {
    super(scope, id);
    const { api, access } = props;
    const document = new DataAwsIamPolicyDocument(this, "document", { statement: [api.invokeStatement(access === "read")] });
    this.policy = new IamPolicy(this, "policy", {
      name: props.name ?? `${api.name}-${access}`,
      description:
        access === "read"
          ? `Call the GET routes of the ${api.name} HTTP API and nothing else`
          : `Call every route of the ${api.name} HTTP API and nothing else`,
      policy: document.json,
    });
  }

  get arn(): string {
    return this.policy.arn;
  }
}
