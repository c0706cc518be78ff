/**
 * The one set of security rules that the plan comment and `npm run review` share: what holds data or
 * identity, what is IAM (policies, trust, and the resource policies and permissions that grant access
 * the same way), what is a security-group rule, which attribute changes weaken protection, encryption
 * or exposure, and when an IAM statement or a rule change widens access rather than narrows it.
 */
import { UNKNOWN } from "./attribute-diff";
import type { Statement } from "./synthesized-stack";

/** Replacing or destroying these loses data or an identity others depend on. */
export const HOLDS_DATA_OR_IDENTITY: Record<string, string> = {
  aws_db_instance: "database instance",
  aws_rds_cluster: "database cluster",
  aws_kms_key: "KMS key (what it encrypted becomes unreadable)",
  aws_s3_bucket: "bucket (state or data)",
  aws_cloudwatch_log_group: "log group (its logs go with it)",
  aws_secretsmanager_secret: "secret",
  aws_dynamodb_table: "table",
  aws_sqs_queue: "queue (its messages go with it)",
  aws_iam_openid_connect_provider: "OIDC provider (CI identity)",
};

/** Attributes that hold a policy document (a role's trust, a bucket's, key's, queue's or endpoint's policy). */
export const POLICY_ATTRIBUTE = /^(policy|assume_role_policy)$/;

/** Resource types that grant access without being aws_iam_*: resource policies, permissions and grants. */
const GRANTING_TYPES = new Set([
  "aws_s3_bucket_policy",
  "aws_sqs_queue_policy",
  "aws_vpc_endpoint_policy",
  "aws_lambda_permission",
  "aws_kms_grant",
]);
export const isIamType = (type: string) => type.startsWith("aws_iam_") || GRANTING_TYPES.has(type);

export const SECURITY_GROUP_TYPES = new Set([
  "aws_security_group",
  "aws_default_security_group",
  "aws_security_group_rule",
  "aws_vpc_security_group_ingress_rule",
  "aws_vpc_security_group_egress_rule",
]);

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
const OFF = new Set(["null", "false", '""', "[]"]);

/** What makes a change security-relevant, in the order a reviewer reads them. */
export const CONCERNS = ["data loss", "IAM", "security groups", "encryption", "public exposure"] as const;
export type Concern = (typeof CONCERNS)[number];

/** One attribute as compared: JSON text of each side (before absent for a create). */
export interface ChangedAttribute {
  attribute: string;
  before?: string;
  after: string;
}

const steps = (attribute: string) => attribute.split(/[.[\]]/).filter(Boolean);
const touches = (attributes: ChangedAttribute[], pattern: RegExp) =>
  attributes.filter((row) => steps(row.attribute).some((step) => pattern.test(step)));

/** Settings that keep data recoverable for a number of days: shortening one weakens a protection. */
const KEPT_DAYS = new Set(["backup_retention_period", "deletion_window_in_days"]);

/**
 * A protection switched off (deletion protection, prevent_destroy, final snapshot, force_destroy) or
 * shortened (backup retention, a key's deletion window); a value known only after apply is neither.
 */
export function weakensProtection(row: ChangedAttribute): boolean {
  if (row.before === undefined || row.after === UNKNOWN) return false;
  const protecting = PROTECTIONS[row.attribute];
  if (protecting !== undefined) return row.before === protecting && row.after !== protecting;
  return KEPT_DAYS.has(row.attribute) && Number(row.after) < Number(row.before);
}

/**
 * The concerns of one change. `destroyed`: the resource is destroyed or replaced. Encryption and
 * exposure are concerns when touched at all; they widen (see `widenings`) only when switched off or on.
 */
export function concernsOf(type: string, destroyed: boolean, attributes: ChangedAttribute[]): Concern[] {
  const found: Concern[] = [];
  if ((HOLDS_DATA_OR_IDENTITY[type] && destroyed) || attributes.some(weakensProtection)) found.push("data loss");
  if (isIamType(type) || touches(attributes, POLICY_ATTRIBUTE).length > 0) found.push("IAM");
  if (SECURITY_GROUP_TYPES.has(type) || touches(attributes, /security_group/).length > 0) found.push("security groups");
  if (ENCRYPTION_TYPES.has(type) || touches(attributes, ENCRYPTION_ATTRIBUTE).length > 0) found.push("encryption");
  if (touches(attributes, EXPOSURE_ATTRIBUTE).length > 0) found.push("public exposure");
  return found;
}

/** An attribute change that widens by itself, beside the IAM and rule rows. */
export interface Widening {
  concern: Concern;
  why: string;
}

