import { Signer } from "@aws-sdk/rds-signer";
import * as mysql from "mysql2/promise";
import type { Harness } from "./mariadb";
import { SERVICE_FUNCTIONS } from "../src/config/functions";

/** A plain mysql2 connection through the harness's front with a real token, as a client of RDS would open one. */
export async function iamConnection(h: Harness, user = SERVICE_FUNCTIONS.api.database.user): Promise<mysql.Connection> {
  const token = await new Signer({
    hostname: h.host,
    port: h.port,
    username: user,
    region: h.region,
    credentials: h.credentials,
  }).getAuthToken();
  return mysql.createConnection({
    host: h.host,
    port: h.port,
    user,
    password: token,
    database: h.database,
    ssl: { ca: h.caPem },
    enableCleartextPlugin: true,
    connectTimeout: 10_000,
  });
}
