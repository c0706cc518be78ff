/**
 * The security-aware comparison of two synthesized apps (stack name -> cdk.tf.json), with no git, AWS
 * or terraform: elements matched by construct path, renamed constructs found as moves, the attributes
 * that make the AWS provider replace a resource marked, data at risk first, and IAM statements and
 * security-group rules compared as rows.
 */
import { HOLDS_DATA_OR_IDENTITY, type Json, POLICY_ATTRIBUTE, attributeRows } from "./plan-render";
import { type Block, type Element, type Statement, SynthesizedStack, type TerraformJson } from "../stacks/synthesized-stack";

export type Stacks = Record<string, TerraformJson>;

/**
 * Per resource type of these stacks, the arguments the AWS provider (hashicorp/aws 6.x) marks ForceNew:
 * changing one destroys the resource and creates a new one. Types not listed are never marked. (Since
 * provider 5.0 a DB instance's identifier is not among them: the provider renames the instance in place.)
 */
const REPLACED_WHEN_CHANGED: Record<string, readonly string[]> = {
  aws_cloudwatch_log_group: ["name", "name_prefix", "log_group_class"],
  aws_db_instance: [
    "engine",
    "db_name",
    "username",
    "kms_key_id",
    "storage_encrypted",
    "availability_zone",
    "backup_target",
    "character_set_name",
    "nchar_character_set_name",
    "snapshot_identifier",
    "restore_to_point_in_time",
    "timezone",
    "custom_iam_instance_profile",
  ],
  aws_db_parameter_group: ["name", "name_prefix", "family", "description"],
  aws_db_proxy: ["name", "engine_family", "vpc_subnet_ids"],
  aws_db_proxy_default_target_group: ["db_proxy_name"],
  aws_db_proxy_target: ["db_proxy_name", "target_group_name", "db_instance_identifier", "db_cluster_identifier"],
  aws_db_subnet_group: ["name", "name_prefix"],
  aws_default_security_group: ["vpc_id"],
  aws_eip: ["domain"],
  aws_flow_log: [
    "vpc_id",
    "subnet_id",
    "eni_id",
    "traffic_type",
    "log_destination",
    "log_destination_type",
    "iam_role_arn",
    "max_aggregation_interval",
    "log_format",
    "destination_options",
  ],
  aws_iam_openid_connect_provider: ["url"],
  aws_iam_policy: ["name", "name_prefix", "path", "description"],
  aws_iam_role: ["name", "name_prefix", "path"],
  aws_iam_role_policy: ["name", "name_prefix", "role"],
  aws_iam_role_policy_attachment: ["role", "policy_arn"],
  aws_kms_alias: ["name", "name_prefix"],
  aws_kms_key: ["customer_master_key_spec", "key_usage", "multi_region", "custom_key_store_id", "xks_key_id"],
  aws_lambda_function: ["function_name", "package_type"],
  aws_lambda_invocation: ["function_name", "qualifier", "triggers"],
  aws_nat_gateway: ["allocation_id", "subnet_id", "connectivity_type", "private_ip"],
  aws_route: ["route_table_id", "destination_cidr_block", "destination_ipv6_cidr_block", "destination_prefix_list_id"],
  aws_route_table: ["vpc_id"],
  aws_route_table_association: ["subnet_id", "gateway_id"],
  aws_s3_bucket: ["bucket", "bucket_prefix", "object_lock_enabled"],
  aws_s3_bucket_lifecycle_configuration: ["bucket", "expected_bucket_owner"],
  aws_s3_bucket_ownership_controls: ["bucket"],
  aws_s3_bucket_policy: ["bucket"],
  aws_s3_bucket_public_access_block: ["bucket"],
  aws_s3_bucket_server_side_encryption_configuration: ["bucket", "expected_bucket_owner"],
  aws_s3_bucket_versioning: ["bucket", "expected_bucket_owner"],
  aws_secretsmanager_secret: ["name", "name_prefix"],
  aws_security_group: ["name", "name_prefix", "description", "vpc_id"],
  aws_security_group_rule: [
    "type",
    "protocol",
    "from_port",
    "to_port",
    "cidr_blocks",
    "ipv6_cidr_blocks",
    "prefix_list_ids",
    "source_security_group_id",
    "self",
    "security_group_id",
  ],
  aws_sqs_queue: ["name", "name_prefix", "fifo_queue"],
  aws_subnet: ["vpc_id", "cidr_block", "availability_zone", "availability_zone_id", "outpost_arn"],
  aws_vpc: ["cidr_block", "ipv4_ipam_pool_id", "ipv4_netmask_length"],
  aws_vpc_endpoint: ["vpc_id", "service_name", "vpc_endpoint_type", "service_region"],
  aws_vpc_security_group_egress_rule: ["security_group_id"],
  aws_vpc_security_group_ingress_rule: ["security_group_id"],
  terraform_data: ["triggers_replace"],
};

