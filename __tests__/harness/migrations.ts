import { readFileSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Harness } from "./mariadb";

export const MIGRATIONS_DIR = resolve(__dirname, "../../migrations");

/** The repository's migrations in order, the same files the deploy applies in AWS. */
export function migrationFiles(): { name: string; sql: string }[] {
  return readdirSync(MIGRATIONS_DIR)
    .filter((name) => name.endsWith(".sql"))
    .sort()
    .map((name) => ({ name, sql: readFileSync(join(MIGRATIONS_DIR, name), "utf8") }));
}

export async function applyMigrations(h: Harness): Promise<void> {
  for (const { sql } of migrationFiles()) await h.admin(`USE \`${h.database}\`; ${sql}`);
}
