/**
 * Turns `terraform show -json` plans into the Markdown of one pull-request comment: loud flags first,
 * counts per stack, then the changes by resource with their construct paths. Sensitive values are
 * never printed; the whole comment stays under GitHub's limit by dropping detail, then truncating.
 */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Marks = boolean | Json | undefined;

export interface ResourceChange {
  address: string;
  mode?: "managed" | "data";
  type: string;
  name?: string;
  change: {
    actions: string[];
    before?: Json;
    after?: Json;
    after_unknown?: Marks;
    before_sensitive?: Marks;
    after_sensitive?: Marks;
    replace_paths?: (string | number)[][];
  };
  action_reason?: string;
}

export interface TerraformPlan {
  format_version: string;
  terraform_version?: string;
  resource_changes?: ResourceChange[];
  errored?: boolean;
}

export interface StackPlan {
  stack: string;
  plan: TerraformPlan;
  /** Terraform address ("aws_vpc.network_vpc_1A2B") to construct path ("dev/network/vpc"), from cdk.tf.json. */
  constructPaths: Record<string, string>;
}

/** A stack that has no plan, and why (a fork, no plan role configured, a failed plan). */
export interface SkippedStack {
  stack: string;
  reason: string;
}

/** Hidden in the comment; how the upsert finds its own comment again. */
export const COMMENT_MARKER = "<!-- lambda-rds-iam:plan-comment -->";
/** GitHub refuses issue comments longer than this. */
export const GITHUB_COMMENT_LIMIT = 65_536;

type Kind = "create" | "update" | "replace" | "delete";
const KINDS: readonly Kind[] = ["create", "update", "replace", "delete"];
const SYMBOL: Record<Kind, string> = { create: "+", update: "~", replace: "-/+", delete: "-" };

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
/** IAM itself, and the resource policies that grant access the same way. */
const isIamPolicyOrTrust = (type: string) =>
  type.startsWith("aws_iam_") || ["aws_s3_bucket_policy", "aws_lambda_permission", "aws_kms_grant"].includes(type);
/** Attributes that hold a policy document on resources of other types (a KMS key's policy, for one). */
export const POLICY_ATTRIBUTE = /^(policy|assume_role_policy)$/;
const SECURITY_GROUP_RULE_TYPES = new Set([
  "aws_security_group",
  "aws_default_security_group",
  "aws_security_group_rule",
  "aws_vpc_security_group_ingress_rule",
  "aws_vpc_security_group_egress_rule",
]);

/** Kind of a change, or undefined for no-op and data reads. */
export function kindOf(actions: string[]): Kind | undefined {
  const key = actions.join(",");
  if (key === "create") return "create";
  if (key === "update") return "update";
  if (key === "delete") return "delete";
  if (key === "delete,create" || key === "create,delete") return "replace";
  return undefined;
}

export interface Flag {
  stack: string;
  address: string;
  path?: string;
  kind: Kind;
  why: string;
}

/** Loud flags: data or identity replaced or destroyed, any IAM policy or trust change, any security-group rule change. */
export function flagsOf(stack: StackPlan): Flag[] {
  return changesOf(stack.plan).flatMap(({ resource, kind }) => {
    const base = { stack: stack.stack, address: resource.address, path: stack.constructPaths[resource.address], kind };
    const reasons: string[] = [];
    const holds = HOLDS_DATA_OR_IDENTITY[resource.type];
    if (holds && (kind === "replace" || kind === "delete")) reasons.push(`${kind === "replace" ? "replaces" : "destroys"} a ${holds}`);
    if (isIamPolicyOrTrust(resource.type)) reasons.push("IAM policy, role or trust change");
    else if (kind !== "delete" && attributeRows(resource, kind).some((row) => POLICY_ATTRIBUTE.test(row.attribute)))
      reasons.push("resource policy change");
    if (SECURITY_GROUP_RULE_TYPES.has(resource.type)) reasons.push("security group rule change");
    return reasons.map((why) => ({ ...base, why }));
  });
}

function changesOf(plan: TerraformPlan): { resource: ResourceChange; kind: Kind }[] {
  return (plan.resource_changes ?? []).flatMap((resource) => {
    const kind = resource.mode === "data" ? undefined : kindOf(resource.change.actions);
    return kind ? [{ resource, kind }] : [];
  });
}

export function countsOf(plan: TerraformPlan): Record<Kind, number> {
  const counts: Record<Kind, number> = { create: 0, update: 0, replace: 0, delete: 0 };
  for (const { kind } of changesOf(plan)) counts[kind] += 1;
  return counts;
}

// ---- attribute rows ----

type Step = string | number;
const SENSITIVE = "(sensitive)";
const UNKNOWN = "(known after apply)";
const pathText = (path: Step[]) =>
  path.map((step, index) => (typeof step === "number" ? `[${step}]` : index === 0 ? step : `.${step}`)).join("");

