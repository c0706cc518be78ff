/**
 * `npm run terrain:migrate [-- --into DIR] [--no-install]`: moves this project from CDKTF (deprecated
 * since 2025-12-10, its last release 0.21.0) to its community fork CDK Terrain in one step. It rewrites
 * the working tree, or a copy of it in DIR (the files git tracks or would track, uncommitted changes
 * included): the imports of every code file (`cdktf` -> `cdktn`, `@cdktf/provider-aws` ->
 * `@cdktn/provider-aws`, `cdktf-cli` -> `cdktn-cli`, which
 * scripts/cli/cli-entry.ts finds the CLI's command by), package.json (the pinned releases below, the Node.js
 * the CLI needs) and cdktf.json's app command; then `npm install` brings the lock file along. The
 * synthesized stacks stay the same but for the AWS provider's pin and version metadata:
 * `npm run terrain:compare` proves it (docs/cdk-terrain.md).
 */
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, extname, join, resolve } from "node:path";
import { runCli, takeFlag, takeOption } from "../cli/cli-args";

/** The CDK Terrain releases this project was proven on, pinned exactly as the CDKTF ones are. */
export const CDK_TERRAIN_VERSIONS = {
  cdktn: "0.24.0",
  /** hashicorp/aws 6.66.0 (the CDKTF package pins 6.25.0). */
  "@cdktn/provider-aws": "25.7.0",
  "cdktn-cli": "0.24.0",
  /** cdktn 0.24.0 accepts constructs >=10.6.0 <10.8.0. */
  constructs: "10.7.2",
} as const;

/** cdktn-cli 0.24.0 needs Node.js 22.19 (on 20 it stops: `markAsUncloneable is not a function`); the app itself runs on 20. */
export const CDK_TERRAIN_NODE = ">=22.19";

/** Each CDKTF package and the CDK Terrain package that replaces it. */
const RENAMED: Readonly<Record<string, string>> = {
  cdktf: "cdktn",
  "@cdktf/provider-aws": "@cdktn/provider-aws",
  "cdktf-cli": "cdktn-cli",
};

const CODE_EXTENSIONS = new Set([".ts", ".cts", ".mts", ".js", ".cjs", ".mjs"]);
/** The migration and its tests name both libraries on purpose: they stay as they are. */
const OWN_FILES = ["scripts/terrain/", "__tests__/infra/scripts/terrain/"];

/**
 * A code file with its CDKTF imports rewritten. `@cdktf/provider-aws` and `cdktf-cli` are names of
 * nothing else, so they move wherever they stand (template strings and regular expressions, whose `/`
 * may be escaped, included); the word `cdktf` also names the CLI in messages and a tag value in the
 * stacks, so it moves only where it names a module: after `from`, `import`, `require(`,
 * `require.resolve(` or `jest.mock(`.
 */
