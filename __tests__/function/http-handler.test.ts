import type { Harness } from "../../harness/mariadb";
import { useApiHandlerHarness } from "../../harness/api-handler";
import { CALLER_ARN, type HttpRequest, httpApiEvent } from "../../harness/http-api-events";
import { handler } from "../../functions/api/index";
import { ITEM_ROUTES } from "../../functions/api/routes";
import { type HttpApiEvent, routeKey } from "../../functions/shared/http-event";
import { MAX_DATA_BYTES, MAX_ID_LENGTH } from "../../functions/shared/request";

let h: Harness;
const logLines: string[] = [];
useApiHandlerHarness(logLines, (started) => {
  h = started;
});

const ROUTE_KEYS = ITEM_ROUTES.map(routeKey);
const newRequestId = () => `test-${Math.random().toString(36).slice(2)}`;
const event = (method: string, url: string, request?: HttpRequest) => httpApiEvent(ROUTE_KEYS, method, url, request);

/** The handler's answer to an HTTP event, its body parsed; fails unless it is JSON. */
async function call(httpEvent: HttpApiEvent, requestId = newRequestId()) {
  const result = await handler(httpEvent, { awsRequestId: requestId });
  expect(result.headers).toEqual({ "content-type": "application/json" });
  return { statusCode: result.statusCode, body: JSON.parse(result.body) };
}
const http = (method: string, url: string, request?: HttpRequest) => call(event(method, url, request));
/** The same request invoked directly, as today's callers do: the answer over HTTP must be this one. */
const direct = async (directEvent: unknown) => {
  const { statusCode, ...body } = await handler(directEvent, { awsRequestId: newRequestId() });
  return { statusCode, body };
};
const commandsSent = () => h.sessions().reduce((sum, session) => sum + session.commands, 0);

