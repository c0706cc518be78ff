/**
 * Prints wall time and peak memory of `npm run synth` (the app without the cdktf CLI) and `npx cdktf
 * synth` for this project and, side by side, for the same stack on the stock `cdktf init` toolchain
 * (ts-node with TypeScript 5, provider classes from the `@cdktf/provider-aws` barrel) and for a trivial
 * app (the cdktf CLI's own floor), with the ratio of each to the stock setup; then of the app alone, of
 * a synth that rebuilds the functions and of the unit test suite. Each figure is printed as it is
 * taken; figures only, no pass/fail.
 */
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { bundleCacheDir } from "../../src/functions/function-bundle";
import { cliEntry } from "../cli/cli-entry";
import { readCdktfJson } from "../stacks/synth-app";
import { type Measurement, measure, median } from "./measure";

const projectRoot = resolve(__dirname, "../..");
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const env = { ...process.env, CHECKPOINT_DISABLE: "1" };
// The app exactly as the cdktf CLI starts it.
const [appCommand, ...appArgs] = (readCdktfJson(projectRoot).app ?? "").split(" ");

const camelCase = (moduleName: string) => moduleName.replace(/-([a-z0-9])/g, (_, letter: string) => letter.toUpperCase());

/** Rewrites `import { A, type B } from "@cdktf/provider-aws/lib/x-y"` (or `import type`) into the barrel form stock projects use. */
function toBarrelImports(source: string): string {
  const deepImport = /import (type )?\{([^}]+)\} from "@cdktf\/provider-aws\/lib\/([a-z0-9-]+)";\n/g;
  if (!deepImport.test(source)) return source;
  const aliases: string[] = [];
  const rewritten = source.replace(deepImport, (_, allTypes: string | undefined, names: string, moduleName: string) => {
    const namespace = camelCase(moduleName);
    const exported = require(`@cdktf/provider-aws/lib/${moduleName}`) as Record<string, unknown>;
    for (const entry of names
      .split(",")
      .map((n) => n.trim())
      .filter(Boolean)) {
      const name = entry.replace(/^type\s+/, "");
      const typeOnly = allTypes !== undefined || name !== entry;
      if (!typeOnly && exported[name] !== undefined) aliases.push(`const ${name} = aws.${namespace}.${name};`);
      aliases.push(`type ${name} = aws.${namespace}.${name};`);
    }
    return "";
  });
  // Imports are hoisted: the aliases may stand before the file's other imports.
  return `import * as aws from "@cdktf/provider-aws";\n${aliases.join("\n")}\n${rewritten}`;
}

/** A copy of this app set up the way `cdktf init --template=typescript` does. */
function stockProject(): string {
  const dir = mkdtempSync(join(tmpdir(), "stock-cdktf-"));
  for (const path of ["functions", "migrations", "src"]) cpSync(join(projectRoot, path), join(dir, path), { recursive: true });
  symlinkSync(join(projectRoot, "node_modules"), join(dir, "node_modules"));
  for (const file of [
    "main.ts",
    ...readdirSync(join(dir, "src"), { recursive: true, encoding: "utf8" })
      .filter((path) => path.endsWith(".ts"))
      .map((path) => join("src", path)),
  ]) {
    // main.ts imports the library by its package name, which the copy (no package.json) resolves by path.
    const source = readFileSync(join(projectRoot, file), "utf8").replace(/from "lambda-rds-iam"/g, 'from "./src/index"');
    writeFileSync(join(dir, file), toBarrelImports(source));
  }
  writeFileSync(
    join(dir, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        alwaysStrict: true,
        declaration: true,
        experimentalDecorators: true,
        inlineSourceMap: true,
        inlineSources: true,
        lib: ["es2018"],
        module: "CommonJS",
        noEmitOnError: true,
        noFallthroughCasesInSwitch: true,
        noImplicitAny: true,
        noImplicitReturns: true,
        noImplicitThis: true,
        noUnusedLocals: true,
        noUnusedParameters: true,
        resolveJsonModule: true,
        strict: true,
        strictNullChecks: true,
        strictPropertyInitialization: true,
        stripInternal: true,
        target: "ES2018",
        incremental: true,
        skipLibCheck: true,
        esModuleInterop: true,
      },
      include: ["**/*.ts"],
      exclude: ["node_modules", "cdktf.out"],
    }),
  );
  // ts-node needs a TypeScript with a JavaScript API; TypeScript 7 has none, so the stock run uses 5.9.
  writeFileSync(
    join(dir, "cdktf.json"),
    JSON.stringify({ language: "typescript", app: "npx ts-node --compiler typescript5 main.ts", terraformProviders: [], context: {} }),
  );
  return dir;
}

/** A project whose app only creates an empty stack: what any synth costs before the app does anything. */
function trivialProject(): string {
  const dir = mkdtempSync(join(tmpdir(), "trivial-cdktf-"));
  symlinkSync(join(projectRoot, "node_modules"), join(dir, "node_modules"));
  writeFileSync(
    join(dir, "main.js"),
    'const { App, TerraformStack } = require("cdktf");\nconst app = new App();\nnew TerraformStack(app, "empty");\napp.synth();\n',
  );
  writeFileSync(
    join(dir, "cdktf.json"),
    JSON.stringify({ language: "typescript", app: "node main.js", terraformProviders: [], context: {} }),
  );
  return dir;
}