export function rewriteSource(text: string): string {
  return text
    .replace(/@cdktf(\\?\/)provider-aws/g, "@cdktn$1provider-aws")
    .replace(/\bcdktf-cli\b/g, "cdktn-cli")
    .replace(
      /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\brequire(?:\.resolve)?\s*\(\s*|\bjest\.(?:mock|requireActual)\s*\(\s*)(["'`])cdktf(?=["'`/])/g,
      "$1$2cdktn",
    );
}

type PackageJson = Record<string, unknown> & {
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  engines?: Record<string, string>;
  allowScripts?: Record<string, boolean>;
};

/** package.json with CDK Terrain's packages at their pinned releases in place of CDKTF's, and the Node.js its CLI needs. */
export function rewritePackageJson(text: string): string {
  const pkg = JSON.parse(text) as PackageJson;
  const declared = { ...pkg.dependencies, ...pkg.devDependencies, ...pkg.peerDependencies };
  if (!("cdktf" in declared) && !("cdktn" in declared)) {
    throw new Error("package.json depends on neither cdktf nor cdktn: this is not the project the migration knows; nothing was written");
  }
  for (const section of ["dependencies", "devDependencies", "peerDependencies"] as const) {
    const packages = pkg[section];
    if (!packages) continue;
    const moved = Object.entries(packages).map(([name, version]): [string, string] => {
      const target = RENAMED[name] ?? name;
      const pin = CDK_TERRAIN_VERSIONS[target as keyof typeof CDK_TERRAIN_VERSIONS];
      // A peer dependency keeps its range (^): the library's consumers choose their copy within it.
      return [target, pin ? `${/^[\^~]/.exec(version)?.[0] ?? ""}${pin}` : version];
    });
    // npm keeps these sections sorted by name.
    pkg[section] = Object.fromEntries(moved.sort(([a], [b]) => a.localeCompare(b, "en")));
  }
  pkg.engines = { ...pkg.engines, node: CDK_TERRAIN_NODE };
  // cdktf-cli's own dependencies (its terminal package) leave with it; cdktn-cli's have no install scripts.
  if (pkg.allowScripts)
    pkg.allowScripts = Object.fromEntries(Object.entries(pkg.allowScripts).filter(([name]) => !name.startsWith("@cdktf/")));
  return `${JSON.stringify(pkg, null, 2)}\n`;
}

/** cdktf.json as cdktn-cli reads it (under the same name): only its app command can name a CDKTF package. */
export function rewriteCdktfJson(text: string): string {
  const config = JSON.parse(text) as { app?: string };
  if (typeof config.app !== "string") return text;
  const app = config.app.replace(
    /(^|[\s"'=])(@cdktf\/provider-aws|cdktf-cli|cdktf)(?=[/\s"']|$)/g,
    (_, before: string, name: string) => `${before}${RENAMED[name]}`,
  );
  return app === config.app ? text : `${JSON.stringify({ ...config, app }, null, 2)}\n`;
}

/** The files of the working tree at `root` that git tracks or would track (not ignored), uncommitted changes included. */
export function workingTreeFiles(root: string): string[] {
  let listing: string;
  try {
    listing = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: root, encoding: "utf8" });
  } catch {
    throw new Error(`${root} is not a git working tree: the migration rewrites the files git tracks there`);
  }
  // A file deleted but not yet committed is listed and gone.
  return listing.split("\0").filter((path) => path !== "" && existsSync(join(root, path)));
}

/** Rewrites `files` (relative paths) of the tree at `root` in place; returns the paths it changed. */
export function migrateTree(root: string, files: readonly string[]): string[] {
  const rewrite = (path: string): ((text: string) => string) | undefined => {
    if (path === "package.json") return rewritePackageJson;
    if (path === "cdktf.json") return rewriteCdktfJson;
    if (OWN_FILES.some((prefix) => path.startsWith(prefix))) return undefined;
    return CODE_EXTENSIONS.has(extname(path)) ? rewriteSource : undefined;
  };
  // Everything is rewritten in memory first: a refused package.json leaves no file half-migrated.
  const changed = files.flatMap((path) => {
    const apply = rewrite(path);
    if (!apply) return [];
    const before = readFileSync(join(root, path), "utf8");
    const after = apply(before);
    return after === before ? [] : [{ path, after }];
  });
  for (const { path, after } of changed) writeFileSync(join(root, path), after);
  return changed.map(({ path }) => path);
}

/**
 * Copies `files` of the tree at `from` into the new or empty directory `into`, as one commit of a
 * repository of its own: there `git diff` shows what the migration changed, and it can run again.
 */
export function copyFiles(from: string, into: string, files: readonly string[]): void {
  if (existsSync(into) && readdirSync(into).length > 0) throw new Error(`${into} is not empty: name a new directory for the copy`);
  for (const path of files) {
    mkdirSync(dirname(join(into, path)), { recursive: true });
    cpSync(join(from, path), join(into, path));
  }
  // Its own identity: a CI runner's git has none.
  const git = (...args: string[]) =>
    execFileSync(
      "git",
      ["-c", "user.name=terrain:migrate", "-c", "user.email=terrain-migrate@localhost", "-c", "commit.gpgsign=false", ...args],
      {
        cwd: into,
        stdio: "ignore",
      },
    );
  git("init", "-q");
  git("add", "-A");
  git("commit", "-qm", `Copy of ${from} before the move to CDK Terrain`);
}

runCli(module, (args) => {
  const into = takeOption(args, "--into");
  const install = !takeFlag(args, "--no-install");
  if (args.length > 0) throw new Error(`unknown arguments ${args.join(" ")}: npm run terrain:migrate [-- --into DIR] [--no-install]`);
  const projectRoot = resolve(__dirname, "../..");
  const root = into ? resolve(into) : projectRoot;
  const files = workingTreeFiles(projectRoot);
  if (into) copyFiles(projectRoot, root, files);
  const changed = migrateTree(root, files);
  console.log(`CDK Terrain: rewrote ${changed.length} files in ${root}:\n${changed.map((path) => `  ${path}`).join("\n")}`);
  if (install) execFileSync("npm", ["install", "--no-audit", "--no-fund"], { cwd: root, stdio: "inherit" });
  console.log(`Next: npm run synth, then npm run terrain:compare -- <the cdktf stacks> ${join(root, "cdktf.out", "stacks")}`);
});
