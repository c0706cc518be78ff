/**
 * The front's multiplexing mode against a real MariaDB, as RDS Proxy behaves: client sessions share
 * a small pool of server connections between transactions, a command waits at most the borrow
 * timeout for one, and a pinned session keeps its connection until it ends.
 */
import type { Connection, RowDataPacket } from "mysql2/promise";
import { closeDatabase, handler } from "../../functions/api/index";
import { DatabaseUnavailableError } from "../../functions/shared/database-client";
import { iamConnection } from "../../harness/iam-connection";
import { captureLogLines } from "../../harness/logs";
import { type Harness, startHarness } from "../../harness/mariadb";
import { bootstrapHarness } from "../../harness/migrations";
import { BORROW_TIMEOUT_ERRNO, BORROW_TIMEOUT_MESSAGE } from "../../harness/multiplexer";

const POOL = 2;
// Far above what queueing for a connection takes here, even on a loaded machine; the tests that reach it wait it out.
const BORROW_TIMEOUT_MS = 1500;

let h: Harness;
const clients: Connection[] = [];

beforeAll(async () => {
  h = await startHarness({ proxy: { connections: POOL, borrowTimeoutMs: BORROW_TIMEOUT_MS } });
  await bootstrapHarness(h);
  for (const name of ["AWS_SESSION_TOKEN", "AWS_PROFILE", "DB_TLS_CA_FILE"]) delete process.env[name];
  Object.assign(process.env, h.env);
  captureLogLines([]);
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.end().catch(() => undefined)));
  await closeDatabase();
});

afterAll(async () => {
  await h?.destroy();
  jest.restoreAllMocks();
});

async function client(): Promise<Connection> {
  const connection = await iamConnection(h);
  clients.push(connection);
  return connection;
}

const serverConnectionId = async (connection: Connection) =>
  Number((await connection.query<RowDataPacket[]>("SELECT CONNECTION_ID() AS id"))[0][0].id);
const appConnections = async () =>
  Number((await h.admin("SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE USER = 'app_user'"))[0].n);
const borrowTimeout = { errno: BORROW_TIMEOUT_ERRNO, sqlState: "HY000", sqlMessage: BORROW_TIMEOUT_MESSAGE };

it("serves many client sessions on at most its pool's server connections", async () => {
  const sessions = await Promise.all(Array.from({ length: 6 }, client));
  const ids = new Set<number>();
  for (let round = 0; round < 3; round++) {
    for (const id of await Promise.all(sessions.map(serverConnectionId))) ids.add(id);
  }
  expect(ids.size).toBeGreaterThan(0);
  expect(ids.size).toBeLessThanOrEqual(POOL);
  expect(await appConnections()).toBeLessThanOrEqual(POOL);
  expect(h.peakServerConnections()).toBeLessThanOrEqual(POOL);
});

it("keeps a session's connection for the length of its transaction, then lends it again", async () => {
  const [a, b, c] = [await client(), await client(), await client()];
  await a.query("START TRANSACTION");
  await b.query("START TRANSACTION");
  const held = await serverConnectionId(a);
  expect(await serverConnectionId(a)).toBe(held);
  // Both connections are in transactions: a third session waits the borrow timeout, then hears the proxy's error.
  await expect(c.query("SELECT 1")).rejects.toMatchObject(borrowTimeout);
  await a.query("COMMIT");
  // The same session may try again: the connection the commit freed serves it.
  expect(await serverConnectionId(c)).toBe(held);
  await b.query("ROLLBACK");
});

it("lets a pinned session keep its connection until it ends, and closes that connection with it", async () => {
  const [pinned, other] = [await client(), await client()];
  await pinned.execute("SELECT ? AS n", [1]);
  const held = await serverConnectionId(pinned);
  const blocker = await client();
  await blocker.query("START TRANSACTION");
  await serverConnectionId(blocker);
  await expect(other.query("SELECT 1")).rejects.toMatchObject(borrowTimeout);
  expect(await serverConnectionId(pinned)).toBe(held);
  await pinned.end();
  await blocker.query("COMMIT");
  expect(await serverConnectionId(other)).not.toBe(held);
  const serverIds = async () =>
    (await h.admin("SELECT ID AS id FROM information_schema.PROCESSLIST WHERE USER = 'app_user'")).map((row: { id: number }) =>
      Number(row.id),
    );
  // The server notices the closed connection within moments.
  for (const deadline = Date.now() + 5_000; (await serverIds()).includes(held) && Date.now() < deadline; )
    await new Promise((r) => setTimeout(r, 50));
  expect(await serverIds()).not.toContain(held);
});

it("relays result sets, errors and multi-row answers whole, so sessions stay in step", async () => {
  const session = await client();
  await expect(session.query("SELEC nonsense")).rejects.toMatchObject({ code: "ER_PARSE_ERROR" });
  // Rows from a recursive CTE: the app user may read items only, not MariaDB's seq_ tables of the database.
  const [rows] = await session.query<RowDataPacket[]>(
    "WITH RECURSIVE s (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 500) SELECT n, REPEAT('z', 300) AS pad FROM s",
  );
  expect(rows).toHaveLength(500);
  expect(rows[499]).toEqual({ n: 499 + 1, pad: "z".repeat(300) });
  const [empty] = await session.query<RowDataPacket[]>("SELECT 1 FROM DUAL WHERE FALSE");
  expect(empty).toEqual([]);
  await session.ping();
  expect(await serverConnectionId(session)).toBeGreaterThan(0);
});

describe("the API function through it", () => {
  const invoke = (event: unknown) => handler(event, { awsRequestId: "multiplexing-test" });

  it("does every operation and pins nothing", async () => {
    const before = h.sessions().length;
    expect(await invoke({ op: "health" })).toMatchObject({ statusCode: 200, data: { currentUser: "app_user@%" } });
    expect(await invoke({ op: "put", item: { id: "m", data: { n: 1 } } })).toMatchObject({ statusCode: 201 });
    expect(await invoke({ op: "get", id: "m" })).toEqual({ statusCode: 200, data: { id: "m", data: { n: 1 } } });
    expect(await invoke({ op: "list" })).toMatchObject({ statusCode: 200, data: { items: [{ id: "m", data: { n: 1 } }] } });
    expect(await invoke({ op: "delete", id: "m" })).toMatchObject({ statusCode: 200 });
    expect(h.sessions().slice(before)).toEqual([expect.objectContaining({ pins: [], closed: false })]);
  });

  it("fails fast with a clear, retryable error when no connection comes free in time, then recovers", async () => {
    const holders = await Promise.all(Array.from({ length: POOL }, client));
    for (const holder of holders) await holder.query("START TRANSACTION");
    await Promise.all(holders.map(serverConnectionId));
    const failure = invoke({ op: "get", id: "anything" });
    await expect(failure).rejects.toBeInstanceOf(DatabaseUnavailableError);
    await expect(failure).rejects.toMatchObject({
      retryable: true,
      message: expect.stringContaining(`MySQL at 127.0.0.1:${h.port} is busy (error ${BORROW_TIMEOUT_ERRNO}: ${BORROW_TIMEOUT_MESSAGE})`),
    });
    for (const holder of holders) await holder.query("COMMIT");
    expect(await invoke({ op: "get", id: "anything" })).toMatchObject({ statusCode: 404 });
  });
});
