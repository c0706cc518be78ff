import type { Harness } from "../../harness/mariadb";
import { useApiHandlerHarness } from "../../harness/api-handler";
import { handler, sharedDatabase } from "../../functions/api/index";
import { MAX_DATA_BYTES, MAX_ID_LENGTH } from "../../functions/shared/request";
import {
  CONNECT_TIMEOUT_MS,
  DatabaseUnavailableError,
  CONNECTIONS_PER_ENVIRONMENT,
  QUERY_TIMEOUT_MS,
} from "../../functions/shared/database-client";

let h: Harness;
const logLines: string[] = [];
useApiHandlerHarness(logLines, (started) => {
  h = started;
});

const invoke = (event: unknown) => handler(event, { awsRequestId: `test-${Math.random().toString(36).slice(2)}` });
// Every command any client sent through the front: the handler's, whatever the protocol.
const commandsSent = () => h.sessions().reduce((sum, session) => sum + session.commands, 0);
const appConnections = async () =>
  Number((await h.admin("SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE USER = 'app_user'"))[0].n);

describe("items API on a real MariaDB with IAM-token authentication", () => {
  beforeEach(async () => {
    await h.admin(`DELETE FROM \`${h.database}\`.items`);
  });

  it("reports the server version, the TLS cipher and the IAM user it connected as", async () => {
    const response = await invoke({ op: "health" });
    expect(response).toEqual({
      statusCode: 200,
      data: { version: expect.stringContaining("MariaDB"), tlsCipher: expect.stringMatching(/^TLS_|ECDHE|AES/), currentUser: "app_user@%" },
    });
  });

  it("creates, replaces, reads and deletes an item", async () => {
    expect(await invoke({ op: "put", item: { id: "a-1", data: { colour: "red", n: 1 } } })).toEqual({
      statusCode: 201,
      data: { id: "a-1", created: true },
    });
    expect(await invoke({ op: "put", item: { id: "a-1", data: { colour: "blue", n: 2 } } })).toEqual({
      statusCode: 200,
      data: { id: "a-1", created: false },
    });
    expect(await invoke({ op: "get", id: "a-1" })).toEqual({ statusCode: 200, data: { id: "a-1", data: { colour: "blue", n: 2 } } });
    expect(await invoke({ op: "delete", id: "a-1" })).toEqual({ statusCode: 200, data: { id: "a-1", deleted: true } });
    expect(await invoke({ op: "get", id: "a-1" })).toEqual({
      statusCode: 404,
      error: { code: "not_found", message: "no item with this id", field: "id" },
    });
    expect(await invoke({ op: "delete", id: "a-1" })).toMatchObject({ statusCode: 404, error: { code: "not_found" } });
  });

  it("pages through items in id order with a stable cursor, unaffected by inserts behind it", async () => {
    const ids = ["b", "d", "a", "g", "c", "f", "e"];
    for (const id of ids) await invoke({ op: "put", item: { id, data: { id } } });
    const first = (await invoke({ op: "list", limit: 3 })) as { statusCode: 200; data: { items: { id: string }[]; nextCursor?: string } };
    expect(first.data.items.map((item) => item.id)).toEqual(["a", "b", "c"]);
    await invoke({ op: "put", item: { id: "aa", data: {} } });
    const second = (await invoke({ op: "list", limit: 3, cursor: first.data.nextCursor })) as typeof first;
    expect(second.data.items.map((item) => item.id)).toEqual(["d", "e", "f"]);
    const third = (await invoke({ op: "list", limit: 3, cursor: second.data.nextCursor })) as typeof first;
    expect(third.data).toEqual({ items: [{ id: "g", data: { id: "g" } }] });
    expect(await invoke({ op: "list" })).toMatchObject({
      statusCode: 200,
      data: { items: expect.arrayContaining([{ id: "aa", data: {} }]) },
    });
  });

  it("names a missing field as missing", async () => {
    expect(await invoke({ id: "x" })).toMatchObject({
      statusCode: 400,
      error: { field: "op", message: "op: must be one of health, put, get, list, delete, got nothing (the field is missing)" },
    });
    expect(await invoke({ op: "put", item: { id: "x" } })).toMatchObject({
      statusCode: 400,
      error: { field: "item.data", message: "item.data: must be a JSON object, got nothing (the field is missing)" },
    });
  });

  it("starts a page after the id a well-formed cursor names, issued or not: cursors are not signed", async () => {
    for (const id of ["a", "b", "c"]) await invoke({ op: "put", item: { id, data: {} } });
    const cursor = Buffer.from("a").toString("base64url");
    expect(await invoke({ op: "list", cursor })).toEqual({
      statusCode: 200,
      data: {
        items: [
          { id: "b", data: {} },
          { id: "c", data: {} },
        ],
      },
    });
  });

  it("stores SQL injection attempts as plain data", async () => {
    const id = "x' OR '1'='1'; DROP TABLE items; --";
    const data = { note: "'); DELETE FROM items; --", back: "\\'; SELECT SLEEP(10); #" };
    await invoke({ op: "put", item: { id: "bystander", data: { safe: true } } });
    expect(await invoke({ op: "put", item: { id, data } })).toMatchObject({ statusCode: 201 });
    expect(await invoke({ op: "get", id })).toEqual({ statusCode: 200, data: { id, data } });
    expect(await invoke({ op: "get", id: "bystander" })).toMatchObject({ statusCode: 200 });
    expect(await invoke({ op: "get", id: "x" })).toMatchObject({ statusCode: 404 });
    expect((await h.admin(`SELECT COUNT(*) AS n FROM \`${h.database}\`.items`))[0].n).toBe(2);
  });

  it.each([
    ["an event that is not an object", "health", "event"],
    ["an unknown op", { op: "drop" }, "op"],
    ["a missing op", { id: "x" }, "op"],
    ["a field the op does not take", { op: "get", id: "x", limit: 3 }, "limit"],
    ["a missing id", { op: "get" }, "id"],
    ["an id that is not a string", { op: "delete", id: 7 }, "id"],
    ["an empty id", { op: "get", id: "" }, "id"],
    ["an id too long", { op: "get", id: "x".repeat(MAX_ID_LENGTH + 1) }, "id"],
    ["an id with control characters", { op: "get", id: "a\nb" }, "id"],
    ["a put without item", { op: "put" }, "item"],
    ["an item with an extra field", { op: "put", item: { id: "x", data: {}, owner: "me" } }, "item.owner"],
    ["data that is not an object", { op: "put", item: { id: "x", data: [1, 2] } }, "item.data"],
    ["data over the size limit", { op: "put", item: { id: "x", data: { blob: "x".repeat(MAX_DATA_BYTES) } } }, "item.data"],
    ["a limit of zero", { op: "list", limit: 0 }, "limit"],
    ["a limit over the maximum", { op: "list", limit: 101 }, "limit"],
    ["a fractional limit", { op: "list", limit: 2.5 }, "limit"],
    ["a forged cursor", { op: "list", cursor: "not a cursor!" }, "cursor"],
  ])("answers %s with a 400 naming the field, without touching the database", async (_, event, field) => {
    await invoke({ op: "health" });
    const before = commandsSent();
    const response = await invoke(event);
    expect(response).toEqual({
      statusCode: 400,
      error: { code: "invalid_request", field, message: expect.stringMatching(new RegExp(`^${field.replace(".", "\\.")}: `)) },
    });
    expect(JSON.stringify(response)).not.toMatch(/undefined/);
    expect(commandsSent()).toBe(before);
  });

  it("serves 50 concurrent invocations on a bounded number of connections with one token", async () => {
    const signingsBefore = sharedDatabase().tokens.signings;
    let peakConnections = 0;
    const sampling = (async () => {
      for (let i = 0; i < 40; i++) {
        peakConnections = Math.max(peakConnections, await appConnections());
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();
    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, i) => invoke(i % 2 ? { op: "put", item: { id: `c-${i}`, data: { i } } } : { op: "list", limit: 5 })),
    );
    await sampling;
    expect(responses.map((response) => response.statusCode).filter((code) => code >= 300)).toEqual([]);
    expect(peakConnections).toBeGreaterThan(0);
    expect(peakConnections).toBeLessThanOrEqual(CONNECTIONS_PER_ENVIRONMENT);
    expect(sharedDatabase().tokens.signings - signingsBefore).toBeLessThanOrEqual(1);
  });

  it("survives the server closing its connection while idle", async () => {
    await invoke({ op: "health" });
    const [{ id }] = await h.admin("SELECT ID AS id FROM information_schema.PROCESSLIST WHERE USER = 'app_user' LIMIT 1");
    await h.admin(`KILL ${Number(id)}`);
    expect(await invoke({ op: "health" })).toMatchObject({ statusCode: 200 });
  });

  it("survives a server restart between invocations", async () => {
    await invoke({ op: "put", item: { id: "before-restart", data: {} } });
    await h.restart();
    expect(await invoke({ op: "get", id: "before-restart" })).toMatchObject({ statusCode: 200 });
  });

  it("fails the invocation with a clear error, well within the timeout, while the database is down, then recovers", async () => {
    await h.stop();
    try {
      const started = Date.now();
      const failure = invoke({ op: "get", id: "anything" });
      await expect(failure).rejects.toThrow(DatabaseUnavailableError);
      await expect(failure).rejects.toThrow(`MySQL at 127.0.0.1:${h.port} is unavailable`);
      expect(Date.now() - started).toBeLessThan(CONNECT_TIMEOUT_MS * 2);
    } finally {
      await h.start();
    }
    expect(await invoke({ op: "health" })).toMatchObject({ statusCode: 200 });
  });

  it("fails with a clear error within the query timeout when the database hangs, then recovers", async () => {
    await invoke({ op: "health" });
    h.pause();
    try {
      const started = Date.now();
      const failure = invoke({ op: "get", id: "anything" });
      await expect(failure).rejects.toThrow(`MySQL at 127.0.0.1:${h.port} did not answer within ${QUERY_TIMEOUT_MS} ms`);
      expect(Date.now() - started).toBeLessThan(QUERY_TIMEOUT_MS + 2_000);
    } finally {
      h.resume();
    }
    expect(await invoke({ op: "health" })).toMatchObject({ statusCode: 200 });
  }, 20_000);

  it("logs one JSON line per request with its request id, and never a token or item data", async () => {
    await invoke({ op: "put", item: { id: "secret-id-in-logs", data: { ssn: "123-45-6789" } } });
    const lines = logLines.map((line) => JSON.parse(line));
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line.requestId).toMatch(/^test-/);
    const all = logLines.join("\n");
    expect(all).not.toMatch(/X-Amz-Signature|X-Amz-Credential|Action=connect/);
    expect(all).not.toContain(h.credentials.secretAccessKey);
    expect(all).not.toContain("123-45-6789");
    expect(all).not.toContain("secret-id-in-logs");
  });
});
