/**
 * npm run audit:mutations [-- --only <id>[,<id>...]]
 *
 * The mutation audit: do the tests still catch every careless edit they caught? Each mutation of
 * scripts/audit/mutation-list.ts is applied, one at a time, to a copy of this working tree (uncommitted
 * changes included; node_modules hard-linked, never symlinked, so nothing the copy runs can reach this
 * checkout's), its jest project runs there (`--maxWorkers=2 --bail`, failures read as each file ends by
 * failures-reporter.cjs), and the result is recorded: caught, with the tests that failed, or MISSED.
 *
 * First, every mutation is applied at once and type-checked (a mutation the compiler refuses proves
 * nothing about the tests), and the copy runs unmutated (a red baseline would make every mutation look
 * caught). Tests of freshness (FRESHNESS_TESTS) are skipped: they fail on any change.
 *
 * Prints a table; exits 1 when a mutation is missed or its run broke, 2 when its text is no longer in
 * its file (stale: checked for every mutation before anything runs). Nothing is left behind: the file
 * is restored after each run and the copy removed at the end, on Ctrl-C too.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { runCli, takeOption } from "../cli/cli-args";
import { copyFiles, workingTreeFiles } from "../terrain/migrate";
import { MUTATIONS, type Mutation } from "./mutation-list";

const PROJECT_ROOT = resolve(__dirname, "..", "..");

/** How often `text` occurs in `content`. */
const occurrences = (content: string, text: string): number => (text === "" ? 0 : content.split(text).length - 1);

/** Why each mutation cannot be applied to the tree at `root` (its file gone, its text gone or not unique); empty when all can. */
export function staleMutations(root: string, mutations: readonly Mutation[]): string[] {
  return mutations.flatMap(({ id, file, search }) => {
    const path = join(root, file);
    if (!existsSync(path)) return [`${id}: ${file} does not exist; point the mutation at the file that now holds the code`];
    const found = occurrences(readFileSync(path, "utf8"), search);
    if (found === 1) return [];
    const what = found === 0 ? "is not" : `occurs ${found} times, not once,`;
    return [`${id}: its search text ${what} in ${file}; update the mutation to the code as it is now`];
  });
}

/** Applies `mutation` to the tree at `root`; returns what puts the file back as it was. Throws when it is stale. */
export function applyMutation(root: string, mutation: Mutation): () => void {
  const [stale] = staleMutations(root, [mutation]);
  if (stale) throw new Error(stale);
  const path = join(root, mutation.file);
  const original = readFileSync(path, "utf8");
  writeFileSync(
    path,
    original.replace(mutation.search, () => mutation.replace),
  );
  return () => writeFileSync(path, original);
}

/** One line of scripts/audit/failures-reporter.cjs's report: one test file's result. */
export interface FileResult {
  file: string;
  failed: string[];
  failedToRun: boolean;
}

/** The tests a report says failed: each failed test's full name, or the file of a suite that failed to run. */
export function failedTests(results: readonly FileResult[]): string[] {
  return results.flatMap(({ file, failed, failedToRun }) =>
    failed.length > 0 ? failed : failedToRun ? [`${file.slice(file.lastIndexOf("__tests__/"))} (failed to run)`] : [],
  );
}

export type Outcome = { kind: "caught"; failed: string[] } | { kind: "MISSED" } | { kind: "broken"; why: string };

/** A copy of the working tree at `root` (a git repository of its own, as some tests need) with its node_modules hard-linked. */
export function copyCheckout(root: string): string {
  const copy = mkdtempSync(join(tmpdir(), "lambda-rds-iam-mutations-"));
  try {
    copyFiles(root, copy, workingTreeFiles(root));
    // Hard links, not a symlink: `npm ci` in the copy unlinks the copy's names, never this checkout's files.
    const linked = spawnSync("cp", ["-al", join(root, "node_modules"), join(copy, "node_modules")], { encoding: "utf8" });
    if (linked.status !== 0) throw new Error(`could not hard-link node_modules into ${copy}: ${linked.stderr.trim()}`);
    // The bundle cache is written while tests run: the copy's own, so this checkout's is never touched.
    const cache = join(copy, "node_modules", ".cache");
    rmSync(cache, { recursive: true, force: true });
    if (existsSync(join(root, "node_modules", ".cache"))) cpSync(join(root, "node_modules", ".cache"), cache, { recursive: true });
    return copy;
  } catch (error) {
    rmSync(copy, { recursive: true, force: true });
    throw error;
  }
}

