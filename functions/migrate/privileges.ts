/**
 * The privileges MySQL grants on one table, as GRANT spells them. A function's user gets some of these
 * per table and nothing else: never ALL (what it covers grows with the server), GRANT OPTION (it could
 * hand its rights on), nor a global privilege such as SUPER or FILE (they reach beyond the database).
 */
export const TABLE_PRIVILEGES = [
  "SELECT",
  "INSERT",
  "UPDATE",
  "DELETE",
  "CREATE",
  "DROP",
  "ALTER",
  "INDEX",
  "REFERENCES",
  "CREATE VIEW",
  "SHOW VIEW",
  "TRIGGER",
] as const;
export type TablePrivilege = (typeof TABLE_PRIVILEGES)[number];

/** Privileges a declaration may never hold, with why. */
export const REFUSED_PRIVILEGES: Readonly<Record<string, string>> = {
  ALL: "what ALL covers grows with the server",
  "ALL PRIVILEGES": "what ALL covers grows with the server",
  "GRANT OPTION": "the user could hand its rights on",
  SUPER: "a global privilege that reaches beyond the database",
  FILE: "a global privilege that reads and writes the server's files",
};

/** What one database user may do, per table of the service's database: `{ items: ["SELECT"] }`. */
export type TableGrants = Readonly<Record<string, readonly TablePrivilege[]>>;

/** The service's database users and their grants, keyed by user. */
export type DatabaseGrants = Readonly<Record<string, TableGrants>>;

/** mysql.tables_priv spells its SET values its own way; GRANT's words for them. */
export const privilegeOfTablesPriv = (value: string): string =>
  ({ Grant: "GRANT OPTION", "Delete versioning rows": "DELETE HISTORY" })[value] ?? value.toUpperCase();
