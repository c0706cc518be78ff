import { existsSync } from "node:fs";
import { dirname, join } from "node:path";

/** The library's own function, shipped as source beside dist/ (package.json `files`). */
const MIGRATE_ENTRY = join("functions", "migrate", "index.ts");

/**
 * The folder that holds the library's own function sources: the checkout, or `node_modules/lambda-rds-iam`
 * of an app that installed it, whether this module runs from src/ or from dist/.
 */
function findLibraryRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, MIGRATE_ENTRY))) return dir;
    if (dirname(dir) === dir) throw new Error(`${from}: no ${MIGRATE_ENTRY} above it; the library's files were moved apart`);
  }
}

export const LIBRARY_ROOT = findLibraryRoot(__dirname);
