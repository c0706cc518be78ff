import { createHash } from "node:crypto";
import { type Stats, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { type BuildOptions, buildSync, version as esbuildVersion } from "esbuild";
import { zipSync } from "fflate";
import { loadMigrations } from "../../functions/shared/migration-files";

export type NodeRuntime = "nodejs20.x" | "nodejs22.x";

export interface BundleOptions {
  /** Directory that holds functions/, migrations/ and node_modules/. */
  readonly projectRoot: string;
  /** Folder whose index.ts exports `handler`, relative to the project root, e.g. "functions/api". */
  readonly source: string;
  readonly runtime: NodeRuntime;
  /**
   * Reuse the zip of an earlier build when every file it was built from is unchanged (default true).
   * Turn off to prove that a fresh build gives the same bytes.
   */
  readonly reuseCached?: boolean;
}

export interface FunctionBundle {
  readonly zipPath: string;
  readonly bytes: number;
  readonly sha256Hex: string;
  /** What Lambda's source_code_hash expects: base64 of the zip's SHA-256. */
  readonly sha256Base64: string;
}

/**
 * Zips by content hash, and for each build configuration the inputs its last build read. In the
 * checkout's node_modules, not the shared temp directory: each user and clone has its own, writable.
 */
export const bundleCacheDir = (projectRoot: string) => join(projectRoot, "node_modules", ".cache", "lambda-rds-iam", "bundles");
const UNIX = 3;
const REGULAR_FILE_0644 = 0o100644 << 16;

interface InputFile {
  readonly sha256: string;
  /** Size and modification time when hashed: while both are the same, the file is not read again. */
  readonly size: number;
  readonly mtimeMs: number;
}

interface BuildRecord {
  /** Every file esbuild read, relative to the project root. */
  readonly inputs: Record<string, InputFile>;
  readonly sha256Hex: string;
}

const sha256 = (data: string | Uint8Array) => createHash("sha256").update(data).digest("hex");
const zipPathOf = (projectRoot: string, sha256Hex: string, source: string) =>
  join(bundleCacheDir(projectRoot), sha256Hex, `${basename(source)}.zip`);
const statOf = (path: string): Stats | undefined => statSync(path, { throwIfNoEntry: false });
const inputFile = (path: string, stat: Stats): InputFile => ({
  sha256: sha256(readFileSync(path)),
  size: stat.size,
  mtimeMs: stat.mtimeMs,
});

function writeAtomically(path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const partial = `${path}.${process.pid}.partial`;
  writeFileSync(partial, data);
  renameSync(partial, path);
}

function bundleOf(zipPath: string, sha256Hex: string, bytes: number): FunctionBundle {
  return { zipPath, bytes, sha256Hex, sha256Base64: Buffer.from(sha256Hex, "hex").toString("base64") };
}

/** Entry file of a function, with a clear error when it is missing. */
function functionEntry(projectRoot: string, source: string): string {
  const entry = join(projectRoot, source, "index.ts");
  if (!existsSync(entry)) {
    throw new Error(`function source "${source}": ${entry} does not exist; set the function's source to a folder that has an index.ts`);
  }
  return entry;
}

function buildOptions(options: BundleOptions): BuildOptions {
  return {
    entryPoints: [join(options.source, "index.ts")],
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
    metafile: true,
    logLevel: "silent",
  };
}

/** A configuration's identity: what esbuild is told, plus what steers it without being an input file. */
function configurationKey(options: BundleOptions, build: BuildOptions): string {
  const steering = ["tsconfig.json", "package-lock.json"].map((file) => {
    const path = join(options.projectRoot, file);
    return existsSync(path) ? sha256(readFileSync(path)) : "";
  });
  return sha256(JSON.stringify({ esbuildVersion, steering, build: { ...build, absWorkingDir: undefined } }));
}

/**
 * The inputs as they are now when every file has its recorded content (re-hashed only where size or
 * modification time moved, as after a fresh checkout or `npm ci`), otherwise undefined.
 */
function currentInputs(projectRoot: string, inputs: Record<string, InputFile>): Record<string, InputFile> | undefined {
  const current: Record<string, InputFile> = {};
  for (const [path, recorded] of Object.entries(inputs)) {
    const file = join(projectRoot, path);
    const stat = statOf(file);
    if (!stat) return undefined;
    current[path] = stat.size === recorded.size && stat.mtimeMs === recorded.mtimeMs ? recorded : inputFile(file, stat);
    if (current[path].sha256 !== recorded.sha256) return undefined;
  }
  return current;
}

/**
 * Bundles a handler and everything it imports into one minified file and zips it reproducibly:
 * the same sources give the same bytes whatever the checkout path, clock or time zone. A build is
 * reused while every file it read has the same content (its SHA-256 is compared whenever its size or
 * modification time moved).
 */
export function bundleFunction(options: BundleOptions): FunctionBundle {
  functionEntry(options.projectRoot, options.source);
  const build = buildOptions(options);
  const recordPath = join(bundleCacheDir(options.projectRoot), "builds", `${configurationKey(options, build)}.json`);
  if (options.reuseCached !== false && existsSync(recordPath)) {
    const record = JSON.parse(readFileSync(recordPath, "utf8")) as BuildRecord;
    const zipPath = zipPathOf(options.projectRoot, record.sha256Hex, options.source);
    const zip = statOf(zipPath);
    const inputs = zip && currentInputs(options.projectRoot, record.inputs);
    if (zip && inputs) {
      // New times of unchanged files are recorded, so the next synth does not read them again.
      if (Object.keys(inputs).some((path) => inputs[path] !== record.inputs[path])) {
        writeAtomically(recordPath, JSON.stringify({ inputs, sha256Hex: record.sha256Hex } satisfies BuildRecord));
      }
      return bundleOf(zipPath, record.sha256Hex, zip.size);
    }
  }

  const result = buildSync(build);
  // DOS timestamps are local time: a date built from local fields now gives the same bytes in every time zone.
  const mtime = new Date(1980, 0, 1, 0, 0, 0);
  const zip = zipSync({ "index.js": [result.outputFiles![0].contents, { level: 9, mtime, os: UNIX, attrs: REGULAR_FILE_0644 }] });
  const sha256Hex = sha256(zip);
  const zipPath = zipPathOf(options.projectRoot, sha256Hex, options.source);
  if (!existsSync(zipPath)) writeAtomically(zipPath, zip);

  const inputs: Record<string, InputFile> = {};
  for (const path of Object.keys(result.metafile!.inputs)) {
    const stat = statOf(join(options.projectRoot, path));
    if (stat) inputs[path] = inputFile(join(options.projectRoot, path), stat);
  }
  writeAtomically(recordPath, JSON.stringify({ inputs, sha256Hex } satisfies BuildRecord));
  return bundleOf(zipPath, sha256Hex, zip.byteLength);
}
