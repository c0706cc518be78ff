/**
 * npm run plan:comment -- [--stacks-dir DIR] [--out FILE] [--review FILE] <stack>.json... [<stack>.skipped...] [PLANS_DIR...]
 *
 * Renders `terraform show -json` plans (one file per stack, named for it) as the Markdown of the
 * pull-request comment. A `<stack>.skipped` file holds why that stack has no plan; a directory stands
 * for the .json and .skipped files in it (what `npm run ci:terraform -- plan` writes). Construct paths come
 * from DIR/<stack>/cdk.tf.json (default cdktf.out/stacks). --review FILE puts that Markdown (what
 * `npm run review -- --format markdown` prints) above the plans. Prints to stdout unless --out is given.
 */
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { runCli, takeOption } from "../cli/cli-args";
import { type SkippedStack, type StackPlan, type TerraformPlan, renderComment } from "./plan-render";
import { constructPathsOf } from "../stacks/synthesized-stack";

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
    const synthesized = join(stacksDir, stack, "cdk.tf.json");
    plans.push({
      stack,
      plan: JSON.parse(readFileSync(file, "utf8")) as TerraformPlan,
      constructPaths: existsSync(synthesized) ? constructPathsOf(JSON.parse(readFileSync(synthesized, "utf8"))) : {},
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

function main(args: string[]): void {
  const stacksDir = takeOption(args, "--stacks-dir") ?? "cdktf.out/stacks";
  const out = takeOption(args, "--out");
  const reviewFile = takeOption(args, "--review");
  if (args.length === 0)
    throw new Error("usage: npm run plan:comment -- [--stacks-dir DIR] [--out FILE] [--review FILE] <stack>.json... [<stack>.skipped...]");
  const { plans, skipped } = readInputs(args, stacksDir);
  const markdown = renderComment(plans, skipped, {
    artifactUrl: runUrl(process.env),
    review: reviewFile ? readFileSync(reviewFile, "utf8") : undefined,
  });
  if (out) writeFileSync(out, markdown);
  else process.stdout.write(markdown);
}

runCli(module, main);