/**
 * Tests that fail on every change of what they follow, intended or careless, until a command writes
 * their fixture or page again (npm run plans:record, docs:api, docs:plan-comment), and this audit's own
 * check that each mutation still applies: they guard freshness, not behaviour. The audit skips them, so
 * a mutation that only they would catch is MISSED.
 */
export const FRESHNESS_TESTS: readonly string[] = [
  "were made from this checkout's synthesized stack (else: npm run plans:record)",
  "plan every resource of a first deploy as a create, and a change against a deployed stack",
  "is what the TSDoc of the library's exports gives (npm run docs:api writes it)",
  "is, in docs/plan-comment-sample.md, what plan:comment renders for the fixture now",
  "is quoted in the README line for line from that rendering",
  "each apply to this checkout: their text is in their file exactly once",
];

const escaped = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** jest's arguments for the tests that must catch `mutation`: its project's, or its files, without the freshness tests. */
export const jestArguments = (mutation: Pick<Mutation, "project" | "paths">): string[] => [
  ...(mutation.paths ?? []),
  "--selectProjects",
  mutation.project ?? "infra",
  `--testNamePattern=^(?!.*(?:${FRESHNESS_TESTS.map(escaped).join("|")}))`,
];

/** The jest run in progress, which an interrupt stops before the copy is removed. */
let running: ChildProcess | undefined;
let interrupted: NodeJS.Signals | undefined;

/** Runs `args` with node in the copy, as the one child an interrupt stops; its exit status and the end of its output. */
async function runInCopy(
  copy: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ status: number | null; output: string }> {
  let output = "";
  const child = spawn(process.execPath, args, { cwd: copy, env, stdio: ["ignore", "pipe", "pipe"] });
  running = child;
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  const status = await new Promise<number | null>((done) => child.on("close", done));
  running = undefined;
  if (interrupted) throw new Error(`stopped by ${interrupted}`);
  return { status, output };
}

/**
 * Type-checks the copy with every mutation applied at once, then restores it: a mutation that does not
 * type-check would be caught by the compiler (and by the tests that build), whatever the tests assert.
 */
async function typeCheckMutations(copy: string, mutations: readonly Mutation[]): Promise<void> {
  const restores: (() => void)[] = [];
  try {
    for (const mutation of mutations) restores.push(applyMutation(copy, mutation));
    const { status, output } = await runInCopy(copy, [join(copy, "node_modules", "typescript", "bin", "tsc"), "--noEmit", "-p", "."]);
    if (status !== 0) throw new Error(`the mutations do not type-check; make each a mistake the compiler accepts:\n${output.trim()}`);
  } finally {
    for (const restore of restores.reverse()) restore();
  }
}

/** Runs the tests of `selection` in the copy, stopping at the first file that fails; the outcome as a mutation's. */
async function runTests(copy: string, selection: Pick<Mutation, "project" | "paths">): Promise<Outcome> {
  // Where git ignores it: some tests list the copy's working tree.
  const reportPath = join(copy, "node_modules", ".cache", "mutation-report.jsonl");
  mkdirSync(dirname(reportPath), { recursive: true });
  writeFileSync(reportPath, "");
  const jest = join(copy, "node_modules", "jest", "bin", "jest.js");
  const reporter = join(copy, "scripts", "audit", "failures-reporter.cjs");
  const args = [jest, ...jestArguments(selection), "--maxWorkers=2", "--bail", `--reporters=${reporter}`];
  const { status, output } = await runInCopy(copy, args, { ...process.env, MUTATION_REPORT: reportPath });
  const lines = readFileSync(reportPath, "utf8").split("\n").filter(Boolean);
  const failed = failedTests(lines.map((line) => JSON.parse(line) as FileResult));
  if (failed.length > 0) return { kind: "caught", failed };
  if (status === 0 && lines.length > 0) return { kind: "MISSED" };
  return { kind: "broken", why: `jest exited ${status} with no failed test: ${output.trim().slice(-500)}` };
}

export interface AuditRow {
  id: string;
  mistake: string;
  outcome: Outcome;
  seconds: number;
}

