/**
 * npm run docs:plan-comment [-- --check]
 *
 * Writes docs/plan-comment-sample.md: the plan comment `npm run plan:comment` renders for a real plan of
 * the AWS provider (the fixture that makes prod's database public), read with this checkout's synthesized
 * stacks, as the README's "Read the PR comment" shows it in part. --check writes nothing and exits 1
 * when the page is stale.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { runCli, takeFlag } from "../cli/cli-args";
import { synthesizeApp } from "../stacks/synth-app";
import { readInputs } from "../review/plan-comment";
import { renderPlans } from "../review/plan-render";

const projectRoot = resolve(__dirname, "..", "..");
export const PLAN_COMMENT_SAMPLE = join(projectRoot, "docs", "plan-comment-sample.md");
const FIXTURE = "__tests__/infra/fixtures/real-plans/prod.public.json";

/** The page as this checkout renders it. */
export async function renderPlanCommentSample(): Promise<string> {
  const work = mkdtempSync(join(tmpdir(), "lambda-rds-iam-plan-comment-"));
  let markdown: string;
  try {
    // The checked-in configuration, as the fixtures were recorded with.
    const { LAMBDA_RDS_IAM_CONFIG: _, ...env } = process.env;
    await synthesizeApp(projectRoot, join(work, "out"), env);
    // The renderer names a plan's stack by its file name.
    copyFileSync(join(projectRoot, FIXTURE), join(work, "prod.json"));
    const { plans, skipped } = readInputs([join(work, "prod.json")], join(work, "out", "stacks"));
    markdown = renderPlans(plans, skipped, { marker: false }).markdown;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return [
    "# A rendered plan comment",
    "",
    "What `npm run plan:comment` renders for a real plan of the AWS provider: the fixture",
    `\`${FIXTURE}\`, a change that makes the prod database publicly accessible, read with this`,
    "checkout's synthesized stacks (`npm run docs:plan-comment` writes this page; a test fails when it is stale).",
    "A pull request shows it below the infrastructure review, one comment updated on every push. How each part",
    "is made: [review.md](review.md#the-plan-comment).",
    "",
    "---",
    "",
    markdown.trimEnd(),
    "",
    "---",
    "",
    "[Back to the README](../README.md)",
    "",
  ].join("\n");
}

async function main(args: string[]): Promise<number> {
  const check = takeFlag(args, "--check");
  if (args.length > 0) throw new Error("usage: npm run docs:plan-comment [-- --check]");
  const rendered = await renderPlanCommentSample();
  if (check) {
    if (readFileSync(PLAN_COMMENT_SAMPLE, "utf8") === rendered) return 0;
    console.error(`${relative(projectRoot, PLAN_COMMENT_SAMPLE)} is stale: run npm run docs:plan-comment`);
    return 1;
  }
  writeFileSync(PLAN_COMMENT_SAMPLE, rendered);
  console.log(`wrote ${relative(projectRoot, PLAN_COMMENT_SAMPLE)}`);
  return 0;
}

runCli(module, main);
