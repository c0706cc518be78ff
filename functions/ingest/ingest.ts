import { createHash } from "node:crypto";
import { type Readable, pipeline } from "node:stream";
import { createGunzip } from "node:zlib";
import { GetObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import type { Connection, RowDataPacket } from "mysql2/promise";
import { type DatabaseClient, query } from "../shared/database-client";
import { ClientError, type ItemData, parseItem } from "../shared/request";
import { log } from "../shared/log";
import { compareSequencers } from "./event";
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
  /** S3's order of the key's events: a version whose sequencer is lower than one already ingested is older. */
  readonly sequencer: string;
}

export interface BadLine {
  readonly line: number;
  readonly error: string;
}

export interface IngestResult {
  readonly bucket: string;
  readonly key: string;
  readonly version: string;
  /**
   * ingested; already-ingested (a redelivery: nothing done); superseded (a newer version of the key was
   * ingested first, or while this one was read: its rows stay, no more of this one are written, no result
   * object); malformed (could not be read to its end: the lines before it count).
   */
  readonly status: "ingested" | "already-ingested" | "superseded" | "malformed";
  readonly linesOk: number;
  readonly linesBad: number;
  /** The first MAX_REPORTED_BAD_LINES bad lines with what is wrong with each. */
  readonly badLines: BadLine[];
  readonly error?: string;
  readonly resultKey?: string;
  /** The newer version (superseded only). */
  readonly supersededBy?: string;
  readonly durationMs: number;
}

/** Where a result object goes: results/ in place of incoming/, with .json added. */
export const resultKeyOf = (key: string) => `${RESULTS_PREFIX}${key.slice(INCOMING_PREFIX.length)}.json`;

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
const objectHash = (object: ObjectVersion) => sha256(`${object.bucket}\0${object.key}\0${object.version}`);
const keyHash = (object: ObjectVersion) => sha256(`${object.bucket}\0${object.key}`);

/** A newer version of the key has written rows: this one must not write any more. */
class Superseded extends Error {
  constructor(readonly newerVersion: string) {
    super(`superseded by version ${newerVersion}`);
    this.name = "Superseded";
  }
}

/**
 * Locks the key's row of ingested_keys for the transaction and records this version as the key's newest,
 * unless a newer one is recorded there already (then throws Superseded, and the transaction rolls back).
 * Every transaction that writes rows of a version calls it first, so versions of one key never interleave.
 */
async function claimKey(connection: Connection, object: ObjectVersion, hash: string): Promise<void> {
  const rows = await query<RowDataPacket[]>(
    connection,
    "SELECT sequencer, object_version FROM ingested_keys WHERE key_hash = ? FOR UPDATE",
    [hash],
  );
  const newest = rows[0];
  if (newest && compareSequencers(newest.sequencer, object.sequencer) > 0) throw new Superseded(newest.object_version);
  await query(
    connection,
    "INSERT INTO ingested_keys (key_hash, bucket, object_key, sequencer, object_version) VALUES (?, ?, ?, ?, ?) " +
      "ON DUPLICATE KEY UPDATE sequencer = VALUES(sequencer), object_version = VALUES(object_version)",
    [hash, object.bucket, object.key, object.sequencer, object.version],
  );
}

/** Errors that say the object's bytes cannot be read as what they claim to be: retrying will not help. */
const isMalformedStream = (error: unknown) => /^Z_/.test(String((error as { code?: string }).code ?? ""));

async function upsert(connection: Connection, batch: UpsertBatch): Promise<void> {
  for (const statement of batch.finish()) await query(connection, statement);
}

/** Runs `work` in a transaction; rolled back on failure (DatabaseClient.run then retries the whole unit once on a fresh connection). */
async function inTransaction(db: DatabaseClient, requestId: string, work: (connection: Connection) => Promise<void>): Promise<void> {
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
 * API checks a put, upserted in transactions of BATCH_ROWS (UpsertBatch: statements RDS Proxy does not pin on). Every transaction first claims the key for
 * this version (claimKey): once a newer version of the key (by S3's sequencer) has written rows, an
 * older one writes none. The last transaction writes the result object and records the version; a
 * version already recorded is skipped, and every upsert writes the line's own values, so redelivered
 * events change nothing.
 */
export async function ingestObject(s3: S3Client, db: DatabaseClient, object: ObjectVersion, requestId: string): Promise<IngestResult> {
  const started = performance.now();
  const hash = objectHash(object);
  const keyId = keyHash(object);
  const base = { bucket: object.bucket, key: object.key, version: object.version };
  const elapsed = () => Math.round(performance.now() - started);
  const superseded = (newerVersion: string): IngestResult => ({
    ...base,
    status: "superseded",
    linesOk: 0,
    linesBad: 0,
    badLines: [],
    supersededBy: newerVersion,
    durationMs: elapsed(),
  });

  const { recorded, newest } = await db.run(requestId, async (connection) => {
    const objects = await query<RowDataPacket[]>(connection, "SELECT lines_ok, lines_bad FROM ingested_objects WHERE object_hash = ?", [
      hash,
    ]);
    const keys = await query<RowDataPacket[]>(connection, "SELECT sequencer, object_version FROM ingested_keys WHERE key_hash = ?", [
      keyId,
    ]);
    return { recorded: objects[0], newest: keys[0] };
  });
  if (recorded) {
    return {
      ...base,
      status: "already-ingested",
      linesOk: recorded.lines_ok,
      linesBad: recorded.lines_bad,
      badLines: [],
      durationMs: elapsed(),
    };
  }
  // Not even read: the newer version's rows are there already.
  if (newest && compareSequencers(newest.sequencer, object.sequencer) > 0) return superseded(newest.object_version);

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
          await inTransaction(db, requestId, async (connection) => {
            await claimKey(connection, object, keyId);
            await upsert(connection, full);
          });
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
      durationMs: elapsed(),
    };
    await inTransaction(db, requestId, async (connection) => {
      await claimKey(connection, object, keyId);
      await upsert(connection, batch);
      // Written while the key is locked, so a newer version's result object is always written after this one.
      // Before the commit: if it fails, nothing is recorded and the retry ingests the version again.
      await s3.send(
        new PutObjectCommand({
          Bucket: object.bucket,
          Key: resultKey,
          Body: JSON.stringify(result, null, 2),
          ContentType: "application/json",
        }),
      );
      // IGNORE: a concurrent delivery of the same version that got here first recorded the same thing.
      await query(
        connection,
        "INSERT IGNORE INTO ingested_objects (object_hash, bucket, object_key, object_version, lines_ok, lines_bad) VALUES (?, ?, ?, ?, ?, ?)",
        [hash, object.bucket, object.key, object.version, linesOk, linesBad],
      );
    });
    return result;
  } catch (caught) {
    if (caught instanceof Superseded) return superseded(caught.newerVersion);
    throw caught;
  }
}
