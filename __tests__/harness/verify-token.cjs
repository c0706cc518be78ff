#!/usr/bin/env node
"use strict";
/*
 * RDS IAM auth token verifier, run by pam_exec (expose_authtok) for the
 * MariaDB test harness (see mariadb.ts).
 *
 *   usage: node verify-token.cjs <config.json>
 *
 * stdin   : the token the client sent via mysql_clear_password (pam_exec may
 *           NUL-terminate it)
 * env     : PAM_USER (the MariaDB user name being authenticated), PAM_TYPE
 * exit    : 0 = accept, anything else = reject
 *
 * The signature is recomputed independently with node:crypto (SigV4 query
 * string / "presigned URL" flavour, exactly as RDS does for IAM DB auth) and
 * compared in constant time. Nothing secret (token, signature, secret key) is
 * ever written anywhere; only "<user> accepted|rejected <reason>" lines go to
 * the JSON-lines log named in the config, so tests can see *why* a login was
 * refused.
 */
const crypto = require("node:crypto");
const fs = require("node:fs");

const MAX_TOKEN_BYTES = 16 * 1024;
// MariaDB auth_pam -> Linux-PAM -> pam_exec hands over at most 511 bytes of the
// password (PAM_MAX_RESP_SIZE); anything that long has (probably) been cut off.
// A token from credentials WITHOUT a session token is ~320 bytes; STS session
// tokens push it past 1000 bytes and cannot be tested through this path.
const PAM_TRUNCATION_BYTES = 511;
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

class Reject extends Error {
  constructor(reason) {
    super(reason);
    this.reason = reason;
  }
}

function reject(reason) {
  throw new Reject(reason);
}

/** RFC 3986 encoding as required by SigV4 canonical query strings. */
function uriEncode(s) {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function hmac(key, data) {
  return crypto.createHmac("sha256", key).update(data, "utf8").digest();
}

function sha256Hex(data) {
  return crypto.createHash("sha256").update(data, "utf8").digest("hex");
}

/** "20240102T030405Z" -> epoch ms, or NaN */
function parseAmzDate(s) {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (!m) return NaN;
  const [, y, mo, d, h, mi, se] = m.map(Number);
  const t = Date.UTC(y, mo - 1, d, h, mi, se);
  const back = new Date(t);
  // reject things like month 13 / day 32 that Date.UTC would roll over
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d) return NaN;
  if (h > 23 || mi > 59 || se > 59) return NaN;
  return t;
}

