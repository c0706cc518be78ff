import { Construct } from "constructs";
import { DataAwsIamPolicyDocument } from "@cdktf/provider-aws/lib/data-aws-iam-policy-document";
import { IamPolicy } from "@cdktf/provider-aws/lib/iam-policy";
import { routeInvokeStatement } from "./http-api";
import type { HttpRoute } from "./http-route";

export interface HttpApiInvokePolicyProps {
  /** Name of the managed policy. */
  readonly name: string;
  /** The API's name, for the description. */
  readonly apiName: string;
  /** The API's execution ARN, `arn:<partition>:execute-api:<region>:<account>:<api id>` (HttpApi.api.executionArn). */
  readonly executionArn: string;
  readonly routes: readonly HttpRoute[];
  /** "invoke": every route; "read": the GET routes only. */
  readonly access: "invoke" | "read";
}

/**
 * A managed policy that allows calling these routes of one HTTP API (all, or the GET ones) and nothing
 * else, for the platform team to attach to the callers' roles or groups: the HTTP counterpart of
 * InvokePolicy. It takes the API's execution ARN rather than the API, so that a stack the deploy role
 * cannot change (the `<env>-state` stack) can hold it.
 */
export class HttpApiInvokePolicy extends Construct {
  readonly policy: IamPolicy;
  readonly access: "invoke" | "read";

  constructor(scope: Construct, id: string, props: HttpApiInvokePolicyProps) {
    super(scope, id);
    const { apiName, access } = props;
    this.access = access;
    const statement = routeInvokeStatement(props.executionArn, props.routes, access === "read");
    const document = new DataAwsIamPolicyDocument(this, "document", { statement: [statement] });
    this.policy = new IamPolicy(this, "policy", {
      name: props.name,
      description:
        access === "read"
          ? `Call the GET routes of the ${apiName} HTTP API and nothing else`
          : `Call every route of the ${apiName} HTTP API and nothing else`,
      policy: document.json,
    });
  }

  get arn(): string {
    return this.policy.arn;
  }
}
