/**
 * npm run plan:comment -- [--stacks-dir DIR] [--out FILE] [--review FILE] [--result FILE] [--no-marker]
 *                         <stack>.json... [<stack>.skipped...] [PLANS_DIR...]
 *
 * Renders `terraform show -json` plans (one file per stack, named for it) as the Markdown of the
 * pull-request comment (or, with --no-marker, of a job summary). A `<stack>.skipped` file holds why that
 * stack has no plan; a directory stands for the .json and .skipped files in it (what `npm run
 * ci:terraform -- plan` writes). Construct paths, and the statements of policies the plan knows only
 * after apply, come from DIR/<stack>/cdk.tf.json (default cdktf.out/stacks). --review FILE puts that
 * Markdown (what `npm run review -- --format markdown` writes) above the plans; a missing file is said
 * so in the comment (the review job failed). --result FILE writes the verdict as JSON for the workflow
 * (`broadens`, `dataAtRisk`, counts). Prints to stdout unless --out is given. When the plans cannot be
 * rendered at all, --out and --result get a comment naming the error and a verdict that sets the label
 * (fail closed), and the command exits 1.
 */
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { runCli, takeFlag, takeOption } from "../cli/cli-args";
import { constructPathsOf, type TerraformJson } from "../stacks/synthesized-stack";
import type { SkippedStack, StackPlan, TerraformPlan } from "../stacks/terraform-plan";
import { type RenderedPlan, failureComment, renderPlans } from "./plan-render";

export interface CommentInputs {
  plans: StackPlan[];
  skipped: SkippedStack[];
}

export function readInputs(paths: string[], stacksDir: string): CommentInputs {
  const plans: StackPlan[] = [];
  const skipped: SkippedStack[] = [];
  const files = paths.flatMap((path) =>
    statSync(path).isDirectory()
      ? readdirSync(path)
          .filter((name) => name.endsWith(".json") || name.endsWith(".skipped"))
          .map((name) => join(path, name))
      : [path],
  );
  for (const file of files) {
    if (file.endsWith(".skipped")) {
      skipped.push({ stack: basename(file, ".skipped"), reason: readFileSync(file, "utf8").trim() });
      continue;
    }
    if (!file.endsWith(".json")) throw new Error(`${file}: expected <stack>.json (terraform show -json) or <stack>.skipped`);
    const stack = basename(file, ".json");
    const synthesizedFile = join(stacksDir, stack, "cdk.tf.json");
    const synthesized = existsSync(synthesizedFile) ? (JSON.parse(readFileSync(synthesizedFile, "utf8")) as TerraformJson) : undefined;
    plans.push({
      stack,
      plan: JSON.parse(readFileSync(file, "utf8")) as TerraformPlan,
      constructPaths: synthesized ? constructPathsOf(synthesized) : {},
      ...(synthesized ? { synthesized } : {}),
    });
  }
  const byName = (a: { stack: string }, b: { stack: string }) => a.stack.localeCompare(b.stack);
  return { plans: plans.sort(byName), skipped: skipped.sort(byName) };
}

/** The run's page, where its artifacts are listed; from the variables GitHub Actions sets. */
export function runUrl(env: Record<string, string | undefined>): string | undefined {
  const { GITHUB_SERVER_URL: server, GITHUB_REPOSITORY: repository, GITHUB_RUN_ID: run } = env;
  return server && repository && run ? `${server}/${repository}/actions/runs/${run}` : undefined;
}

/** The review's Markdown, or a line saying it is missing (its job failed or was cancelled: the plans are still shown). */
export function reviewText(file: string): string {
  if (existsSync(file)) return readFileSync(file, "utf8");
  return `## Infrastructure review\n\n**No review**: ${file} was not produced (the review job failed or was cancelled; see its log).\n`;
}

function main(args: string[]): void {
  const stacksDir = takeOption(args, "--stacks-dir") ?? "cdktf.out/stacks";
  const out = takeOption(args, "--out");
  const reviewFile = takeOption(args, "--review");
  const resultFile = takeOption(args, "--result");
  const marker = !takeFlag(args, "--no-marker");
  if (args.length === 0) {
    throw new Error(
      "usage: npm run plan:comment -- [--stacks-dir DIR] [--out FILE] [--review FILE] [--result FILE] [--no-marker] <stack>.json... [<stack>.skipped...]",
    );
  }
  let rendered: RenderedPlan;
  let failure: unknown;
  try {
    const { plans, skipped } = readInputs(args, stacksDir);
    rendered = renderPlans(plans, skipped, {
      artifactUrl: runUrl(process.env),
      review: reviewFile ? reviewText(reviewFile) : undefined,
      marker,
    });
  } catch (error) {
    failure = error;
    rendered = failureComment(error instanceof Error ? error.message : String(error), runUrl(process.env));
  }
  if (resultFile) writeFileSync(resultFile, `${JSON.stringify(rendered.verdict, null, 2)}\n`);
  if (out) writeFileSync(out, rendered.markdown);
  else if (!failure) process.stdout.write(rendered.markdown);
  if (failure) throw failure;
}

runCli(module, main);
