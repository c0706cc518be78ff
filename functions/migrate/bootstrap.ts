import { createHash } from "node:crypto";
import type { Connection, RowDataPacket } from "mysql2/promise";
import type { Migration } from "../shared/migration-files";
import { type DatabaseGrants, TABLE_PRIVILEGES, type TableGrants, privilegeOfTablesPriv } from "./privileges";

/**
 * How the app user proves who it is: RDS IAM tokens in AWS; in the local harness, a password that
 * only its front knows, which logs the user in once the front has verified the same tokens.
 */
export type AppUserAuthentication = { kind: "rds-iam" } | { kind: "password"; password: string };

export interface BootstrapOptions {
  readonly database: string;
  /**
   * The functions' users and what each may do, per table: each is created (IAM-authenticated, TLS only)
   * and ends the run holding exactly these privileges on this database's tables.
   */
  readonly users: DatabaseGrants;
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

const MIGRATIONS_TABLE = "schema_migrations";
/** The users a run was given: a later run that is not given one revokes what it holds here. */
const GRANTEES_TABLE = "schema_grantees";

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
 * Makes the database usable by the functions: the database, every declared user (IAM-authenticated,
 * TLS only), every migration not yet applied, in name order, each recorded once it succeeded, and then
 * each user's grants made exactly the declared ones: what is declared is granted per table, every other
 * privilege the user holds on this database (on a table or on the whole database) is revoked, and so is
 * every privilege here of a user an earlier run was given and this one is not. Users and tables are never dropped. Idempotent, and serialized across concurrent runs by a named lock.
 * The connection must allow multiple statements (migrations may hold several).
 */
export async function bootstrap(connection: Connection, options: BootstrapOptions, migrations: Migration[]): Promise<BootstrapResult> {
  checkNames(options);
  const lock = `${options.database}.migrations`;
  const [[{ acquired }]] = await connection.query<RowDataPacket[]>("SELECT GET_LOCK(?, ?) AS acquired", [
    lock,
    options.lockTimeoutSeconds ?? 60,
  ]);
  if (acquired !== 1) throw new MigrationError(`another run holds the lock ${lock}; try again once it has finished`);
  try {
    await connection.query("CREATE DATABASE IF NOT EXISTS ?? CHARACTER SET utf8mb4 COLLATE utf8mb4_bin", [options.database]);
    for (const user of Object.keys(options.users)) {
      const create = createAppUserStatement(user, options.authentication);
      await connection.query(create.sql, create.values);
    }
    await connection.query(
      `CREATE TABLE IF NOT EXISTS ??.${MIGRATIONS_TABLE} (
         name VARCHAR(255) NOT NULL PRIMARY KEY,
         checksum CHAR(64) NOT NULL,
         applied_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
       )`,
      [options.database],
    );
    await connection.query(`CREATE TABLE IF NOT EXISTS ??.${GRANTEES_TABLE} (name VARCHAR(80) NOT NULL PRIMARY KEY)`, [options.database]);
    const result = await applyPending(connection, options.database, migrations);
    // After the migrations: a table-level grant needs its table.
    await checkTablesExist(connection, options);
    await revokeFromUndeclared(connection, options);
    for (const [user, grants] of Object.entries(options.users)) await grantExactly(connection, options.database, user, grants);
    return result;
  } finally {
    await connection.query("SELECT RELEASE_LOCK(?)", [lock]);
  }
}

/** Names go into statements as identifiers and privileges as keywords: only plain ones from the known list. */
function checkNames(options: BootstrapOptions): void {
  const plain = (field: string, value: string) => {
    if (!IDENTIFIER.test(value))
      throw new MigrationError(`${field} "${value}" is not a plain MySQL identifier (a letter, then letters, digits or _)`);
  };
  plain("database", options.database);
  for (const [user, grants] of Object.entries(options.users)) {
    plain("user", user);
    for (const [table, privileges] of Object.entries(grants)) {
      plain(`table of ${user}`, table);
      const unknown = privileges.filter((privilege) => !(TABLE_PRIVILEGES as readonly string[]).includes(privilege));
      if (unknown.length > 0) {
        throw new MigrationError(`${user} on ${table}: ${unknown.join(", ")} is not one of ${TABLE_PRIVILEGES.join(", ")}`);
      }
    }
  }
}

async function checkTablesExist(connection: Connection, options: BootstrapOptions): Promise<void> {
  const [rows] = await connection.query<RowDataPacket[]>(
    "SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?",
    [options.database],
  );
  const tables = new Set(rows.map((row) => row.name as string));
  for (const [user, grants] of Object.entries(options.users)) {
    const missing = Object.keys(grants).filter((table) => !tables.has(table));
    if (missing.length > 0) {
      throw new MigrationError(
        `${user} is granted privileges on ${missing.join(", ")}, which no migration creates; add the migration or fix the grants`,
      );
    }
  }
}

/** Users given to an earlier run and not to this one keep their accounts and lose every privilege on the database; the others are recorded. */
async function revokeFromUndeclared(connection: Connection, options: BootstrapOptions): Promise<void> {
  const [recorded] = await connection.query<RowDataPacket[]>(`SELECT name FROM ??.${GRANTEES_TABLE}`, [options.database]);
  for (const { name } of recorded as { name: string }[]) {
    if (name in options.users) continue;
    await grantExactly(connection, options.database, name, {});
    await connection.query(`DELETE FROM ??.${GRANTEES_TABLE} WHERE name = ?`, [options.database, name]);
  }
  for (const user of Object.keys(options.users)) {
    await connection.query(`INSERT IGNORE INTO ??.${GRANTEES_TABLE} (name) VALUES (?)`, [options.database, user]);
  }
}

/** Revokes what `user` holds on `database` beyond `grants`, then grants `grants`: SHOW GRANTS then lists exactly them. */
async function grantExactly(connection: Connection, database: string, user: string, grants: TableGrants): Promise<void> {
  const [databaseLevel] = await connection.query<RowDataPacket[]>(
    "SELECT Grant_priv FROM mysql.db WHERE User = ? AND Host = '%' AND Db = ?",
    [user, database],
  );
  if (databaseLevel.length > 0) {
    await connection.query("REVOKE ALL PRIVILEGES ON ??.* FROM ?@'%'", [database, user]);
    if (databaseLevel[0].Grant_priv === "Y") await connection.query("REVOKE GRANT OPTION ON ??.* FROM ?@'%'", [database, user]);
  }
  const [tableLevel] = await connection.query<RowDataPacket[]>(
    "SELECT Table_name AS name, Table_priv AS privileges FROM mysql.tables_priv WHERE User = ? AND Host = '%' AND Db = ?",
    [user, database],
  );
  for (const { name, privileges } of tableLevel as { name: string; privileges: string }[]) {
    const declared: readonly string[] = grants[name] ?? [];
    const held = privileges === "" ? [] : privileges.split(",").map(privilegeOfTablesPriv);
    const extra = held.filter((privilege) => !declared.includes(privilege));
    if (extra.length > 0) await connection.query(`REVOKE ${extra.join(", ")} ON ??.?? FROM ?@'%'`, [database, name, user]);
  }
  for (const [table, privileges] of Object.entries(grants)) {
    if (privileges.length > 0) await connection.query(`GRANT ${privileges.join(", ")} ON ??.?? TO ?@'%'`, [database, table, user]);
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
