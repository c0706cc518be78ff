import { bootstrap, type BootstrapResult } from "../functions/migrate/bootstrap";
import { type Migration, loadMigrations } from "../functions/shared/migration-files";
import type { Harness } from "./mariadb";

/**
 * Runs the deploy's own bootstrap against the harness: database, the app user (identified the way
 * the harness's token-verifying front logs it in, its stand-in for AWSAuthenticationPlugin) and the repository's migrations.
 */
export async function bootstrapHarness(
  h: Harness,
  options: { database?: string; appUser?: string; ingestUser?: string; migrations?: Migration[] } = {},
): Promise<BootstrapResult> {
  const connection = await h.adminConnection();
  try {
    return await bootstrap(
      connection,
      {
        database: options.database ?? h.database,
        appUser: options.appUser ?? "app_user",
        ingestUser: options.ingestUser,
        authentication: h.appUserAuthentication,
      },
      options.migrations ?? loadMigrations(),
    );
  } finally {
    await connection.end();
  }
}
