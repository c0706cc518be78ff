import { DatabaseClient, settingsFromEnvironment } from "lambda-rds-iam/runtime";

let database: DatabaseClient | undefined;

/** `{ item, quantity }` records an order; every call answers with the orders so far. */
export async function handler(event: { item?: string; quantity?: number }) {
  database ??= new DatabaseClient(settingsFromEnvironment(process.env));
  return database.run("orders", async (connection) => {
    if (event.item) await connection.query("INSERT INTO orders (item, quantity) VALUES (?, ?)", [event.item, event.quantity ?? 1]);
    const [orders] = await connection.query("SELECT item, quantity FROM orders ORDER BY id");
    return { orders };
  });
}
