import type { Connection, ResultSetHeader, RowDataPacket } from "mysql2/promise";
import { type Values, query } from "../shared/database-client";
import { type ItemData, encodeCursor } from "../shared/request";

export interface Item {
  id: string;
  data: ItemData;
}

export interface Health {
  version: string;
  tlsCipher: string;
  currentUser: string;
}

export interface Page {
  items: Item[];
  /** Pass back as `cursor` for the next page; absent on the last page. */
  nextCursor?: string;
}

// The text protocol with placeholders the driver escapes (query): nothing pins an RDS Proxy session.
// DatabaseClient.run bounds their time.
const rows = (connection: Connection, sql: string, values?: Values) => query<RowDataPacket[]>(connection, sql, values);
const change = (connection: Connection, sql: string, values: Values) => query<ResultSetHeader>(connection, sql, values);

// MySQL returns JSON columns parsed; MariaDB stores JSON as text.
const toItem = (row: RowDataPacket): Item => ({ id: row.id, data: typeof row.data === "string" ? JSON.parse(row.data) : row.data });

export async function health(connection: Connection): Promise<Health> {
  const [identity] = await rows(connection, "SELECT VERSION() AS version, CURRENT_USER() AS currentUser");
  const [cipher] = await rows(connection, "SHOW SESSION STATUS LIKE 'Ssl_cipher'");
  return { version: identity.version, tlsCipher: cipher?.Value ?? "", currentUser: identity.currentUser };
}

/** Inserts or replaces an item; true when it was new. */
export async function putItem(connection: Connection, item: Item): Promise<boolean> {
  // VALUES(data): the value is sent once, so a 16 KiB item makes one statement of about 16 KiB, not of 32.
  const sql = "INSERT INTO items (id, data) VALUES (?, ?) ON DUPLICATE KEY UPDATE data = VALUES(data)";
  const result = await change(connection, sql, [item.id, JSON.stringify(item.data)]);
  return result.affectedRows === 1;
}

export async function getItem(connection: Connection, id: string): Promise<Item | undefined> {
  const [row] = await rows(connection, "SELECT id, data FROM items WHERE id = ?", [id]);
  return row && toItem(row);
}

/** Keyset pagination in id order: stable under concurrent inserts and deletes, no OFFSET scans. */
export async function listItems(connection: Connection, after: string, limit: number): Promise<Page> {
  // A number: the driver writes it bare (LIMIT 26); a string would be quoted, which LIMIT rejects.
  const found = await rows(connection, "SELECT id, data FROM items WHERE id > ? ORDER BY id LIMIT ?", [after, limit + 1]);
  const items = found.slice(0, limit).map(toItem);
  return found.length > limit ? { items, nextCursor: encodeCursor(items[items.length - 1].id) } : { items };
}

/** Deletes an item; true when it existed. */
export async function deleteItem(connection: Connection, id: string): Promise<boolean> {
  const result = await change(connection, "DELETE FROM items WHERE id = ?", [id]);
  return result.affectedRows === 1;
}
