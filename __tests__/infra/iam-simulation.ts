import { runSimulation } from "@cloud-copilot/iam-simulate";
import type { TerraformJson } from "./synth";

/**
 * IAM policies of a synthesized stack as AWS would hold them once applied, and a policy engine to ask
 * what they allow. References are replaced by the values AWS would give them (`AWS`, below) so that a
 * simulation sees the same ARNs the policies of two stacks share (a role's boundary, the policy itself).
 */

/** The account, region and partition the tests "deploy" to: the minimal configuration's. */
export const AWS = { partition: "aws", dnsSuffix: "amazonaws.com", region: "eu-west-1", accountId: "111111111111" } as const;

export interface IamStatement {
  Sid?: string;
  Effect: "Allow" | "Deny";
  Principal?: Record<string, string[]>;
  Action?: string[];
  NotAction?: string[];
  Resource?: string[];
  NotResource?: string[];
  Condition?: Record<string, Record<string, string[]>>;
}
export interface IamPolicy {
  Version: "2012-10-17";
  Statement: IamStatement[];
}

type Block = Record<string, any>;
const arn = (service: string, region: string, resource: string) => `arn:${AWS.partition}:${service}:${region}:${AWS.accountId}:${resource}`;

/** The id of the API that an aws_apigatewayv2_apis lookup finds. */
export const FOUND_API_ID = "a1b2c3d4e5";

/** API Gateway's id for an API: ten lowercase letters and digits, here from its Terraform id (two APIs, two ids). */
const apiIdOf = (id: string) =>
  id
    .toLowerCase()
    .replace(/[^a-z0-9]/g, "")
    .slice(-10);

/** What AWS returns for an attribute of a resource, from its arguments; only the attributes this service's policies reference. */
const ATTRIBUTES: Record<string, (resource: Block, id: string) => string> = {
  "aws_apigatewayv2_api.execution_arn": (_, id) => arn("execute-api", AWS.region, apiIdOf(id)),
  "aws_cloudwatch_log_group.arn": (r) => arn("logs", AWS.region, `log-group:${r.name}`),
  "aws_db_instance.master_user_secret[0].secret_arn": () =>
    arn("secretsmanager", AWS.region, "secret:rds!db-00000000-1111-2222-3333-444444444444-AbCdEf"),
  "aws_db_instance.resource_id": () => "db-ABCDEFGHIJKLMNOPQRSTUVWXYZ",
  "aws_db_proxy.arn": () => arn("rds", AWS.region, "db-proxy:prx-0123456789abcdef0"),
  "aws_iam_policy.arn": (r) => arn("iam", "", `policy${r.path ?? "/"}${r.name}`),
  "aws_iam_role.arn": (r) => arn("iam", "", `role${r.path ?? "/"}${r.name}`),
  "aws_iam_role.name": (r) => r.name,
  "aws_iam_openid_connect_provider.arn": (r) => arn("iam", "", `oidc-provider/${new URL(r.url).host}`),
  "aws_kms_key.arn": (_, id) => arn("kms", AWS.region, `key/${id}`),
  "aws_lambda_function.arn": (r) => arn("lambda", AWS.region, `function:${r.function_name}`),
  "aws_lambda_function.function_name": (r) => r.function_name,
  "aws_s3_bucket.arn": (r) => `arn:${AWS.partition}:s3:::${r.bucket}`,
  "aws_scheduler_schedule_group.arn": (r) => arn("scheduler", AWS.region, `schedule-group/${r.name}`),
  "aws_sqs_queue.arn": (r) => arn("sqs", AWS.region, r.name),
};
const DATA: Record<string, string> = {
  "aws_partition.partition": AWS.partition,
  "aws_partition.dns_suffix": AWS.dnsSuffix,
  "aws_region.region": AWS.region,
  "aws_region.name": AWS.region,
  "aws_caller_identity.account_id": AWS.accountId,
  // The one HTTP API a lookup by name finds (src/state/state-stack.ts: the callers' HTTP policies).
  "aws_apigatewayv2_apis.ids": FOUND_API_ID,
};

/** Resolves the `${...}` expressions of `value` in `json`: references, `element(split(sep, x), n)` and `coalesce(one(ids), "...")`. */
export function resolve(json: TerraformJson, value: string): string {
  return value.replace(/\$\{([^}]+)\}/g, (_, expression: string) => evaluate(json, expression.trim()));
}