/** Guardrails whose removal or change widens what a role may do, or who may connect how. */
const GUARDRAILS: Record<string, string> = {
  permissions_boundary: "permissions boundary",
  iam_database_authentication_enabled: "IAM database authentication",
};

/**
 * Exposure switched on, encryption switched off, a security group joined (a new value in a list of
 * groups), a guardrail (permissions boundary, IAM database authentication) removed or changed.
 */
export function widenings(attributes: ChangedAttribute[]): Widening[] {
  const exposed = touches(attributes, EXPOSURE_ATTRIBUTE).filter((row) => row.after === "true");
  const unencrypted = touches(attributes, ENCRYPTION_ATTRIBUTE).filter(
    (row) => row.before !== undefined && !OFF.has(row.before) && OFF.has(row.after),
  );
  const groups = touches(attributes, /security_group_ids$|^security_groups$/);
  const before = new Set(groups.map((row) => row.before));
  const joined = groups.filter((row) => row.before !== undefined && !OFF.has(row.after) && !before.has(row.after));
  const text = (row: ChangedAttribute, what: string) => `${row.attribute} ${row.before ?? "unset"} -> ${row.after} (${what})`;
  const guardrails = attributes.filter(
    (row) =>
      GUARDRAILS[row.attribute] && row.before !== undefined && !OFF.has(row.before) && row.after !== UNKNOWN && row.after !== row.before,
  );
  return [
    ...guardrails.map((row) => ({
      concern: "IAM" as const,
      why: text(row, `${GUARDRAILS[row.attribute]} ${OFF.has(row.after) ? "removed" : "changed"}`),
    })),
    ...exposed.map((row) => ({ concern: "public exposure" as const, why: text(row, "public exposure") })),
    ...unencrypted.map((row) => ({ concern: "encryption" as const, why: text(row, "encryption off") })),
    ...joined.map((row) => ({ concern: "security groups" as const, why: text(row, "joins a security group") })),
  ];
}

/** API routes and methods, and the argument that says who may call them: NONE (its default) lets anyone. */
const ROUTE_AUTHORIZATION: Record<string, string> = {
  aws_apigatewayv2_route: "authorization_type",
  aws_api_gateway_method: "authorization",
};

/**
 * A route (or REST method) that anyone may call, and that was not open before: created without
 * authorization, or its authorization dropped. Exposure that widens, beside the IAM and rule rows.
 */
function routeOpened(
  type: string,
  before: Record<string, unknown> | null | undefined,
  after: Record<string, unknown> | null | undefined,
): Widening[] {
  const argument = ROUTE_AUTHORIZATION[type];
  if (argument === undefined || !after) return [];
  const open = (block: Record<string, unknown>) => (block[argument] ?? "NONE") === "NONE";
  if (!open(after) || (before && open(before))) return [];
  const route = typeof after.route_key === "string" ? ` ${after.route_key}` : "";
  const was = before ? JSON.stringify(before[argument]) : "unset";
  return [
    { concern: "public exposure", why: `${argument} ${was} -> "NONE" (anyone may call the route${route}; authorize it with AWS_IAM)` },
  ];
}

/** Identities with credentials that live until someone deletes them, which this project's roles make unnecessary. */
const LONG_LIVED_IDENTITIES: Record<string, string> = {
  aws_iam_user: "an IAM user",
  aws_iam_access_key: "a long-lived access key",
  aws_iam_user_login_profile: "a console password",
  aws_iam_service_specific_credential: "a service-specific credential",
  aws_iam_signing_certificate: "a signing certificate",
};
const TLS_REQUIRED = new Set(["1", "on", "true"]);

/** The value of a parameter group's `require_secure_transport`, lowercase, if it sets one. */
function secureTransport(block: unknown): string | undefined {
  const parameters = (block as { parameter?: unknown } | null)?.parameter;
  if (!Array.isArray(parameters)) return undefined;
  const found = parameters.find((parameter) => (parameter as { name?: unknown })?.name === "require_secure_transport");
  return found ? String((found as { value?: unknown }).value).toLowerCase() : "unset";
}

/**
 * Widenings only the whole resource shows: a long-lived identity created, TLS no longer required by the
 * database, an API route anyone may call.
 */
