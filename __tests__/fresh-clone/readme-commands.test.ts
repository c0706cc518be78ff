/**
 * The README's two commands, run the way a new user runs them: in a fresh clone of this checkout
 * (uncommitted changes included), as a non-root user, with no terraform on PATH and a home and temp
 * directory of their own. Nothing else is installed for them. Their npm cache is a copy of this run's
 * (what `npm ci` downloads is npm's business, not this project's; downloading it again took minutes).
 * The inner `npm test` runs the tests that depend on who runs them and where (jest.config.js); this
 * outer run has proved the others.
 */
import { execFileSync, spawnSync } from "node:child_process";
import {
  chownSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  realpathSync,
  rmSync,
  symlinkSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

jest.setTimeout(20 * 60_000);

const projectRoot = resolve(__dirname, "../..");
/** Set in the inner run, whose jest configuration (jest.config.js) then leaves this project out. */
const INNER_RUN_VARIABLE = "LAMBDA_RDS_IAM_FRESH_CLONE";
const NOBODY = 65534;
/** Caches that are kept on purpose between runs; anything else left in the temp directory is a leak. */
const CACHES = [/^jest_/, /^tsx-\d+$/, /^lambda-rds-iam-mariadb-\d+-\d+-\d+$/];

/** The commands in the README's "The two commands" block, without their comments. */
function readmeCommands(): string[] {
  const readme = readFileSync(join(projectRoot, "README.md"), "utf8");
  const block = /## The two commands\n[\s\S]*?```sh\n([\s\S]*?)```/.exec(readme);
  if (!block) throw new Error('README.md has no "## The two commands" section with a sh block');
  return block[1]
    .split("\n")
    .map((line) => line.replace(/\s+#.*$/, "").trim())
    .filter(Boolean);
}

/** The test files jest's configuration selects for the inner run, as `jest --listTests` lists them there. */
function innerSuites(clone: string): string[] {
  const list = spawnSync(join(clone, "node_modules", ".bin", "jest"), ["--listTests"], {
    cwd: clone,
    env: { ...process.env, [INNER_RUN_VARIABLE]: "1" },
    encoding: "utf8",
  });
  return list.stdout.split("\n").filter((line) => line.endsWith(".test.ts"));
}

const git = (...args: string[]) => execFileSync("git", ["-C", projectRoot, ...args], { encoding: "utf8" }).trim();

/** A commit of the working tree as `git add -A` would stage it, made without touching the real index. */
function snapshotCommit(workspace: string): string {
  // An identity of its own: a new user's git may have none, and commit-tree refuses to guess.
  const identity = {
    GIT_AUTHOR_NAME: "fresh-clone test",
    GIT_AUTHOR_EMAIL: "fresh-clone@localhost",
    GIT_COMMITTER_NAME: "fresh-clone test",
    GIT_COMMITTER_EMAIL: "fresh-clone@localhost",
  };
  const env = { ...process.env, ...identity, GIT_INDEX_FILE: join(workspace, "index") };
  const run = (...args: string[]) => execFileSync("git", ["-C", projectRoot, ...args], { encoding: "utf8", env }).trim();
  run("read-tree", "HEAD");
  run("add", "-A");
  return run("commit-tree", run("write-tree"), "-p", "HEAD", "-m", "fresh-clone snapshot");
}

function chownTree(path: string, uid: number): void {
  chownSync(path, uid, uid);
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    const child = join(path, entry.name);
    if (entry.isDirectory()) chownTree(child, uid);
    else if (!entry.isSymbolicLink()) chownSync(child, uid, uid);
  }
}

describe("the README's two commands in a fresh clone, as a non-root user", () => {
  const workspace = mkdtempSync(join(tmpdir(), "fresh-clone-"));
  const clone = join(workspace, "lambda-rds-iam");
  const home = join(workspace, "home");
  const temp = join(workspace, "tmp");
  const bin = join(workspace, "bin");
  const asRoot = process.getuid?.() === 0;
  const results: { command: string; status: number | null; output: string }[] = [];

  beforeAll(() => {
    const ref = `refs/fresh-clone/${process.pid}`;
    git("update-ref", ref, snapshotCommit(workspace));
    try {
      execFileSync("git", ["clone", "--quiet", "--no-checkout", projectRoot, clone]);
      execFileSync("git", ["-C", clone, "fetch", "--quiet", "origin", ref]);
      execFileSync("git", ["-C", clone, "checkout", "--quiet", "FETCH_HEAD"]);
    } finally {
      git("update-ref", "-d", ref);
    }
    for (const dir of [home, temp, bin]) mkdirSync(dir);
    const cache = join(execFileSync("npm", ["config", "get", "cache"], { encoding: "utf8" }).trim(), "_cacache");
    if (existsSync(cache)) cpSync(cache, join(home, ".npm", "_cacache"), { recursive: true });
    // No terraform on PATH: synth and the tests must not need it. Node and npm stay reachable.
    for (const tool of ["node", "npm", "npx"])
      symlinkSync(realpathSync(execFileSync("sh", ["-c", `command -v ${tool}`], { encoding: "utf8" }).trim()), join(bin, tool));
    if (asRoot) chownTree(workspace, NOBODY);

    const env: Record<string, string> = {
      PATH: [bin, ...(process.env.PATH ?? "").split(":").filter((dir) => dir && !existsSync(join(dir, "terraform")))].join(":"),
      HOME: home,
      TMPDIR: temp,
      LANG: "C.UTF-8",
      npm_config_cache: join(home, ".npm"),
      npm_config_prefer_offline: "true",
      npm_config_update_notifier: "false",
      [INNER_RUN_VARIABLE]: "1",
      ...(process.env.CI ? { CI: process.env.CI } : {}),
    };
    for (const command of readmeCommands()) {
      const user = asRoot ? ["setpriv", `--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups", "--"] : [];
      const [file, ...args] = [...user, "/bin/sh", "-c", command];
      const run = spawnSync(file, args, { cwd: clone, env, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
      results.push({ command, status: run.status, output: `${run.stdout}${run.stderr}` });
      if (run.status !== 0) break;
    }
  });

  afterAll(() => rmSync(workspace, { recursive: true, force: true }));

  it("are exactly two: one that synthesizes, one that runs every test", () => {
    expect(readmeCommands()).toEqual([expect.stringMatching(/npm run synth$/), expect.stringMatching(/npm test$/)]);
  });

  it("both succeed", () => {
    // On failure, the end of what the failing command printed.
    expect(results.map(({ command, status, output }) => ({ command, status, tail: status === 0 ? "" : output.slice(-4000) }))).toEqual(
      readmeCommands().map((command) => ({ command, status: 0, tail: "" })),
    );
  });

  it("synthesize every stack", () => {
    for (const stack of ["dev", "dev-state", "prod", "prod-state"]) {
      expect(existsSync(join(clone, "cdktf.out", "stacks", stack, "cdk.tf.json"))).toBe(true);
    }
  });

  it("run the suites the inner run selects and print nothing but the results on a green run", () => {
    const testRun = results[1]?.output ?? "";
    const suites = innerSuites(clone);
    expect(suites.length).toBeGreaterThan(0);
    expect(testRun).toMatch(new RegExp(`^Test Suites: +${suites.length} passed, ${suites.length} total$`, "m"));
    expect(testRun).toMatch(/^Tests: +\d+ passed, \d+ total$/m);
    const noise = testRun
      .split("\n")
      .filter((line) => /console\.(log|info|warn|error|debug)|\[ERROR\]|getaddrinfo|Warning:|ER_ACCESS_DENIED/.test(line));
    expect(noise).toEqual([]);
    expect(results[0]?.output ?? "").not.toMatch(/\[ERROR\]|getaddrinfo|Could not determine version of terraform/);
  });

  it("leave nothing in the temp directory but the caches", () => {
    expect(readdirSync(temp).filter((entry) => !CACHES.some((cache) => cache.test(entry)))).toEqual([]);
  });
});
