import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FORK_REASON, STATE_STACK_REASON, skipReason } from "../../scripts/terraform-ci";
import { projectRoot } from "./synth";

/** A terraform that logs its arguments, writes the plan file it is asked for and prints a plan as JSON. */
function fakeTerraform(dir: string): { binary: string; log: string } {
  const binary = join(dir, "terraform");
  const log = join(dir, "calls.log");
  writeFileSync(
    binary,
    `#!/usr/bin/env node
const fs = require("fs");
const args = process.argv.slice(2);
fs.appendFileSync(${JSON.stringify(log)}, args.join(" ") + "\\n");
if (process.env.FAIL_ON === args[1]) process.exit(1);
const out = args.find((a) => a.startsWith("-out="));
if (out) fs.writeFileSync(out.slice(5), "binary plan");
if (args[1] === "show") console.log(JSON.stringify({ format_version: "1.2", resource_changes: [] }));
`,
  );
  chmodSync(binary, 0o755);
  return { binary, log };
}

function workspace() {
  const dir = mkdtempSync(join(tmpdir(), "terraform-ci-"));
  for (const stack of ["dev", "dev-state"]) {
    mkdirSync(join(dir, "stacks", stack), { recursive: true });
    writeFileSync(join(dir, "stacks", stack, "cdk.tf.json"), JSON.stringify({ resource: {} }));
  }
  const terraform = fakeTerraform(dir);
  const run = (args: string[], env: Record<string, string> = {}) =>
    spawnSync("npm", ["run", "-s", "ci:terraform", "--", "--stacks-dir", join(dir, "stacks"), ...args], {
      cwd: projectRoot,
      encoding: "utf8",
      env: { ...process.env, TERRAFORM: terraform.binary, PLAN_ROLE_ARN: "", FORK: "", ...env },
    });
  const calls = () => readFileSync(terraform.log, "utf8").trim().split("\n");
  return { dir, run, calls };
}

describe("npm run ci:terraform", () => {
  it("validates each stack without a backend, so no credentials are needed", () => {
    const { dir, run, calls } = workspace();
    expect(run(["validate", "dev", "dev-state"]).status).toBe(0);
    expect(calls()).toEqual([
      `-chdir=${join(dir, "stacks", "dev")} init -backend=false -no-color`,
      `-chdir=${join(dir, "stacks", "dev")} validate -no-color`,
      `-chdir=${join(dir, "stacks", "dev-state")} init -backend=false -no-color`,
      `-chdir=${join(dir, "stacks", "dev-state")} validate -no-color`,
    ]);
  });

  it("plans a service stack with its lock waited for, keeping the plan file, its JSON and the synthesized stack", () => {
    const { dir, run, calls } = workspace();
    const out = join(dir, "plans");
    expect(run(["plan", "dev", "--out", out], { PLAN_ROLE_ARN: "arn:aws:iam::111111111111:role/github-actions/plan" }).status).toBe(0);
    expect(calls().map((call) => call.split(" ")[1])).toEqual(["init", "plan", "show"]);
    expect(calls()[1]).toContain("-lock-timeout=5m");
    expect(JSON.parse(readFileSync(join(out, "dev.json"), "utf8")).format_version).toBe("1.2");
    expect(readdirSync(out).sort()).toEqual(["dev.json", "dev.tfplan", "stacks"]);
    expect(existsSync(join(out, "stacks", "dev", "cdk.tf.json"))).toBe(true);
  });

  it("writes why a stack gets no plan instead of planning it", () => {
    const { dir, run } = workspace();
    const out = join(dir, "plans");
    expect(run(["plan", "dev", "dev-state", "--out", out], { PLAN_ROLE_VARIABLE: "DEV_PLAN_ROLE_ARN" }).status).toBe(0);
    expect(readFileSync(join(out, "dev.skipped"), "utf8")).toContain("the repository variable DEV_PLAN_ROLE_ARN is not set");
    expect(readFileSync(join(out, "dev-state.skipped"), "utf8")).toBe(`${STATE_STACK_REASON}\n`);
    expect(existsSync(join(dir, "calls.log"))).toBe(false);
  });

  it("gives forks no plan, whatever variables exist", () => {
    expect(skipReason("dev", { FORK: "true", PLAN_ROLE_ARN: "arn" })).toBe(FORK_REASON);
    expect(skipReason("dev", { FORK: "false", PLAN_ROLE_ARN: "arn" })).toBeUndefined();
  });

  it("fails on a failed plan, leaving the reason for the comment", () => {
    const { dir, run } = workspace();
    const out = join(dir, "plans");
    const result = run(["plan", "dev", "--out", out], { PLAN_ROLE_ARN: "arn", FAIL_ON: "plan" });
    expect(result.status).toBe(1);
    expect(readFileSync(join(out, "dev.skipped"), "utf8")).toContain("terraform plan failed");
  });

  it("applies exactly the plan it printed, and never a state stack", () => {
    const { run, calls } = workspace();
    expect(run(["apply", "dev"]).status).toBe(0);
    const [, planCall, applyCall] = calls();
    const planFile = /-out=(\S+)/.exec(planCall)![1];
    expect(applyCall).toMatch(new RegExp(`apply -no-color -lock-timeout=10m ${planFile}$`));
    const refused = run(["apply", "dev-state"]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain("dev-state is deployed by hand only");
  });
});