/** Leaf paths of a value; an empty object or list is a leaf of its own. */
function leaves(value: Marks, path: Step[] = []): Step[][] {
  if (Array.isArray(value)) return value.length === 0 ? [path] : value.flatMap((item, index) => leaves(item, [...path, index]));
  if (value !== null && typeof value === "object") {
    const keys = Object.keys(value);
    return keys.length === 0 ? [path] : keys.flatMap((key) => leaves((value as Record<string, Json>)[key], [...path, key]));
  }
  return [path];
}

function at(value: Marks, path: Step[]): Marks {
  let current: Marks = value;
  for (const step of path) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<string, Json>)[step as string];
  }
  return current;
}

/** Paths the marks (after_unknown) set to true. */
function markedPaths(marks: Marks, path: Step[] = []): Step[][] {
  if (marks === true) return [path];
  if (marks === null || typeof marks !== "object") return [];
  return Object.entries(marks).flatMap(([key, value]) => markedPaths(value, [...path, Array.isArray(marks) ? Number(key) : key]));
}

/** The value with every part the marks call sensitive replaced, so no container ever carries one out. */
function redacted(value: Marks, marks: Marks): Marks {
  if (marks === true) return SENSITIVE;
  if (value === null || typeof value !== "object" || marks === null || typeof marks !== "object") return value;
  if (Array.isArray(value)) return value.map((item, index) => redacted(item, (marks as Json[])[index]) as Json);
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [key, redacted(item, (marks as Record<string, Json>)[key]) as Json]),
  );
}

/** True when the marks (after_unknown, *_sensitive) are true at the path or any of its ancestors. */
function marked(marks: Marks, path: Step[]): boolean {
  let current: Marks = marks;
  for (let index = 0; ; index += 1) {
    if (current === true) return true;
    if (index === path.length || current === null || typeof current !== "object") return false;
    current = (current as Record<string, Json>)[path[index] as string];
  }
}

export interface AttributeRow {
  attribute: string;
  before?: string;
  after: string;
  forcesReplacement: boolean;
}

const display = (value: Marks): string => JSON.stringify(value ?? null);

