/**
 * What would pin a session on RDS Proxy, as the harness's front records it per client session: the
 * front sees each trigger, and the API function, doing every operation, causes none; a put whose
 * statement must exceed 16 KB closes its connection after the request, so the pin ends with it.
 */
import type { Connection } from "mysql2/promise";
import { closeDatabase, handler } from "../../functions/api/index";
import { PROXY_PINNING_STATEMENT_BYTES } from "../../functions/shared/database-client";
import { MAX_DATA_BYTES } from "../../functions/shared/request";
import { iamConnection } from "../../harness/iam-connection";
import { captureLogLines } from "../../harness/logs";
import { type Harness, startHarness } from "../../harness/mariadb";
import { bootstrapHarness } from "../../harness/migrations";
import type { PinTrigger } from "../../harness/pin-triggers";

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
  await bootstrapHarness(h);
  for (const name of ["AWS_SESSION_TOKEN", "AWS_PROFILE", "DB_TLS_CA_FILE"]) delete process.env[name];
  Object.assign(process.env, h.env);
  captureLogLines([]);
});

afterAll(async () => {
  await closeDatabase();
  await h?.destroy();
  jest.restoreAllMocks();
});

const invoke = (event: unknown) => handler(event, { awsRequestId: "pinning-test" });
const newSessions = (before: number) => h.sessions().slice(before);

describe("the front records what would pin a session on RDS Proxy", () => {
  async function triggersOf(run: (connection: Connection) => Promise<unknown>): Promise<PinTrigger[]> {
    const before = h.sessions().length;
    const connection = await iamConnection(h);
    try {
      await run(connection).catch(() => undefined); // the app user may not do all of it: the attempt is what pins
    } finally {
      await connection.end();
    }
    const [session] = newSessions(before);
    return session.pins.map((pin) => pin.trigger);
  }

  it.each<[string, (connection: Connection) => Promise<unknown>, PinTrigger[]]>([
    ["a prepared statement", (c) => c.execute("SELECT 1"), ["prepared statement"]],
    ["a text-protocol PREPARE", (c) => c.query("PREPARE s FROM 'SELECT 1'"), ["prepared statement"]],
    ["SET of a session variable", (c) => c.query("SET SESSION wait_timeout = 60"), ["SET"]],
    ["SET of a user variable", (c) => c.query("SET @x = 1"), ["SET"]],
    ["a temporary table", (c) => c.query("CREATE TEMPORARY TABLE scratch (n INT)"), ["temporary table"]],
    ["LOCK TABLES", (c) => c.query("LOCK TABLES items READ"), ["LOCK TABLES"]],
    ["GET_LOCK", (c) => c.query("SELECT GET_LOCK('job', 0)"), ["GET_LOCK"]],
    ["an executable comment", (c) => c.query("SELECT /*!50000 1 */ AS one"), ["executable comment"]],
    ["a statement over 16 KB", (c) => c.query(`SELECT '${"x".repeat(PROXY_PINNING_STATEMENT_BYTES)}' AS big`), ["statement over 16 KB"]],
    ["a statement of 16 KB exactly", (c) => c.query(`SELECT '${"x".repeat(PROXY_PINNING_STATEMENT_BYTES - 9)}'`), []],
    ["the same words inside string literals", (c) => c.query("SELECT 'SET x; GET_LOCK(1) /*! 1 */' AS text, \"LOCK TABLES\" AS more"), []],
    [
      "an UPDATE ... SET and plain transactions",
      (c) =>
        c
          .query("START TRANSACTION")
          .then(() => c.query("UPDATE items SET data = data WHERE id = 'none'"))
          .then(() => c.query("COMMIT")),
      [],
    ],
  ])("%s", async (_, run, expected) => {
    expect(await triggersOf(run)).toEqual(expected);
  });
});

describe("the API function on the proxy path", () => {
  beforeEach(async () => {
    await closeDatabase();
    await h.admin(`DELETE FROM \`${h.database}\`.items`);
  });

  it("pins nothing doing every operation, a 12 KiB item included (its value is sent once)", async () => {
    const before = h.sessions().length;
    const large = { text: "y".repeat(12 * 1024) };
    expect(await invoke({ op: "health" })).toMatchObject({ statusCode: 200 });
    expect(await invoke({ op: "put", item: { id: "a", data: { n: 1 } } })).toMatchObject({ statusCode: 201 });
    expect(await invoke({ op: "put", item: { id: "a", data: { n: 2 } } })).toMatchObject({ statusCode: 200 });
    expect(await invoke({ op: "put", item: { id: "large", data: large } })).toMatchObject({ statusCode: 201 });
    expect(await invoke({ op: "get", id: "large" })).toEqual({ statusCode: 200, data: { id: "large", data: large } });
    expect(await invoke({ op: "get", id: "missing" })).toMatchObject({ statusCode: 404 });
    expect(await invoke({ op: "list", limit: 1 })).toMatchObject({ statusCode: 200, data: { nextCursor: expect.any(String) } });
    expect(await invoke({ op: "delete", id: "a" })).toMatchObject({ statusCode: 200 });
    expect(await invoke({ op: "delete", id: "a" })).toMatchObject({ statusCode: 404 });

    const sessions = newSessions(before);
    expect(sessions).toEqual([expect.objectContaining({ user: "app_user", pins: [], closed: false })]);
    expect(sessions[0].commands).toBeGreaterThanOrEqual(9);
  });

  it("closes its connection after a put whose statement must exceed 16 KB, so the pin ends with the request", async () => {
    // Quotes are escaped twice (JSON, then SQL): this item within the limit needs a statement of about 32 KB.
    const data = { quotes: '"'.repeat((MAX_DATA_BYTES - 20) / 2) };
    expect(Buffer.byteLength(JSON.stringify(data))).toBeLessThanOrEqual(MAX_DATA_BYTES);
    const before = h.sessions().length;
    expect(await invoke({ op: "put", item: { id: "quotes", data } })).toMatchObject({ statusCode: 201 });
    expect(await invoke({ op: "get", id: "quotes" })).toEqual({ statusCode: 200, data: { id: "quotes", data } });

    const [pinned, next] = newSessions(before);
    expect(pinned.pins.map((pin) => pin.trigger)).toEqual(["statement over 16 KB"]);
    await h.closedSession(pinned.id);
    expect(next).toMatchObject({ pins: [], closed: false });
  });
});
