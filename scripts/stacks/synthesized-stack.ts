/**
 * One synthesized stack (cdktf.out/stacks/<stack>/cdk.tf.json) read the way a reviewer thinks of it:
 * elements by construct path, the references between them, IAM statements and security-group rules.
 * The infrastructure review and the diagrams both read stacks through this.
 */
import { UNKNOWN } from "./attribute-diff";
import { POLICY_ATTRIBUTE } from "./security-rules";
import type { Json } from "./terraform-plan";

export type Block = { [key: string]: Json };
type Blocks = Record<string, Record<string, Block>>;

export interface TerraformJson {
  resource?: Blocks;
  data?: Blocks;
  provider?: Record<string, Json>;
  terraform?: Block;
  output?: Record<string, Block>;
  moved?: { from: string; to: string }[];
}

/** Terraform address ("aws_vpc.network_vpc_1A2B") to construct path ("dev/network/vpc"), from the `//` metadata cdktf writes. */
export function constructPathsOf(synthesized: { resource?: Blocks; data?: Blocks }): Record<string, string> {
  const paths: Record<string, string> = {};
  for (const [prefix, blocks] of [
    ["", synthesized.resource],
    ["data.", synthesized.data],
  ] as const) {
    for (const [type, byName] of Object.entries(blocks ?? {})) {
      for (const [name, block] of Object.entries(byName)) {
        const path = (block["//"] as { metadata?: { path?: string } } | undefined)?.metadata?.path;
        if (path) paths[`${prefix}${type}.${name}`] = path;
      }
    }
  }
  return paths;
}

export interface Element {
  /** Terraform address: "aws_db_instance.database_instance_D7FC2283", "data.aws_region.aws-context_region_DEC3537F". */
  address: string;
  /** "setting": a provider, the terraform block (backend) or an output, which the review compares too. */
  mode: "managed" | "data" | "setting";
  type: string;
  /** Construct path below the stack: "database/instance". */
  path: string;
  /** The arguments, without cdktf's `//` metadata. */
  block: Block;
}

/** One IAM statement, every list sorted so that equal statements compare equal; references left as written. */
export interface Statement {
  sid?: string;
  effect: string;
  actions: string[];
  notActions: string[];
  resources: string[];
  notResources: string[];
  /** "Service:lambda.amazonaws.com", "Federated:...", "*". */
  principals: string[];
  notPrincipals: string[];
  /** "StringEquals aws:SourceAccount 111111111111 | 222222222222". */
  conditions: string[];
}

/** A statement with where it applies and where it is written. */
export interface PlacedStatement {
  /** The role, user, group or bucket a policy is attached to (its element, or the name written), else the element holding the policy. */
  owner: Element | string;
  /** The element the statement is written in. */
  source: Element;
  /** "trust" for a role's trust policy, "inline <name>" for an inline policy. */
  part?: string;
  statement: Statement;
}

export interface SecurityGroupRule {
  /** The rule's own element, or the group's for a rule written inline in the group. */
  element: Element;
  direction: "ingress" | "egress";
  /** The group the rule belongs to, as written (a reference, usually). */
  group: string;
  /** "tcp", "udp", "icmp", "all". */
  protocol: string;
  /** "3306", "1024-65535", "all". */
  ports: string;
  fromPort?: number;
  toPort?: number;
  /** The other end, as written: a group reference, a CIDR block, a prefix list, or "self". */
  peer: string;
}