/** The attributes a change sets or changes, with sensitive values hidden and unknown ones named as such. */
export function attributeRows(resource: ResourceChange, kind: Kind): AttributeRow[] {
  if (kind === "delete") return [];
  const { before, after, after_unknown: unknown, before_sensitive: beforeSensitive, after_sensitive: afterSensitive } = resource.change;
  const replacePaths = (resource.change.replace_paths ?? []).map(pathText);
  const seen = new Set<string>();
  const unique = [...leaves(kind === "create" ? null : before), ...leaves(after), ...markedPaths(unknown)].filter((path) => {
    const key = JSON.stringify(path);
    if (path.length === 0 || seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  // A container that turned unknown (or empty) is shown through its leaves when it has any.
  const within = (inner: Step[], outer: Step[]) => inner.length > outer.length && outer.every((step, index) => inner[index] === step);
  const paths = unique.filter((path) => !unique.some((other) => within(other, path)));
  const rows: AttributeRow[] = [];
  for (const path of paths) {
    const isUnknown = marked(unknown, path);
    const b = at(before, path);
    const a = at(after, path);
    if (!isUnknown && kind === "create" && (a === null || a === undefined)) continue;
    if (
      !isUnknown &&
      kind !== "create" &&
      JSON.stringify(b ?? null) === JSON.stringify(a ?? null) &&
      marked(beforeSensitive, path) === marked(afterSensitive, path)
    )
      continue;
    const attribute = pathText(path);
    rows.push({
      attribute,
      before: kind === "create" ? undefined : marked(beforeSensitive, path) ? SENSITIVE : display(redacted(b, at(beforeSensitive, path))),
      after: isUnknown ? UNKNOWN : marked(afterSensitive, path) ? SENSITIVE : display(redacted(a, at(afterSensitive, path))),
      forcesReplacement: replacePaths.some(
        (replacePath) => attribute === replacePath || attribute.startsWith(`${replacePath}.`) || attribute.startsWith(`${replacePath}[`),
      ),
    });
  }
  return rows;
}

// ---- Markdown ----

/** Markdown-safe inline code that survives table cells: no pipes, no HTML, no line breaks. */
export function code(text: string, max?: number): string {
  const shortened = max !== undefined && text.length > max ? `${text.slice(0, max)}…` : text;
  const escaped = shortened
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/\|/g, "&#124;")
    .replace(/\r?\n/g, "⏎");
  return `<code>${escaped}</code>`;
}

const REASONS: Record<string, string> = {
  replace_because_tainted: "tainted",
  replace_because_cannot_update: "an attribute cannot be updated in place",
  replace_by_request: "replacement requested",
  replace_by_triggers: "replace_triggered_by",
  delete_because_no_resource_config: "no longer in the configuration",
};

interface Detail {
  /** Per attribute value, at most this many characters (undefined: whole). */
  valueLength?: number;
  /** Print attribute rows of unflagged resources; flagged ones always keep theirs. */
  unflaggedRows: boolean;
}

function resourceSection(stack: StackPlan, resource: ResourceChange, kind: Kind, rows: boolean, valueLength?: number): string {
  const path = stack.constructPaths[resource.address];
  const reason = resource.action_reason ? ` (${REASONS[resource.action_reason] ?? resource.action_reason})` : "";
  const title = `<code>${SYMBOL[kind]}</code> **${kind}** ${code(resource.address)}${path ? ` · ${code(path)}` : ""}${reason}`;
  const tableRows = rows ? attributeRows(resource, kind) : [];
  if (tableRows.length === 0) return `- ${title}\n`;
  const header = kind === "create" ? "| attribute | value |\n|---|---|\n" : "| attribute | before | after |\n|---|---|---|\n";
  const lines = tableRows.map((row) => {
    const name = `${code(row.attribute)}${row.forcesReplacement ? " **forces replacement**" : ""}`;
    return kind === "create"
      ? `| ${name} | ${code(row.after, valueLength)} |`
      : `| ${name} | ${code(row.before ?? "", valueLength)} | ${code(row.after, valueLength)} |`;
  });
  return `- ${title}\n\n${header}${lines.join("\n")}\n\n`;
}

function stackSection(stack: StackPlan, flagged: Set<string>, detail: Detail): string {
  const counts = countsOf(stack.plan);
  const table = `| create | update | replace | delete |\n|---|---|---|---|\n| ${KINDS.map((kind) => counts[kind]).join(" | ")} |\n`;
  const errored = stack.plan.errored ? "\n**The plan errored; what follows is incomplete.**\n" : "";
  const changes = changesOf(stack.plan);
  if (changes.length === 0) return `### \`${stack.stack}\`\n\nNo changes.${errored}\n\n`;
  const loud = changes.filter(({ resource }) => flagged.has(`${stack.stack} ${resource.address}`));
  const quiet = changes.filter(({ resource }) => !flagged.has(`${stack.stack} ${resource.address}`));
  const render = (list: typeof changes, rows: boolean) =>
    list.map(({ resource, kind }) => resourceSection(stack, resource, kind, rows, detail.valueLength)).join("");
  const quietPart =
    quiet.length === 0
      ? ""
      : `\n<details><summary>${quiet.length} other change${quiet.length === 1 ? "" : "s"}</summary>\n\n${render(quiet, detail.unflaggedRows)}\n</details>\n`;
  return `### \`${stack.stack}\`\n\n${table}${errored}\n${render(loud, true)}${quietPart}\n`;
}

function flagSection(flags: Flag[]): string {
  if (flags.length === 0)
    return "No resource holding data or identity is replaced or destroyed; no IAM or security group rule changes.\n\n";
  const lines = flags.map(
    (flag) => `- ⚠️ **${flag.why}**: \`${flag.stack}\` ${code(flag.address)}${flag.path ? ` · ${code(flag.path)}` : ""} (${flag.kind})`,
  );
  return `#### Look at these first\n\n${lines.join("\n")}\n\n`;
}

export interface RenderOptions {
  /** Where the full plans are (the run's artifacts), named in the truncation note. */
  artifactUrl?: string;
  limit?: number;
  /** Markdown of `npm run review -- --format markdown`, shown above the plans. */
  review?: string;
}

/** The whole comment: marker, flags, then every stack; shortened to fit `limit` (GitHub's by default). */
export function renderComment(plans: StackPlan[], skipped: SkippedStack[], options: RenderOptions = {}): string {
  const limit = options.limit ?? GITHUB_COMMENT_LIMIT;
  for (const { stack, plan } of plans) {
    if (!/^1\./.test(plan.format_version ?? ""))
      throw new Error(`${stack}: plan format_version ${plan.format_version} is not 1.x; this renderer reads format 1 only`);
  }
  const flags = plans.flatMap(flagsOf);
  const flagged = new Set(flags.map((flag) => `${flag.stack} ${flag.address}`));
  const review = options.review ? `${options.review.trim()}\n\n` : "";
  const head = `${COMMENT_MARKER}\n${review}## Terraform plan\n\n${flagSection(flags)}`;
  const skippedPart = skipped.map(({ stack, reason }) => `### \`${stack}\`\n\nNo plan: ${reason}\n\n`).join("");
  const where = options.artifactUrl ? `the plan artifacts of [this run](${options.artifactUrl})` : "the plan artifacts of this run";
  const body = (detail: Detail) => `${head}${plans.map((stack) => stackSection(stack, flagged, detail)).join("")}${skippedPart}`;

  // Least important first: long values, then the attribute rows of unflagged resources.
  for (const detail of [{ unflaggedRows: true }, { unflaggedRows: true, valueLength: 200 }, { unflaggedRows: false, valueLength: 200 }]) {
    const text = body(detail);
    if (text.length <= limit) return text;
  }
  const note = `\n\n**Truncated to fit GitHub's comment limit: the full plans are in ${where}.**\n`;
  const text = body({ unflaggedRows: false, valueLength: 100 });
  // Room for the note and for closing every <details> the cut leaves open.
  const kept = text.slice(0, text.lastIndexOf("\n", limit - note.length - 200));
  const open = kept.split("<details>").length - kept.split("</details>").length;
  return `${kept}${"\n\n</details>".repeat(Math.max(0, open))}${note}`;
}