/** Settings that keep data from being destroyed, with the value that protects. */
const PROTECTIONS: Record<string, string> = {
  deletion_protection: "true",
  "lifecycle.prevent_destroy": "true",
  skip_final_snapshot: "false",
  force_destroy: "false",
};
const ENCRYPTION_TYPES = new Set(["aws_kms_key", "aws_kms_alias", "aws_kms_grant", "aws_s3_bucket_server_side_encryption_configuration"]);
const ENCRYPTION_ATTRIBUTE = /kms|encrypt|(^|_)(sse|tls|ssl|ca_cert)(_|$)/;
const EXPOSURE_ATTRIBUTE = /^(publicly_accessible|map_public_ip_on_launch|associate_public_ip_address)$/;

/** What makes a change security-relevant; any of them is exit status 4. */
const CONCERNS = ["data loss", "IAM", "security groups", "encryption", "public exposure"] as const;
export type Concern = (typeof CONCERNS)[number];

export interface AttributeChange {
  attribute: string;
  before: string;
  after: string;
  replaces: boolean;
}

export interface ElementChange {
  stack: string;
  kind: "added" | "removed" | "changed" | "moved";
  /** Construct path below the stack (the new one, for a move). */
  path: string;
  /** Where a moved element was. */
  from?: string;
  type: string;
  mode: Element["mode"];
  /** Why Terraform destroys and recreates it, when it does. */
  replacedBecause?: string;
  attributes: AttributeChange[];
  concerns: Concern[];
}

export interface DataRisk {
  stack: string;
  path: string;
  type: string;
  /** What it holds, e.g. "database instance". */
  holds: string;
  what: string;
}

export interface IamRow {
  stack: string;
  change: "added" | "removed";
  /** The role, policy or resource the statement applies to (its construct path). */
  owner: string;
  /** Where the statement is written: the policy, attachment or trust policy. */
  source: string;
  statement: Statement;
}

export interface RuleRow {
  stack: string;
  change: "added" | "removed";
  group: string;
  direction: "ingress" | "egress";
  protocol: string;
  ports: string;
  peer: string;
}

export interface Review {
  stacks: { stack: string; changes: ElementChange[] }[];
  dataRisks: DataRisk[];
  iam: IamRow[];
  rules: RuleRow[];
  concerns: Concern[];
}

/** 0: nothing changed; 3: only changes without a concern; 4: data loss, IAM, security groups, encryption or exposure. */
export function reviewExitStatus(review: Review): 0 | 3 | 4 {
  if (review.concerns.length > 0) return 4;
  return review.stacks.some(({ changes }) => changes.length > 0) ? 3 : 0;
}

/** Compares every stack of two synthesized apps. */
export function reviewInfrastructure(base: Stacks, head: Stacks): Review {
  const names = [...new Set([...Object.keys(base), ...Object.keys(head)])].sort();
  const compared = names.map((name) =>
    compareStack(new SynthesizedStack(name, base[name] ?? {}), new SynthesizedStack(name, head[name] ?? {})),
  );
  const dataRisks = compared.flatMap((stack) => stack.dataRisks);
  const holdsOrder = Object.keys(HOLDS_DATA_OR_IDENTITY);
  dataRisks.sort((a, b) => holdsOrder.indexOf(a.type) - holdsOrder.indexOf(b.type));
  const iam = compared.flatMap((stack) => stack.iam);
  const rules = compared.flatMap((stack) => stack.rules);
  const raised = new Set([
    ...compared.flatMap((stack) => stack.changes.flatMap((change) => change.concerns)),
    ...(iam.length > 0 ? ["IAM" as const] : []),
    ...(rules.length > 0 ? ["security groups" as const] : []),
  ]);
  return {
    stacks: compared.map(({ stack, changes }) => ({ stack, changes })),
    dataRisks,
    iam,
    rules,
    concerns: CONCERNS.filter((concern) => raised.has(concern)),
  };
}

