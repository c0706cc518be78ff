import type { ResultSetHeader, RowDataPacket } from "mysql2/promise";
import { CONNECT_TIMEOUT_MS, type DatabaseClient, QUERY_TIMEOUT_MS, query } from "../shared/database-client";

/** The job's row in batch_jobs (migration 0004 makes it). */
export const JOB = "purge-items";
/**
 * Rows examined per chunk, each chunk deleted by one statement, which holds its locks (the chunk's key range of
 * items) only while it runs. The size adapts so that a chunk's DELETE takes about CHUNK_TARGET_MS
 * (small items: big chunks, fast; large items or a busy server: small chunks, short locks), between
 * these bounds. Every statement is a few hundred bytes whatever the chunk holds.
 */
export const MIN_CHUNK_ROWS = 500;
export const MAX_CHUNK_ROWS = 10_000;
export const CHUNK_TARGET_MS = 50;

/** The next chunk's rows: scaled towards the target time, at most doubled, within the bounds. */
export function nextChunkRows(rows: number, deleteMs: number, maxRows: number = MAX_CHUNK_ROWS): number {
  const scaled = Math.round((rows * CHUNK_TARGET_MS) / Math.max(deleteMs, 1));
  return Math.max(Math.min(MIN_CHUNK_ROWS, maxRows), Math.min(scaled, rows * 2, maxRows));
}
/**
 * A run starts no chunk with less time than this left. What may follow are five units of work (a chunk's read,
 * DELETE and checkpoint, the stop's checkpoint, the lease's release), each bounded by the connect and query
 * timeouts and retried once on a fresh connection (DatabaseClient.run): 90 s, a tenth of Lambda's 15 minutes.
 */
export const STOP_MARGIN_MS = 5 * 2 * (CONNECT_TIMEOUT_MS + QUERY_TIMEOUT_MS);

/** How often a run records where it has got to; it also does when it stops and when it finishes. */
export const CHECKPOINT_INTERVAL_MS = 1_000;

export interface PurgeOptions {
  /** Items not written (updated_at) for this many days are deleted. */
  readonly retentionDays: number;
  /** The invocation's id: it holds the lease and names the run in the log. */
  readonly runId: string;
  /** Milliseconds left before the invocation is cut off (Lambda's context.getRemainingTimeInMillis). */
  readonly remainingMs: () => number;
  /** @default MAX_CHUNK_ROWS */
  readonly maxChunkRows?: number;
}

/**
 * finished: the pass reached the last item (a new pass starts at the next run); stopped-early: the deadline
 * came first, the next run resumes at the checkpoint; lease-held: another run is working, this one did nothing;
 * lease-lost: this run's lease ran out and another run claimed it, so this one stopped at its next checkpoint;
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
  /** The longest chunk (its read, its DELETE, a checkpoint): no lock this job takes is held longer. */
  readonly longestChunkMs: number;
  readonly durationMs: number;
}

/** This run's lease was claimed by another run (it had expired): its deletes are fenced off, and it stops at its next checkpoint. */
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

/** The rows an UPDATE's WHERE matched, from the server's info ("Rows matched: 1  Changed: 0  Warnings: 0"). */
const rowsMatched = (result: ResultSetHeader) => Number(/Rows matched: (\d+)/.exec(result.info)?.[1] ?? result.affectedRows);

/**
 * Deletes the items not written for `retentionDays`, walking the table in key order in chunks (sized by
 * nextChunkRows), each deleted by one short statement; the checkpoint moves every CHECKPOINT_INTERVAL_MS. Only the run
 * that holds the job's lease works; it stops before its deadline, and the next run resumes where it
 * stopped, with the same cutoff. A pass that reached the end changes nothing more when run again.
 * Statements use `?` placeholders over the text protocol and stay far below 16 KB: nothing pins RDS Proxy.
 */
export async function purgeExpiredItems(db: DatabaseClient, options: PurgeOptions): Promise<PurgeSummary> {
  const { runId, remainingMs } = options;
  const maxChunkRows = options.maxChunkRows ?? MAX_CHUNK_ROWS;
  let chunkRows = Math.min(MIN_CHUNK_ROWS, maxChunkRows);
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

  /**
   * Records where the pass has got to (or that it finished), as long as this run holds the lease. Matched rows,
   * not changed: a retry of an update that was applied changes nothing, and the lease is still this run's.
   */
  const saveCheckpoint = async (after: string | undefined) => {
    const result = await db.run(runId, (connection) =>
      after === undefined
        ? query<ResultSetHeader>(
            connection,
            `UPDATE batch_jobs SET after_id = NULL, pass_started_at = NULL, last_finished_at = NOW(3) WHERE job = ? AND ${LEASE}`,
            [JOB, runId],
          )
        : query<ResultSetHeader>(connection, `UPDATE batch_jobs SET after_id = ? WHERE job = ? AND ${LEASE}`, [after, JOB, runId]),
    );
    if (rowsMatched(result) !== 1) throw new LeaseLost();
  };

  let after = pass.after;
  let savedAt = performance.now();
  try {
    for (;;) {
      if (remainingMs() < STOP_MARGIN_MS) {
        await saveCheckpoint(after);
        return summary("stopped-early", passInfo);
      }
      const chunkStarted = performance.now();
      // A consistent read, no locks: the chunk's last key, or none when fewer than chunkRows are left (the last chunk).
      const bound = await db.run(runId, async (connection) => {
        const [end] = await query<RowDataPacket[]>(connection, "SELECT id FROM items WHERE id > ? ORDER BY id LIMIT 1 OFFSET ?", [
          after,
          chunkRows - 1,
        ]);
        if (end) return { last: end.id as string, count: chunkRows };
        const [rest] = await query<RowDataPacket[]>(connection, "SELECT COUNT(*) AS count FROM items WHERE id > ?", [after]);
        return { last: undefined, count: Number(rest.count) };
      });
      const deleteStarted = performance.now();
      // One statement, its own transaction: it locks the chunk's key range only while it runs. The join on the job's
      // row is the fence: it deletes only while this run holds the lease, and a run claiming the lease waits for it.
      // The age is checked under the row locks: an item the API wrote since the read above stays.
      if (bound.count > 0) {
        const [range, values] =
          bound.last === undefined ? ["items.id > ?", [after]] : ["items.id > ? AND items.id <= ?", [after, bound.last]];
        const result = await db.run(runId, (connection) =>
          query<ResultSetHeader>(
            connection,
            "DELETE items FROM items JOIN batch_jobs ON batch_jobs.job = ? AND batch_jobs.lease_owner = ? " +
              `WHERE ${range} AND items.updated_at < ?`,
            [JOB, runId, ...values, pass.cutoff],
          ),
        );
        rowsChanged += result.affectedRows;
      }
      const deleteMs = performance.now() - deleteStarted;
      chunks++;
      rowsExamined += bound.count;
      if (bound.last === undefined) {
        await saveCheckpoint(undefined);
        longestChunkMs = Math.max(longestChunkMs, performance.now() - chunkStarted);
        return summary("finished", passInfo);
      }
      // Saved every CHECKPOINT_INTERVAL_MS rather than after every chunk (a round trip each): a run that dies
      // unannounced leaves its successor that much to examine again, which deletes nothing more.
      if (performance.now() - savedAt >= CHECKPOINT_INTERVAL_MS) {
        await saveCheckpoint(bound.last);
        savedAt = performance.now();
      }
      longestChunkMs = Math.max(longestChunkMs, performance.now() - chunkStarted);
      after = bound.last;
      chunkRows = nextChunkRows(chunkRows, deleteMs, maxChunkRows);
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
