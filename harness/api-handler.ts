import { closeDatabase } from "../functions/api/index";
import { captureLogLines } from "./logs";
import { type Harness, startHarness } from "./mariadb";
import { bootstrapHarness } from "./migrations";

/**
 * For a test file of the api handler: before its tests, a migrated harness the handler in this process
 * connects to as Lambda's environment would, its log lines captured into `logLines`; after them, the
 * handler's connection closed and the harness gone.
 */
export function useApiHandlerHarness(logLines: string[], started: (harness: Harness) => void): void {
  let harness: Harness | undefined;
  beforeAll(async () => {
    harness = await startHarness();
    await bootstrapHarness(harness);
    // Lambda's environment names the database and holds no profile, session token or CA file of the caller's.
    for (const name of ["AWS_SESSION_TOKEN", "AWS_PROFILE", "DB_TLS_CA_FILE"]) delete process.env[name];
    Object.assign(process.env, harness.env);
    captureLogLines(logLines);
    started(harness);
  });
  afterAll(async () => {
    await closeDatabase();
    await harness?.destroy();
    jest.restoreAllMocks();
  });
}
