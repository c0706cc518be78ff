import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import mysql from "mysql2/promise";
import { settingsFromEnvironment, verifiedTls } from "../shared/database-settings";
import { log } from "../shared/log";
import { loadMigrations } from "../shared/migration-files";
import { type BootstrapResult, bootstrap } from "./bootstrap";
import type { DatabaseGrants } from "./privileges";

/** DB_GRANTS: the declared users' grants as JSON, `{"app_user":{"items":["SELECT"]}}`; bootstrap() checks every name. */
function grantsFromEnvironment(env: Record<string, string | undefined>): DatabaseGrants {
  try {
    const grants = JSON.parse(env.DB_GRANTS ?? "");
    if (typeof grants === "object" && grants !== null && !Array.isArray(grants)) return grants as DatabaseGrants;
  } catch {
    // Reported below.
  }
  throw new Error("environment variable DB_GRANTS is not a JSON object of users' grants; the stack sets it from the function list");
}

/** Invoked by Terraform after the instance exists; the event only carries what makes Terraform re-invoke. */
export async function handler(): Promise<BootstrapResult> {
  // DB_GRANTS names the users to create and their grants; the function itself logs in as the master user.
  const users = grantsFromEnvironment(process.env);
  const settings = settingsFromEnvironment(process.env);
  const secretArn = process.env.MASTER_SECRET_ARN;
  if (!secretArn)
    throw new Error("environment variable MASTER_SECRET_ARN is not set; the stack sets it to the instance's master user secret");
  const secret = await new SecretsManagerClient({}).send(new GetSecretValueCommand({ SecretId: secretArn }));
  const master = JSON.parse(secret.SecretString ?? "{}") as { username?: string; password?: string };
  if (!master.username || !master.password) throw new Error("the master user secret has no username or password");

  const connection = await mysql.createConnection({
    host: settings.host,
    port: settings.port,
    user: master.username,
    password: master.password,
    ssl: verifiedTls(settings.ca),
    multipleStatements: true,
    connectTimeout: 10_000,
  });
  try {
    const options = {
      database: settings.database,
      users,
      authentication: { kind: "rds-iam" },
    } as const;
    const result = await bootstrap(connection, options, loadMigrations());
    log("info", "database bootstrapped", { applied: result.applied.join(",") || "none", alreadyApplied: result.alreadyApplied.length });
    return result;
  } finally {
    await connection.end();
  }
}
