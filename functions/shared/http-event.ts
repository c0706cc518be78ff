import { ClientError, fail, isObject } from "./request";

/** Methods a route may take; ANY is not one: each route is granted and admitted by its own method. */
export const HTTP_METHODS = ["GET", "PUT", "DELETE", "POST", "PATCH"] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

/** A route as API Gateway keys it, e.g. "GET /items/{id}": its events' `routeKey`. */
export const routeKey = (route: { readonly method: HttpMethod; readonly path: string }) => `${route.method} ${route.path}`;

/**
 * An API Gateway HTTP API event, payload format 2.0: the fields the handler reads. Path and query
 * parameters arrive decoded (repeated query parameters joined with commas); a body the caller sent
 * as anything but text arrives base64-encoded, with `isBase64Encoded`.
 */
export interface HttpApiEvent {
  version: "2.0";
  /** The route that matched, e.g. "GET /items/{id}". */
  routeKey: string;
  rawPath: string;
  rawQueryString: string;
  headers?: Record<string, string>;
  queryStringParameters?: Record<string, string>;
  pathParameters?: Record<string, string>;
  body?: string;
  isBase64Encoded: boolean;
  requestContext: {
    requestId: string;
    stage: string;
    /** The SigV4 signer, on routes with AWS_IAM authorization. */
    authorizer?: { iam?: { userArn?: string; accountId?: string } };
    http: { method: string; path: string };
  };
}

/** What the handler returns to API Gateway: always JSON. */
export interface HttpApiResult {
  statusCode: number;
  headers: { "content-type": "application/json" };
  body: string;
}

/** True for an event API Gateway sent in payload format 2.0; a direct invocation's event has no `version`. */
export function isHttpApiEvent(event: unknown): event is HttpApiEvent {
  return isObject(event) && event.version === "2.0" && typeof event.routeKey === "string" && isObject(event.requestContext);
}

/** The identity that signed the request (an IAM user or assumed-role ARN); never its keys. */
export const callerArn = (event: HttpApiEvent): string | undefined => event.requestContext.authorizer?.iam?.userArn;

/**
 * The body as JSON: base64-decoded when API Gateway says so, refused with a 413 past `maxBytes`
 * (before it is parsed) and with a 400 when it is not JSON.
 */
export function jsonBody(event: HttpApiEvent, maxBytes: number): unknown {
  const bytes = Buffer.from(event.body ?? "", event.isBase64Encoded ? "base64" : "utf8");
  if (bytes.byteLength > maxBytes) {
    throw new ClientError(413, "too_large", `body: is ${bytes.byteLength} bytes; the limit is ${maxBytes}`, "body");
  }
  if (bytes.byteLength === 0) return fail("body", "is empty; send a JSON object");
  try {
    return JSON.parse(bytes.toString("utf8"));
  } catch {
    // Not the parser's message: it quotes the body back.
    return fail("body", "is not JSON; send a JSON object with content-type: application/json");
  }
}

const JSON_HEADERS = { "content-type": "application/json" } as const;

/** A JSON answer with its status code. */
export const httpResult = (statusCode: number, payload: unknown): HttpApiResult => ({
  statusCode,
  headers: JSON_HEADERS,
  body: JSON.stringify(payload),
});
