/**
 * API Gateway HTTP API events (payload format 2.0) as API Gateway builds them for a Lambda integration
 * behind AWS_IAM routes: the route matched from the declared ones, path parameters and the query
 * decoded (repeated parameters joined with commas), headers lowercased, the SigV4 signer's identity in
 * the request context, a body base64-encoded when the caller sent it as binary.
 */
import { randomUUID } from "node:crypto";
import type { HttpApiEvent } from "../functions/shared/http-event";

export interface HttpRequest {
  /** A JSON value is sent as its JSON text; a string or bytes as they are. */
  readonly body?: unknown;
  /** Send the body as binary: API Gateway passes it base64-encoded. @default false */
  readonly base64?: boolean;
  readonly headers?: Record<string, string>;
  /** The identity that signed the request. */
  readonly callerArn?: string;
}

export const CALLER_ARN = "arn:aws:sts::111111111111:assumed-role/items-reader/session-1";

/** A route's path as a pattern that captures each `{name}` segment, as API Gateway matches it. */
function matcher(path: string): { names: string[]; pattern: RegExp } {
  const names: string[] = [];
  const segments = path.split("/").map((segment) => {
    const parameter = /^\{(\w+)\}$/.exec(segment);
    if (!parameter) return segment.replace(/[.*+?^$(){}|[\]\\]/g, "\\$&");
    names.push(parameter[1]);
    return "([^/]+)";
  });
  return { names, pattern: new RegExp(`^${segments.join("/")}$`) };
}

/**
 * The event for `method` on `url` (path and query, percent-encoded as sent), routed to the first of
 * `routes` ("GET /items/{id}") that matches, as API Gateway routes it; throws when none does (API
 * Gateway would answer 404 itself, without invoking the function).
 */
export function httpApiEvent(routes: readonly string[], method: string, url: string, request: HttpRequest = {}): HttpApiEvent {
  const [rawPath, rawQueryString = ""] = url.split(/\?(.*)/s);
  let routeKey: string | undefined;
  let pathParameters: Record<string, string> | undefined;
  for (const candidate of routes) {
    const [routeMethod, path] = candidate.split(" ");
    const { names, pattern } = matcher(path);
    const match = routeMethod === method ? pattern.exec(rawPath) : null;
    if (!match) continue;
    routeKey = candidate;
    if (names.length > 0) pathParameters = Object.fromEntries(names.map((name, i) => [name, decodeURIComponent(match[i + 1])]));
    break;
  }
  if (!routeKey) throw new Error(`${method} ${rawPath} matches no route: API Gateway would answer 404 without invoking the function`);

  const query: Record<string, string> = {};
  for (const [name, value] of new URLSearchParams(rawQueryString)) query[name] = name in query ? `${query[name]},${value}` : value;
  const text =
    request.body === undefined
      ? undefined
      : typeof request.body === "string" || Buffer.isBuffer(request.body)
        ? Buffer.from(request.body as string | Buffer)
        : Buffer.from(JSON.stringify(request.body));
  const requestId = randomUUID().slice(0, 16);
  return {
    version: "2.0",
    routeKey,
    rawPath,
    rawQueryString,
    headers: {
      accept: "application/json",
      // SigV4, as a signed request carries it: the handler must never log it.
      authorization:
        "AWS4-HMAC-SHA256 Credential=ASIAEXAMPLEKEYID0000/20261207/eu-west-1/execute-api/aws4_request, SignedHeaders=host;x-amz-date;x-amz-security-token, Signature=0123456789abcdef",
      "x-amz-security-token": "IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKEN",
      "x-amz-date": "20261207T230000Z",
      host: "abcdef1234.execute-api.eu-west-1.amazonaws.com",
      ...(text && { "content-length": String(text.byteLength), "content-type": "application/json" }),
      ...Object.fromEntries(Object.entries(request.headers ?? {}).map(([name, value]) => [name.toLowerCase(), value])),
    },
    ...(rawQueryString && { queryStringParameters: query }),
    ...(pathParameters && { pathParameters }),
    requestContext: {
      accountId: "111111111111",
      apiId: "abcdef1234",
      authorizer: {
        iam: {
          accessKey: "ASIAEXAMPLEKEYID0000",
          accountId: "111111111111",
          callerId: "AROAEXAMPLEROLEID:session-1",
          cognitoIdentity: null,
          principalOrgId: null,
          userArn: request.callerArn ?? CALLER_ARN,
          userId: "AROAEXAMPLEROLEID:session-1",
        },
      },
      domainName: "abcdef1234.execute-api.eu-west-1.amazonaws.com",
      domainPrefix: "abcdef1234",
      http: { method, path: rawPath, protocol: "HTTP/1.1", sourceIp: "192.0.2.1", userAgent: "aws-sdk-js/3" },
      requestId,
      routeKey,
      stage: "$default",
      time: "07/Dec/2026:23:00:00 +0000",
      timeEpoch: 1796684400000,
    } as HttpApiEvent["requestContext"],
    ...(text && { body: text.toString(request.base64 ? "base64" : "utf8") }),
    isBase64Encoded: request.base64 === true,
  };
}
