/**
 * The changes the real-plan fixtures plan against a deployed stack: each kind of change a reviewer must
 * not miss (guardrails, data protection, foreign access), and routine ones that must raise no alarm.
 * Each is an edit of the synthesized JSON of one stack, the same edit `npm run plans:record` planned and
 * the tests apply to read the fixture with its configuration. Declared once, here.
 */
import type { Block, TerraformJson } from "../../stacks/synthesized-stack";
import type { Json } from "../../stacks/terraform-plan";

export interface PlanChange {
  /** File name part: `<stack>.<name>.json`. */
  name: string;
  stack: string;
  /** What the change does, as the comment's verdict must say it. */
  what: string;
  /** "alarm": the verdict must flag it (review exits 4); "routine": nothing widens, no data at risk. */
  expect: "alarm" | "routine";
  /** A text the first lines of the comment's verdict must hold. */
  verdictSays?: string;
  apply(json: TerraformJson): void;
}

/** The blocks of one resource type, by name (none: an error naming the type, as the configuration changed under the fixture). */
function blocksOf(json: TerraformJson, type: string): Block[] {
  const blocks = Object.values(json.resource?.[type] ?? {});
  if (blocks.length === 0) throw new Error(`the stack has no ${type}; update scripts/review/plans/plan-changes.ts`);
  return blocks;
}
const only = (json: TerraformJson, type: string, test: (block: Block) => boolean = () => true): Block => {
  const found = blocksOf(json, type).filter(test);
  if (found.length !== 1) throw new Error(`expected one ${type} to change, found ${found.length}`);
  return found[0];
};
const pathOf = (block: Block) => (block["//"] as { metadata?: { path?: string } } | undefined)?.metadata?.path ?? "";
const add = (json: TerraformJson, type: string, name: string, block: Block) => {
  json.resource ??= {};
  json.resource[type] ??= {};
  json.resource[type][name] = block;
};
/** The statements of the aws_iam_policy_document a policy attribute refers to. */
function documentOf(json: TerraformJson, policy: Json | undefined): Json[] {
  const name = /^\$\{data\.aws_iam_policy_document\.([^.]+)\.json\}$/.exec(String(policy))?.[1];
  const statements = json.data?.aws_iam_policy_document?.[name ?? ""]?.statement;
  if (!Array.isArray(statements))
    throw new Error(`${String(policy)} is not an aws_iam_policy_document; update scripts/review/plans/plan-changes.ts`);
  return statements;
}
const FOREIGN_ACCOUNT = "999999999999";

/** One argument of prod's database instance set to `value`; an alarm names the argument in the verdict. */
const databaseSetting = (
  name: string,
  what: string,
  attribute: string,
  value: Json,
  expect: PlanChange["expect"] = "alarm",
): PlanChange => ({
  name,
  stack: "prod",
  what,
  expect,
  ...(expect === "alarm" ? { verdictSays: attribute } : {}),
  apply: (json) => {
    only(json, "aws_db_instance")[attribute] = value;
  },
});

