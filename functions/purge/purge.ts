import type { ResultSetHeader, RowDataPacket } from "mysql2/promise";
import { CONNECT_TIMEOUT_MS, type DatabaseClient, QUERY_TIMEOUT_MS, query } from "../shared/database-client";

/** The job's row in batch_jobs (migration 0004 makes it). */
export const JOB = "purge-items";
/**
 * Rows examined per chunk, each chunk its own transaction: its locks (the chunk's key range of items)
 * are held for one short DELETE. Every statement is a few hundred bytes whatever the chunk holds.
 */
export const CHUNK_ROWS = 1000;
/**
 * A run starts no chunk with less time than this left: a chunk is two units of work (DatabaseClient.run),
 * each bounded by its query timeout and retried at most once on a fresh connection, then the lease's release.
 */
export const STOP_MARGIN_MS = 2 * 2 * (CONNECT_TIMEOUT_MS + QUERY_TIMEOUT_MS) + 2_000;

/** What the job's database user needs, per table: to find and delete expired items, and to hold its lease and checkpoint. */
export const PURGE_GRANTS: readonly { readonly table: string; readonly privileges: string }[] = [
  { table: "items", privileges: "SELECT, DELETE" },
  // The lease and checkpoint row exists from the migration on: the job never inserts one.
  { table: "batch_jobs", privileges: "SELECT, UPDATE" },
];

export interface PurgeOptions {
  /** Items not written (updated_at) for this many days are deleted. */
  readonly retentionDays: number;
  /** The invocation's id: it holds the lease and names the run in the log. */
  readonly runId: string;
  /** Milliseconds left before the invocation is cut off (Lambda's context.getRemainingTimeInMillis). */
  readonly remainingMs: () => number;
  /** @default CHUNK_ROWS */
  readonly chunkRows?: number;
}

/**
 * finished: the pass reached the last item (a new pass starts at the next run); stopped-early: the deadline
 * came first, the next run resumes at the checkpoint; lease-held: another run is working, this one did nothing;
 * lease-lost: this run's lease ran out and another run claimed it, so this one stopped at its next chunk;
 * failed: an error ended the run (PurgeFailed); the chunks committed before it stay done.
 */
export type PurgeOutcome = "finished" | "stopped-early" | "lease-held" | "lease-lost" | "failed";

export interface PurgeSummary {
  readonly job: string;
  readonly outcome: PurgeOutcome;
  /** 1 when this run finished a pass, else 0: the metric a "not finished for too long" alarm counts. */
  readonly passesFinished: 0 | 1;
  /** Whether this run continued a pass an earlier run had stopped. */
  readonly resumed: boolean;
  /** When the pass this run worked on started: items not written since retentionDays before it are deleted. */
  readonly passStartedAt?: string;
  readonly rowsExamined: number;
  readonly rowsChanged: number;
  readonly chunks: number;
  /** The longest chunk (its read and its transaction): no lock this job takes is held longer. */
  readonly longestChunkMs: number;
  readonly durationMs: number;
}

/** This run's lease was claimed by another run (it had expired): no more chunks. */
class LeaseLost extends Error {}

/** A run ended by an error: what it had done until then, and the error (its cause). */
export class PurgeFailed extends Error {
  constructor(
    readonly summary: PurgeSummary,
    cause: unknown,
  ) {
    super(`the ${summary.job} run failed after ${summary.chunks} chunks: ${(cause as Error).message}`, { cause });
    this.name = "PurgeFailed";
  }
}

const LEASE = "lease_owner = ?";

/**
 * Deletes the items not written for `retentionDays`, walking the table in key order in chunks of
 * `chunkRows`, each deleted in its own short transaction that also moves the checkpoint. Only the run
 * that holds the job's lease works; it stops before its deadline, and the next run resumes where it
 * stopped, with the same cutoff. A pass that reached the end changes nothing more when run again.
 * Statements use `?` placeholders over the text protocol and stay far below 16 KB: nothing pins RDS Proxy.
 */
