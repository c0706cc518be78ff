import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { FORK_REASON, apply, localStateReason, plan, skipReason, validate } from "../../../../scripts/review/terraform-ci";
import { projectRoot } from "../../synth";
import { tempDir } from "../../temp";

/** A terraform that logs its arguments, writes the plan file it is asked for and prints a plan as JSON. */
function fakeTerraform(dir: string, name = "terraform"): { binary: string; log: string } {
  const binary = join(dir, name);
  const log = join(dir, "calls.log");
  writeFileSync(
    binary,
    `#!/usr/bin/env node
const fs = require("fs");
const args = process.argv.slice(2);
fs.appendFileSync(${JSON.stringify(log)}, args.join(" ") + "\\n");
if (process.env.FAIL_ON === args[1]) {
  if (process.env.FAIL_WITH) console.error(process.env.FAIL_WITH);
  process.exit(1);
}
if (args[1] === "init") {
  const dir = args[0].slice("-chdir=".length);
  fs.mkdirSync(dir + "/.terraform/providers", { recursive: true });
  fs.writeFileSync(dir + "/.terraform.lock.hcl", "# provider locks\\n");
}
const out = args.find((a) => a.startsWith("-out="));
if (out) fs.writeFileSync(out.slice(5), "binary plan");
if (args[1] === "show") console.log(JSON.stringify({ format_version: "1.2", resource_changes: [] }));
if (args[1] === "state") process.stdout.write(process.env.STATE_LIST ?? "");
`,
  );
  chmodSync(binary, 0o755);
  return { binary, log };
}

const S3_BACKEND = { s3: { bucket: "state", key: "p/dev.tfstate", use_lockfile: true } };

/** Synthesized stacks: dev in the bucket, dev-state in a local file, or in the bucket too with `stateInBucket`. */
function workspace(binaryName?: string, stateInBucket = false) {
  const dir = tempDir("terraform-ci-");
  const stacks = join(dir, "stacks");
  for (const stack of ["dev", "dev-state"]) {
    mkdirSync(join(stacks, stack), { recursive: true });
    const backend = stack === "dev-state" && !stateInBucket ? { local: { path: "../../../terraform.dev-state.tfstate" } } : S3_BACKEND;
    writeFileSync(join(stacks, stack, "cdk.tf.json"), JSON.stringify({ terraform: { backend }, resource: {} }));
    mkdirSync(join(stacks, stack, "assets", "api"), { recursive: true });
    writeFileSync(join(stacks, stack, "assets", "api", "archive.zip"), "zip");
  }
  const terraform = fakeTerraform(dir, binaryName);
  process.env.TERRAFORM_BINARY_NAME = terraform.binary;
  const calls = () => readFileSync(terraform.log, "utf8").trim().split("\n");
  return { dir, stacks, out: join(dir, "plans"), calls, binary: terraform.binary };
}

