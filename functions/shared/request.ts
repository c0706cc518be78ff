/** Longest id, in characters (the column is VARCHAR(128)). */
export const MAX_ID_LENGTH = 128;
/** Largest `data`, in bytes of its JSON text. */
export const MAX_DATA_BYTES = 16 * 1024;
export const DEFAULT_LIST_LIMIT = 25;
export const MAX_LIST_LIMIT = 100;

export type ItemData = Record<string, unknown>;

export type Request =
  | { op: "health" }
  | { op: "put"; id: string; data: ItemData }
  | { op: "get"; id: string }
  | { op: "delete"; id: string }
  | { op: "list"; limit: number; after: string };

/** A mistake of the caller: answered with a 4xx, never retried, never sent to the database. */
export class ClientError extends Error {
  constructor(
    readonly statusCode: 400 | 404 | 413,
    readonly code: "invalid_request" | "not_found" | "too_large",
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = "ClientError";
  }
}

const OPS = ["health", "put", "get", "list", "delete"] as const;
const FIELDS: Record<(typeof OPS)[number], string[]> = {
  health: ["op"],
  put: ["op", "item"],
  get: ["op", "id"],
  delete: ["op", "id"],
  list: ["op", "limit", "cursor"],
};

export const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

// Control characters make ids unprintable in logs and consoles; nothing legitimate needs them.
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is this pattern's purpose.
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

function parseId(value: unknown, field: string): string {
  if (typeof value !== "string") return fail(field, `must be a string, got ${describe(value)}`);
  if (value.length === 0) return fail(field, "must not be empty");
  const length = [...value].length;
  if (length > MAX_ID_LENGTH) return fail(field, `is ${length} characters long; the limit is ${MAX_ID_LENGTH}`);
  if (CONTROL_CHARACTERS.test(value)) return fail(field, "must not contain control characters");
  return value;
}

/** Refuses the request with a 400 naming `field`: "<field>: <message>". */
export function fail(field: string, message: string): never {
  throw new ClientError(400, "invalid_request", `${field}: ${message}`, field);
}

/** What the caller sent, for messages: "got nothing" when the field is missing, never "undefined". */
export function describe(value: unknown): string {
  if (value === undefined) return "nothing (the field is missing)";
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object" : `${typeof value} ${JSON.stringify(value)}`.slice(0, 60);
}

/**
 * Cursors are opaque to callers: base64url of the last id of the previous page. They are not
 * signed: one made up for an existing id starts the page after it, which shows nothing `list` does not.
 */
export function encodeCursor(lastId: string): string {
  return Buffer.from(lastId, "utf8").toString("base64url");
}

function decodeCursor(value: unknown): string {
  if (typeof value !== "string" || !/^[A-Za-z0-9_-]+$/.test(value)) {
    return fail("cursor", "must be the nextCursor of a previous list response");
  }
  const lastId = Buffer.from(value, "base64url").toString("utf8");
  if (encodeCursor(lastId) !== value) return fail("cursor", "must be the nextCursor of a previous list response");
  return parseId(lastId, "cursor");
}

function parseLimit(value: unknown): number {
  if (value === undefined) return DEFAULT_LIST_LIMIT;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > MAX_LIST_LIMIT) {
    return fail("limit", `must be an integer from 1 to ${MAX_LIST_LIMIT}, got ${describe(value)}`);
  }
  return value;
}

function parseData(value: unknown): ItemData {
  if (!isObject(value)) return fail("item.data", `must be a JSON object, got ${describe(value)}`);
  const bytes = Buffer.byteLength(JSON.stringify(value), "utf8");
  if (bytes > MAX_DATA_BYTES) return fail("item.data", `is ${bytes} bytes of JSON; the limit is ${MAX_DATA_BYTES}`);
  return value;
}

/** An item as `put` takes it and ingested lines hold it, or a ClientError naming the bad field (item, item.id, item.data, ...). */
export function parseItem(item: unknown): { id: string; data: ItemData } {
  if (!isObject(item)) return fail("item", `must be an object with id and data, got ${describe(item)}`);
  const extra = Object.keys(item).find((key) => key !== "id" && key !== "data");
  if (extra !== undefined) return fail(`item.${extra}`, "is not a field of an item; it takes id, data");
  return { id: parseId(item.id, "item.id"), data: parseData(item.data) };
}

/** Turns an invocation event into a request, or throws a ClientError naming the bad field. */
export function parseRequest(event: unknown): Request {
  if (!isObject(event)) return fail("event", `must be a JSON object with an "op", got ${describe(event)}`);
  const op = event.op;
  if (typeof op !== "string" || !(OPS as readonly string[]).includes(op)) {
    return fail("op", `must be one of ${OPS.join(", ")}, got ${describe(op)}`);
  }
  const known = FIELDS[op as (typeof OPS)[number]];
  const unknown = Object.keys(event).find((key) => !known.includes(key));
  if (unknown !== undefined) return fail(unknown, `is not a field of "${op}"; it takes ${known.join(", ")}`);

  switch (op) {
    case "health":
      return { op };
    case "get":
    case "delete":
      return { op, id: parseId(event.id, "id") };
    case "list":
      return { op, limit: parseLimit(event.limit), after: event.cursor === undefined ? "" : decodeCursor(event.cursor) };
    default:
      return { op: "put", ...parseItem(event.item) };
  }
}
