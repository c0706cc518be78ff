import { randomUUID } from "node:crypto";
import { S3Client } from "@aws-sdk/client-s3";
import { DatabaseClient } from "../shared/database-client";
import { settingsFromEnvironment } from "../shared/database-settings";
import { log } from "../shared/log";
import { type IngestResult, ingestObject } from "./ingest";
import { INCOMING_PREFIX } from "./layout";

/** The parts of an S3 event notification record the function reads. */
interface S3EventRecord {
  s3?: { bucket?: { name?: string }; object?: { key?: string; versionId?: string; eTag?: string } };
}

export type RecordResult =
  | IngestResult
  | { readonly status: "refused"; readonly bucket?: string; readonly key?: string; readonly reason: string };

interface Context {
  awsRequestId?: string;
}

// One of each per execution environment, reused by every invocation after the first.
let database: DatabaseClient | undefined;
let s3: S3Client | undefined;

/** Closes the environment's database connections (tests, the bench); the next invocation opens new ones. */
export async function closeDatabase(): Promise<void> {
  const current = database;
  database = undefined;
  await current?.end();
}

// Keys arrive URL-encoded, spaces as "+".
const decodeKey = (key: string) => decodeURIComponent(key.replace(/\+/g, " "));

function refusal(record: S3EventRecord, dataBucket: string | undefined): string | undefined {
  const bucket = record.s3?.bucket?.name;
  const key = record.s3?.object?.key;
  if (!bucket || key === undefined) return "not an S3 object event";
  if (bucket !== dataBucket) return `bucket ${bucket} is not the data bucket`;
  if (!decodeKey(key).startsWith(INCOMING_PREFIX)) return `only objects under ${INCOMING_PREFIX} are ingested`;
  return undefined;
}

/**
 * Ingests the objects of an S3 event notification, one after the other. A server failure (database
 * down, S3 unreachable) is thrown, so Lambda retries the event; already-ingested versions are skipped then.
 */
export async function handler(event: { Records?: S3EventRecord[] }, context: Context = {}): Promise<RecordResult[]> {
  const requestId = context.awsRequestId ?? randomUUID();
  database ??= new DatabaseClient(settingsFromEnvironment(process.env));
  s3 ??= new S3Client({});
  const results: RecordResult[] = [];
  for (const record of event.Records ?? []) {
    const reason = refusal(record, process.env.DATA_BUCKET);
    const bucket = record.s3?.bucket?.name;
    if (reason) {
      const key = record.s3?.object?.key === undefined ? undefined : decodeKey(record.s3.object.key);
      log("warn", "object refused", { requestId, bucket, key, reason });
      results.push({ status: "refused", bucket, key, reason });
      continue;
    }
    const { key, versionId, eTag } = record.s3!.object!;
    const object = { bucket: bucket!, key: decodeKey(key!), versionId, version: versionId ?? eTag ?? "" };
    try {
      const result = await ingestObject(s3, database, object, requestId);
      const level = result.status === "malformed" ? "error" : "info";
      log(level, "object ingested", {
        requestId,
        key: result.key,
        version: result.version,
        status: result.status,
        linesOk: result.linesOk,
        linesBad: result.linesBad,
        durationMs: result.durationMs,
      });
      results.push(result);
    } catch (error) {
      const failure = error as Error & { code?: string };
      log("error", "object failed", { requestId, key: object.key, error: failure.name, code: failure.code });
      throw error;
    }
  }
  return results;
}