type Rename = (path: string) => string;
const samePath: Rename = (path) => path;

/** JSON with object keys sorted, so that equal values give equal text. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object") {
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonical((value as Record<string, unknown>)[key])}`)
      .join(",")}}`;
  }
  return JSON.stringify(value);
}

function readableStatement(stack: SynthesizedStack, statement: Statement, rename: Rename): Statement {
  const text = (values: string[]) => values.map((value) => stack.readable(value, rename)).sort();
  return {
    ...statement,
    actions: text(statement.actions),
    notActions: text(statement.notActions),
    resources: text(statement.resources),
    notResources: text(statement.notResources),
    principals: text(statement.principals),
    notPrincipals: text(statement.notPrincipals),
    conditions: text(statement.conditions),
  };
}

/**
 * An element's arguments as compared: references replaced by construct paths (of the head, through
 * `rename`), and policy attributes replaced by their statements, so a changed policy document shows on
 * the policy that uses it.
 */
function normalized(stack: SynthesizedStack, element: Element, rename: Rename): Json {
  const walk = (value: Json, key?: string): Json => {
    if (typeof value === "string") {
      if (key && POLICY_ATTRIBUTE.test(key))
        return canonical(stack.statementsOf(value).map((statement) => readableStatement(stack, statement, rename)));
      return stack.readable(value, rename);
    }
    if (Array.isArray(value)) return value.map((item) => walk(item, key));
    if (value !== null && typeof value === "object")
      return Object.fromEntries(Object.entries(value).map(([inner, item]) => [inner, walk(item, inner)]));
    return value;
  };
  return walk(element.block);
}

/** A whole-value reference as the construct path it names; anything else as readable text. */
function named(stack: SynthesizedStack, value: Json | undefined, rename: Rename): string {
  const target = stack.referenced(value);
  return target ? rename(target.element.path) : stack.readable(String(value), rename);
}

/** Every IAM statement of a stack as compared: construct paths for references, and where it applies and is written. */
function iamStatements(stack: SynthesizedStack, rename: Rename): Omit<IamRow, "stack" | "change">[] {
  return stack.iamStatements().map(({ owner, source, part, statement }) => ({
    owner: typeof owner === "string" ? stack.readable(owner, rename) : rename(owner.path),
    source: `${rename(source.path)}${part ? ` (${part})` : ""}`,
    statement: readableStatement(stack, statement, rename),
  }));
}

function ruleRows(stack: SynthesizedStack, rename: Rename): Omit<RuleRow, "stack" | "change">[] {
  return stack.securityGroupRules().map((rule) => ({
    group: named(stack, rule.group, rename),
    direction: rule.direction,
    protocol: rule.protocol,
    ports: rule.ports,
    peer: named(stack, rule.peer, rename),
  }));
}

/** The rows of each side that the other side lacks. */
function rowDifference<T>(before: T[], after: T[], key: (row: T) => string): { removed: T[]; added: T[] } {
  const beforeKeys = new Set(before.map(key));
  const afterKeys = new Set(after.map(key));
  return { removed: before.filter((row) => !afterKeys.has(key(row))), added: after.filter((row) => !beforeKeys.has(key(row))) };
}

/**
 * Pairs elements that left one path with elements that arrived at another when, with references to
 * earlier pairs renamed, their arguments are the same: a renamed construct (or its parent). Repeats
 * until no new pair appears, since renaming a parent renames children that refer to each other.
 */
