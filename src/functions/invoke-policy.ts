import { Construct } from "constructs";
import { DataAwsIamPolicyDocument } from "@cdktf/provider-aws/lib/data-aws-iam-policy-document";
import { IamPolicy } from "@cdktf/provider-aws/lib/iam-policy";
import { AwsContext } from "../core/aws-context";

export interface InvokePolicyProps {
  /** The function callers may invoke, by name: the policy lives in another stack than the function. */
  readonly functionName: string;
  /**
   * Name of the managed policy.
   * @default `<functionName>-invoke`
   */
  readonly name?: string;
}

/**
 * A managed policy that allows invoking one function (its versions and aliases included) and nothing
 * else, for the platform team to attach to the callers' roles or groups. It is made in the hand-deployed
 * `<env>-state` stack, so what callers hold is never rewritten by the deploy role.
 */
export class InvokePolicy extends Construct {
  readonly policy: IamPolicy;

  constructor(scope: Construct, id: string, props: InvokePolicyProps) {
    super(scope, id);
    const { functionName } = props;
    // Callers reach the database only through the function: caller -> Lambda by this policy, Lambda -> RDS by its role.
    const functionArn = AwsContext.of(this).arn("lambda", `function:${functionName}`);
    const document = new DataAwsIamPolicyDocument(this, "document", {
      statement: [{ sid: "InvokeThisFunction", actions: ["lambda:InvokeFunction"], resources: [functionArn, `${functionArn}:*`] }],
    });
    this.policy = new IamPolicy(this, "policy", {
      name: props.name ?? `${functionName}-invoke`,
      description: `Invoke the ${functionName} function (its versions and aliases included) and nothing else`,
      policy: document.json,
    });
  }

  get arn(): string {
    return this.policy.arn;
  }
}
