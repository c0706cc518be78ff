import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";

const PACKAGE_NAME = "lambda-rds-iam";

/** The folder of this library's package.json: the checkout, or `node_modules/lambda-rds-iam` of an app that installed it. */
function findLibraryRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const manifest = join(dir, "package.json");
    if (existsSync(manifest) && JSON.parse(readFileSync(manifest, "utf8")).name === PACKAGE_NAME) return dir;
    if (dirname(dir) === dir) throw new Error(`${from}: no ${PACKAGE_NAME} package.json above it; the library's files were moved apart`);
  }
}

/** Where the library's own function sources (the migrate function and what it shares) are, whether run from source or from dist/. */
export const LIBRARY_ROOT = findLibraryRoot(__dirname);
