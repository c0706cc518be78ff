import { DatabaseClient } from "../shared/database-client";
import { settingsFromEnvironment } from "../shared/database-settings";
import { log } from "../shared/log";
import { PurgeFailed, type PurgeSummary, purgeExpiredItems } from "./purge";
import { PURGE_SUMMARY_LINE } from "./summary-line";

interface Context {
  awsRequestId: string;
  getRemainingTimeInMillis(): number;
}

// One per execution environment, reused by every invocation after the first.
let database: DatabaseClient | undefined;

/** Closes the environment's database connection (tests, the bench); the next invocation opens a new one. */
export async function closeDatabase(): Promise<void> {
  const current = database;
  database = undefined;
  await current?.end();
}

/** The schedule's event: `{ "retentionDays": 365 }` (src/config/functions.ts, trigger.input). */
export function retentionDaysOf(event: unknown): number {
  const days = (event as { retentionDays?: unknown } | null)?.retentionDays;
  if (typeof days !== "number" || !Number.isInteger(days) || days < 1) {
    throw new Error(
      `the event's retentionDays is ${JSON.stringify(days)}; the schedule sends { "retentionDays": <whole number of days, 1 or more> } (trigger.input)`,
    );
  }
  return days;
}

/**
 * The scheduled purge of expired items (purge.ts), as old as the event's retentionDays. Logs one
 * summary line per run ("purge run": outcome, rows examined and deleted, chunks, duration); a run that
 * failed logs it at level error and throws, so the invocation counts as an error and is retried.
 */
export async function handler(event: unknown, context: Context): Promise<PurgeSummary> {
  const requestId = context.awsRequestId;
  try {
    database ??= new DatabaseClient(settingsFromEnvironment(process.env));
    const summary = await purgeExpiredItems(database, {
      retentionDays: retentionDaysOf(event),
      runId: requestId,
      remainingMs: () => context.getRemainingTimeInMillis(),
    });
    log(summary.outcome === "lease-lost" ? "warn" : "info", PURGE_SUMMARY_LINE.message, { requestId, ...summary });
    return summary;
  } catch (error) {
    const failure = error instanceof PurgeFailed ? (error.cause as Error & { code?: string }) : (error as Error & { code?: string });
    const done = error instanceof PurgeFailed ? error.summary : { outcome: "failed" };
    // The server's own messages may quote a value; the others (unavailable, misconfigured) name only the problem.
    const errorMessage = "sqlMessage" in failure ? undefined : failure.message;
    log("error", PURGE_SUMMARY_LINE.message, { requestId, ...done, error: failure.name, code: failure.code, errorMessage });
    throw failure;
  }
}
