import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { loadMigrations } from "../../functions/shared/migration-files";
import { FUNCTION_NAME } from "./function-schema";
import type { Check } from "./stack-config";

/** Where sources and migrations/ are found: the checkout this module belongs to. */
const PROJECT_ROOT = resolve(__dirname, "..", "..");
/** Lambda function and IAM role names: the tightest limit a function's `<prefix>-<name>` meets. */
const NAME_LIMIT = 64;
/** The service's own function (src/database/database-bootstrap.ts). */
const RESERVED_NAMES = ["migrate"];

/** The tables the migrations create, by their CREATE TABLE statements. */
function tablesCreatedBy(sqls: readonly string[]): Set<string> {
  const created = sqls.flatMap((sql) =>
    [...sql.matchAll(/CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?`?([A-Za-z][A-Za-z0-9_]*)`?/gi)].map((match) => match[1]),
  );
  return new Set(created);
}

/** A check of the declared functions; skipped when a function failed its own fields (their issues say why). */
const ofFunctions =
  (check: Check): Check =>
  (config, issue) => {
    if (Array.isArray(config.functions)) check(config, issue);
  };

/** Names, sources and lengths: every function's, alone. */
const functionNamesFit: Check = (config, issue) => {
  const prefix = `${config.project}-${config.environment}`;
  for (const fn of config.functions) {
    const at = ["functions", fn.name];
    if (!FUNCTION_NAME.test(fn.name)) {
      issue(at, 'must be a function name of lowercase letters, digits and -, starting with a letter, like "reports"');
    } else if (RESERVED_NAMES.includes(fn.name)) {
      issue(at, `is the name of the service's own ${fn.name} function; choose another name`);
    } else if (`${prefix}-${fn.name}`.length > NAME_LIMIT) {
      issue(
        at,
        `makes the function and role name ${prefix}-${fn.name}, ${prefix.length + 1 + fn.name.length} characters, over Lambda's and IAM's ${NAME_LIMIT}; shorten the name to at most ${NAME_LIMIT - prefix.length - 1} characters`,
      );
    }
    if (!existsSync(join(PROJECT_ROOT, fn.source, "index.ts"))) {
      issue([...at, "source"], `${fn.source}/index.ts does not exist; create the handler there or set source to the folder that holds it`);
    }
  }
};

/** Database users: one set of grants per user, never the master user, only on tables the migrations create. */
const databaseUsersFit: Check = (config, issue) => {
  const tables = tablesCreatedBy(loadMigrations(join(PROJECT_ROOT, "migrations")).map((migration) => migration.sql));
  const firstOfUser = new Map<string, (typeof config.functions)[number]>();
  for (const fn of config.functions) {
    const { user, grants } = fn.database;
    const at = ["functions", fn.name, "database"];
    if (user === config.database.masterUsername) {
      issue([...at, "user"], `is the master user ${user}; give the function a user of its own`);
    }
    for (const table of Object.keys(grants).filter((name) => !tables.has(name))) {
      issue(
        [...at, "grants", table],
        `no migration creates the table ${table}; add a migration under migrations/ that creates it, or grant on one of ${[...tables].sort().join(", ")}`,
      );
    }
    const first = firstOfUser.get(user);
    if (!first) {
      firstOfUser.set(user, fn);
    } else if (JSON.stringify(normalized(first.database.grants)) !== JSON.stringify(normalized(grants))) {
      issue(
        [...at, "grants"],
        `differ from those of ${first.name}, which connects as ${user} too; give one of them its own user, or the same grants`,
      );
    }
  }
};

const normalized = (grants: Readonly<Record<string, readonly string[]>>) =>
  Object.keys(grants)
    .sort()
    .map((table) => [table, [...grants[table]].sort()]);

/** S3 prefixes: one function per object, and no function's output lands where a function is triggered. */
const s3PrefixesApart: Check = (config, issue) => {
  const overlap = (a: string, b: string) => a.startsWith(b) || b.startsWith(a);
  const triggered = config.functions.flatMap((fn) => (fn.trigger.kind === "s3-objects" ? [{ name: fn.name, trigger: fn.trigger }] : []));
  triggered.forEach(({ name, trigger }, index) => {
    const at = ["functions", name, "trigger"];
    for (const other of triggered.slice(0, index).filter((earlier) => overlap(earlier.trigger.prefix, trigger.prefix))) {
      issue(
        [...at, "prefix"],
        `${trigger.prefix} overlaps ${other.trigger.prefix} of ${other.name}: an object would invoke both; choose prefixes where neither starts with the other`,
      );
    }
    const write = trigger.writePrefix;
    const looped = write === undefined ? undefined : triggered.find((any) => overlap(any.trigger.prefix, write));
    if (write !== undefined && looped) {
      issue(
        [...at, "writePrefix"],
        `${write} overlaps ${looped.trigger.prefix}, which triggers ${looped.name}: what ${name} writes would invoke a function again; write outside every trigger prefix`,
      );
    }
  });
};

export const functionChecks: Check[] = [functionNamesFit, databaseUsersFit, s3PrefixesApart].map(ofFunctions);