export function resourceWidenings(type: string, before: unknown, after: unknown): Widening[] {
  const found: Widening[] = [];
  const identity = LONG_LIVED_IDENTITIES[type];
  if (identity && (before === null || before === undefined) && after !== null && after !== undefined)
    found.push({ concern: "IAM", why: `creates ${identity} (${type})` });
  const [was, now] = [secureTransport(before), secureTransport(after)];
  if (was !== undefined && TLS_REQUIRED.has(was) && now !== undefined && !TLS_REQUIRED.has(now))
    found.push({ concern: "encryption", why: `require_secure_transport ${was} -> ${now} (TLS no longer required)` });
  return [
    ...found,
    ...routeOpened(type, before as Record<string, unknown> | null | undefined, after as Record<string, unknown> | null | undefined),
  ];
}

// ---- widening of IAM statements and security-group rules ----

/** IAM wildcard match: `*` any run of characters, `?` one; actions and principals case-insensitively. */
function globMatches(pattern: string, value: string): boolean {
  if (pattern === value) return true;
  if (!/[*?]/.test(pattern)) return false;
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${source}$`, "i").test(value);
}

/** Every value of `narrow` is matched by a value of `wide`; an empty list covers only an empty list. */
const valuesCovered = (wide: string[], narrow: string[]) =>
  narrow.every((value) => wide.some((pattern) => globMatches(pattern, value))) && (wide.length > 0 || narrow.length === 0);
const sameList = (a: string[], b: string[]) => a.length === b.length && a.every((value, index) => value === b[index]);
/** "*" and "AWS:*" are every principal. */
const principalsCovered = (wide: string[], narrow: string[]) =>
  wide.some((value) => value === "*" || value === "AWS:*") || valuesCovered(wide, narrow);

/** True when `wide` allows (or denies) everything `narrow` does: same effect, no fewer actions, resources and principals, no more conditions. */
export function statementCovers(wide: Statement, narrow: Statement): boolean {
  return (
    wide.effect === narrow.effect &&
    sameList(wide.notActions, narrow.notActions) &&
    sameList(wide.notResources, narrow.notResources) &&
    sameList(wide.notPrincipals, narrow.notPrincipals) &&
    valuesCovered(wide.actions, narrow.actions) &&
    valuesCovered(wide.resources, narrow.resources) &&
    principalsCovered(wide.principals, narrow.principals) &&
    wide.conditions.every((condition) => narrow.conditions.includes(condition))
  );
}

/**
 * Whether an added or removed statement widens access (as `cdk diff` counts "broadens permissions"):
 * an Allow (or an attachment, permission or grant, or a statement that could not be read) added that
 * no removed statement of the same policy already allowed, or a Deny removed that no added Deny keeps.
 */
export function statementWidens(change: "added" | "removed", statement: Statement, others: Statement[]): boolean {
  if (change === "added") return statement.effect !== "Deny" && !others.some((removed) => statementCovers(removed, statement));
  return statement.effect === "Deny" && !others.some((added) => statementCovers(added, statement));
}

export interface RuleShape {
  protocol: string;
  ports: string;
  peer: string;
}

const portRange = (ports: string): [number, number] => {
  if (ports === "all") return [0, 65535];
  const [from, to = from] = ports.split("-").map(Number);
  return [from, to];
};

/** An IPv4 block as [first, last] addresses, or undefined for anything else (a group, a prefix list). */
function ipv4Range(peer: string): [number, number] | undefined {
  const match = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(peer);
  if (!match) return undefined;
  const base = match.slice(1, 5).reduce((value, octet) => value * 256 + Number(octet), 0);
  const size = 2 ** (32 - Number(match[5]));
  const first = base - (base % size);
  return [first, first + size - 1];
}

function peerCovers(wide: string, narrow: string): boolean {
  if (wide === narrow) return true;
  const [outer, inner] = [ipv4Range(wide), ipv4Range(narrow)];
  return outer !== undefined && inner !== undefined && outer[0] <= inner[0] && inner[1] <= outer[1];
}

/** True when `wide` lets through everything `narrow` does: its protocol (or all), no fewer ports, a peer that holds the other's. */
export function ruleCovers(wide: RuleShape, narrow: RuleShape): boolean {
  const [[wideFrom, wideTo], [narrowFrom, narrowTo]] = [portRange(wide.ports), portRange(narrow.ports)];
  return (
    (wide.protocol === "all" || wide.protocol === narrow.protocol) &&
    wideFrom <= narrowFrom &&
    narrowTo <= wideTo &&
    peerCovers(wide.peer, narrow.peer)
  );
}

/** An added rule widens reach unless a removed rule of the same group and direction let the same through; a removed rule narrows. */
export const ruleWidens = (change: "added" | "removed", rule: RuleShape, removed: RuleShape[]) =>
  change === "added" && !removed.some((other) => ruleCovers(other, rule));
