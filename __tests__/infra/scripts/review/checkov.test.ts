import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { judge, parseExceptions, resourcesOf, scannableCopy, unusedExceptions } from "../../../../scripts/review/checkov";
import { ENVIRONMENTS } from "../../../../src/config/environments";
import { projectRoot } from "../../synth";
import { tempDir } from "../../temp";

const STACKS = Object.keys(ENVIRONMENTS).flatMap((environment) => [environment, `${environment}-state`]);

/** Synthesized stacks as cdktf writes them, with the required_version checkov #7454 trips over. */
function stacksDir(): string {
  const dir = tempDir("checkov-stacks-");
  const write = (stack: string, resource: object) => {
    mkdirSync(join(dir, stack));
    writeFileSync(
      join(dir, stack, "cdk.tf.json"),
      JSON.stringify({ terraform: { required_version: ">= 1.10", backend: { local: {} } }, resource }),
    );
  };
  write("dev", { aws_vpc: { network_vpc_1: { cidr_block: "10.0.0.0/16" } }, aws_lambda_function: { api_function_2: {} } });
  write("dev-state", { aws_s3_bucket: { bucket_3: {} } });
  return dir;
}

const record = (check_id: string, resource: string) => ({ check_id, check_name: `name of ${check_id}`, resource });
const report = (passed: object[], failed: object[], parsing_errors: string[] = []) => ({
  check_type: "terraform_json",
  results: { passed_checks: passed, failed_checks: failed, parsing_errors },
});