function evaluate(json: TerraformJson, expression: string): string {
  // coalesce(one(<a lookup's ids, as a list>), "<placeholder>"): the one id found.
  const found = /^coalesce\(one\((?:tolist\((.+)\)|(.+))\), ".*"\)$/.exec(expression);
  if (found) return evaluate(json, found[1] ?? found[2]);
  const element = /^element\(split\("(.*?)", (.+)\), (\d+)\)$/.exec(expression);
  if (element) return evaluate(json, element[2]).split(element[1])[Number(element[3])];
  const data = /^data\.([a-z0-9_]+)\.([^.]+)\.(.+)$/.exec(expression);
  if (data) {
    const [, type, id, attribute] = data;
    if (type === "aws_iam_policy_document" && attribute === "json") return JSON.stringify(policyDocument(json, json.data[type][id]));
    const known = DATA[`${type}.${attribute}`];
    if (known === undefined) throw new Error(`no value for data.${type}.${attribute} (add it to DATA in iam-simulation.ts)`);
    return known;
  }
  const reference = /^([a-z0-9_]+)\.([^.]+)\.(.+)$/.exec(expression);
  if (!reference) throw new Error(`cannot evaluate \${${expression}} (iam-simulation.ts knows references and element(split()))`);
  const [, type, id, attribute] = reference;
  const block = json.resource[type]?.[id];
  const attributeOf = ATTRIBUTES[`${type}.${attribute}`];
  if (!block || !attributeOf)
    throw new Error(`no value for ${type}.${id}.${attribute} (add ${type}.${attribute} to ATTRIBUTES in iam-simulation.ts)`);
  return resolve(json, attributeOf(block, id));
}

/** An `aws_iam_policy_document` data block as the IAM policy it renders, its references resolved. */
export function policyDocument(json: TerraformJson, document: Block): IamPolicy {
  const strings = (values?: string[]) => values?.map((value) => resolve(json, value));
  return {
    Version: "2012-10-17",
    Statement: (document.statement as Block[]).map((statement) => {
      const rendered: IamStatement = { Effect: statement.effect ?? "Allow" };
      if (statement.sid) rendered.Sid = statement.sid;
      for (const { type, identifiers } of statement.principals ?? []) {
        rendered.Principal ??= {};
        rendered.Principal[type === "*" ? "AWS" : type] = strings(identifiers)!;
      }
      if (statement.actions) rendered.Action = statement.actions;
      if (statement.not_actions) rendered.NotAction = statement.not_actions;
      if (statement.resources) rendered.Resource = strings(statement.resources);
      if (statement.not_resources) rendered.NotResource = strings(statement.not_resources);
      for (const { test, variable, values } of statement.condition ?? []) {
        rendered.Condition ??= {};
        rendered.Condition[test] ??= {};
        if (rendered.Condition[test][variable])
          throw new Error(`${statement.sid}: two ${test} conditions on ${variable} cannot be rendered as one`);
        rendered.Condition[test][variable] = strings(values)!;
      }
      return rendered;
    }),
  };
}

/** The policy a resource's attribute holds (`policy` of a role policy or managed policy), parsed. */
export const policyOf = (json: TerraformJson, policy: string): IamPolicy => JSON.parse(resolve(json, policy)) as IamPolicy;

const KEY_POLICY_DEFERRING_TO_IAM = {
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Principal: { AWS: `arn:${AWS.partition}:iam::${AWS.accountId}:root` }, Action: "kms:*", Resource: "*" }],
};

export type Decision = "Allowed" | "ExplicitlyDenied" | "ImplicitlyDenied";

export interface Request {
  readonly principal: string;
  readonly action: string;
  /** A concrete ARN, or "*" for actions that take no resource (or to ask for every resource). */
  readonly resource: string;
  readonly context?: Record<string, string | string[]>;
}

/**
 * What IAM decides for `request` made by a principal holding `identity` (and bounded by `boundary`), on a
 * resource whose own policy is `resourcePolicy` (a queue's, a role's trust policy) when given.
 * A request on "*" is allowed only if it is allowed on every resource: the engine answers per resource
 * pattern of the policies that match, and each must be "*" itself. Fails on anything the engine does not understand, and on context keys the action does not have
 * (a condition on such a key would never be met in AWS, so a test passing it would prove nothing).
 */
