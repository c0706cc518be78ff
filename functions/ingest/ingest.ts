import { createHash } from "node:crypto";
import { type Readable, pipeline } from "node:stream";
import { createGunzip } from "node:zlib";
import { GetObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import type { PoolConnection, RowDataPacket } from "mysql2/promise";
import { type DatabaseClient, query } from "../shared/database-client";
import { ClientError, type ItemData, parseItem } from "../shared/request";
import { log } from "../shared/log";
import { INCOMING_PREFIX, RESULTS_PREFIX } from "./layout";
import { splitLines } from "./lines";
import { UpsertBatch } from "./upsert-batch";

/** Longest line read: an item's data is at most 16 KiB of JSON, so a longer line is never a good one. */
export const MAX_LINE_BYTES = 64 * 1024;
/** Bad lines listed in the result object, and logged one by one; past that they are only counted. */
export const MAX_REPORTED_BAD_LINES = 1000;
export const MAX_LOGGED_BAD_LINES = 100;

/** One S3 object version, as its event names it. */
export interface ObjectVersion {
  readonly bucket: string;
  readonly key: string;
  /** The version id (a versioned bucket), or else the ETag: what makes a redelivery recognizable. */
  readonly version: string;
  readonly versionId?: string;
}

export interface BadLine {
  readonly line: number;
  readonly error: string;
}

export interface IngestResult {
  readonly bucket: string;
  readonly key: string;
  readonly version: string;
  /** ingested; already-ingested (a redelivery: nothing done); malformed (could not be read to its end: the lines before it count). */
  readonly status: "ingested" | "already-ingested" | "malformed";
  readonly linesOk: number;
  readonly linesBad: number;
  /** The first MAX_REPORTED_BAD_LINES bad lines with what is wrong with each. */
  readonly badLines: BadLine[];
  readonly error?: string;
  readonly resultKey?: string;
  readonly durationMs: number;
}

/** Where a result object goes: results/ in place of incoming/, with .json added. */
export const resultKeyOf = (key: string) => `${RESULTS_PREFIX}${key.slice(INCOMING_PREFIX.length)}.json`;

const objectHash = (object: ObjectVersion) =>
  createHash("sha256").update(`${object.bucket}\0${object.key}\0${object.version}`).digest("hex");

/** Errors that say the object's bytes cannot be read as what they claim to be: retrying will not help. */
const isMalformedStream = (error: unknown) => /^Z_/.test(String((error as { code?: string }).code ?? ""));

async function upsert(connection: PoolConnection, batch: UpsertBatch): Promise<void> {
  for (const statement of batch.finish()) await query(connection, statement);
}

/** Runs `work` in a transaction; rolled back on failure (DatabaseClient.run then retries the whole unit once on a fresh connection). */
async function inTransaction(db: DatabaseClient, requestId: string, work: (connection: PoolConnection) => Promise<void>): Promise<void> {
  await db.run(requestId, async (connection) => {
    await connection.beginTransaction();
    try {
      await work(connection);
      await connection.commit();
    } catch (error) {
      await connection.rollback().catch(() => undefined);
      throw error;
    }
  });
}

/** The object's lines as bytes: gunzipped when its key ends in .gz or it was stored with Content-Encoding gzip. */
function decoded(body: Readable, key: string, contentEncoding: string | undefined): Readable {
  if (!key.endsWith(".gz") && contentEncoding !== "gzip") return body;
  return pipeline(body, createGunzip(), () => undefined);
}

/**
 * Loads one JSON Lines object into the items table: streamed line by line, each line checked as the
 * API checks a put, upserted in transactions of BATCH_ROWS (UpsertBatch: statements RDS Proxy does not pin on). The version is recorded in the transaction
 * of the last batch, after the result object is written; a version already recorded is skipped, and
 * every upsert writes the line's own values, so redelivered events change nothing.
 */
export async function ingestObject(s3: S3Client, db: DatabaseClient, object: ObjectVersion, requestId: string): Promise<IngestResult> {
  const started = performance.now();
  const hash = objectHash(object);
  const base = { bucket: object.bucket, key: object.key, version: object.version };
  const recorded = await db.run(requestId, async (connection) => {
    const rows = await query<RowDataPacket[]>(connection, "SELECT lines_ok, lines_bad FROM ingested_objects WHERE object_hash = ?", [hash]);
    return rows[0];
  });
  if (recorded) {
    return {
      ...base,
      status: "already-ingested",
      linesOk: recorded.lines_ok,
      linesBad: recorded.lines_bad,
      badLines: [],
      durationMs: Math.round(performance.now() - started),
    };
  }

  const response = await s3.send(new GetObjectCommand({ Bucket: object.bucket, Key: object.key, VersionId: object.versionId }));
  const lines = splitLines(decoded(response.Body as Readable, object.key, response.ContentEncoding), MAX_LINE_BYTES);

  let linesOk = 0;
  let linesBad = 0;
  const badLines: BadLine[] = [];
  const bad = (line: number, error: string, field?: string) => {
    linesBad++;
    if (badLines.length < MAX_REPORTED_BAD_LINES) badLines.push({ line, error });
    // Never the line itself: it may hold item data.
    if (linesBad <= MAX_LOGGED_BAD_LINES) log("warn", "bad line", { requestId, key: object.key, line, field });
  };

  let batch = new UpsertBatch();
  let error: string | undefined;
  try {
    for await (const line of lines) {
      if (!("text" in line)) {
        bad(line.number, `line is ${line.tooLongBytes} bytes; the limit is ${MAX_LINE_BYTES}`);
        continue;
      }
      let item: { id: string; data: ItemData };
      try {
        item = parseItem(JSON.parse(line.text));
      } catch (caught) {
        if (caught instanceof ClientError) bad(line.number, caught.message, caught.field);
        else bad(line.number, "is not valid JSON");
        continue;
      }
      batch.add(item.id, JSON.stringify(item.data));
      linesOk++;
      if (batch.full) {
        const full = batch;
        batch = new UpsertBatch();
        await inTransaction(db, requestId, (connection) => upsert(connection, full));
      }
    }
  } catch (caught) {
    if (!isMalformedStream(caught)) throw caught;
    error = `the object could not be read to its end: ${(caught as Error).message}`;
  }

  const resultKey = resultKeyOf(object.key);
  const result: IngestResult = {
    ...base,
    status: error ? "malformed" : "ingested",
    linesOk,
    linesBad,
    badLines,
    ...(error ? { error } : {}),
    resultKey,
    durationMs: Math.round(performance.now() - started),
  };
  await s3.send(
    new PutObjectCommand({ Bucket: object.bucket, Key: resultKey, Body: JSON.stringify(result, null, 2), ContentType: "application/json" }),
  );
  await inTransaction(db, requestId, async (connection) => {
    await upsert(connection, batch);
    // IGNORE: a concurrent delivery of the same version that got here first recorded the same thing.
    await query(
      connection,
      "INSERT IGNORE INTO ingested_objects (object_hash, bucket, object_key, object_version, lines_ok, lines_bad) VALUES (?, ?, ?, ?, ?, ?)",
      [hash, object.bucket, object.key, object.version, linesOk, linesBad],
    );
  });
  return result;
}