const ADDRESS = /(?:data\.)?[a-z][a-z0-9_]*\.[A-Za-z0-9_-]+/g;
const WHOLE_REFERENCE = /^\$\{((?:data\.)?[a-z][a-z0-9_]*\.[A-Za-z0-9_-]+)([.[].*)?\}$/;
/** A nested block (at most one): an object as synthesized, a list of one in a plan, undefined while a plan does not know it. */
export const singleBlock = (value: Json | undefined): Block | undefined => (Array.isArray(value) ? value[0] : value) as Block | undefined;

/** A value or list of values as a list of strings. */
export const list = (value: Json | undefined): string[] =>
  value === undefined || value === null ? [] : Array.isArray(value) ? value.map(String) : [String(value)];
const sorted = (values: string[]) => [...values].sort();

export class SynthesizedStack {
  readonly elements: Element[];
  private readonly byAddress: Map<string, Element>;

  constructor(
    readonly name: string,
    readonly json: TerraformJson,
  ) {
    const paths = constructPathsOf(json);
    const elementsOf = (mode: Element["mode"], blocks: Blocks | undefined) =>
      Object.entries(blocks ?? {}).flatMap(([type, byName]) =>
        Object.entries(byName).map(([name, { "//": _, ...block }]) => {
          const address = `${mode === "data" ? "data." : ""}${type}.${name}`;
          const fullPath = paths[address] ?? address;
          return { address, mode, type, path: fullPath.slice(fullPath.indexOf("/") + 1), block };
        }),
      );
    this.elements = [...elementsOf("managed", json.resource), ...elementsOf("data", json.data)];
    this.byAddress = new Map(this.elements.map((element) => [element.address, element]));
  }

  ofType(type: string): Element[] {
    return this.elements.filter((element) => element.type === type && element.mode === "managed");
  }

  /** The element a whole-value reference such as "${aws_iam_role.r.name}" points to, and the rest of the reference. */
  referenced(value: Json | undefined): { element: Element; attribute: string } | undefined {
    const match = typeof value === "string" ? WHOLE_REFERENCE.exec(value) : null;
    const element = match ? this.byAddress.get(match[1]) : undefined;
    return element ? { element, attribute: (match![2] ?? "").replace(/^\./, "") } : undefined;
  }

  /** Every element a text mentions, in order. */
  mentions(text: string): Element[] {
    return [...text.matchAll(ADDRESS)].flatMap(([address]) => this.byAddress.get(address) ?? []);
  }

  /** The text with every address of this stack replaced by its construct path (renamed by `rename`, for paths that moved). */
  readable(text: string, rename: (path: string) => string = (path) => path): string {
    return text.replace(ADDRESS, (address) => {
      const element = this.byAddress.get(address);
      return element ? rename(element.path) : address;
    });
  }

  /**
   * The statements of a policy attribute: a reference to an aws_iam_policy_document's json, or inline
   * JSON. A policy a plan knows only after apply is one statement of effect "(known after apply)";
   * anything else (an expression) is one statement of effect "unparsed" holding the text.
   */
  statementsOf(policy: Json | undefined): Statement[] {
    if (policy === UNKNOWN) return [{ ...EMPTY_STATEMENT, effect: UNKNOWN }];
    const document = this.referenced(policy);
    if (document?.element.type === "aws_iam_policy_document" && document.attribute === "json")
      return this.documentStatements(document.element);
    try {
      const parsed = JSON.parse(String(policy)) as { Statement?: Block | Block[] };
      return [parsed.Statement ?? []].flat().map(jsonStatement);
    } catch {
      return [{ ...EMPTY_STATEMENT, effect: "unparsed", resources: [String(policy)] }];
    }
  }

  private documentStatements(document: Element): Statement[] {
    // Merged documents would hide statements from the review; refuse rather than under-report.
    for (const merged of ["source_policy_documents", "override_policy_documents", "source_json", "override_json"]) {
      if (document.block[merged] !== undefined)
        throw new Error(`${this.name}: ${document.path} uses ${merged}, which this reader does not follow`);
    }
    const principals = (value: Json | undefined) =>
      ((value ?? []) as Block[]).flatMap((principal) =>
        list(principal.identifiers).map((id) => (principal.type === "*" ? id : `${principal.type}:${id}`)),
      );
    const conditions = (value: Json | undefined) =>
      ((value ?? []) as Block[]).map(
        (condition) => `${condition.test} ${condition.variable} ${sorted(list(condition.values)).join(" | ")}`,
      );
    return ((document.block.statement ?? []) as Block[]).map((statement) =>
      statementFrom(statement, DOCUMENT_NAMES, principals, conditions),
    );
  }

  /**
   * Every IAM statement of the stack: policy attributes (a role's trust policy, role and managed policies,
   * bucket, key, queue and endpoint policies), inline policies, policy attachments as statements of
   * effect "Attach" whose resource is the attached policy, and Lambda permissions and KMS grants as the
   * Allow statements they amount to.
   */
  iamStatements(): PlacedStatement[] {
    return this.elements
      .filter((element) => element.mode === "managed")
      .flatMap((element) => {
        const attribute = OWNER_ATTRIBUTES.find((name) => element.block[name] !== undefined);
        const owner = attribute ? (this.referenced(element.block[attribute])?.element ?? String(element.block[attribute])) : element;
        const placed = Object.entries(element.block)
          .filter(([key]) => POLICY_ATTRIBUTE.test(key))
          .flatMap(([key, policy]) =>
            this.statementsOf(policy).map((statement) => ({
              owner,
              source: element,
              ...(key === "assume_role_policy" ? { part: "trust" } : {}),
              statement,
            })),
          );
        for (const inline of (element.block.inline_policy ?? []) as Block[]) {
          placed.push(
            ...this.statementsOf(inline.policy).map((statement) => ({
              owner,
              source: element,
              part: `inline ${inline.name ?? ""}`.trim(),
              statement,
            })),
          );
        }
        if (element.type.endsWith("_policy_attachment"))
          placed.push({
            owner,
            source: element,
            statement: { ...EMPTY_STATEMENT, effect: "Attach", resources: [String(element.block.policy_arn)] },
          });
        if (element.type === "aws_lambda_permission")
          placed.push({ owner, source: element, part: "permission", statement: permissionStatement(element.block) });
        if (element.type === "aws_kms_grant")
          placed.push({ owner, source: element, part: "grant", statement: grantStatement(element.block) });
        return placed;
      });
  }

  /** The groups an element is a member of (vpc_security_group_ids, security_group_ids, ..., at any depth). */
  securityGroupsOf(element: Element): Element[] {
    const found: Element[] = [];
    const walk = (value: Json, key?: string) => {
      if (Array.isArray(value)) for (const item of value) walk(item, key);
      else if (value !== null && typeof value === "object") for (const [inner, item] of Object.entries(value)) walk(item, inner);
      else if (key && /security_group(_id)?s$/.test(key))
        found.push(...this.mentions(String(value)).filter((group) => group.type.endsWith("security_group")));
    };
    walk(element.block);
    return found;
  }

  /**
   * Every security-group rule: standalone rules of both kinds and rules written inline in a group. A
   * group's inline rules that a plan knows only after apply (a new group's) are one rule whose
   * protocol, ports and peer are "(known after apply)".
   */
  securityGroupRules(): SecurityGroupRule[] {
    const rule = (
      element: Element,
      direction: SecurityGroupRule["direction"],
      group: Json,
      protocol: Json,
      from: Json,
      to: Json,
      peer: string,
    ): SecurityGroupRule => {
      const proto = ["-1", "all"].includes(String(protocol)) ? "all" : String(protocol).toLowerCase();
      const [fromPort, toPort] = [from, to].map((port) => (port === undefined || port === null ? undefined : Number(port)));
      const ports = proto === "all" || fromPort === undefined ? "all" : fromPort === toPort ? String(fromPort) : `${fromPort}-${toPort}`;
      return { element, direction, group: String(group), protocol: proto, ports, fromPort, toPort, peer };
    };
    const peersOf = (block: Block, self: string) => [
      ...list(block.source_security_group_id ?? block.security_groups),
      ...list(block.cidr_blocks),
      ...list(block.ipv6_cidr_blocks),
      ...list(block.prefix_list_ids),
      ...(block.self === true ? [self] : []),
    ];
    return this.elements.flatMap((element): SecurityGroupRule[] => {
      const { block } = element;
      const standalone = /^aws_vpc_security_group_(ingress|egress)_rule$/.exec(element.type);
      if (standalone) {
        const peer = block.referenced_security_group_id ?? block.cidr_ipv4 ?? block.cidr_ipv6 ?? block.prefix_list_id;
        return [
          rule(
            element,
            standalone[1] as SecurityGroupRule["direction"],
            block.security_group_id,
            block.ip_protocol,
            block.from_port,
            block.to_port,
            String(peer),
          ),
        ];
      }
      if (element.type === "aws_security_group_rule") {
        return peersOf(block, String(block.security_group_id)).map((peer) =>
          rule(
            element,
            block.type as SecurityGroupRule["direction"],
            block.security_group_id,
            block.protocol,
            block.from_port,
            block.to_port,
            peer,
          ),
        );
      }
      if (element.mode === "managed" && ["aws_security_group", "aws_default_security_group"].includes(element.type)) {
        const self = `\${${element.address}.id}`;
        return (["ingress", "egress"] as const).flatMap((direction) => {
          const inlines = block[direction] ?? [];
          if (!Array.isArray(inlines)) return [{ ...rule(element, direction, self, UNKNOWN, null, null, UNKNOWN), ports: UNKNOWN }];
          return (inlines as Block[]).flatMap((inline) =>
            peersOf(inline, self).map((peer) => rule(element, direction, self, inline.protocol, inline.from_port, inline.to_port, peer)),
          );
        });
      }
      return [];
    });
  }
}

/** Where a policy, permission or grant names what it applies to: a role's, a bucket's, a queue's, an endpoint's, a function's, a key's. */
const OWNER_ATTRIBUTES = ["role", "user", "group", "bucket", "queue_url", "vpc_endpoint_id", "function_name", "key_id"];

/** A Lambda permission as the statement it adds to the function's resource policy. */
function permissionStatement(block: Block): Statement {
  const principal = String(block.principal);
  const conditions = [
    ...list(block.source_arn).map((arn) => `ArnLike AWS:SourceArn ${arn}`),
    ...list(block.source_account).map((account) => `StringEquals AWS:SourceAccount ${account}`),
    ...list(block.principal_org_id).map((org) => `StringEquals aws:PrincipalOrgID ${org}`),
  ];
  return {
    ...EMPTY_STATEMENT,
    effect: "Allow",
    actions: list(block.action),
    principals: [principal.endsWith(".amazonaws.com") ? `Service:${principal}` : principal === "*" ? "*" : `AWS:${principal}`],
    resources: [block.qualifier ? `${block.function_name}:${block.qualifier}` : String(block.function_name)],
    conditions: sorted(conditions),
  };
}

/** A KMS grant as the statement it amounts to: the grantee may call the operations on the key. */
function grantStatement(block: Block): Statement {
  const constraints = ((block.constraints ?? []) as Block[]).flatMap((constraint) =>
    Object.entries(constraint).flatMap(([test, context]) =>
      Object.entries((context ?? {}) as Block).map(([key, value]) => `${test} kms:EncryptionContext:${key} ${value}`),
    ),
  );
  return {
    ...EMPTY_STATEMENT,
    effect: "Allow",
    actions: sorted(list(block.operations).map((operation) => `kms:${operation}`)),
    principals: [`AWS:${block.grantee_principal}`],
    resources: [String(block.key_id)],
    conditions: sorted(constraints),
  };
}

const EMPTY_STATEMENT: Statement = {
  effect: "",
  actions: [],
  notActions: [],
  resources: [],
  notResources: [],
  principals: [],
  notPrincipals: [],
  conditions: [],
};

type StatementNames = Record<Exclude<keyof Statement, "sid" | "effect"> | "sid" | "effect", string>;
/** Where each part of a statement is, in aws_iam_policy_document's arguments and in policy JSON. */
const DOCUMENT_NAMES: StatementNames = {
  sid: "sid",
  effect: "effect",
  actions: "actions",
  notActions: "not_actions",
  resources: "resources",
  notResources: "not_resources",
  principals: "principals",
  notPrincipals: "not_principals",
  conditions: "condition",
};
const JSON_NAMES: StatementNames = {
  sid: "Sid",
  effect: "Effect",
  actions: "Action",
  notActions: "NotAction",
  resources: "Resource",
  notResources: "NotResource",
  principals: "Principal",
  notPrincipals: "NotPrincipal",
  conditions: "Condition",
};

/** A statement from its parts as written, with principals and conditions read by the given functions; every list sorted. */
function statementFrom(
  raw: Block,
  names: StatementNames,
  principals: (value: Json | undefined) => string[],
  conditions: (value: Json | undefined) => string[],
): Statement {
  return {
    ...(raw[names.sid] ? { sid: String(raw[names.sid]) } : {}),
    effect: String(raw[names.effect] ?? "Allow"),
    actions: sorted(list(raw[names.actions])),
    notActions: sorted(list(raw[names.notActions])),
    resources: sorted(list(raw[names.resources])),
    notResources: sorted(list(raw[names.notResources])),
    principals: sorted(principals(raw[names.principals])),
    notPrincipals: sorted(principals(raw[names.notPrincipals])),
    conditions: sorted(conditions(raw[names.conditions])),
  };
}

/** A statement of an inline JSON policy document, in the same shape as aws_iam_policy_document's. */
function jsonStatement(statement: Block): Statement {
  const principals = (value: Json | undefined) =>
    value === "*" ? ["*"] : Object.entries((value ?? {}) as Block).flatMap(([type, ids]) => list(ids).map((id) => `${type}:${id}`));
  const conditions = (value: Json | undefined) =>
    Object.entries((value ?? {}) as Record<string, Block>).flatMap(([test, byVariable]) =>
      Object.entries(byVariable).map(([variable, values]) => `${test} ${variable} ${sorted(list(values)).join(" | ")}`),
    );
  return statementFrom(statement, JSON_NAMES, principals, conditions);
}