describe("CI terraform steps", () => {
  beforeEach(() => jest.spyOn(console, "log").mockImplementation(() => undefined));
  afterEach(() => {
    delete process.env.TERRAFORM_BINARY_NAME;
    delete process.env.FAIL_ON;
    delete process.env.FAIL_WITH;
    delete process.env.STATE_LIST;
    jest.restoreAllMocks();
  });

  it("validate each stack without a backend, so no credentials are needed", () => {
    const { stacks, calls } = workspace();
    validate(stacks, ["dev", "dev-state"]);
    expect(calls()).toEqual([
      `-chdir=${join(stacks, "dev")} init -backend=false -no-color`,
      `-chdir=${join(stacks, "dev")} validate -no-color`,
      `-chdir=${join(stacks, "dev-state")} init -backend=false -no-color`,
      `-chdir=${join(stacks, "dev-state")} validate -no-color`,
    ]);
  });

  it("plan a service stack with its lock waited for, keeping the plan file, its JSON and the stack it was made from", () => {
    const { stacks, out, calls } = workspace();
    plan(stacks, "dev", out, { PLAN_ROLE_ARN: "arn:aws:iam::111111111111:role/github-actions/plan" });
    expect(calls().map((call) => call.split(" ")[1])).toEqual(["init", "plan", "show"]);
    expect(calls()[1]).toContain("-lock-timeout=5m");
    expect(JSON.parse(readFileSync(join(out, "dev.json"), "utf8")).format_version).toBe("1.2");
    expect(readdirSync(out).sort()).toEqual(["dev.json", "dev.tfplan", "stacks"]);
    // What applying the saved plan elsewhere needs: the configuration, its assets, the provider locks; not the providers.
    expect(readdirSync(join(out, "stacks", "dev")).sort()).toEqual([".terraform.lock.hcl", "assets", "cdk.tf.json"]);
    expect(readFileSync(join(out, "stacks", "dev", "assets", "api", "archive.zip"), "utf8")).toBe("zip");
  });

  it("write why a stack gets no plan instead of planning it", () => {
    const { dir, stacks, out } = workspace();
    for (const stack of ["dev", "dev-state"]) plan(stacks, stack, out, { PLAN_ROLE_VARIABLE: "DEV_PLAN_ROLE_ARN" });
    expect(readFileSync(join(out, "dev.skipped"), "utf8")).toContain("the repository variable DEV_PLAN_ROLE_ARN is not set");
    expect(readFileSync(join(out, "dev-state.skipped"), "utf8")).toBe(`${localStateReason("dev-state")}\n`);
    expect(existsSync(join(dir, "calls.log"))).toBe(false);
  });

  it("skip a state stack whose state is a local file, naming the switch and the migration that would have it planned", () => {
    const { stacks } = workspace();
    const reason = skipReason(join(stacks, "dev-state"), { PLAN_ROLE_ARN: "arn" });
    expect(reason).toBe(
      "its state is a local file on the deployer's machine (terraform.dev-state.tfstate), so CI validates it only; " +
        "to have it planned, turn on state.selfHosted for dev and move the file into the bucket once with npm run state:migrate -- dev (docs/operations.md)",
    );
  });

  it("plan a state stack whose state is in the bucket like the service stack, after checking the bucket holds its state", () => {
    const { stacks, out, calls } = workspace(undefined, true);
    process.env.STATE_LIST = "aws_kms_key.key\naws_s3_bucket.bucket\n";
    plan(stacks, "dev-state", out, { PLAN_ROLE_ARN: "arn:aws:iam::111111111111:role/github-actions/plan" });
    expect(calls().map((call) => call.split(" ").slice(1, 3).join(" "))).toEqual([
      "init -no-color",
      "state list",
      "plan -no-color",
      "show -json",
    ]);
    expect(readdirSync(out).sort()).toEqual(["dev-state.json", "dev-state.tfplan", "stacks"]);
  });

  it("refuse to plan a state stack whose state is not in the bucket yet: the plan would create everything it holds again", () => {
    const { stacks, out, calls } = workspace(undefined, true);
    expect(() => plan(stacks, "dev-state", out, { PLAN_ROLE_ARN: "arn" })).toThrow(
      "dev-state has no state in the bucket yet, though state.selfHosted is on: move its local state there once with npm run state:migrate -- dev",
    );
    expect(calls().map((call) => call.split(" ")[1])).toEqual(["init", "state"]);
    expect(readFileSync(join(out, "dev-state.skipped"), "utf8")).toContain("npm run state:migrate -- dev");
  });

  it("give forks no plan, whatever variables exist", () => {
    const { stacks } = workspace(undefined, true);
    for (const stack of ["dev", "dev-state"]) {
      expect(skipReason(join(stacks, stack), { FORK: "true", PLAN_ROLE_ARN: "arn" })).toBe(FORK_REASON);
      expect(skipReason(join(stacks, stack), { FORK: "false", PLAN_ROLE_ARN: "arn" })).toBeUndefined();
    }
  });

  it("run the binary TERRAFORM_BINARY_NAME names, as cdktf does, and name it when it fails", () => {
    const { stacks, out, calls } = workspace("tofu");
    const printed = jest.mocked(console.log);
    validate(stacks, ["dev"]);
    expect(calls()).toEqual([
      `-chdir=${join(stacks, "dev")} init -backend=false -no-color`,
      `-chdir=${join(stacks, "dev")} validate -no-color`,
    ]);
    expect(printed.mock.calls[0]).toEqual([`$ tofu -chdir=${join(stacks, "dev")} init -backend=false -no-color`]);
    process.env.FAIL_ON = "plan";
    expect(() => plan(stacks, "dev", out, { PLAN_ROLE_ARN: "arn" })).toThrow(`tofu plan failed in ${join(stacks, "dev")} (exit 1)`);
  });

  it("fail on a failed plan, leaving the reason for the comment", () => {
    const { stacks, out } = workspace();
    process.env.FAIL_ON = "plan";
    expect(() => plan(stacks, "dev", out, { PLAN_ROLE_ARN: "arn" })).toThrow(`terraform plan failed in ${join(stacks, "dev")} (exit 1)`);
    expect(readFileSync(join(out, "dev.skipped"), "utf8")).toContain("terraform plan failed");
  });

  it("apply exactly the saved plan, in the stack saved beside it, never planning again, and never a state stack", () => {
    const { stacks, out, calls } = workspace();
    plan(stacks, "dev", out, { PLAN_ROLE_ARN: "arn" });
    const planned = calls().length;
    apply(out, "dev");
    expect(calls().slice(planned)).toEqual([
      `-chdir=${join(out, "stacks", "dev")} init -no-color`,
      `-chdir=${join(out, "stacks", "dev")} apply -no-color -lock-timeout=10m ${resolve(out, "dev.tfplan")}`,
    ]);
    expect(() => apply(out, "dev-state")).toThrow("dev-state is deployed by hand only");
    expect(() => apply(join(out, "missing"), "dev")).toThrow(`dev: no saved plan at ${resolve(out, "missing", "dev.tfplan")}`);
  });

  it("stop on a plan the state moved past, saying to re-run", () => {
    const { stacks, out } = workspace();
    plan(stacks, "dev", out, { PLAN_ROLE_ARN: "arn" });
    process.env.FAIL_ON = "apply";
    process.env.FAIL_WITH =
      "Error: Saved plan is stale\n\nThe given plan file can no longer be applied because the state was changed by another operation after the plan was created.";
    jest.spyOn(process.stderr, "write").mockImplementation(() => true);
    expect(() => apply(out, "dev")).toThrow(
      "dev: the approved plan is stale: the state changed after it was made (another apply ran in between), so nothing was applied. " +
        "Re-run this workflow (Re-run all jobs) to plan again, and approve the new plan.",
    );
    process.env.FAIL_WITH = "Error: something else";
    expect(() => apply(out, "dev")).toThrow(`terraform apply failed in ${join(out, "stacks", "dev")} (exit 1)`);
  });

  it("run as npm run ci:terraform, taking the stacks and output directories from its options", () => {
    const { stacks, out, binary } = workspace();
    const run = spawnSync("npm", ["run", "-s", "ci:terraform", "--", "--stacks-dir", stacks, "plan", "dev", "dev-state", "--out", out], {
      cwd: projectRoot,
      encoding: "utf8",
      env: { ...process.env, TERRAFORM_BINARY_NAME: binary, PLAN_ROLE_ARN: "arn", FORK: "false" },
    });
    expect(run.status).toBe(0);
    expect(readdirSync(out).sort()).toEqual(["dev-state.skipped", "dev.json", "dev.tfplan", "stacks"]);
  });
});