function findMoves(
  before: SynthesizedStack,
  after: SynthesizedStack,
  beforeByPath: Map<string, Element>,
  afterByPath: Map<string, Element>,
): Map<string, string> {
  const moves = new Map<string, string>();
  const rename: Rename = (path) => moves.get(path) ?? path;
  const signature = (stack: SynthesizedStack, element: Element, names: Rename) =>
    `${element.mode} ${element.type} ${canonical(normalized(stack, element, names))}`;
  for (let found = true; found; ) {
    found = false;
    const arrived = new Set(moves.values());
    const waiting = new Map<string, Element[]>();
    for (const element of afterByPath.values()) {
      if (beforeByPath.has(element.path) || arrived.has(element.path)) continue;
      const key = signature(after, element, samePath);
      waiting.set(key, [...(waiting.get(key) ?? []), element]);
    }
    for (const element of beforeByPath.values()) {
      if (afterByPath.has(element.path) || moves.has(element.path)) continue;
      const match = waiting.get(signature(before, element, rename))?.shift();
      if (!match) continue;
      moves.set(element.path, match.path);
      found = true;
    }
  }
  return moves;
}

function concernsOf(type: string, kind: ElementChange["kind"], replaced: boolean, attributes: AttributeChange[]): Concern[] {
  const changed = (pattern: RegExp) => attributes.some((row) => row.attribute.split(/[.[\]]/).some((step) => pattern.test(step)));
  const holds = HOLDS_DATA_OR_IDENTITY[type] !== undefined;
  const found: Concern[] = [];
  if ((holds && (kind === "removed" || replaced)) || attributes.some((row) => weakened(row))) found.push("data loss");
  if (type.startsWith("aws_iam_") || changed(POLICY_ATTRIBUTE)) found.push("IAM");
  if (type.includes("security_group") || changed(/security_group/)) found.push("security groups");
  if (ENCRYPTION_TYPES.has(type) || changed(ENCRYPTION_ATTRIBUTE)) found.push("encryption");
  if (changed(EXPOSURE_ATTRIBUTE)) found.push("public exposure");
  return found;
}

const weakened = (row: AttributeChange) =>
  PROTECTIONS[row.attribute] !== undefined && row.before === PROTECTIONS[row.attribute] && row.after !== PROTECTIONS[row.attribute];

function attributeChanges(before: Json, after: Json, element: Element): AttributeChange[] {
  const replacePaths = (REPLACED_WHEN_CHANGED[element.type] ?? []).map((attribute) => [attribute]);
  const rows = attributeRows(
    { address: element.address, type: element.type, change: { actions: ["update"], before, after, replace_paths: replacePaths } },
    "update",
  );
  // A policy's statements are compared row by row in the IAM table; here they are only counted.
  const statementCount = (text: string) => {
    const count = (JSON.parse(JSON.parse(text) as string) as unknown[]).length;
    return `${count} statement${count === 1 ? "" : "s"}`;
  };
  return rows.map(({ attribute, before: was = "null", after: now, forcesReplacement }) => {
    const policy =
      POLICY_ATTRIBUTE.test(
        attribute
          .split(/[.[\]]/)
          .filter(Boolean)
          .at(-1) ?? "",
      ) &&
      was !== "null" &&
      now !== "null";
    return {
      attribute,
      before: policy ? statementCount(was) : was,
      after: policy ? statementCount(now) : now,
      replaces: forcesReplacement,
    };
  });
}

/** Providers, the terraform block (backend, versions) and outputs, compared like elements under their own names. */
function settingsOf({ json }: SynthesizedStack): Element[] {
  const setting = (type: string, name: string, block: Block): Element => ({
    address: `${type}.${name}`,
    mode: "setting",
    type,
    path: `${type} ${name}`,
    block,
  });
  return [
    ...Object.entries(json.provider ?? {}).map(([name, blocks]) => setting("provider", name, { [name]: blocks })),
    ...(json.terraform ? [setting("terraform", "block", json.terraform)] : []),
    ...Object.entries(json.output ?? {}).map(([name, block]) => setting("output", name, block)),
  ];
}

interface StackComparison {
  stack: string;
  changes: ElementChange[];
  dataRisks: DataRisk[];
  iam: IamRow[];
  rules: RuleRow[];
}

