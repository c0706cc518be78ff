/**
 * npm run diagram -- [--stacks-dir DIR] [--out cdktf.out/diagrams]
 *
 * Draws each service stack (each stack with a VPC) from its synthesized JSON: OUT/<stack>.mmd, Mermaid
 * for GitHub (inside a ```mermaid block of any Markdown), and OUT/<stack>.svg, drawn by Graphviz.
 * Synthesizes the working tree first (its cdktf.json app command, into a temporary directory) unless
 * --stacks-dir names synthesized stacks to draw (DIR/<stack>/cdk.tf.json, as in cdktf.out/stacks).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { runCli, takeOption } from "../cli/cli-args";
import { diagramOf } from "./diagram-graph";
import { toMermaid, toSvg } from "./diagram-render";
import { readSynthesizedStacks, synthesizeApp } from "../stacks/synth-app";
import { SynthesizedStack, type TerraformJson } from "../stacks/synthesized-stack";

async function synthesizedWorkingTree(): Promise<Record<string, TerraformJson>> {
  const out = mkdtempSync(join(tmpdir(), "lambda-rds-iam-diagram-"));
  try {
    await synthesizeApp(resolve(__dirname, "../.."), out);
    return readSynthesizedStacks(join(out, "stacks"));
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

async function main(args: string[]): Promise<void> {
  const stacksDir = takeOption(args, "--stacks-dir");
  const out = takeOption(args, "--out") ?? resolve(__dirname, "../..", "cdktf.out", "diagrams");
  if (args.length > 0) throw new Error("usage: npm run diagram -- [--stacks-dir DIR] [--out DIR]");
  const stacks = stacksDir ? readSynthesizedStacks(stacksDir) : await synthesizedWorkingTree();
  const diagrams = Object.entries(stacks).flatMap(([name, json]) => diagramOf(new SynthesizedStack(name, json)) ?? []);
  if (diagrams.length === 0) throw new Error("no stack with a VPC to draw");
  mkdirSync(out, { recursive: true });
  for (const diagram of diagrams) {
    const files = [join(out, `${diagram.stack}.mmd`), join(out, `${diagram.stack}.svg`)];
    writeFileSync(files[0], toMermaid(diagram));
    writeFileSync(files[1], await toSvg(diagram));
    console.log(`${diagram.stack}: ${files.join(", ")}`);
  }
}

runCli(module, main);