export async function decide(request: Request, identity: IamPolicy[], boundary?: IamPolicy, resourcePolicy?: IamPolicy): Promise<Decision> {
  if (request.resource !== "*" && request.resource.includes("*"))
    throw new Error(`${request.action}: ask about a concrete resource, not ${request.resource}`);
  const result = await runSimulation(
    {
      request: {
        principal: request.principal,
        action: request.action,
        resource: { resource: request.resource, accountId: AWS.accountId },
        // AWS puts the caller's ARN (a role's, for its sessions) into every request it authorizes.
        contextVariables: {
          ...(request.principal.startsWith("arn:") ? { "aws:PrincipalArn": request.principal } : {}),
          ...request.context,
        },
      },
      identityPolicies: identity.map((policy, index) => ({ name: `identity-${index}`, policy })),
      permissionBoundaryPolicies: boundary ? [{ name: "boundary", policy: boundary }] : undefined,
      // The service's key policies leave the decision to IAM policies of the account, as the default key policy does.
      resourcePolicy: resourcePolicy ?? (request.action.startsWith("kms:") ? KEY_POLICY_DEFERRING_TO_IAM : undefined),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
    },
    {},
  );
  const describe = () => `${request.action} on ${request.resource}`;
  if (result.resultType === "error") throw new Error(`${describe()}: ${JSON.stringify(result.errors)}`);
  if (result.resultType === "single") {
    const ignored = result.result.ignoredContextKeys ?? [];
    if (ignored.length > 0) throw new Error(`${describe()}: ${ignored.join(", ")} do not apply to this action`);
    return result.overallResult as Decision;
  }
  if (result.overallResult !== "Allowed") return result.overallResult as Decision;
  return result.results.every((r) => r.resourcePattern === "*" && r.analysis?.result === "Allowed") ? "Allowed" : "ImplicitlyDenied";
}

/**
 * One resource a statement's resource pattern stands for: each `*` becomes "sample" (a log group's
 * trailing `:*`, a log stream of it). A boundary that allows the sample allows more than a name: it
 * allows the pattern's shape, so a statement wider than the boundary (bucket/* against bucket/incoming/*) is refused.
 */
export function sampleOf(resource: string): string {
  if (resource === "*") return resource;
  return resource.replace(/(:log-group:[^*]*):\*$/, "$1:log-stream:sample").replace(/\*/g, "sample");
}

/** The context a statement's conditions ask for, from their first values: what the request must carry to match it. */
export function contextOf(statement: IamStatement): Record<string, string> {
  const context: Record<string, string> = {};
  for (const [operator, entries] of Object.entries(statement.Condition ?? {})) {
    if (operator.includes("Not")) continue;
    for (const [key, values] of Object.entries(entries)) context[key] = sampleOf(values[0]);
  }
  return context;
}

/** A role of a synthesized stack as IAM holds it: its ARN, boundary, the services that assume it and its policies. */
export interface SynthesizedRole {
  readonly name: string;
  readonly arn: string;
  readonly boundary?: string;
  /** Service principals of its trust policy. */
  readonly services: string[];
  readonly inlinePolicies: { name: string; policy: IamPolicy }[];
  readonly managedPolicyArns: string[];
}

/** The role `role` (a synthesized aws_iam_role block) of `json`, with the inline policies and attachments naming it. */
export function roleOf(json: TerraformJson, role: Block): SynthesizedRole {
  const name = resolve(json, role.name);
  const naming = (type: string) => Object.values(json.resource[type] ?? {}).filter((block) => resolve(json, block.role) === name);
  const trust = policyOf(json, role.assume_role_policy);
  return {
    name,
    arn: arn("iam", "", `role${role.path ?? "/"}${name}`),
    boundary: role.permissions_boundary === undefined ? undefined : resolve(json, role.permissions_boundary),
    services: trust.Statement.flatMap((statement) => statement.Principal?.Service ?? []),
    inlinePolicies: naming("aws_iam_role_policy").map((block) => ({ name: block.name, policy: policyOf(json, block.policy) })),
    managedPolicyArns: naming("aws_iam_role_policy_attachment").map((block) => resolve(json, block.policy_arn)),
  };
}

/** The managed policies attached to `role` that `json` makes itself (aws_iam_policy), as IAM holds them. */
export function managedPoliciesOf(json: TerraformJson, role: SynthesizedRole): IamPolicy[] {
  const byArn = new Map(
    Object.entries(json.resource.aws_iam_policy ?? {}).map(([id, block]) => [evaluate(json, `aws_iam_policy.${id}.arn`), block]),
  );
  return role.managedPolicyArns.map((policyArn) => {
    const block = byArn.get(policyArn);
    if (!block) throw new Error(`${role.name}: ${policyArn} is not made by this stack`);
    return policyOf(json, block.policy);
  });
}
