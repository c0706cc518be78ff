import { Signer } from "@aws-sdk/rds-signer";
import mysql from "mysql2/promise";

// Placeholder handler: proves the bundle carries the signer and the driver.
export const handler = async () => {
  const { DB_HOST, DB_PORT, DB_USER, DB_NAME, AWS_REGION } = process.env;
  const signer = new Signer({ hostname: DB_HOST!, port: Number(DB_PORT), username: DB_USER!, region: AWS_REGION });
  const connection = await mysql.createConnection({
    host: DB_HOST,
    port: Number(DB_PORT),
    user: DB_USER,
    database: DB_NAME,
    ssl: "Amazon RDS",
    authPlugins: { mysql_clear_password: () => () => signer.getAuthToken() },
  });
  const [rows] = await connection.query("SELECT VERSION() AS version");
  await connection.end();
  return { statusCode: 200, body: rows };
};