export const PLAN_CHANGES: readonly PlanChange[] = [
  {
    name: "boundary-removed",
    stack: "prod",
    what: "every role loses its permissions boundary",
    expect: "alarm",
    verdictSays: "permissions_boundary",
    apply: (json) => {
      for (const role of blocksOf(json, "aws_iam_role")) delete role.permissions_boundary;
    },
  },
  {
    name: "iam-user-with-key",
    stack: "prod",
    what: "an IAM user with a long-lived access key and a console password",
    expect: "alarm",
    verdictSays: "aws_iam_access_key",
    apply: (json) => {
      add(json, "aws_iam_user", "operator", { name: "lambda-rds-iam-prod-operator" });
      add(json, "aws_iam_access_key", "operator_key", { user: "${aws_iam_user.operator.name}" });
      add(json, "aws_iam_user_login_profile", "operator_login", { user: "${aws_iam_user.operator.name}" });
    },
  },
  databaseSetting("iam-auth-off", "IAM database authentication turned off", "iam_database_authentication_enabled", false),
  {
    name: "tls-off",
    stack: "prod",
    what: "the database stops requiring TLS",
    expect: "alarm",
    verdictSays: "require_secure_transport",
    apply: (json) => {
      for (const parameter of only(json, "aws_db_parameter_group").parameter as Block[])
        if (parameter.name === "require_secure_transport") parameter.value = "0";
    },
  },
  {
    name: "storage-unencrypted",
    stack: "dev",
    what: "the database's storage no longer encrypted (a replacement)",
    expect: "alarm",
    verdictSays: "storage_encrypted",
    apply: (json) => {
      const instance = only(json, "aws_db_instance");
      instance.storage_encrypted = false;
      delete instance.kms_key_id;
    },
  },
  databaseSetting("backups-off", "backups kept 0 days instead of 30", "backup_retention_period", 0),
  {
    name: "protections-off",
    stack: "prod",
    what: "deletion protection off, no final snapshot, prevent_destroy removed",
    expect: "alarm",
    verdictSays: "deletion_protection",
    apply: (json) => {
      const instance = only(json, "aws_db_instance");
      instance.deletion_protection = false;
      instance.skip_final_snapshot = true;
      for (const byName of Object.values(json.resource ?? {}))
        for (const block of Object.values(byName)) if (block.lifecycle) delete (block.lifecycle as Block).prevent_destroy;
    },
  },
  databaseSetting("public", "the database publicly accessible", "publicly_accessible", true),
  {
    name: "key-window-shortened",
    stack: "prod",
    what: "the database key's deletion window shortened to 7 days",
    expect: "alarm",
    verdictSays: "deletion_window_in_days",
    apply: (json) => {
      for (const key of blocksOf(json, "aws_kms_key")) key.deletion_window_in_days = 7;
    },
  },
  {
    name: "foreign-bucket-read",
    stack: "prod",
    what: "another account may read the data bucket",
    expect: "alarm",
    verdictSays: FOREIGN_ACCOUNT,
    apply: (json) => {
      const policy = only(json, "aws_s3_bucket_policy", (block) => pathOf(block).endsWith("data-bucket/policy"));
      documentOf(json, policy.policy).push({
        sid: "PartnerRead",
        effect: "Allow",
        actions: ["s3:GetObject"],
        principals: [{ type: "AWS", identifiers: [`arn:aws:iam::${FOREIGN_ACCOUNT}:root`] }],
        resources: [`${String(policy.bucket).replace(/\.id\}$/, ".arn}")}/*`],
      });
    },
  },
  {
    name: "trust-any-account",
    stack: "prod",
    what: "the API function's role trusted by any AWS account",
    expect: "alarm",
    verdictSays: "AWS:*",
    apply: (json) => {
      const role = only(json, "aws_iam_role", (block) => pathOf(block).endsWith("api/role/role"));
      documentOf(json, role.assume_role_policy).push({
        effect: "Allow",
        actions: ["sts:AssumeRole"],
        principals: [{ type: "AWS", identifiers: ["*"] }],
      });
    },
  },
  {
    name: "boundary-widened",
    stack: "prod-state",
    what: "the service roles' permissions boundary allows every IAM action",
    expect: "alarm",
    verdictSays: "iam:*",
    apply: (json) => {
      const boundary = only(json, "aws_iam_policy", (block) => pathOf(block).includes("service-role-boundary"));
      documentOf(json, boundary.policy).push({ sid: "Everything", effect: "Allow", actions: ["iam:*"], resources: ["*"] });
    },
  },
  databaseSetting("instance-class", "a larger database instance class", "instance_class", "db.m7g.xlarge", "routine"),
  {
    name: "memory-size",
    stack: "prod",
    what: "more memory for every function",
    expect: "routine",
    apply: (json) => {
      for (const fn of blocksOf(json, "aws_lambda_function")) fn.memory_size = Number(fn.memory_size) * 2;
    },
  },
  {
    name: "timeout",
    stack: "prod",
    what: "a longer timeout for every function below Lambda's 900 s",
    expect: "routine",
    apply: (json) => {
      for (const fn of blocksOf(json, "aws_lambda_function")) fn.timeout = Math.min(Number(fn.timeout) + 5, 900); // Lambda's limit
    },
  },
];

/** A stack's synthesized JSON with `change` applied, leaving the argument as it was. */
export function changed(json: TerraformJson, change: PlanChange): TerraformJson {
  const copy = JSON.parse(JSON.stringify(json)) as TerraformJson;
  change.apply(copy);
  return copy;
}