export async function purgeExpiredItems(db: DatabaseClient, options: PurgeOptions): Promise<PurgeSummary> {
  const { runId, remainingMs } = options;
  const chunkRows = options.chunkRows ?? CHUNK_ROWS;
  const started = performance.now();
  let rowsExamined = 0;
  let rowsChanged = 0;
  let chunks = 0;
  let longestChunkMs = 0;
  const summary = (outcome: PurgeOutcome, pass?: { resumed: boolean; startedAt: string }): PurgeSummary => ({
    job: JOB,
    outcome,
    passesFinished: outcome === "finished" ? 1 : 0,
    resumed: pass?.resumed ?? false,
    passStartedAt: pass?.startedAt,
    rowsExamined,
    rowsChanged,
    chunks,
    longestChunkMs: Math.round(longestChunkMs),
    durationMs: Math.round(performance.now() - started),
  });

  // The lease lasts as long as this invocation can: a run that died leaves it to the next one.
  const leaseSeconds = Math.ceil(remainingMs() / 1000) + 1;
  const pass = await db
    .run(runId, async (connection) => {
      const claim = await query<ResultSetHeader>(
        connection,
        "UPDATE batch_jobs SET lease_owner = ?, lease_until = NOW(3) + INTERVAL ? SECOND, " +
          "pass_started_at = COALESCE(pass_started_at, NOW(3)), after_id = COALESCE(after_id, '') " +
          "WHERE job = ? AND (lease_owner IS NULL OR lease_until < NOW(3))",
        [runId, leaseSeconds, JOB],
      );
      const [row] = await query<RowDataPacket[]>(
        connection,
        "SELECT lease_owner, after_id, DATE_FORMAT(pass_started_at, '%Y-%m-%d %H:%i:%s.%f') AS started_at, " +
          "DATE_FORMAT(pass_started_at - INTERVAL ? DAY, '%Y-%m-%d %H:%i:%s.%f') AS cutoff FROM batch_jobs WHERE job = ?",
        [options.retentionDays, JOB],
      );
      if (!row)
        throw new Error(`batch_jobs has no row for the job ${JOB}: apply migration 0004_create_batch_jobs.sql (the bootstrap does)`);
      return claim.affectedRows === 1
        ? { after: row.after_id as string, startedAt: row.started_at as string, cutoff: row.cutoff as string }
        : undefined;
    })
    .catch((error: unknown) => {
      throw new PurgeFailed(summary("failed"), error);
    });
  if (!pass) return summary("lease-held");
  const passInfo = { resumed: pass.after !== "", startedAt: pass.startedAt };

  try {
    for (let after = pass.after; ; ) {
      if (remainingMs() < STOP_MARGIN_MS) return summary("stopped-early", passInfo);
      const chunkStarted = performance.now();
      // A consistent read, no locks: how many keys the chunk holds and where it ends.
      const [{ examined, last }] = await db.run(runId, (connection) =>
        query<RowDataPacket[]>(
          connection,
          "SELECT COUNT(*) AS examined, MAX(id) AS last FROM (SELECT id FROM items WHERE id > ? ORDER BY id LIMIT ?) AS chunk",
          [after, chunkRows],
        ),
      );
      const count = Number(examined);
      const endOfPass = count < chunkRows;
      const deleted = await db.transaction(runId, async (connection) => {
        // First the job's row, locked until the commit: only the lease holder moves the checkpoint, and a run
        // whose lease was taken over stops here, its chunk rolled back.
        const checkpoint = endOfPass
          ? query<ResultSetHeader>(
              connection,
              `UPDATE batch_jobs SET after_id = NULL, pass_started_at = NULL, last_finished_at = NOW(3) WHERE job = ? AND ${LEASE}`,
              [JOB, runId],
            )
          : query<ResultSetHeader>(connection, `UPDATE batch_jobs SET after_id = ? WHERE job = ? AND ${LEASE}`, [last, JOB, runId]);
        if ((await checkpoint).affectedRows !== 1) throw new LeaseLost();
        if (count === 0) return 0;
        // The age is checked under the row lock: an item the API wrote since the read above stays.
        const result = await query<ResultSetHeader>(connection, "DELETE FROM items WHERE id > ? AND id <= ? AND updated_at < ?", [
          after,
          last,
          pass.cutoff,
        ]);
        return result.affectedRows;
      });
      chunks++;
      rowsExamined += count;
      rowsChanged += deleted;
      longestChunkMs = Math.max(longestChunkMs, performance.now() - chunkStarted);
      if (endOfPass) return summary("finished", passInfo);
      after = last;
    }
  } catch (error) {
    if (error instanceof LeaseLost) return summary("lease-lost", passInfo);
    throw new PurgeFailed(summary("failed", passInfo), error);
  } finally {
    // Best effort: a lease not released expires with the invocation.
    await db
      .run(runId, (connection) =>
        query(connection, `UPDATE batch_jobs SET lease_owner = NULL, lease_until = NULL WHERE job = ? AND ${LEASE}`, [JOB, runId]),
      )
      .catch(() => undefined);
  }
}
