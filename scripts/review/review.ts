/**
 * npm run review -- [--base REF] [--format text|markdown] [--out FILE]
 *
 * A security-aware diff of the infrastructure between REF (default: the merge base of HEAD with main)
 * and the working tree, without AWS credentials or terraform: both are synthesized with their own app
 * command (the base in a temporary git worktree, side by side with the working tree) and compared stack
 * by stack (scripts/review/review-diff.ts). Exit status: 0 nothing changed, 3 changes that widen nothing
 * (narrowed IAM or rules included), 4 something widens (IAM, network reach, exposure, encryption off) or
 * data is at risk, 1 an error. With --out FILE the review goes to FILE, the verdict line to stdout, and
 * every verdict exits 0 (what CI runs: the plan comment carries the verdict; only an error fails the job).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli, takeOption } from "../cli/cli-args";
import { reviewExitStatus, reviewInfrastructure } from "./review-diff";
import { renderReviewMarkdown, renderReviewText, reviewVerdict } from "./review-render";
import { readSynthesizedStacks, synthesizeApp } from "../stacks/synth-app";

const git = (cwd: string, ...args: string[]) =>
  execFileSync("git", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();

/** The commit to compare with: REF, or where HEAD left main (origin/main in a CI checkout without a local main). */
function baseCommit(root: string, ref: string | undefined): string {
  if (ref) {
    try {
      return git(root, "rev-parse", "--verify", "--quiet", `${ref}^{commit}`);
    } catch {
      throw new Error(`--base ${ref}: no such commit in this repository`);
    }
  }
  for (const main of ["main", "origin/main"]) {
    try {
      return git(root, "merge-base", "HEAD", main);
    } catch {
      // The next candidate, or the error below.
    }
  }
  throw new Error("no main or origin/main to take the merge base with; pass --base <git ref>");
}

/**
 * A checkout of `commit` in `dir` that can synthesize: this checkout's node_modules when both lock
 * files are the same (no install at all), otherwise its own `npm ci`.
 */
function checkoutBase(root: string, commit: string, dir: string): void {
  git(root, "worktree", "add", "--detach", "--quiet", dir, commit);
  const lock = (checkout: string) =>
    existsSync(join(checkout, "package-lock.json")) ? readFileSync(join(checkout, "package-lock.json")) : undefined;
  const ours = lock(root);
  if (ours?.equals(lock(dir) ?? Buffer.alloc(0)) && existsSync(join(root, "node_modules"))) {
    // A commit that tracked a node_modules symlink (9b8462e did) checks it out pointing elsewhere: replace it.
    rmSync(join(dir, "node_modules"), { force: true });
    symlinkSync(join(root, "node_modules"), join(dir, "node_modules"), "dir");
    return;
  }
  console.error(`review: package-lock.json differs at ${commit.slice(0, 7)}; installing its dependencies (npm ci)`);
  const install = spawnSync("npm", ["ci", "--no-audit", "--no-fund"], { cwd: dir, stdio: ["ignore", "ignore", "inherit"] });
  if (install.status !== 0) throw new Error(`npm ci for the base ${commit.slice(0, 7)} failed`);
}

async function main(args: string[]): Promise<number> {
  const ref = takeOption(args, "--base");
  const format = takeOption(args, "--format") ?? "text";
  const out = takeOption(args, "--out");
  if (args.length > 0 || !["text", "markdown"].includes(format))
    throw new Error("usage: npm run review -- [--base <git ref>] [--format text|markdown] [--out FILE]");
  const root = git(process.cwd(), "rev-parse", "--show-toplevel");
  const commit = baseCommit(root, ref);

  const work = mkdtempSync(join(tmpdir(), "lambda-rds-iam-review-"));
  const checkout = join(work, "base");
  const removeCheckout = () => {
    spawnSync("git", ["worktree", "remove", "--force", checkout], { cwd: root, stdio: "ignore" });
    rmSync(work, { recursive: true, force: true });
  };
  // Ctrl-C during a synth still leaves no worktree behind.
  const interrupted = () => {
    removeCheckout();
    process.exit(130);
  };
  process.once("SIGINT", interrupted).once("SIGTERM", interrupted);
  try {
    checkoutBase(root, commit, checkout);
    await Promise.all([synthesizeApp(checkout, join(work, "base.out")), synthesizeApp(root, join(work, "head.out"))]);
    const review = reviewInfrastructure(
      readSynthesizedStacks(join(work, "base.out", "stacks")),
      readSynthesizedStacks(join(work, "head.out", "stacks")),
    );
    const labels = { base: `${ref ?? "merge base with main"} (${commit.slice(0, 7)})`, head: "working tree" };
    const color = out === undefined && process.stdout.isTTY === true && !process.env.NO_COLOR;
    const report = format === "markdown" ? renderReviewMarkdown(review, labels) : renderReviewText(review, labels, { color });
    if (out === undefined) {
      process.stdout.write(report);
      return reviewExitStatus(review);
    }
    writeFileSync(out, report);
    console.log(`${out}: ${reviewVerdict(review)} (exit status ${reviewExitStatus(review)} without --out)`);
    return 0;
  } finally {
    removeCheckout();
    process.off("SIGINT", interrupted).off("SIGTERM", interrupted);
  }
}

runCli(module, main);
