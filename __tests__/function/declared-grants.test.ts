import { Signer } from "@aws-sdk/rds-signer";
import { type Harness, startHarness } from "../../harness/mariadb";
import { bootstrapHarness } from "../../harness/migrations";
import { MigrationError } from "../../functions/migrate/bootstrap";
import type { DatabaseGrants } from "../../functions/migrate/privileges";
import { DatabaseClient, query } from "../../functions/shared/database-client";
import { settingsFromEnvironment } from "../../functions/shared/database-settings";
import { databaseGrantsOf } from "../../src/config/function-schema";
import { MINIMAL } from "../infra/synth";
import { parseStackConfig } from "../../src/config/stack-config";
import { REPORTS_FUNCTION } from "../fixtures/functions/reports/declaration";
import { closeDatabase, handler as reportsHandler } from "../fixtures/functions/reports/index";

/** The service's declared functions with the tests' fourth one, "reports", read-only on items. */
const DECLARED: DatabaseGrants = databaseGrantsOf(
  parseStackConfig({ ...MINIMAL, functions: { reports: REPORTS_FUNCTION } }, "test").functions,
);

let h: Harness;
beforeAll(async () => {
  // No users: the bootstrap makes every one it is given.
  h = await startHarness({ iamUsers: [] });
});
afterAll(async () => {
  await closeDatabase();
  await h?.destroy();
});

let database = "";
let run = 0;
beforeEach(() => {
  database = `granted${++run}`;
});

/**
 * What SHOW GRANTS says `user` holds, per object: `*.*` (USAGE and how it logs in), this database and
 * each of its tables (the harness's server is shared by the tests, each with a database of its own).
 */
async function grantsOf(user: string): Promise<Record<string, string[]>> {
  const lines: string[] = (await h.admin("SHOW GRANTS FOR ?@'%'", [user])).map((row: Record<string, string>) => Object.values(row)[0]);
  const grants = lines.map((line): [string, string[]] => {
    const [, privileges, on] = /^GRANT (.+) ON (\S+) TO /.exec(line) ?? [];
    return [on.replaceAll("`", ""), privileges.split(", ").sort()];
  });
  return Object.fromEntries(grants.filter(([on]) => on === "*.*" || on.startsWith(`${database}.`)));
}

/** What SHOW GRANTS must say for `grants`: USAGE globally, then exactly the declared privileges per table of `database`. */
const expected = (grants: DatabaseGrants[string]) => ({
  "*.*": ["USAGE"],
  ...Object.fromEntries(Object.entries(grants).map(([table, privileges]) => [`${database}.${table}`, [...privileges].sort()])),
});

async function expectExactly(users: DatabaseGrants): Promise<void> {
  for (const [user, grants] of Object.entries(users)) expect([user, await grantsOf(user)]).toEqual([user, expected(grants)]);
}

describe("the bootstrap grants every declared user exactly its declaration", () => {
  it("after a first run, a second run, and a run after a privilege was taken out of the declaration", async () => {
    await bootstrapHarness(h, { database, users: DECLARED });
    await expectExactly(DECLARED);
    for (const user of Object.keys(DECLARED)) {
      const [login] = await h.admin("SHOW CREATE USER ?@'%'", [user]);
      expect([user, Object.values(login)[0]]).toEqual([user, expect.stringMatching(/ REQUIRE SSL$/)]);
    }

    expect(await bootstrapHarness(h, { database, users: DECLARED })).toMatchObject({ applied: [] });
    await expectExactly(DECLARED);

    // Every user loses its first table's last privilege (its whole grant on the table when that was the only one).
    const narrowed: DatabaseGrants = Object.fromEntries(
      Object.entries(DECLARED).map(([user, grants]) => {
        const [table, privileges] = Object.entries(grants)[0];
        const rest = privileges.slice(0, -1);
        const { [table]: _, ...others } = grants;
        return [user, rest.length > 0 ? { ...others, [table]: rest } : others];
      }),
    );
    await bootstrapHarness(h, { database, users: narrowed });
    await expectExactly(narrowed);
  });

  it("takes back database-wide privileges of an earlier deploy and grants back what was revoked by hand", async () => {
    await bootstrapHarness(h, { database, users: DECLARED });
    const [user, grants] = Object.entries(DECLARED)[0];
    const [table, [privilege]] = Object.entries(grants)[0];
    await h.admin(`GRANT SELECT, INSERT, UPDATE, DELETE ON \`${database}\`.* TO ?@'%'`, [user]);
    await h.admin(`REVOKE ${privilege} ON \`${database}\`.\`${table}\` FROM ?@'%'`, [user]);
    await bootstrapHarness(h, { database, users: DECLARED });
    await expectExactly(DECLARED);
  });

  it("never drops a user or a table: a user no longer declared keeps its account and loses its privileges here", async () => {
    await bootstrapHarness(h, { database, users: DECLARED });
    const [dropped, ...kept] = Object.keys(DECLARED);
    const rest = Object.fromEntries(kept.map((user) => [user, DECLARED[user]]));
    await bootstrapHarness(h, { database, users: rest });
    expect(await h.admin("SELECT User AS user FROM mysql.user WHERE User = ?", [dropped])).toEqual([{ user: dropped }]);
    expect(await grantsOf(dropped)).toEqual({ "*.*": ["USAGE"] });
    await expectExactly(rest);
    expect(
      await h.admin("SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'items'", [database]),
    ).toEqual([{ n: 1 }]);
  });

  it("refuses grants on a table no migration created, naming the user and the table, and grants nothing", async () => {
    const failure = bootstrapHarness(h, { database, users: { auditor: { audit_log: ["SELECT"] } } });
    await expect(failure).rejects.toBeInstanceOf(MigrationError);
    await expect(failure).rejects.toThrow("auditor is granted privileges on audit_log, which no migration creates");
    expect(await grantsOf("auditor")).toEqual({ "*.*": ["USAGE"] });
  });
});

describe("the fourth function's user, read-only on items, through the IAM front", () => {
  const env = () => ({ ...h.env, DB_USER: "reports", DB_NAME: database });
  let db: DatabaseClient;
  beforeEach(async () => {
    await bootstrapHarness(h, { database, users: DECLARED });
    await h.admin(`INSERT INTO \`${database}\`.items (id, data) VALUES ('a', '{}'), ('b', '{}')`);
    const settings = settingsFromEnvironment(env());
    db = new DatabaseClient(
      settings,
      new Signer({ hostname: h.host, port: h.port, username: "reports", region: h.region, credentials: h.credentials }),
    );
  });
  afterEach(async () => db?.end());

  it("can SELECT from items", async () => {
    expect(await db.run("select", (c) => query(c, "SELECT id FROM items ORDER BY id"))).toEqual([{ id: "a" }, { id: "b" }]);
  });

  it("cannot INSERT into items, nor read another table", async () => {
    await expect(db.run("insert", (c) => query(c, "INSERT INTO items (id, data) VALUES ('c', '{}')"))).rejects.toMatchObject({
      code: "ER_TABLEACCESS_DENIED_ERROR",
    });
    await expect(db.run("other", (c) => query(c, "SELECT * FROM ingested_objects"))).rejects.toMatchObject({
      code: "ER_TABLEACCESS_DENIED_ERROR",
    });
  });

  it("runs the fixture's handler as Lambda would, with the environment the stack gives it", async () => {
    for (const name of ["AWS_SESSION_TOKEN", "AWS_PROFILE", "DB_TLS_CA_FILE"]) delete process.env[name];
    Object.assign(process.env, env());
    expect(await reportsHandler({})).toEqual({ items: 2 });
  });
});
