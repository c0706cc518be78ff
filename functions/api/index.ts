import { randomUUID } from "node:crypto";
import { settingsFromEnvironment } from "../shared/database-settings";
import { DatabaseClient } from "../shared/database-client";
import { deleteItem, getItem, health, listItems, putItem } from "./items";
import { type HttpApiEvent, type HttpApiResult, callerArn, httpResult, isHttpApiEvent } from "../shared/http-event";
import { type LogFields, log } from "../shared/log";
import { ClientError, type Request, parseRequest } from "../shared/request";
import { asHttpError, routeEvent, routeOf } from "./routes";

/** Every direct answer has this shape; failures of the server are thrown instead, so Lambda retries them. Over HTTP it is the body, less the status code. */
export type Response =
  | { statusCode: 200 | 201; data: unknown }
  | { statusCode: 400 | 404 | 413; error: { code: string; message: string; field?: string } };

interface Context {
  awsRequestId?: string;
}

// One per execution environment, created on first use and reused by every invocation after it.
let database: DatabaseClient | undefined;

/** The environment's database client (exported for tests and benchmarks). */
export function sharedDatabase(): DatabaseClient {
  database ??= new DatabaseClient(settingsFromEnvironment(process.env));
  return database;
}

/** Closes the environment's connections; the next invocation opens new ones. */
export async function closeDatabase(): Promise<void> {
  const current = database;
  database = undefined;
  await current?.end();
}

async function serve(request: Request, requestId: string): Promise<Response> {
  const db = sharedDatabase();
  switch (request.op) {
    case "health":
      return { statusCode: 200, data: await db.run(requestId, health) };
    case "put": {
      const created = await db.run(requestId, (c) => putItem(c, request));
      return { statusCode: created ? 201 : 200, data: { id: request.id, created } };
    }
    case "get": {
      const item = await db.run(requestId, (c) => getItem(c, request.id));
      if (!item) throw new ClientError(404, "not_found", `no item with this id`, "id");
      return { statusCode: 200, data: item };
    }
    case "list":
      return { statusCode: 200, data: await db.run(requestId, (c) => listItems(c, request.after, request.limit)) };
    case "delete": {
      const deleted = await db.run(requestId, (c) => deleteItem(c, request.id));
      if (!deleted) throw new ClientError(404, "not_found", `no item with this id`, "id");
      return { statusCode: 200, data: { id: request.id, deleted } };
    }
  }
}

/**
 * Answers one request: validation and client errors as a Response, logged with `fields`; server
 * failures are logged and thrown.
 */
async function answer(parse: () => Request, requestId: string, fields: LogFields): Promise<Response> {
  const started = performance.now();
  const durationMs = () => Math.round(performance.now() - started);
  let op: string | undefined;
  try {
    const request = parse();
    op = request.op;
    const response = await serve(request, requestId);
    log("info", "request served", { requestId, ...fields, op, statusCode: response.statusCode, durationMs: durationMs() });
    return response;
  } catch (error) {
    if (error instanceof ClientError) {
      log("info", "request refused", {
        requestId,
        ...fields,
        op,
        statusCode: error.statusCode,
        field: error.field,
        durationMs: durationMs(),
      });
      return { statusCode: error.statusCode, error: { code: error.code, message: error.message, field: error.field } };
    }
    const failure = error as Error & { code?: string };
    log("error", "request failed", { requestId, ...fields, op, error: failure.name, code: failure.code, durationMs: durationMs() });
    throw error;
  }
}

/**
 * Over HTTP: the same requests and answers, as JSON bodies. A server failure is a 500 that names the
 * request id of the log lines and nothing else: API Gateway does not retry, and its own 500 would say less.
 */
async function answerHttp(event: HttpApiEvent, requestId: string): Promise<HttpApiResult> {
  // The route and who signed it; never a header, the path's values, the query or the body.
  const fields = { route: event.routeKey, caller: callerArn(event), apiRequestId: event.requestContext.requestId };
  try {
    const { statusCode, ...payload } = await answer(() => parseHttpRequest(event), requestId, fields);
    return httpResult(statusCode, payload);
  } catch {
    const message = "the request failed on the server; quote the requestId when reporting it";
    return httpResult(500, { error: { code: "internal_error", message, requestId } });
  }
}

function parseHttpRequest(event: HttpApiEvent): Request {
  const route = routeOf(event);
  try {
    return parseRequest(routeEvent(route, event));
  } catch (error) {
    throw error instanceof ClientError ? asHttpError(route, error) : error;
  }
}

/** Takes a direct invocation's event (`{ op, ... }`) or an API Gateway HTTP API event (payload format 2.0). */
export async function handler(event: HttpApiEvent, context?: Context): Promise<HttpApiResult>;
export async function handler(event: unknown, context?: Context): Promise<Response>;
export async function handler(event: unknown, context: Context = {}): Promise<Response | HttpApiResult> {
  const requestId = context.awsRequestId ?? randomUUID();
  return isHttpApiEvent(event) ? answerHttp(event, requestId) : answer(() => parseRequest(event), requestId, {});
}