/** The table the audit prints: one row per mutation, the first failing tests of each caught one. */
export function renderTable(rows: readonly AuditRow[]): string {
  const cells = rows.map(({ id, outcome, seconds }) => [
    id,
    outcome.kind,
    seconds.toFixed(0),
    outcome.kind === "caught"
      ? `${outcome.failed.slice(0, 2).join(" | ")}${outcome.failed.length > 2 ? ` (+${outcome.failed.length - 2})` : ""}`
      : outcome.kind === "broken"
        ? outcome.why
        : "",
  ]);
  const header = ["mutation", "result", "s", "first failing tests"];
  const widths = header.slice(0, 3).map((title, column) => Math.max(title.length, ...cells.map((row) => row[column].length)));
  const line = (row: string[]) => row.map((cell, column) => (column < 3 ? cell.padEnd(widths[column]) : cell)).join("  ");
  return [line(header), ...cells.map(line)].join("\n");
}

/** The mutations `--only` names (comma-separated), all of them without it; an unknown id is an error naming the known ones. */
export function selectMutations(only: string | undefined, mutations: readonly Mutation[] = MUTATIONS): readonly Mutation[] {
  if (only === undefined) return mutations;
  const ids = only.split(",").filter(Boolean);
  const unknown = ids.filter((id) => !mutations.some((mutation) => mutation.id === id));
  if (unknown.length > 0) throw new Error(`--only: no mutation ${unknown.join(", ")}; known: ${mutations.map(({ id }) => id).join(", ")}`);
  return mutations.filter((mutation) => ids.includes(mutation.id));
}

async function audit(args: string[]): Promise<number> {
  const selected = selectMutations(takeOption(args, "--only"));
  if (args.length > 0) throw new Error(`unknown arguments: ${args.join(" ")}; usage: npm run audit:mutations [-- --only <id>[,<id>...]]`);
  const stale = staleMutations(PROJECT_ROOT, selected);
  if (stale.length > 0) {
    console.error(`Stale mutations (scripts/audit/mutation-list.ts):\n${stale.map((line) => `  ${line}`).join("\n")}`);
    return 2;
  }
  // Ctrl-C stops the run in progress; the audit then removes the copy before it exits.
  const stop = (signal: NodeJS.Signals) => {
    interrupted = signal;
    running?.kill("SIGTERM");
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  let copy: string | undefined;
  try {
    copy = copyCheckout(PROJECT_ROOT);
    await typeCheckMutations(copy, selected);
    const selections = [...new Map(selected.map((mutation) => [jestArguments(mutation).join(" "), mutation])).values()];
    for (const selection of selections) {
      const started = Date.now();
      const baseline = await runTests(copy, selection);
      const seconds = ((Date.now() - started) / 1000).toFixed(0);
      console.error(
        `baseline ${[selection.project ?? "infra", ...(selection.paths ?? [])].join(" ")}: ${baseline.kind === "MISSED" ? "green" : "not green"} in ${seconds} s`,
      );
      if (baseline.kind !== "MISSED") {
        const why = baseline.kind === "caught" ? `failing already: ${baseline.failed.join("; ")}` : baseline.why;
        throw new Error(`the unmutated tests are not green (${why}); fix them before auditing`);
      }
    }
    const rows: AuditRow[] = [];
    for (const mutation of selected) {
      const started = Date.now();
      const restore = applyMutation(copy, mutation);
      let outcome: Outcome;
      try {
        outcome = await runTests(copy, mutation);
      } finally {
        restore();
      }
      rows.push({ id: mutation.id, mistake: mutation.mistake, outcome, seconds: (Date.now() - started) / 1000 });
      console.error(`${mutation.id}: ${outcome.kind} (${rows.at(-1)!.seconds.toFixed(0)} s)`);
    }
    console.log(renderTable(rows));
    const failing = rows.filter((row) => row.outcome.kind !== "caught");
    const total = rows.reduce((sum, row) => sum + row.seconds, 0);
    console.log(`\n${rows.length - failing.length} of ${rows.length} caught in ${total.toFixed(0)} s`);
    for (const { id, mistake, outcome } of failing) console.log(`${outcome.kind}: ${id}: ${mistake}`);
    return failing.length > 0 ? 1 : 0;
  } finally {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
    if (copy) rmSync(copy, { recursive: true, force: true });
  }
}

runCli(module, audit);
