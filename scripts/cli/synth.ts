/**
 * `npm run synth [-- --output DIR]`: what `cdktf synth` does for this project, without the CLI, whose
 * start-up (it loads `cdktf convert`'s converter whatever the command) was three quarters of a synth.
 * It runs the app command of cdktf.json with the variables the CLI gives it, into cdktf.json's output
 * (cdktf.out) or DIR; the app validates the configuration before any construct exists, so bad
 * configuration is reported once and nothing is written. Then it does what the CLI does with the result:
 * reads manifest.json (the app must have called synth()), prints the stacks' annotations, removes the
 * directories of stacks the app no longer makes and names the stacks it wrote. `npx cdktf synth` gives
 * the same files; `npm run diff`, `deploy` and `destroy` run the CLI (scripts/cli/cdktf.ts).
 */
import { existsSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { AppFailed, readCdktfJson, synthesizeApp } from "../stacks/synth-app";
import { runCli, takeOption } from "./cli-args";

const projectRoot = resolve(__dirname, "../..");

/** What the app writes into manifest.json: per stack, where its JSON is and what its constructs reported. */
interface Manifest {
  stacks: Record<string, { name: string; annotations: { constructPath: string; level: string; message: string }[] }>;
}

const stackDirs = (stacksDir: string): string[] =>
  existsSync(stacksDir)
    ? readdirSync(stacksDir)
        .map((name) => join(stacksDir, name))
        .filter((path) => statSync(path).isDirectory())
    : [];

/** Synthesizes every stack into `--output` (default: cdktf.json's output, else cdktf.out); returns the exit status. */
async function synth(args: string[]): Promise<number> {
  const output = takeOption(args, "--output") ?? takeOption(args, "-o") ?? readCdktfJson(projectRoot).output ?? "cdktf.out";
  if (args.length > 0) {
    throw new Error(
      `npm run synth takes --output DIR only, not ${args.join(" ")}; the cdktf CLI has the other options: npx cdktf synth ${args.join(" ")}`,
    );
  }
  const outDir = resolve(output);
  const before = stackDirs(join(outDir, "stacks"));
  try {
    await synthesizeApp(projectRoot, outDir, process.env, { passOutput: true });
  } catch (error) {
    // The app said why on stderr already.
    if (error instanceof AppFailed) return error.status ?? 1;
    throw error;
  }
  const manifestPath = join(outDir, "manifest.json");
  if (!existsSync(manifestPath)) throw new Error(`the app wrote no ${manifestPath}: main.ts must end with app.synth()`);
  const stacks = Object.values((JSON.parse(readFileSync(manifestPath, "utf8")) as Manifest).stacks);
  for (const { constructPath, level, message } of stacks.flatMap((stack) => stack.annotations)) {
    // Levels are written "@cdktf/warn"; the CLI prints WARN.
    console.error(`${level.split("/").at(-1)?.toUpperCase()} [${constructPath}]: ${message}`);
  }
  const names = stacks.map((stack) => stack.name);
  for (const stale of before.filter((dir) => !names.includes(basename(dir)))) rmSync(stale, { recursive: true, force: true });
  console.log(`Generated Terraform code for the stacks: ${names.join(", ")}`);
  return 0;
}

runCli(module, synth);
