import { type Harness, startHarness } from "../../harness/mariadb";
import { bootstrapHarness } from "../../harness/migrations";
import { MigrationError, createAppUserStatement } from "../../functions/migrate/bootstrap";
import type { TableGrants } from "../../functions/migrate/privileges";
import { DatabaseClient } from "../../functions/shared/database-client";
import { settingsFromEnvironment } from "../../functions/shared/database-settings";
import { health } from "../../functions/api/items";
import { type Migration, loadMigrations } from "../../functions/shared/migration-files";
import { Signer } from "@aws-sdk/rds-signer";

describe("the app user's CREATE USER statement, the one place RDS and the harness differ", () => {
  it("uses AWSAuthenticationPlugin on RDS, TLS required", () => {
    expect(createAppUserStatement("app_user", { kind: "rds-iam" })).toEqual({
      sql: "CREATE USER IF NOT EXISTS ?@'%' IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS' REQUIRE SSL",
      values: ["app_user"],
    });
  });

  it("uses the password only the harness's token-verifying front knows locally, TLS required", () => {
    expect(createAppUserStatement("app_user", { kind: "password", password: "front-secret" })).toEqual({
      sql: "CREATE USER IF NOT EXISTS ?@'%' IDENTIFIED BY ? REQUIRE SSL",
      values: ["app_user", "front-secret"],
    });
  });
});

