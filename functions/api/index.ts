import { randomUUID } from "node:crypto";
import { settingsFromEnvironment } from "../shared/database-settings";
import { DatabaseClient } from "../shared/database-client";
import { deleteItem, getItem, health, listItems, putItem } from "./items";
import { log } from "../shared/log";
import { ClientError, type Request, parseRequest } from "../shared/request";

/** Every answer has this shape; failures of the server are thrown instead, so Lambda retries them. */
export type Response =
  | { statusCode: 200 | 201; data: unknown }
  | { statusCode: 400 | 404; error: { code: string; message: string; field?: string } };

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

export async function handler(event: unknown, context: Context = {}): Promise<Response> {
  const requestId = context.awsRequestId ?? randomUUID();
  const started = performance.now();
  const durationMs = () => Math.round(performance.now() - started);
  let op: string | undefined;
  try {
    const request = parseRequest(event);
    op = request.op;
    const response = await serve(request, requestId);
    log("info", "request served", { requestId, op, statusCode: response.statusCode, durationMs: durationMs() });
    return response;
  } catch (error) {
    if (error instanceof ClientError) {
      log("info", "request refused", { requestId, op, statusCode: error.statusCode, field: error.field, durationMs: durationMs() });
      return { statusCode: error.statusCode, error: { code: error.code, message: error.message, field: error.field } };
    }
    const failure = error as Error & { code?: string };
    log("error", "request failed", { requestId, op, error: failure.name, code: failure.code, durationMs: durationMs() });
    throw error;
  }
}
