import { bootstrap, type BootstrapResult } from "../functions/migrate/bootstrap";
import type { DatabaseGrants } from "../functions/migrate/privileges";
import { type Migration, loadMigrations } from "../functions/shared/migration-files";
import { databaseGrantsOf } from "../src/config/function-schema";
import { SERVICE_FUNCTIONS } from "../src/config/functions";
import type { Harness } from "./mariadb";

/** The users and grants the service's declared functions get (src/config/functions.ts). */
export const DECLARED_GRANTS: DatabaseGrants = databaseGrantsOf(Object.values(SERVICE_FUNCTIONS));

/**
 * Runs the deploy's own bootstrap against the harness: database, the functions' users (identified the
 * way the harness's token-verifying front logs them in, its stand-in for AWSAuthenticationPlugin) with
 * their grants, and the repository's migrations.
 */
export async function bootstrapHarness(
  h: Harness,
  options: { database?: string; users?: DatabaseGrants; migrations?: Migration[] } = {},
): Promise<BootstrapResult> {
  const connection = await h.adminConnection();
  try {
    return await bootstrap(
      connection,
      { database: options.database ?? h.database, users: options.users ?? DECLARED_GRANTS, authentication: h.appUserAuthentication },
      options.migrations ?? loadMigrations(),
    );
  } finally {
    await connection.end();
  }
}