describe("bootstrap against a real MariaDB", () => {
  let h: Harness;
  beforeAll(async () => {
    // No IAM users: the bootstrap must create the one it needs.
    h = await startHarness({ iamUsers: [] });
  });
  afterAll(async () => h?.destroy());

  let database = "";
  let run = 0;
  beforeEach(() => {
    database = `shop${++run}`;
  });
  const bootstrapShop = (migrations: Migration[], grants: TableGrants = {}) =>
    bootstrapHarness(h, { database, users: { shop_user: grants }, migrations });
  const recorded = async () =>
    (await h.admin(`SELECT name FROM \`${database}\`.schema_migrations ORDER BY applied_at, name`)).map(
      (row: { name: string }) => row.name,
    );
  const tables = async () =>
    (await h.admin("SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY t", [database])).map(
      (row: { t: string }) => row.t,
    );

  const m = (name: string, sql: string): Migration => ({ name, sql });
  const one = m("0001_one.sql", "CREATE TABLE one (id INT PRIMARY KEY);");
  const two = m("0002_two.sql", "CREATE TABLE two (id INT PRIMARY KEY);\nINSERT INTO two VALUES (1), (2);");
  const three = m("0003_three.sql", "ALTER TABLE one ADD COLUMN label VARCHAR(20) NULL COMMENT 'a ? is not a placeholder';");

  it("creates the database, an app user that logs in with IAM tokens over TLS only, and applies migrations in order", async () => {
    expect(await bootstrapShop([three, one, two], { one: ["SELECT", "INSERT", "UPDATE", "DELETE"] })).toEqual({
      applied: ["0001_one.sql", "0002_two.sql", "0003_three.sql"],
      alreadyApplied: [],
    });
    expect(await recorded()).toEqual(["0001_one.sql", "0002_two.sql", "0003_three.sql"]);
    expect(await tables()).toEqual(["one", "schema_grantees", "schema_migrations", "two"]);

    const [grants] = await Promise.all([h.admin("SHOW GRANTS FOR 'shop_user'@'%'")]);
    expect(grants.map((row: Record<string, string>) => Object.values(row)[0])).toContain(
      `GRANT SELECT, INSERT, UPDATE, DELETE ON \`${database}\`.\`one\` TO \`shop_user\`@\`%\``,
    );
    expect(grants.map((row: Record<string, string>) => Object.values(row)[0]).join("\n")).not.toMatch(/ALL PRIVILEGES|CREATE|DROP|ALTER/);
    const [createUser] = await h.admin("SHOW CREATE USER 'shop_user'@'%'");
    expect(Object.values(createUser)[0]).toMatch(/IDENTIFIED BY PASSWORD '\*[0-9A-F]{40}' REQUIRE SSL/);

    const settings = { ...settingsFromEnvironment({ ...h.env, DB_USER: "shop_user", DB_NAME: database }) };
    const signer = new Signer({ hostname: h.host, port: h.port, username: "shop_user", region: h.region, credentials: h.credentials });
    const db = new DatabaseClient(settings, signer);
    try {
      expect((await db.run("test", health)).currentUser).toBe("shop_user@%");
    } finally {
      await db.end();
    }
  });

  it("does nothing the second time", async () => {
    await bootstrapShop([one, two]);
    expect(await bootstrapShop([one, two])).toEqual({ applied: [], alreadyApplied: ["0001_one.sql", "0002_two.sql"] });
    expect((await h.admin(`SELECT COUNT(*) AS n FROM \`${database}\`.two`))[0].n).toBe(2);
  });

  it("applies only the new migrations of a later deploy", async () => {
    await bootstrapShop([one]);
    expect(await bootstrapShop([one, two, three])).toEqual({
      applied: ["0002_two.sql", "0003_three.sql"],
      alreadyApplied: ["0001_one.sql"],
    });
  });

  it("stops at a broken migration with its name and the server's message, and does not record it", async () => {
    const broken = m("0002_broken.sql", "CREATE TABLE broken (id INT PRIMARY KEY,);");
    const failure = bootstrapShop([one, broken, three]);
    await expect(failure).rejects.toBeInstanceOf(MigrationError);
    await expect(failure).rejects.toThrow(/^migration 0002_broken\.sql failed: ER_PARSE_ERROR: You have an error in your SQL syntax/);
    expect(await recorded()).toEqual(["0001_one.sql"]);
    expect(await tables()).toEqual(["one", "schema_grantees", "schema_migrations"]);

    expect(await bootstrapShop([one, m("0002_broken.sql", "CREATE TABLE broken (id INT PRIMARY KEY);"), three])).toEqual({
      applied: ["0002_broken.sql", "0003_three.sql"],
      alreadyApplied: ["0001_one.sql"],
    });
  });

  it("refuses a migration that was edited after it was applied", async () => {
    await bootstrapShop([one]);
    await expect(bootstrapShop([m("0001_one.sql", "CREATE TABLE one (id BIGINT PRIMARY KEY);")])).rejects.toThrow(
      "migration 0001_one.sql was changed after it was applied; add a new migration instead of editing it",
    );
  });

  it("serializes concurrent runs: the second waits for the lock and finds everything applied", async () => {
    const slow = m("0001_slow.sql", "DO SLEEP(0.5);\nCREATE TABLE slow (id INT PRIMARY KEY);");
    const results = await Promise.all([bootstrapShop([slow, two]), bootstrapShop([slow, two])]);
    expect(results.map((result) => result.applied.length).sort()).toEqual([0, 2]);
    expect(results.map((result) => result.alreadyApplied.length).sort()).toEqual([0, 2]);
    expect(await recorded()).toEqual(["0001_slow.sql", "0002_two.sql"]);
  });

  it("refuses names that are not plain identifiers", async () => {
    await expect(bootstrapHarness(h, { database: "shop; DROP DATABASE mysql", migrations: [] })).rejects.toThrow(
      'database "shop; DROP DATABASE mysql" is not a plain MySQL identifier',
    );
  });

  it("applies the repository's migrations, which the handler's tests also run on", async () => {
    expect((await bootstrapShop(loadMigrations())).applied).toEqual([
      "0001_create_items.sql",
      "0002_create_ingested_objects.sql",
      "0003_create_ingested_keys.sql",
      "0004_create_batch_jobs.sql",
    ]);
    expect(await tables()).toEqual(["batch_jobs", "ingested_keys", "ingested_objects", "items", "schema_grantees", "schema_migrations"]);
  });
});