function compareStack(before: SynthesizedStack, after: SynthesizedStack): StackComparison {
  const stack = after.name;
  // Policy documents are compared through the policies that use them.
  const compared = (side: SynthesizedStack) =>
    new Map(
      [...side.elements.filter((element) => element.type !== "aws_iam_policy_document"), ...settingsOf(side)].map((element) => [
        element.path,
        element,
      ]),
    );
  const beforeByPath = compared(before);
  const afterByPath = compared(after);
  const moves = findMoves(before, after, beforeByPath, afterByPath);
  const rename: Rename = (path) => moves.get(path) ?? path;
  const movedBlocks = new Set((after.json.moved ?? []).map(({ from, to }) => `${from} ${to}`));

  const changes: ElementChange[] = [];
  const matched = new Set<string>();
  for (const element of beforeByPath.values()) {
    const path = rename(element.path);
    const now = afterByPath.get(path);
    const change = { stack, path, type: element.type, mode: element.mode };
    if (!now || now.type !== element.type || now.mode !== element.mode) {
      changes.push({
        ...change,
        path: element.path,
        kind: "removed",
        attributes: [],
        concerns: concernsOf(element.type, "removed", false, []),
      });
      continue;
    }
    matched.add(path);
    const attributes = attributeChanges(normalized(before, element, rename), normalized(after, now, samePath), now);
    const addressLost =
      element.mode === "managed" && element.address !== now.address && !movedBlocks.has(`${element.address} ${now.address}`);
    const forcing = attributes.filter((row) => row.replaces).map((row) => row.attribute);
    const replacedBecause = addressLost
      ? `its Terraform address changes (${element.address} -> ${now.address}) and no moved block carries its state over`
      : forcing.length > 0
        ? `${forcing.join(", ")} cannot change in place`
        : undefined;
    const kind = path !== element.path ? "moved" : "changed";
    if (kind === "changed" && attributes.length === 0 && !replacedBecause) continue;
    changes.push({
      ...change,
      kind,
      ...(kind === "moved" ? { from: element.path } : {}),
      ...(replacedBecause ? { replacedBecause } : {}),
      attributes,
      concerns: concernsOf(element.type, kind, replacedBecause !== undefined, attributes),
    });
  }
  for (const element of afterByPath.values()) {
    if (matched.has(element.path)) continue;
    changes.push({
      stack,
      path: element.path,
      type: element.type,
      mode: element.mode,
      kind: "added",
      attributes: [],
      concerns: concernsOf(element.type, "added", false, []),
    });
  }
  changes.sort((a, b) => a.path.localeCompare(b.path));

  const dataRisks = changes.flatMap((change): DataRisk[] => {
    const holds = HOLDS_DATA_OR_IDENTITY[change.type];
    const weaker = change.attributes.filter(weakened).map((row) => `protection weakened: ${row.attribute} ${row.before} -> ${row.after}`);
    const lost =
      holds && change.kind === "removed"
        ? ["destroyed: no longer in the configuration"]
        : holds && change.replacedBecause
          ? [`replaced: ${change.replacedBecause}`]
          : [];
    return [...lost, ...weaker].map((what) => ({ stack, path: change.path, type: change.type, holds: holds ?? change.type, what }));
  });

  const statementKey = (row: Omit<IamRow, "stack" | "change">) => canonical([row.owner, row.source, { ...row.statement, sid: undefined }]);
  const iam = rowDifference(iamStatements(before, rename), iamStatements(after, samePath), statementKey);
  const ruleKey = (row: Omit<RuleRow, "stack" | "change">) => canonical(row);
  const rules = rowDifference(ruleRows(before, rename), ruleRows(after, samePath), ruleKey);
  const marked = <T>(rows: { removed: T[]; added: T[] }) => [
    ...rows.removed.map((row) => ({ ...row, stack, change: "removed" as const })),
    ...rows.added.map((row) => ({ ...row, stack, change: "added" as const })),
  ];
  // Per subject, what was removed before what was added.
  const wasThenIs = (row: { change: "added" | "removed" }) => (row.change === "removed" ? "0" : "1");
  const by =
    <T>(...keys: ((row: T) => string)[]) =>
    (a: T, b: T) =>
      keys.reduce((order, key) => order || key(a).localeCompare(key(b)), 0);
  return {
    stack,
    changes,
    dataRisks,
    iam: marked(iam).sort(
      by<IamRow>(
        (row) => row.owner,
        (row) => row.source,
        wasThenIs,
      ),
    ),
    rules: marked(rules).sort(
      by<RuleRow>(
        (row) => row.group,
        (row) => row.direction,
        wasThenIs,
      ),
    ),
  };
}
