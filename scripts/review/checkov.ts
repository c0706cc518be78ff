/**
 * npm run checkov -- [--stacks-dir cdktf.out/stacks] [--exceptions .github/checkov-exceptions.json] [--checkov checkov]
 *
 * Scans every synthesized stack with checkov's terraform_json framework, on a copy without
 * `terraform.required_version` (checkov issue #7454 crashes on it). Fails when checkov parsed no
 * resource of a stack, and on every failed check that the exceptions file does not excuse for that
 * stack with a reason. Exceptions that excuse nothing are reported, so the file does not rot.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { runCli, takeOption } from "../cli/cli-args";

/** check id -> stack -> why the failure is accepted there. */
export type Exceptions = Record<string, Record<string, string>>;

const exceptionsSchema = z.record(
  z.string(),
  z.record(z.string(), z.string().trim().min(10, { error: "must give the reason this failure is accepted (10 characters or more)" })),
);

/** The exceptions file, validated: known check id shapes, known stacks, a reason for each. */
export function parseExceptions(raw: string, stacks: readonly string[]): Exceptions {
  const result = exceptionsSchema.safeParse(JSON.parse(raw));
  const problems = result.success ? [] : result.error.issues.map((issue) => `${issue.path.join(".") || "(root)"}: ${issue.message}`);
  for (const [check, byStack] of Object.entries(result.success ? result.data : {})) {
    if (!/^CKV2?_[A-Z0-9]+_\d+$/.test(check)) problems.push(`${check}: must be a checkov check id like CKV_AWS_117`);
    for (const stack of Object.keys(byStack)) {
      if (!stacks.includes(stack)) problems.push(`${check}.${stack}: no such stack; use one of ${stacks.join(", ")}`);
    }
  }
  if (problems.length > 0) throw new Error(`Invalid checkov exceptions:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  return result.data!;
}

/** Writes DIR/cdk.tf.json without terraform.required_version (and nothing else changed) for checkov to read. */
export function scannableCopy(stackDir: string, outDir: string): void {
  const synthesized = JSON.parse(readFileSync(join(stackDir, "cdk.tf.json"), "utf8"));
  delete synthesized.terraform?.required_version;
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, "cdk.tf.json"), JSON.stringify(synthesized, null, 2));
}

interface CheckRecord {
  check_id: string;
  check_name?: string;
  resource: string;
}
interface CheckovReport {
  check_type?: string;
  results?: { passed_checks?: CheckRecord[]; failed_checks?: CheckRecord[]; parsing_errors?: string[] };
}

export interface StackVerdict {
  stack: string;
  passed: number;
  /** Failures no exception covers: each fails the job. */
  failures: CheckRecord[];
  excused: { check: CheckRecord; reason: string }[];
  /** What makes the scan itself untrustworthy (nothing parsed, parse errors). */
  problems: string[];
}

const addressOf = (resource: string) => resource.replace(/^resource\./, "");

/** Judges checkov's JSON output for one stack against its synthesized resources and the exceptions. */
export function judge(stack: string, output: unknown, resources: ReadonlySet<string>, exceptions: Exceptions): StackVerdict {
  const reports = (Array.isArray(output) ? output : [output]) as CheckovReport[];
  const report = reports.find((r) => r?.check_type === "terraform_json");
  const passed = report?.results?.passed_checks ?? [];
  const failed = report?.results?.failed_checks ?? [];
  const problems = (report?.results?.parsing_errors ?? []).map((file) => `checkov could not parse ${file}`);
  const seen = new Set([...passed, ...failed].map((record) => addressOf(record.resource)));
  const known = [...seen].filter((address) => resources.has(address));
  if (known.length === 0)
    problems.push(`checkov reported on none of the stack's ${resources.size} resources: it did not really parse ${stack}`);
  const excused: StackVerdict["excused"] = [];
  const failures: CheckRecord[] = [];
  for (const check of failed) {
    const reason = exceptions[check.check_id]?.[stack];
    if (reason) excused.push({ check, reason });
    else failures.push(check);
  }
  return { stack, passed: passed.length, failures, excused, problems };
}

/** Managed resource addresses ("aws_vpc.network_vpc_1A2B3C4D") of a synthesized stack. */
export function resourcesOf(stackDir: string): Set<string> {
  const synthesized = JSON.parse(readFileSync(join(stackDir, "cdk.tf.json"), "utf8")) as {
    resource?: Record<string, Record<string, unknown>>;
  };
  return new Set(
    Object.entries(synthesized.resource ?? {}).flatMap(([type, byName]) => Object.keys(byName).map((name) => `${type}.${name}`)),
  );
}

/** Exceptions that excused no failure in any stack. */
export function unusedExceptions(exceptions: Exceptions, verdicts: StackVerdict[]): string[] {
  const used = new Set(verdicts.flatMap((verdict) => verdict.excused.map(({ check }) => `${check.check_id}.${verdict.stack}`)));
  return Object.entries(exceptions)
    .flatMap(([check, byStack]) => Object.keys(byStack).map((stack) => `${check}.${stack}`))
    .filter((key) => !used.has(key));
}

function main(args: string[]): number {
  const stacksDir = takeOption(args, "--stacks-dir") ?? "cdktf.out/stacks";
  const exceptionsFile = takeOption(args, "--exceptions") ?? ".github/checkov-exceptions.json";
  const checkov = takeOption(args, "--checkov") ?? "checkov";
  const stacks = readdirSync(stacksDir).sort();
  if (stacks.length === 0) throw new Error(`no stacks in ${stacksDir}; run npm run synth first`);
  const exceptions = parseExceptions(readFileSync(exceptionsFile, "utf8"), stacks);
  const work = mkdtempSync(join(tmpdir(), "checkov-"));
  let verdicts: StackVerdict[];
  try {
    verdicts = stacks.map((stack) => {
      const copy = join(work, stack);
      scannableCopy(join(stacksDir, stack), copy);
      const run = spawnSync(
        checkov,
        ["--directory", copy, "--framework", "terraform_json", "--output", "json", "--soft-fail", "--skip-download", "--compact"],
        {
          encoding: "utf8",
          maxBuffer: 256 * 1024 * 1024,
        },
      );
      if (run.error || run.status !== 0) throw new Error(`checkov failed on ${stack}: ${run.error?.message ?? run.stderr}`);
      return judge(stack, JSON.parse(run.stdout), resourcesOf(join(stacksDir, stack)), exceptions);
    });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }

  let failed = false;
  for (const verdict of verdicts) {
    console.log(`${verdict.stack}: ${verdict.passed} passed, ${verdict.failures.length} failed, ${verdict.excused.length} excused`);
    for (const { check, reason } of verdict.excused) console.log(`  excused ${check.check_id} ${check.resource}: ${reason}`);
    for (const problem of verdict.problems) console.log(`::error::${problem}`);
    for (const check of verdict.failures) {
      console.log(
        `::error::${verdict.stack}: ${check.check_id} ${check.check_name ?? ""} on ${check.resource}; fix it, or add "${check.check_id}": { "${verdict.stack}": "<why>" } to ${exceptionsFile}`,
      );
    }
    failed ||= verdict.problems.length > 0 || verdict.failures.length > 0;
  }
  for (const unused of unusedExceptions(exceptions, verdicts))
    console.log(`::warning::${exceptionsFile}: ${unused} excuses no failure any more; remove it`);
  return failed ? 1 : 0;
}

runCli(module, main);