function verify(token, pamUser, cfg, nowMs) {
  if (typeof pamUser !== "string" || pamUser.length === 0) reject("no-pam-user");
  if (token.length === 0) reject("empty-token");
  if (Buffer.byteLength(token, "utf8") >= PAM_TRUNCATION_BYTES) reject("token-truncated-by-pam");
  if (/[\s\0]/.test(token)) reject("malformed-token");

  // host:port/?query
  const sep = token.indexOf("/?");
  if (sep <= 0) reject("malformed-token");
  const hostPort = token.slice(0, sep);
  const rawQuery = token.slice(sep + 2);
  if (hostPort.toLowerCase() !== `${cfg.host}:${cfg.port}`.toLowerCase()) reject("host-port-mismatch");

  const params = new Map();
  for (const part of rawQuery.split("&")) {
    const eq = part.indexOf("=");
    if (eq <= 0) reject("malformed-query");
    let k;
    let v;
    try {
      k = decodeURIComponent(part.slice(0, eq));
      v = decodeURIComponent(part.slice(eq + 1));
    } catch {
      reject("malformed-query");
    }
    if (params.has(k)) reject("duplicate-param");
    params.set(k, v);
  }
  for (const k of REQUIRED_PARAMS) if (!params.has(k)) reject(`missing-${k}`);
  for (const k of params.keys()) {
    if (!REQUIRED_PARAMS.includes(k) && !OPTIONAL_PARAMS.includes(k)) reject("unexpected-param");
  }

  if (params.get("Action") !== "connect") reject("bad-action");
  if (params.get("X-Amz-Algorithm") !== "AWS4-HMAC-SHA256") reject("bad-algorithm");
  if (params.get("X-Amz-SignedHeaders") !== "host") reject("bad-signed-headers");
  if (params.get("DBUser") !== pamUser) reject("dbuser-mismatch");

  // Session token: required (and must match) iff the trusted credentials have one.
  const sessionToken = params.get("X-Amz-Security-Token");
  if (cfg.sessionToken) {
    if (sessionToken === undefined) reject("missing-session-token");
    if (!safeEqualStr(sessionToken, cfg.sessionToken)) reject("session-token-mismatch");
  } else if (sessionToken !== undefined) {
    reject("unexpected-session-token");
  }

  const expiresStr = params.get("X-Amz-Expires");
  if (!/^[1-9]\d{0,5}$/.test(expiresStr)) reject("bad-expires");
  const expires = Number(expiresStr);
  if (expires > cfg.maxExpiresSeconds) reject("bad-expires");

  const amzDate = params.get("X-Amz-Date");
  const signedAt = parseAmzDate(amzDate);
  if (Number.isNaN(signedAt)) reject("bad-date");

  const credParts = params.get("X-Amz-Credential").split("/");
  if (credParts.length !== 5) reject("bad-credential");
  const [accessKeyId, scopeDate, region, service, terminator] = credParts;
  if (!safeEqualStr(accessKeyId, cfg.accessKeyId)) reject("unknown-access-key");
  if (scopeDate !== amzDate.slice(0, 8)) reject("scope-date-mismatch");
  if (region !== cfg.region) reject("region-mismatch");
  if (service !== "rds-db") reject("service-mismatch");
  if (terminator !== "aws4_request") reject("bad-credential");

  if (signedAt > nowMs + cfg.maxClockSkewSeconds * 1000) reject("date-in-future");
  if (nowMs > signedAt + expires * 1000) reject("expired");

  const signature = params.get("X-Amz-Signature");
  if (!/^[0-9a-f]{64}$/.test(signature)) reject("bad-signature-format");

  // --- recompute the SigV4 signature ---
  const canonicalQuery = [...params.entries()]
    .filter(([k]) => k !== "X-Amz-Signature")
    .map(([k, v]) => [uriEncode(k), uriEncode(v)])
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
  const canonicalRequest = [
    "GET",
    "/",
    canonicalQuery,
    `host:${hostPort}\n`,
    "host",
    EMPTY_SHA256,
  ].join("\n");
  const scope = `${scopeDate}/${region}/${service}/aws4_request`;
  const stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256Hex(canonicalRequest)].join("\n");
  let key = hmac(`AWS4${cfg.secretAccessKey}`, scopeDate);
  key = hmac(key, region);
  key = hmac(key, service);
  key = hmac(key, "aws4_request");
  const expected = crypto.createHmac("sha256", key).update(stringToSign, "utf8").digest();
  const given = Buffer.from(signature, "hex");
  if (given.length !== expected.length || !crypto.timingSafeEqual(given, expected)) reject("signature-mismatch");
}

function safeEqualStr(a, b) {
  if (typeof a !== "string" || typeof b !== "string") return false;
  const ha = crypto.createHash("sha256").update(a).digest();
  const hb = crypto.createHash("sha256").update(b).digest();
  return crypto.timingSafeEqual(ha, hb) && a.length === b.length;
}

function readToken() {
  const chunks = [];
  let total = 0;
  const buf = Buffer.alloc(4096);
  for (;;) {
    let n;
    try {
      n = fs.readSync(0, buf, 0, buf.length, null);
    } catch (e) {
      if (e && e.code === "EAGAIN") continue;
      if (e && e.code === "EOF") break;
      throw e;
    }
    if (n === 0) break;
    total += n;
    if (total > MAX_TOKEN_BYTES) reject("token-too-long");
    chunks.push(Buffer.from(buf.subarray(0, n)));
  }
  let data = Buffer.concat(chunks);
  const nul = data.indexOf(0);
  if (nul >= 0) data = data.subarray(0, nul);
  return data.toString("utf8");
}

function main() {
  const pamUser = process.env.PAM_USER || "";
  let cfg = null;
  let result = "rejected";
  let reason = "internal-error";
  try {
    const cfgPath = process.argv[2];
    if (!cfgPath) reject("no-config");
    cfg = JSON.parse(fs.readFileSync(cfgPath, "utf8"));
    if (process.env.PAM_TYPE && process.env.PAM_TYPE !== "auth") reject("unexpected-pam-type");
    const token = readToken();
    verify(token, pamUser, cfg, Date.now());
    result = "accepted";
    reason = "ok";
  } catch (e) {
    // Never include the error message of unexpected errors: it might contain input.
    reason = e instanceof Reject ? e.reason : `internal-error:${e && e.name ? e.name : "unknown"}`;
  }
  if (cfg && typeof cfg.logFile === "string") {
    try {
      fs.appendFileSync(
        cfg.logFile,
        `${JSON.stringify({ time: new Date().toISOString(), user: pamUser.slice(0, 80), result, reason })}\n`,
      );
    } catch {
      // ignore
    }
  }
  process.exit(result === "accepted" ? 0 : 1);
}

if (require.main === module) {
  main();
}

module.exports = { verify, parseAmzDate };