describe("checkov step", () => {
  it("scans a copy without terraform.required_version and with everything else unchanged", () => {
    const dir = stacksDir();
    const copy = join(tempDir("copy-"), "dev");
    scannableCopy(join(dir, "dev"), copy);
    const original = JSON.parse(readFileSync(join(dir, "dev", "cdk.tf.json"), "utf8"));
    delete original.terraform.required_version;
    expect(JSON.parse(readFileSync(join(copy, "cdk.tf.json"), "utf8"))).toEqual(original);
  });

  it("fails a failed check unless the exceptions excuse it for that very stack", () => {
    const resources = new Set(["aws_lambda_function.api_function_2", "aws_vpc.network_vpc_1"]);
    const exceptions = { CKV_AWS_116: { dev: "no asynchronous invocations" }, CKV_AWS_272: { prod: "only excused in prod" } };
    const verdict = judge(
      "dev",
      report(
        [record("CKV_AWS_117", "aws_lambda_function.api_function_2")],
        [record("CKV_AWS_116", "aws_lambda_function.api_function_2"), record("CKV_AWS_272", "aws_lambda_function.api_function_2")],
      ),
      resources,
      exceptions,
    );
    expect(verdict.excused).toEqual([
      { check: record("CKV_AWS_116", "aws_lambda_function.api_function_2"), reason: "no asynchronous invocations" },
    ]);
    expect(verdict.failures).toEqual([record("CKV_AWS_272", "aws_lambda_function.api_function_2")]);
    expect(verdict.problems).toEqual([]);
    expect(unusedExceptions(exceptions, [verdict])).toEqual(["CKV_AWS_272.prod"]);
  });

  it("refuses a scan that parsed none of the stack's resources, or could not parse a file", () => {
    const resources = new Set(["aws_vpc.network_vpc_1"]);
    expect(judge("dev", { passed: 0, failed: 0, skipped: 0, parsing_errors: 0, resource_count: 0 }, resources, {}).problems).toEqual([
      "checkov reported on none of the stack's 1 resources: it did not really parse dev",
    ]);
    expect(
      judge("dev", report([record("CKV_X_1", "resource.aws_vpc.network_vpc_1")], [], ["/cdk.tf.json"]), resources, {}).problems,
    ).toEqual(["checkov could not parse /cdk.tf.json"]);
  });

  it("validates the exceptions file: check ids, stacks that exist, a reason for each", () => {
    expect(() => parseExceptions(JSON.stringify({ CKV_AWS_1: { dev: "short" } }), STACKS)).toThrow(
      "Invalid checkov exceptions:\n  - CKV_AWS_1.dev: must give the reason this failure is accepted (10 characters or more)",
    );
    expect(() =>
      parseExceptions(JSON.stringify({ "CKV-1": { dev: "a good enough reason" }, CKV_AWS_1: { qa: "a good enough reason" } }), STACKS),
    ).toThrow(
      "Invalid checkov exceptions:\n  - CKV-1: must be a checkov check id like CKV_AWS_117\n  - CKV_AWS_1.qa: no such stack; use one of dev, dev-state, prod, prod-state",
    );
  });

  it("has a valid checked-in exceptions file, keyed by the stacks the app synthesizes", () => {
    const exceptions = parseExceptions(readFileSync(join(projectRoot, ".github", "checkov-exceptions.json"), "utf8"), STACKS);
    expect(Object.keys(exceptions).length).toBeGreaterThan(0);
  });

  it("reads the managed resources of a synthesized stack", () => {
    expect([...resourcesOf(join(stacksDir(), "dev"))].sort()).toEqual(["aws_lambda_function.api_function_2", "aws_vpc.network_vpc_1"]);
  });

  describe("npm run checkov", () => {
    const fakeDir = tempDir("fake-checkov-");
    const fake = join(fakeDir, "checkov");
    // Answers like checkov 3's JSON output; crashes into an empty report on required_version like #7454.
    writeFileSync(
      fake,
      `#!/usr/bin/env node
const fs = require("fs"), path = require("path");
const dir = process.argv[process.argv.indexOf("--directory") + 1];
const tf = JSON.parse(fs.readFileSync(path.join(dir, "cdk.tf.json"), "utf8"));
if (tf.terraform && tf.terraform.required_version) { console.log(JSON.stringify({ passed: 0, failed: 0, resource_count: 0 })); process.exit(0); }
const results = JSON.parse(process.env.FAKE_RESULTS)[path.basename(dir)];
console.log(JSON.stringify({ check_type: "terraform_json", results: { passed_checks: results.passed, failed_checks: results.failed, parsing_errors: [] } }));
`,
    );
    chmodSync(fake, 0o755);
    const run = (results: object, exceptions: object) => {
      const stacks = stacksDir();
      const exceptionsFile = join(tempDir("exceptions-"), "exceptions.json");
      writeFileSync(exceptionsFile, JSON.stringify(exceptions));
      return spawnSync("npm", ["run", "-s", "checkov", "--", "--stacks-dir", stacks, "--exceptions", exceptionsFile, "--checkov", fake], {
        cwd: projectRoot,
        encoding: "utf8",
        env: { ...process.env, FAKE_RESULTS: JSON.stringify(results) },
      });
    };
    const clean = {
      dev: {
        passed: [record("CKV_AWS_117", "aws_lambda_function.api_function_2")],
        failed: [record("CKV_AWS_116", "aws_lambda_function.api_function_2")],
      },
      "dev-state": { passed: [record("CKV_AWS_21", "aws_s3_bucket.bucket_3")], failed: [] },
    };

    it("passes when every failure is excused, and names what it excused and what excuses nothing", () => {
      const result = run(clean, {
        CKV_AWS_116: { dev: "no asynchronous invocations" },
        CKV_AWS_18: { "dev-state": "no access logs for state" },
      });
      expect(result.status).toBe(0);
      expect(result.stdout).toContain("dev: 1 passed, 0 failed, 1 excused");
      expect(result.stdout).toContain("excused CKV_AWS_116 aws_lambda_function.api_function_2: no asynchronous invocations");
      expect(result.stdout).toContain("::warning::");
      expect(result.stdout).toContain("CKV_AWS_18.dev-state excuses no failure any more; remove it");
    });

    it("fails on a failure without an exception, saying how to excuse it", () => {
      const result = run(clean, {});
      expect(result.status).toBe(1);
      expect(result.stdout).toContain(
        '::error::dev: CKV_AWS_116 name of CKV_AWS_116 on aws_lambda_function.api_function_2; fix it, or add "CKV_AWS_116": { "dev": "<why>" }',
      );
    });
  });
});
