import { format } from "mysql2/promise";
import { PROXY_PINNING_STATEMENT_BYTES } from "../shared/database-client";

/** Rows per transaction; a transaction also ends at BATCH_BYTES of item JSON. */
export const BATCH_ROWS = 500;
export const BATCH_BYTES = 1024 * 1024;

// VALUES(data): the line's own value, so writing a line twice gives the same row (updated_at moves only when data changes).
const HEAD = "INSERT INTO items (id, data) VALUES ";
const TAIL = " ON DUPLICATE KEY UPDATE data = VALUES(data)";
const SEPARATOR = ", ";

/**
 * The rows of one transaction as upserts of at most PROXY_PINNING_STATEMENT_BYTES each, so that RDS
 * Proxy keeps multiplexing the session between transactions. Each row is formatted once, by the
 * driver's escaping; a row too long for such a statement goes alone (DatabaseClient then closes the
 * connection after the transaction, which ends the pin).
 */
export class UpsertBatch {
  readonly statements: string[] = [];
  rows = 0;
  jsonBytes = 0;
  private tuples: string[] = [];
  private bytes = 0;

  get full(): boolean {
    return this.rows >= BATCH_ROWS || this.jsonBytes >= BATCH_BYTES;
  }

  add(id: string, json: string): void {
    const tuple = format("(?, ?)", [id, json]);
    const bytes = Buffer.byteLength(tuple, "utf8") + SEPARATOR.length;
    if (this.tuples.length > 0 && HEAD.length + this.bytes + bytes + TAIL.length > PROXY_PINNING_STATEMENT_BYTES) this.closeStatement();
    this.tuples.push(tuple);
    this.bytes += bytes;
    this.rows++;
    this.jsonBytes += json.length;
  }

  /** Every statement of the batch, the last one closed. */
  finish(): string[] {
    if (this.tuples.length > 0) this.closeStatement();
    return this.statements;
  }

  private closeStatement(): void {
    this.statements.push(HEAD + this.tuples.join(SEPARATOR) + TAIL);
    this.tuples = [];
    this.bytes = 0;
  }
}
