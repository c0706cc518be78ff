import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

let root: string | undefined;

/** A new directory under this test file's own temporary directory, which setup.ts removes after the file's tests. */
export function tempDir(prefix: string): string {
  root ??= mkdtempSync(join(tmpdir(), "lambda-rds-iam-test-"));
  return mkdtempSync(join(root, prefix));
}

/** Removes everything tempDir made for this test file. */
export function removeTempDirs(): void {
  if (root) rmSync(root, { recursive: true, force: true });
  root = undefined;
}
