import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { extname, join } from "node:path";
import {
  CDK_TERRAIN_VERSIONS,
  copyFiles,
  migrateTree,
  rewriteCdktfJson,
  rewritePackageJson,
  rewriteSource,
  workingTreeFiles,
} from "../../../../scripts/terrain/migrate";
import { projectRoot } from "../../synth";
import { tempDir } from "../../temp";

const text = (root: string, path: string) => readFileSync(join(root, path), "utf8");
/** A CDKTF module named where code loads one: what a migrated tree must have none of. */
const CDKTF_MODULE =
  /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\brequire(?:\.resolve)?\s*\(\s*|\bjest\.mock\s*\(\s*)["'`](?:cdktf|@cdktf\/[\w-]+|cdktf-cli)["'`/]/;

describe("rewriteSource", () => {
  it.each([
    ['import { App, TerraformStack } from "cdktf";', 'import { App, TerraformStack } from "cdktn";'],
    ['import type { IConstruct } from "cdktf/lib/x";', 'import type { IConstruct } from "cdktn/lib/x";'],
    ['import { Vpc } from "@cdktf/provider-aws/lib/vpc";', 'import { Vpc } from "@cdktn/provider-aws/lib/vpc";'],
    ["import 'cdktf/lib/testing/adapters/jest';", "import 'cdktn/lib/testing/adapters/jest';"],
    ['require.resolve("cdktf-cli/package.json")', 'require.resolve("cdktn-cli/package.json")'],
    ['const { App } = require("cdktf");', 'const { App } = require("cdktn");'],
    ["require(`@cdktf/provider-aws/lib/${name}`)", "require(`@cdktn/provider-aws/lib/${name}`)"],
    ['(require("cdktf") as typeof import("cdktf"))', '(require("cdktn") as typeof import("cdktn"))'],
    ['jest.mock("cdktf/lib/app")', 'jest.mock("cdktn/lib/app")'],
    [
      '/import \\{([^}]+)\\} from "@cdktf\\/provider-aws\\/lib\\/([a-z0-9-]+)";/g',
      '/import \\{([^}]+)\\} from "@cdktn\\/provider-aws\\/lib\\/([a-z0-9-]+)";/g',
    ],
  ])("%s", (before, after) => {
    expect(rewriteSource(before)).toBe(after);
  });

  it.each([
    'tags: { ManagedBy: "cdktf" }',
    "console.error(`cdktf ${command} needs Terraform`)",
    'const outdir = "cdktf.out";',
    'readFileSync(join(root, "cdktf.json"))',
    'import { cdktfHelper } from "./cdktf-helper";',
    'from "cdktfx"',
  ])("leaves %s alone", (source) => {
    expect(rewriteSource(source)).toBe(source);
  });
});

describe("rewritePackageJson", () => {
  const migrated = JSON.parse(rewritePackageJson(text(projectRoot, "package.json")));

  it("pins CDK Terrain's packages in place of CDKTF's, and the Node.js cdktn-cli needs", () => {
    const pinned = (section: Record<string, string>) =>
      Object.fromEntries(Object.entries(section).filter(([name]) => /cdkt|constructs/.test(name)));
    // The library's peers, with their ranges for consumers, and the same packages pinned for this repository.
    expect(pinned(migrated.peerDependencies)).toEqual({ "@cdktn/provider-aws": "^25.7.0", cdktn: "^0.24.0", constructs: "^10.7.2" });
    expect(pinned(migrated.devDependencies)).toEqual({
      "@cdktn/provider-aws": "25.7.0",
      cdktn: "0.24.0",
      "cdktn-cli": "0.24.0",
      constructs: "10.7.2",
    });
    expect(pinned(migrated.dependencies)).toEqual({});
    expect(migrated.engines.node).toBe(">=22.19");
    expect(Object.keys(migrated.allowScripts).filter((name) => name.includes("cdkt"))).toEqual([]);
    expect(Object.keys(migrated.dependencies)).toEqual(Object.keys(migrated.dependencies).sort((a, b) => a.localeCompare(b, "en")));
  });

  it("keeps everything else, and changes nothing when run again", () => {
    const original = JSON.parse(text(projectRoot, "package.json"));
    expect(migrated.scripts).toEqual(original.scripts);
    expect(migrated.dependencies.zod).toBe(original.dependencies.zod);
    const twice = rewritePackageJson(rewritePackageJson(text(projectRoot, "package.json")));
    expect(twice).toBe(rewritePackageJson(text(projectRoot, "package.json")));
  });

  it("refuses a package.json that is not a cdktf project", () => {
    expect(() => rewritePackageJson('{"dependencies":{"zod":"4.6.7"}}')).toThrow(
      "package.json depends on neither cdktf nor cdktn: this is not the project the migration knows; nothing was written",
    );
  });
});

describe("rewriteCdktfJson", () => {
  it("leaves this project's cdktf.json as it is: cdktn-cli reads it under that name", () => {
    expect(rewriteCdktfJson(text(projectRoot, "cdktf.json"))).toBe(text(projectRoot, "cdktf.json"));
  });

  it("renames a CDKTF package its app command names", () => {
    const config = { app: "node --require cdktf-cli/register main.js", context: {} };
    expect(JSON.parse(rewriteCdktfJson(JSON.stringify(config)))).toEqual({ ...config, app: "node --require cdktn-cli/register main.js" });
  });
});

describe("npm run terrain:migrate", () => {
  it("rewrites the code files, package.json and cdktf.json it is given, and says which changed", () => {
    const tree = tempDir("tree-");
    writeFileSync(join(tree, "main.ts"), 'import { App } from "cdktf";\nimport { Vpc } from "@cdktf/provider-aws/lib/vpc";\n');
    writeFileSync(join(tree, "util.ts"), 'export const outdir = "cdktf.out";\n');
    writeFileSync(join(tree, "README.md"), 'import { App } from "cdktf";\n');
    writeFileSync(join(tree, "package.json"), '{"dependencies":{"cdktf":"0.21.0","@cdktf/provider-aws":"21.22.1"}}\n');
    writeFileSync(join(tree, "cdktf.json"), text(projectRoot, "cdktf.json"));
    expect(migrateTree(tree, ["main.ts", "util.ts", "README.md", "package.json", "cdktf.json"])).toEqual(["main.ts", "package.json"]);
    expect(text(tree, "main.ts")).toBe('import { App } from "cdktn";\nimport { Vpc } from "@cdktn/provider-aws/lib/vpc";\n');
    expect(text(tree, "README.md")).toBe('import { App } from "cdktf";\n');
  });

  it("leaves no CDKTF module in any code file of a copy of this project, and pins CDK Terrain", () => {
    const before = ["package.json", "main.ts"].map((path) => text(projectRoot, path));
    const copy = tempDir("migrated-");
    const files = workingTreeFiles(projectRoot);
    copyFiles(projectRoot, copy, files);
    migrateTree(copy, files);
    const code = files.filter((path) => /\.[cm]?[jt]s$/.test(extname(path)) && !path.includes("/terrain/"));
    expect(code.length).toBeGreaterThan(50);
    expect(code.filter((path) => CDKTF_MODULE.test(text(copy, path)))).toEqual([]);
    expect(text(copy, "main.ts")).toContain('import { App } from "cdktn";');
    expect(text(copy, "scripts/cli/cli-entry.ts")).toContain('require.resolve("cdktn-cli/package.json")');
    expect(JSON.parse(text(copy, "package.json")).devDependencies.cdktn).toBe(CDK_TERRAIN_VERSIONS.cdktn);
    // The migration and its tests keep naming both libraries.
    expect(text(copy, "scripts/terrain/migrate.ts")).toBe(text(projectRoot, "scripts/terrain/migrate.ts"));
    // The checkout it was copied from is untouched.
    expect(["package.json", "main.ts"].map((path) => text(projectRoot, path))).toEqual(before);
  });

  it("rewrites nothing when package.json is not the project it knows", () => {
    const tree = tempDir("not-cdktf-");
    writeFileSync(join(tree, "main.ts"), 'import { App } from "cdktf";\n');
    writeFileSync(join(tree, "package.json"), '{"dependencies":{"zod":"4.6.7"}}\n');
    expect(() => migrateTree(tree, ["main.ts", "package.json"])).toThrow("nothing was written");
    expect(text(tree, "main.ts")).toBe('import { App } from "cdktf";\n');
  });

  it("copies the working tree into --into as a repository of its own and migrates it there; refuses a directory that is not empty", () => {
    const into = join(tempDir("terrain-"), "copy");
    const script = JSON.parse(text(projectRoot, "package.json")).scripts["terrain:migrate"];
    const run = spawnSync(`${script} --into ${into} --no-install`, { cwd: projectRoot, shell: true, encoding: "utf8" });
    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: "" });
    expect(run.stdout).toContain(`CDK Terrain: rewrote `);
    expect(text(into, "main.ts")).toContain('from "cdktn"');
    expect(readdirSync(into)).not.toContain("node_modules");
    const log = spawnSync("git", ["log", "--format=%s"], { cwd: into, encoding: "utf8" }).stdout;
    expect(log).toBe(`Copy of ${projectRoot} before the move to CDK Terrain\n`);
    mkdirSync(join(into, "more"), { recursive: true });
    const again = spawnSync(`${script} --into ${into} --no-install`, { cwd: projectRoot, shell: true, encoding: "utf8" });
    expect({ status: again.status, stderr: again.stderr }).toEqual({
      status: 1,
      stderr: `${into} is not empty: name a new directory for the copy\n`,
    });
  });
});
