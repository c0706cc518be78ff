/**
 * Prints wall time and peak memory of `npx cdktf synth` for this project and, side by side, for the
 * same stack on the stock `cdktf init` toolchain (ts-node with TypeScript 5, provider classes from
 * the `@cdktf/provider-aws` barrel), then of the unit test suite. Figures only; no pass/fail.
 */
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { bundleCacheDir } from "../src/function-bundle";
import { Measurement, measure, median } from "./measure";

const projectRoot = resolve(__dirname, "..");
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const env = { ...process.env, CHECKPOINT_DISABLE: "1" };

const camelCase = (moduleName: string) => moduleName.replace(/-([a-z0-9])/g, (_, letter: string) => letter.toUpperCase());

/** Rewrites `import { A } from "@cdktf/provider-aws/lib/x-y"` into the barrel form stock projects use. */
function toBarrelImports(source: string): string {
  const deepImport = /import \{([^}]+)\} from "@cdktf\/provider-aws\/lib\/([a-z0-9-]+)";\n/g;
  if (!deepImport.test(source)) return source;
  const aliases: string[] = [];
  const rewritten = source.replace(deepImport, (_, names: string, moduleName: string) => {
    const namespace = camelCase(moduleName);
    const exported = require(`@cdktf/provider-aws/lib/${moduleName}`) as Record<string, unknown>;
    for (const name of names.split(",").map((n) => n.trim()).filter(Boolean)) {
      if (exported[name] !== undefined) aliases.push(`const ${name} = aws.${namespace}.${name};`);
      aliases.push(`type ${name} = aws.${namespace}.${name};`);
    }
    return "";
  });
  const lastImport = rewritten.lastIndexOf("\nimport ");
  const insertAt = rewritten.indexOf("\n", rewritten.indexOf(";", lastImport)) + 1;
  return `import * as aws from "@cdktf/provider-aws";\n${rewritten.slice(0, insertAt)}${aliases.join("\n")}\n${rewritten.slice(insertAt)}`;
}

/** A copy of this app set up the way `cdktf init --template=typescript` does. */
function stockProject(): string {
  const dir = mkdtempSync(join(tmpdir(), "stock-cdktf-"));
  for (const path of ["functions", "migrations", "src"]) cpSync(join(projectRoot, path), join(dir, path), { recursive: true });
  symlinkSync(join(projectRoot, "node_modules"), join(dir, "node_modules"));
  for (const file of ["main.ts", ...readdirSync(join(dir, "src")).map((name) => join("src", name))]) {
    writeFileSync(join(dir, file), toBarrelImports(readFileSync(join(projectRoot, file), "utf8")));
  }
  writeFileSync(
    join(dir, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        alwaysStrict: true, declaration: true, experimentalDecorators: true, inlineSourceMap: true, inlineSources: true,
        lib: ["es2018"], module: "CommonJS", noEmitOnError: true, noFallthroughCasesInSwitch: true, noImplicitAny: true,
        noImplicitReturns: true, noImplicitThis: true, noUnusedLocals: true, noUnusedParameters: true, resolveJsonModule: true,
        strict: true, strictNullChecks: true, strictPropertyInitialization: true, stripInternal: true, target: "ES2018",
        incremental: true, skipLibCheck: true, esModuleInterop: true,
      },
      include: ["**/*.ts"],
      exclude: ["node_modules", "cdktf.out"],
    }),
  );
  // ts-node needs a TypeScript with a JavaScript API; TypeScript 7 has none, so the stock run uses 5.9.
  writeFileSync(join(dir, "cdktf.json"), JSON.stringify({ language: "typescript", app: "npx ts-node --compiler typescript5 main.ts", terraformProviders: [], context: {} }));
  return dir;
}

const format = (m: Measurement) => `${m.wallSeconds.toFixed(2)} s, peak ${m.peakTreeMb.toFixed(0)} MB process tree / ${m.peakProcessMb.toFixed(0)} MB largest process`;

function summary(runs: Measurement[]): Measurement {
  return {
    wallSeconds: median(runs.map((r) => r.wallSeconds)),
    peakTreeMb: Math.max(...runs.map((r) => r.peakTreeMb)),
    peakProcessMb: Math.max(...runs.map((r) => r.peakProcessMb)),
  };
}

async function main(): Promise<void> {
  const stock = stockProject();
  const ours: Measurement[] = [];
  const baseline: Measurement[] = [];
  try {
    for (let round = 1; round <= rounds; round++) {
      const out = mkdtempSync(join(tmpdir(), "synth-out-"));
      ours.push(await measure("npx", ["cdktf", "synth", "--output", out], { cwd: projectRoot, env }));
      baseline.push(await measure("npx", ["cdktf", "synth", "--output", out], { cwd: stock, env }));
      rmSync(out, { recursive: true, force: true });
      console.log(`round ${round}: this project ${format(ours.at(-1)!)}; stock ${format(baseline.at(-1)!)}`);
    }
  } finally {
    rmSync(stock, { recursive: true, force: true });
  }
  const oursSummary = summary(ours);
  const stockSummary = summary(baseline);
  console.log(`\ncdktf synth, median of ${rounds} (peaks are maxima):`);
  console.log(`  this project (tsx, deep imports):      ${format(oursSummary)}`);
  console.log(`  stock setup (ts-node, barrel import):  ${format(stockSummary)}`);
  console.log(`  wall-time ratio: ${((100 * oursSummary.wallSeconds) / stockSummary.wallSeconds).toFixed(0)}% of stock (target <= 25%); peak target <= 350 MB`);

  const appOnly: Measurement[] = [];
  const coldCache: Measurement[] = [];
  for (let round = 1; round <= rounds; round++) {
    const out = mkdtempSync(join(tmpdir(), "synth-out-"));
    appOnly.push(await measure(process.execPath, ["--import", "tsx", "main.ts"], { cwd: projectRoot, env: { ...env, CDKTF_OUTDIR: out } }));
    // No earlier function build to reuse: the first synth after a code change.
    rmSync(bundleCacheDir(projectRoot), { recursive: true, force: true });
    coldCache.push(await measure("npx", ["cdktf", "synth", "--output", out], { cwd: projectRoot, env }));
    rmSync(out, { recursive: true, force: true });
  }
  console.log(`  the app alone, without the cdktf CLI:  ${format(summary(appOnly))}`);
  console.log(`  this project, functions rebuilt:       ${format(summary(coldCache))}`);

  const tests = summary([await measure("npx", ["jest", "--selectProjects", "infra"], { cwd: projectRoot, env })]);
  console.log(`\nunit tests (jest, infra project): ${format(tests)} (target <= 20 s)`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
