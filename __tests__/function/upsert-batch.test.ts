import { format } from "mysql2/promise";
import { PROXY_PINNING_STATEMENT_BYTES } from "../../functions/shared/database-client";
import { BATCH_BYTES, BATCH_ROWS, UpsertBatch } from "../../functions/ingest/upsert-batch";

const bytes = (statement: string) => Buffer.byteLength(statement, "utf8");

describe("UpsertBatch", () => {
  it("splits a transaction's rows into upserts of at most 16 KB, every row once, escaped by the driver", () => {
    const batch = new UpsertBatch();
    const rows = Array.from({ length: BATCH_ROWS }, (_, n) => [
      `id-${n}'`,
      JSON.stringify({ n, text: `é "quoted" ${"x".repeat(n % 300)}` }),
    ]);
    for (const [id, json] of rows) batch.add(id, json);
    expect(batch.full).toBe(true);
    const statements = batch.finish();
    expect(statements.length).toBeGreaterThan(1);
    for (const statement of statements) {
      expect(bytes(statement)).toBeLessThanOrEqual(PROXY_PINNING_STATEMENT_BYTES);
      expect(statement).toMatch(/^INSERT INTO items \(id, data\) VALUES \(.*\) ON DUPLICATE KEY UPDATE data = VALUES\(data\)$/s);
    }
    const all = statements.join("\n");
    for (const [id, json] of rows) expect(all).toContain(format("(?, ?)", [id, json]));
    // Full statements: a statement ends only when the next row would not fit.
    for (const statement of statements.slice(0, -1)) expect(bytes(statement)).toBeGreaterThan(PROXY_PINNING_STATEMENT_BYTES - 1000);
  });

  it("puts a row too long for one such statement alone", () => {
    const batch = new UpsertBatch();
    const quotes = JSON.stringify({ q: '"'.repeat(9000) });
    batch.add("before", "{}");
    batch.add("quotes", quotes);
    batch.add("after", "{}");
    const statements = batch.finish();
    expect(statements.map(bytes).map((n) => n > PROXY_PINNING_STATEMENT_BYTES)).toEqual([false, true, false]);
    expect(statements[1]).toContain(format("(?, ?)", ["quotes", quotes]));
  });

  it("is full at BATCH_BYTES of item JSON before BATCH_ROWS rows", () => {
    const batch = new UpsertBatch();
    const json = JSON.stringify({ blob: "b".repeat(10_000) });
    let rows = 0;
    while (!batch.full) {
      batch.add(`row-${rows++}`, json);
    }
    expect(rows).toBe(Math.ceil(BATCH_BYTES / json.length));
    expect(rows).toBeLessThan(BATCH_ROWS);
  });
});
