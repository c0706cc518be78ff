import { createHash } from "node:crypto";
import { existsSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildSync } from "esbuild";
import { zipSync } from "fflate";
import { loadMigrations } from "../functions/shared/migration-files";

export type NodeRuntime = "nodejs20.x" | "nodejs22.x";

export interface BundleOptions {
  /** Directory that holds functions/ and node_modules/. */
  readonly projectRoot: string;
  /** Directory under functions/ whose index.ts exports `handler`. */
  readonly source: string;
  readonly runtime: NodeRuntime;
  /** Where the zip is written; a content-addressed directory under the OS temp dir by default. */
  readonly outDir?: string;
}

export interface FunctionBundle {
  readonly zipPath: string;
  readonly bytes: number;
  readonly sha256Hex: string;
  /** What Lambda's source_code_hash expects: base64 of the zip's SHA-256. */
  readonly sha256Base64: string;
}

const UNIX = 3;
const REGULAR_FILE_0644 = 0o100644 << 16;

/** Entry file of a function, with a clear error when it is missing. */
export function functionEntry(projectRoot: string, source: string): string {
  const entry = join(projectRoot, "functions", source, "index.ts");
  if (!existsSync(entry)) {
    throw new Error(`function source "${source}": ${entry} does not exist; set function.source to a directory under functions/ that has an index.ts`);
  }
  return entry;
}

/**
 * Bundles a handler and everything it imports into one minified file and zips it reproducibly:
 * the same sources give the same bytes whatever the checkout path, clock or time zone.
 */
export function bundleFunction(options: BundleOptions): FunctionBundle {
  const entry = functionEntry(options.projectRoot, options.source);
  const result = buildSync({
    entryPoints: [entry],
    absWorkingDir: options.projectRoot,
    outfile: "index.js",
    bundle: true,
    platform: "node",
    format: "cjs",
    target: `node${options.runtime.replace(/^nodejs(\d+)\.x$/, "$1")}`,
    // ESM builds of the AWS SDK tree-shake; their CommonJS builds drag in unused credential providers.
    mainFields: ["module", "main"],
    minify: true,
    legalComments: "none",
    // Module paths stay relative to the project even when node_modules is a symlink.
    preserveSymlinks: true,
    // The migrations travel inside the bundle; functions/shared/migration-files.ts returns them.
    define: { __EMBEDDED_MIGRATIONS__: JSON.stringify(loadMigrations(join(options.projectRoot, "migrations"))) },
    write: false,
    logLevel: "silent",
  });
  const code = result.outputFiles[0].contents;
  // DOS timestamps are local time: a date built from local fields now gives the same bytes in every time zone.
  const mtime = new Date(1980, 0, 1, 0, 0, 0);
  const zip = zipSync({ "index.js": [code, { level: 9, mtime, os: UNIX, attrs: REGULAR_FILE_0644 }] });

  const sha256Hex = createHash("sha256").update(zip).digest("hex");
  const outDir = options.outDir ?? join(tmpdir(), "lambda-rds-iam-bundles", sha256Hex);
  const zipPath = join(outDir, `${options.source}.zip`);
  if (!existsSync(zipPath)) {
    mkdirSync(outDir, { recursive: true });
    const partial = `${zipPath}.${process.pid}.partial`;
    writeFileSync(partial, zip);
    renameSync(partial, zipPath);
  }
  return {
    zipPath,
    bytes: zip.byteLength,
    sha256Hex,
    sha256Base64: Buffer.from(sha256Hex, "hex").toString("base64"),
  };
}