const seconds = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const range = sorted.length > 1 ? ` (${sorted[0].toFixed(2)}-${sorted.at(-1)!.toFixed(2)})` : "";
  return `${median(values).toFixed(2)} s${range}`;
};
const peaks = (runs: Measurement[]) =>
  `peak ${Math.max(...runs.map((r) => r.peakTreeMb)).toFixed(0)} MB process tree / ${Math.max(...runs.map((r) => r.peakProcessMb)).toFixed(0)} MB largest process`;
const figure = (runs: Measurement[]) =>
  `${seconds(runs.map((r) => r.wallSeconds))} wall, ${seconds(runs.map((r) => r.cpuSeconds))} CPU, ${peaks(runs)}`;

/** Runs one measurement, printing its label first and its wall time when done, on the same line. */
async function timed(
  label: string,
  command: string,
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv },
): Promise<Measurement> {
  process.stdout.write(`  ${label.padEnd(32)} `);
  const result = await measure(command, args, options);
  process.stdout.write(`${result.wallSeconds.toFixed(2)} s wall, ${result.cpuSeconds.toFixed(2)} s CPU\n`);
  return result;
}

async function main(): Promise<void> {
  console.log(
    `bench: ${rounds}x each npm run synth and npx cdktf synth for this project, and npx cdktf synth for the stock setup and a trivial app; then the app alone, synths that rebuild the functions, and the unit tests. A few minutes on 2 cores.`,
  );
  const stock = stockProject();
  const trivial = trivialProject();
  const out = mkdtempSync(join(tmpdir(), "synth-out-"));
  const removeTemporary = () => {
    for (const dir of [stock, trivial, out]) rmSync(dir, { recursive: true, force: true });
  };
  // Interrupted (Ctrl-C), the copies go too.
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      removeTemporary();
      process.exit(1);
    });
  }
  const outdir = join(out, "cdktf.out");
  // npx runs the CLI by its command's name: cdktf, or cdktn after the move to CDK Terrain.
  const synth = [cliEntry().name, "synth", "--output", outdir];
  const npmSynth = ["run", "-s", "synth", "--", "--output", outdir];
  const ours: Measurement[] = [];
  const throughCli: Measurement[] = [];
  const baseline: Measurement[] = [];
  const floor: Measurement[] = [];
  const appOnly: Measurement[] = [];
  const rebuilt: Measurement[] = [];
  try {
    for (let round = 1; round <= rounds; round++) {
      console.log(`round ${round} of ${rounds}`);
      ours.push(await timed("npm run synth, this project", "npm", npmSynth, { cwd: projectRoot, env }));
      throughCli.push(await timed("npx cdktf synth, this project", "npx", synth, { cwd: projectRoot, env }));
      baseline.push(await timed("npx cdktf synth, stock setup", "npx", synth, { cwd: stock, env }));
      floor.push(await timed("npx cdktf synth, trivial app", "npx", synth, { cwd: trivial, env }));
    }
    console.log("the app alone, and synths with no function build to reuse (the first after a code change)");
    for (let round = 1; round <= rounds; round++) {
      appOnly.push(
        await timed("the app alone", appCommand, appArgs, { cwd: projectRoot, env: { ...env, CDKTF_OUTDIR: join(out, "app") } }),
      );
      rmSync(bundleCacheDir(projectRoot), { recursive: true, force: true });
      rebuilt.push(await timed("npm run synth, rebuilding", "npm", npmSynth, { cwd: projectRoot, env }));
    }
  } finally {
    removeTemporary();
  }
  console.log("unit tests");
  const tests = await timed("jest --selectProjects infra", "npx", ["jest", "--selectProjects", "infra"], { cwd: projectRoot, env });

  const ratio = (runs: Measurement[], of: (run: Measurement) => number) => {
    const byRound = runs.map((run, i) => of(run) / of(baseline[i]));
    return `${median(byRound).toFixed(2)} (${Math.min(...byRound).toFixed(2)}-${Math.max(...byRound).toFixed(2)} by round)`;
  };
  console.log(`\nmedian (range) of ${rounds} runs each; peaks are maxima`);
  const rows: [string, Measurement[]][] = [
    ["npm run synth, this project", ours],
    ["cdktf synth, this project", throughCli],
    ["cdktf synth, stock setup", baseline],
    ["cdktf synth, trivial app (CLI floor)", floor],
    ["the app alone, without the CLI", appOnly],
    ["npm run synth, functions rebuilt", rebuilt],
    ["unit tests (jest, infra project)", [tests]],
  ];
  for (const [label, runs] of rows) console.log(`  ${`${label}:`.padEnd(38)} ${figure(runs)}`);
  const wall = (run: Measurement) => run.wallSeconds;
  const cpu = (run: Measurement) => run.cpuSeconds;
  console.log("  ratio to the stock setup, by round:");
  console.log(`    npm run synth / stock:   ${ratio(ours, wall)} wall (target <= 0.08), ${ratio(ours, cpu)} CPU`);
  console.log(`    npx cdktf synth / stock: ${ratio(throughCli, wall)} wall, ${ratio(throughCli, cpu)} CPU`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
