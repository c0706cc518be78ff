import { createHash } from "node:crypto";
import type { Connection, RowDataPacket } from "mysql2/promise";
import type { Migration } from "../shared/migration-files";

/**
 * How the app user proves who it is: RDS IAM tokens in AWS; in the local harness, a password that
 * only its front knows, which logs the user in once the front has verified the same tokens.
 */
export type AppUserAuthentication = { kind: "rds-iam" } | { kind: "password"; password: string };

export interface BootstrapOptions {
  readonly database: string;
  readonly appUser: string;
  /** The ingest function's account: authenticated like the app user, it may only add and change items. */
  readonly ingestUser?: string;
  readonly authentication: AppUserAuthentication;
  /** How long to wait for a concurrent run to finish. */
  readonly lockTimeoutSeconds?: number;
}

export interface BootstrapResult {
  readonly applied: string[];
  readonly alreadyApplied: string[];
}

/** A statement with `?` placeholders for values. */
export interface Statement {
  readonly sql: string;
  readonly values: string[];
}

/** A migration failed: names it and carries the server's message; it is not recorded as applied. */
export class MigrationError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "MigrationError";
  }
}

const IDENTIFIER = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

/**
 * The ingest user's rights, per table its statements touch: upserting items (no DELETE, no DDL) and
 * reading and recording ingested object versions. Granted after the migrations that make the tables.
 */
export const INGEST_GRANTS: readonly { readonly table: string; readonly privileges: string }[] = [
  // The server checks SELECT on the columns an ON DUPLICATE KEY UPDATE names, VALUES(data) included.
  { table: "items", privileges: "SELECT, INSERT, UPDATE" },
  { table: "ingested_objects", privileges: "SELECT, INSERT" },
  // The newest version of each key (SELECT ... FOR UPDATE needs UPDATE too).
  { table: "ingested_keys", privileges: "SELECT, INSERT, UPDATE" },
];
const MIGRATIONS_TABLE = "schema_migrations";

/** The one place RDS and the local harness differ: how the app user authenticates. Always TLS-only. */
export function createAppUserStatement(user: string, authentication: AppUserAuthentication): Statement {
  if (authentication.kind === "rds-iam") {
    return { sql: "CREATE USER IF NOT EXISTS ?@'%' IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS' REQUIRE SSL", values: [user] };
  }
  return { sql: "CREATE USER IF NOT EXISTS ?@'%' IDENTIFIED BY ? REQUIRE SSL", values: [user, authentication.password] };
}

export const checksum = (sql: string) => createHash("sha256").update(sql).digest("hex");

const serverMessage = (error: unknown) => {
  const { sqlMessage, message, code } = error as { sqlMessage?: string; message?: string; code?: string };
  return `${code ? `${code}: ` : ""}${sqlMessage ?? message ?? String(error)}`;
};

/**
 * Makes the database usable by the app: the database, the app user (IAM-authenticated, TLS only,
 * data rights on the app database alone), every migration not yet applied, in name order, each
 * recorded once it succeeded, and the ingest user when given (INGEST_GRANTS). Idempotent, and serialized across concurrent runs by a named lock.
 * The connection must allow multiple statements (migrations may hold several).
 */
export async function bootstrap(connection: Connection, options: BootstrapOptions, migrations: Migration[]): Promise<BootstrapResult> {
  const names = [
    ["database", options.database],
    ["appUser", options.appUser],
    ["ingestUser", options.ingestUser],
  ] as const;
  for (const [field, value] of names) {
    if (value !== undefined && !IDENTIFIER.test(value))
      throw new MigrationError(`${field} "${value}" is not a plain MySQL identifier (a letter, then letters, digits or _)`);
  }
  const lock = `${options.database}.migrations`;
  const [[{ acquired }]] = await connection.query<RowDataPacket[]>("SELECT GET_LOCK(?, ?) AS acquired", [
    lock,
    options.lockTimeoutSeconds ?? 60,
  ]);
  if (acquired !== 1) throw new MigrationError(`another run holds the lock ${lock}; try again once it has finished`);
  try {
    await connection.query("CREATE DATABASE IF NOT EXISTS ?? CHARACTER SET utf8mb4 COLLATE utf8mb4_bin", [options.database]);
    const user = createAppUserStatement(options.appUser, options.authentication);
    await connection.query(user.sql, user.values);
    await connection.query("GRANT SELECT, INSERT, UPDATE, DELETE ON ??.* TO ?@'%'", [options.database, options.appUser]);
    await connection.query(
      `CREATE TABLE IF NOT EXISTS ??.${MIGRATIONS_TABLE} (
         name VARCHAR(255) NOT NULL PRIMARY KEY,
         checksum CHAR(64) NOT NULL,
         applied_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
       )`,
      [options.database],
    );
    const result = await applyPending(connection, options.database, migrations);
    if (options.ingestUser) {
      const ingest = createAppUserStatement(options.ingestUser, options.authentication);
      await connection.query(ingest.sql, ingest.values);
      for (const { table, privileges } of INGEST_GRANTS) {
        await connection.query(`GRANT ${privileges} ON ??.?? TO ?@'%'`, [options.database, table, options.ingestUser]);
      }
    }
    return result;
  } finally {
    await connection.query("SELECT RELEASE_LOCK(?)", [lock]);
  }
}

async function applyPending(connection: Connection, database: string, migrations: Migration[]): Promise<BootstrapResult> {
  const [rows] = await connection.query<RowDataPacket[]>(`SELECT name, checksum FROM ??.${MIGRATIONS_TABLE}`, [database]);
  const recorded = new Map(rows.map((row) => [row.name as string, row.checksum as string]));
  const result: BootstrapResult = { applied: [], alreadyApplied: [] };
  for (const migration of [...migrations].sort((a, b) => a.name.localeCompare(b.name))) {
    const sum = checksum(migration.sql);
    const previous = recorded.get(migration.name);
    if (previous !== undefined) {
      if (previous !== sum) {
        throw new MigrationError(`migration ${migration.name} was changed after it was applied; add a new migration instead of editing it`);
      }
      result.alreadyApplied.push(migration.name);
      continue;
    }
    try {
      await connection.query("USE ??", [database]);
      // No values: the migration's text goes to the server as written, `?` and all.
      await connection.query(migration.sql);
    } catch (error) {
      throw new MigrationError(`migration ${migration.name} failed: ${serverMessage(error)}`, { cause: error });
    }
    await connection.query(`INSERT INTO ??.${MIGRATIONS_TABLE} (name, checksum) VALUES (?, ?)`, [database, migration.name, sum]);
    result.applied.push(migration.name);
  }
  return result;
}
