import { randomUUID } from "node:crypto";
import { S3Client } from "@aws-sdk/client-s3";
import { DatabaseClient, DatabaseUnavailableError } from "../shared/database-client";
import { settingsFromEnvironment } from "../shared/database-settings";
import { type LogFields, log } from "../shared/log";
import { type IngestEvent, type ObjectCreatedRecord, parseEvent } from "./event";
import { type IngestResult, ingestObject } from "./ingest";
import { INCOMING_PREFIX } from "./layout";

export type RecordResult =
  | IngestResult
  | { readonly status: "refused"; readonly bucket: string; readonly key: string; readonly reason: string }
  | { readonly status: "test-event"; readonly bucket?: string };

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

function refusal(record: ObjectCreatedRecord, dataBucket: string | undefined): string | undefined {
  if (record.bucket !== dataBucket) return `bucket ${record.bucket} is not the data bucket`;
  if (!record.key.startsWith(INCOMING_PREFIX)) return `only objects under ${INCOMING_PREFIX} are ingested`;
  return undefined;
}

/** What a failure says in the log: the message only of errors known to carry no item data. */
function failureFields(error: unknown): LogFields {
  const failure = error as Error & { code?: string; $fault?: string };
  const described = failure instanceof DatabaseUnavailableError || failure.$fault !== undefined;
  return { error: failure.name, code: failure.code, errorMessage: described ? failure.message : undefined };
}

/**
 * Ingests the objects of an S3 event notification, one after the other. A server failure (database
 * down, S3 unreachable) is thrown, so Lambda retries the event and then puts it, with the error, into
 * the failure queue; already-ingested versions are skipped on a retry. Anything but an S3 notification
 * of created objects is thrown at once (UnexpectedEventError); S3's test event is acknowledged.
 */
export async function handler(event: unknown, context: Context = {}): Promise<RecordResult[]> {
  const requestId = context.awsRequestId ?? randomUUID();
  let parsed: IngestEvent;
  try {
    parsed = parseEvent(event);
  } catch (error) {
    log("error", "event refused", { requestId, error: (error as Error).name, reason: (error as Error).message });
    throw error;
  }
  if (parsed.kind === "test") {
    log("info", "test event acknowledged", { requestId, bucket: parsed.bucket });
    return [{ status: "test-event", bucket: parsed.bucket }];
  }
  database ??= new DatabaseClient(settingsFromEnvironment(process.env));
  s3 ??= new S3Client({});
  const results: RecordResult[] = [];
  for (const record of parsed.records) {
    const { bucket, key, versionId, eTag, sequencer } = record;
    const reason = refusal(record, process.env.DATA_BUCKET);
    if (reason) {
      log("warn", "object refused", { requestId, bucket, key, reason });
      results.push({ status: "refused", bucket, key, reason });
      continue;
    }
    const object = { bucket, key, versionId, version: versionId ?? eTag ?? "", sequencer };
    try {
      const result = await ingestObject(s3, database, object, requestId);
      const level = result.status === "malformed" ? "error" : result.status === "superseded" ? "warn" : "info";
      log(level, "object ingested", {
        requestId,
        key: result.key,
        version: result.version,
        sequencer,
        status: result.status,
        supersededBy: result.supersededBy,
        linesOk: result.linesOk,
        linesBad: result.linesBad,
        durationMs: result.durationMs,
      });
      results.push(result);
    } catch (error) {
      // One line per failed attempt: the last one of a version is the failure its failure-queue record holds.
      log("error", "object failed", { requestId, bucket, key, version: object.version, sequencer, ...failureFields(error) });
      throw error;
    }
  }
  return results;
}