describe("the items API over API Gateway's HTTP API (payload format 2.0)", () => {
  beforeEach(async () => {
    await h.admin(`DELETE FROM \`${h.database}\`.items`);
  });

  /** One request per route, and the direct event it stands for: every route the infrastructure declares is here. */
  const SAME_AS_DIRECT: Record<string, { url: string; request?: HttpRequest; direct: unknown }> = {
    "GET /health": { url: "/health", direct: { op: "health" } },
    "GET /items": { url: "/items?limit=2", direct: { op: "list", limit: 2 } },
    "GET /items/{id}": { url: "/items/a-1", direct: { op: "get", id: "a-1" } },
    "PUT /items/{id}": {
      url: "/items/a-2",
      request: { body: { colour: "red" } },
      direct: { op: "put", item: { id: "a-2", data: { colour: "red" } } },
    },
    "DELETE /items/{id}": { url: "/items/a-1", direct: { op: "delete", id: "a-1" } },
  };

  it("has a request for every route the handler declares", () => {
    expect(Object.keys(SAME_AS_DIRECT).sort()).toEqual([...ROUTE_KEYS].sort());
  });

  it.each(ROUTE_KEYS)("answers %s as a direct invocation of the same request answers, in JSON", async (key) => {
    const { url, request, direct: directEvent } = SAME_AS_DIRECT[key];
    const seed = async () => {
      await h.admin(`DELETE FROM \`${h.database}\`.items`);
      for (const id of ["a-1", "a-3", "a-4"]) await direct({ op: "put", item: { id, data: { id } } });
    };
    await seed();
    const expected = await direct(directEvent);
    await seed();
    const answered = await http(key.split(" ")[0], url, request);
    expect(answered).toEqual(expected);
    expect(answered.statusCode).toBeLessThan(300);
  });

  it("reads and writes ids with spaces, slashes and other characters percent-encoded in the path", async () => {
    const id = "a b/c?d#é%";
    const url = `/items/${encodeURIComponent(id)}`;
    expect(await http("PUT", url, { body: { n: 1 } })).toEqual({ statusCode: 201, body: { data: { id, created: true } } });
    expect(await direct({ op: "get", id })).toEqual({ statusCode: 200, body: { data: { id, data: { n: 1 } } } });
    expect(await http("GET", url)).toEqual({ statusCode: 200, body: { data: { id, data: { n: 1 } } } });
    expect(await http("PUT", url, { body: { n: 2 } })).toEqual({ statusCode: 200, body: { data: { id, created: false } } });
    expect(await http("DELETE", url)).toEqual({ statusCode: 200, body: { data: { id, deleted: true } } });
    expect(await http("GET", url)).toEqual({
      statusCode: 404,
      body: { error: { code: "not_found", message: "no item with this id", field: "id" } },
    });
    expect(await http("DELETE", url)).toMatchObject({ statusCode: 404, body: { error: { code: "not_found", field: "id" } } });
  });

  it("takes a body API Gateway passed base64-encoded", async () => {
    const data = { colour: "red", bytes: "\u00ff\u0000" };
    expect(await http("PUT", "/items/b64", { body: data, base64: true })).toMatchObject({ statusCode: 201 });
    expect(await direct({ op: "get", id: "b64" })).toEqual({ statusCode: 200, body: { data: { id: "b64", data } } });
  });

  it("pages with limit and cursor from the query string", async () => {
    for (const id of ["a", "b", "c", "d", "e"]) await direct({ op: "put", item: { id, data: {} } });
    const first = await http("GET", "/items?limit=2");
    expect(first.body.data.items.map((item: { id: string }) => item.id)).toEqual(["a", "b"]);
    const second = await http("GET", `/items?cursor=${first.body.data.nextCursor}&limit=2`);
    expect(second.body.data.items.map((item: { id: string }) => item.id)).toEqual(["c", "d"]);
    const last = await http("GET", `/items?limit=2&cursor=${encodeURIComponent(second.body.data.nextCursor)}`);
    expect(last.body.data).toEqual({ items: [{ id: "e", data: {} }] });
  });

  const tooLong = "x".repeat(MAX_ID_LENGTH + 1);
  const overLimit = { blob: "x".repeat(MAX_DATA_BYTES) };
  it.each<[string, number, string, string, string, HttpRequest | undefined]>([
    ["an id too long", 400, "id", "GET", `/items/${tooLong}`, undefined],
    ["an id too long to put", 400, "id", "PUT", `/items/${tooLong}`, { body: {} }],
    ["an id too long to delete", 400, "id", "DELETE", `/items/${tooLong}`, undefined],
    ["an id with control characters", 400, "id", "GET", "/items/a%0Ab", undefined],
    ["a body that is not JSON", 400, "body", "PUT", "/items/x", { body: "colour=red" }],
    ["a base64 body that is not JSON", 400, "body", "PUT", "/items/x", { body: Buffer.from([0xff, 0xfe, 0x00]), base64: true }],
    ["a body that is a JSON array", 400, "body", "PUT", "/items/x", { body: [1, 2] }],
    ["a body that is a JSON string", 400, "body", "PUT", "/items/x", { body: '"red"' }],
    ["a put without a body", 400, "body", "PUT", "/items/x", undefined],
    ["a body over the limit", 413, "body", "PUT", "/items/x", { body: overLimit }],
    ["a base64 body over the limit", 413, "body", "PUT", "/items/x", { body: overLimit, base64: true }],
    ["a body on a route that takes none", 400, "body", "GET", "/items/x", { body: { colour: "red" } }],
    ["a limit of zero", 400, "limit", "GET", "/items?limit=0", undefined],
    ["a limit over the maximum", 400, "limit", "GET", "/items?limit=101", undefined],
    ["a limit that is not a number", 400, "limit", "GET", "/items?limit=ten", undefined],
    ["a fractional limit", 400, "limit", "GET", "/items?limit=2.5", undefined],
    ["an empty limit", 400, "limit", "GET", "/items?limit=", undefined],
    ["a limit given twice", 400, "limit", "GET", "/items?limit=1&limit=2", undefined],
    ["a forged cursor", 400, "cursor", "GET", "/items?cursor=not%20a%20cursor!", undefined],
    ["a query parameter the route does not take", 400, "colour", "GET", "/items?colour=red", undefined],
    ["a query parameter on a route that takes none", 400, "verbose", "GET", "/health?verbose=1", undefined],
    ["a query parameter on a put", 400, "limit", "PUT", "/items/x?limit=1", { body: {} }],
  ])("answers %s with a %i naming %s, without touching the database", async (_, statusCode, field, method, url, request) => {
    await direct({ op: "health" });
    const before = commandsSent();
    const answered = await http(method, url, request);
    expect(answered).toEqual({
      statusCode,
      body: {
        error: {
          code: statusCode === 413 ? "too_large" : "invalid_request",
          field,
          message: expect.stringMatching(new RegExp(`^${field}: `)),
        },
      },
    });
    expect(JSON.stringify(answered)).not.toMatch(/undefined/);
    expect(commandsSent()).toBe(before);
  });

  it("refuses a bad path parameter with the message a direct invocation gets for the same id", async () => {
    const direct400 = await direct({ op: "get", id: tooLong });
    expect(await http("GET", `/items/${tooLong}`)).toEqual(direct400);
  });

  it("answers a route it does not serve with a 404 naming its routes", async () => {
    const unserved = { ...event("GET", "/health"), routeKey: "POST /items" };
    const answered = await call(unserved);
    expect(answered.statusCode).toBe(404);
    expect(answered.body.error).toMatchObject({ code: "not_found", field: "route" });
    for (const key of ROUTE_KEYS) expect(answered.body.error.message).toContain(key);
  });

  it("answers a server failure with a 500 that names the request id and nothing internal, then recovers", async () => {
    await h.stop();
    let answered: Awaited<ReturnType<typeof call>>;
    try {
      answered = await call(event("GET", "/items/anything"), "req-500");
    } finally {
      await h.start();
    }
    expect(answered).toEqual({
      statusCode: 500,
      body: {
        error: {
          code: "internal_error",
          message: "the request failed on the server; quote the requestId when reporting it",
          requestId: "req-500",
        },
      },
    });
    expect(await http("GET", "/health")).toMatchObject({ statusCode: 200 });
  });

  it("logs each request with its route and the caller's identity ARN, and never a signature, token, path value, query or body", async () => {
    logLines.length = 0;
    const secretId = "secret-id-in-path";
    await http("PUT", `/items/${secretId}`, { body: { ssn: "123-45-6789" } });
    await http("GET", `/items?limit=1&cursor=${Buffer.from(secretId).toString("base64url")}`);
    await http("GET", `/items/${secretId}?colour=secret-query-value`);
    const lines = logLines.map((line) => JSON.parse(line));
    expect(lines.map((line) => [line.route, line.caller])).toEqual([
      ["PUT /items/{id}", CALLER_ARN],
      ["GET /items", CALLER_ARN],
      ["GET /items/{id}", CALLER_ARN],
    ]);
    for (const line of lines) expect(line.requestId).toMatch(/^test-/);
    const all = logLines.join("\n");
    for (const secret of [
      "AWS4-HMAC-SHA256",
      "Signature=",
      "IQoJb3JpZ2lu",
      "ASIAEXAMPLEKEYID",
      "123-45-6789",
      secretId,
      "secret-query-value",
    ]) {
      expect(all).not.toContain(secret);
    }
    expect(all).not.toContain(Buffer.from(secretId).toString("base64url"));
  });
});
