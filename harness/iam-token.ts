/**
 * Verifies an RDS IAM authentication token the way RDS does: a SigV4 presigned "connect" URL for
 * `<host>:<port>/`, signed for the rds-db service by known credentials, for this database user, not
 * expired. The signature is recomputed here with node:crypto, independently of the signer.
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";

export interface TrustedCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  /** When set, tokens must carry exactly this X-Amz-Security-Token (as a Lambda's session credentials do). */
  sessionToken?: string;
}

export interface TokenExpectations {
  /** The endpoint the client was told to connect to; tokens are signed for it. */
  host: string;
  port: number;
  region: string;
  credentials: TrustedCredentials;
  /** RDS accepts tokens signed for at most 15 minutes. */
  maxExpiresSeconds?: number;
  maxClockSkewSeconds?: number;
}

/** Why a token was refused, e.g. "signature-mismatch", "expired", "dbuser-mismatch", "host-port-mismatch". */
export class TokenRejected extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = "TokenRejected";
  }
}

const MAX_TOKEN_BYTES = 16 * 1024;
const REQUIRED_PARAMS = [
  "Action",
  "DBUser",
  "X-Amz-Algorithm",
  "X-Amz-Credential",
  "X-Amz-Date",
  "X-Amz-Expires",
  "X-Amz-SignedHeaders",
  "X-Amz-Signature",
];
const OPTIONAL_PARAMS = ["X-Amz-Security-Token"];
const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

const reject = (reason: string): never => {
  throw new TokenRejected(reason);
};

/** RFC 3986 encoding, as SigV4 canonical query strings require. */
const uriEncode = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
const hmac = (key: string | Buffer, data: string) => createHmac("sha256", key).update(data, "utf8").digest();
const sha256 = (data: string) => createHash("sha256").update(data, "utf8").digest();

/** Constant-time comparison of strings of any length. */
function sameString(a: string, b: string): boolean {
  return timingSafeEqual(sha256(a), sha256(b)) && a.length === b.length;
}

/** "20240102T030405Z" -> epoch ms, or NaN for anything else (month 13 and the like included). */
export function parseAmzDate(s: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (!m) return NaN;
  const [y, mo, d, h, mi, se] = m.slice(1).map(Number);
  const t = Date.UTC(y, mo - 1, d, h, mi, se);
  const back = new Date(t);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d || h > 23 || mi > 59 || se > 59) return NaN;
  return t;
}

function parseQuery(rawQuery: string): Map<string, string> {
  const params = new Map<string, string>();
  for (const part of rawQuery.split("&")) {
    const eq = part.indexOf("=");
    if (eq <= 0) reject("malformed-query");
    let key = "";
    let value = "";
    try {
      key = decodeURIComponent(part.slice(0, eq));
      value = decodeURIComponent(part.slice(eq + 1));
    } catch {
      reject("malformed-query");
    }
    if (params.has(key)) reject("duplicate-param");
    params.set(key, value);
  }
  for (const key of REQUIRED_PARAMS) if (!params.has(key)) reject(`missing-${key}`);
  for (const key of params.keys()) if (!REQUIRED_PARAMS.includes(key) && !OPTIONAL_PARAMS.includes(key)) reject("unexpected-param");
  return params;
}

/** Throws TokenRejected naming the first reason `token` does not let `user` in; returns when it does. */
export function verifyToken(token: string, user: string, expected: TokenExpectations, nowMs = Date.now()): void {
  const maxExpires = expected.maxExpiresSeconds ?? 900;
  const maxSkewMs = (expected.maxClockSkewSeconds ?? 300) * 1000;
  if (user.length === 0) reject("no-user");
  if (token.length === 0) reject("empty-token");
  if (Buffer.byteLength(token, "utf8") > MAX_TOKEN_BYTES) reject("token-too-long");
  if (/[\s\0]/.test(token)) reject("malformed-token");

  const separator = token.indexOf("/?");
  if (separator <= 0) reject("malformed-token");
  const hostPort = token.slice(0, separator);
  if (hostPort.toLowerCase() !== `${expected.host}:${expected.port}`.toLowerCase()) reject("host-port-mismatch");
  const params = parseQuery(token.slice(separator + 2));
  const param = (name: string) => params.get(name)!;

  if (param("Action") !== "connect") reject("bad-action");
  if (param("X-Amz-Algorithm") !== "AWS4-HMAC-SHA256") reject("bad-algorithm");
  if (param("X-Amz-SignedHeaders") !== "host") reject("bad-signed-headers");
  if (param("DBUser") !== user) reject("dbuser-mismatch");

  const sessionToken = params.get("X-Amz-Security-Token");
  if (expected.credentials.sessionToken !== undefined) {
    if (sessionToken === undefined) reject("missing-session-token");
    if (!sameString(sessionToken!, expected.credentials.sessionToken)) reject("session-token-mismatch");
  } else if (sessionToken !== undefined) {
    reject("unexpected-session-token");
  }

  const expiresText = param("X-Amz-Expires");
  if (!/^[1-9]\d{0,5}$/.test(expiresText) || Number(expiresText) > maxExpires) reject("bad-expires");
  const amzDate = param("X-Amz-Date");
  const signedAt = parseAmzDate(amzDate);
  if (Number.isNaN(signedAt)) reject("bad-date");

  const credential = param("X-Amz-Credential").split("/");
  if (credential.length !== 5) reject("bad-credential");
  const [accessKeyId, scopeDate, region, service, terminator] = credential;
  if (!sameString(accessKeyId, expected.credentials.accessKeyId)) reject("unknown-access-key");
  if (scopeDate !== amzDate.slice(0, 8)) reject("scope-date-mismatch");
  if (region !== expected.region) reject("region-mismatch");
  if (service !== "rds-db") reject("service-mismatch");
  if (terminator !== "aws4_request") reject("bad-credential");

  if (signedAt > nowMs + maxSkewMs) reject("date-in-future");
  if (nowMs > signedAt + Number(expiresText) * 1000) reject("expired");

  const signature = param("X-Amz-Signature");
  if (!/^[0-9a-f]{64}$/.test(signature)) reject("bad-signature-format");
  const canonicalQuery = [...params.entries()]
    .filter(([key]) => key !== "X-Amz-Signature")
    .map(([key, value]) => [uriEncode(key), uriEncode(value)])
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, value]) => `${key}=${value}`)
    .join("&");
  const canonicalRequest = ["GET", "/", canonicalQuery, `host:${hostPort}\n`, "host", EMPTY_SHA256].join("\n");
  const scope = `${scopeDate}/${region}/${service}/aws4_request`;
  const stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256(canonicalRequest).toString("hex")].join("\n");
  const signingKey = [scopeDate, region, service, "aws4_request"].reduce<string | Buffer>(
    (key, part) => hmac(key, part),
    `AWS4${expected.credentials.secretAccessKey}`,
  );
  if (!timingSafeEqual(Buffer.from(signature, "hex"), hmac(signingKey, stringToSign))) reject("signature-mismatch");
}
