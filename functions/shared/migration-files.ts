import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";

export interface Migration {
  /** File name, e.g. 0001_create_items.sql; the number orders migrations. */
  readonly name: string;
  readonly sql: string;
}

const MIGRATION_NAME = /^\d{4}_[a-z0-9_]+\.sql$/;

/** The repository's one migrations/ directory. */
const MIGRATIONS_DIR = join(__dirname, "..", "..", "migrations");

// Set by the function bundler (esbuild define) to the migrations it read at build time: a Lambda has no repository.
declare const __EMBEDDED_MIGRATIONS__: Migration[] | undefined;

/** The repository's migrations in name order: embedded in a bundled function, read from `dir` elsewhere. */
export function loadMigrations(dir = MIGRATIONS_DIR): Migration[] {
  if (typeof __EMBEDDED_MIGRATIONS__ !== "undefined") return __EMBEDDED_MIGRATIONS__;
  const names = readdirSync(dir)
    .filter((name) => name.endsWith(".sql"))
    .sort();
  const misnamed = names.filter((name) => !MIGRATION_NAME.test(name));
  if (misnamed.length > 0) {
    throw new Error(`migrations/${misnamed[0]}: migration files are named NNNN_lowercase_words.sql, e.g. 0002_add_owner.sql`);
  }
  return names.map((name) => ({ name, sql: readFileSync(join(dir, name), "utf8") }));
}
