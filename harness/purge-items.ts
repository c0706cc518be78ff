import type { Harness } from "./mariadb";

/**
 * The items the purge tests and bench start from: ids in key order, two in three not written for 100 days
 * (expired under any retention up to that), interleaved with fresh ones so that every chunk holds both.
 */
export const PURGE_ITEMS = {
  rows: 200_000,
  idOf: (n: number) => `item-${String(n).padStart(6, "0")}`,
  isExpired: (n: number) => n % 3 !== 0,
} as const;

const ROWS_PER_INSERT = 5000;

/**
 * Empties items and loads PURGE_ITEMS (or `rows` of them) with multi-row inserts (seconds for 200,000), and clears
 * the purge job's lease and checkpoint: a run then starts a new pass over these items.
 */
export async function loadPurgeItems(h: Harness, rows: number = PURGE_ITEMS.rows): Promise<void> {
  const { idOf, isExpired } = PURGE_ITEMS;
  const connection = await h.adminConnection();
  try {
    await connection.query("TRUNCATE TABLE ??.items", [h.database]);
    for (let first = 0; first < rows; first += ROWS_PER_INSERT) {
      const tuples: string[] = [];
      for (let n = first; n < Math.min(rows, first + ROWS_PER_INSERT); n++) {
        tuples.push(`('${idOf(n)}', '{"n": ${n}}', ${isExpired(n) ? "NOW(3) - INTERVAL 100 DAY" : "NOW(3)"})`);
      }
      await connection.query(`INSERT INTO ??.items (id, data, updated_at) VALUES ${tuples.join(", ")}`, [h.database]);
    }
    await connection.query("UPDATE ??.batch_jobs SET lease_owner = NULL, lease_until = NULL, pass_started_at = NULL, after_id = NULL", [
      h.database,
    ]);
  } finally {
    await connection.end();
  }
}
