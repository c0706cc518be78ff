import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The directory where this jest run keeps the stacks it synthesized (__tests__/infra/synth.ts), one file per configuration. */
export const SYNTH_CACHE_VARIABLE = "LAMBDA_RDS_IAM_SYNTH_CACHE";

/** Before the infra tests: a directory of this run's own, so that nothing synthesized by an older checkout is read. */
export function createSynthCache(): void {
  process.env[SYNTH_CACHE_VARIABLE] = mkdtempSync(join(tmpdir(), "lambda-rds-iam-synth-"));
}

/** After them: nothing of it left. */
export function removeSynthCache(): void {
  const dir = process.env[SYNTH_CACHE_VARIABLE];
  if (dir) rmSync(dir, { recursive: true, force: true });
  delete process.env[SYNTH_CACHE_VARIABLE];
}
