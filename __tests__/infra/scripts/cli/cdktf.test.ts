import { type SpawnSyncReturns, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import { CONFIG_OVERRIDE_VARIABLE, ENVIRONMENTS } from "../../../../src/config/environments";
import { cliEntry } from "../../../../scripts/cli/cli-entry";
import { meetsConstraint, terraformProblem } from "../../../../scripts/cli/terraform-version";
import { projectRoot } from "../../synth";
import { tempDir } from "../../temp";

const scripts: Record<string, string> = JSON.parse(readFileSync(join(projectRoot, "package.json"), "utf8")).scripts;
const appCommand: string = JSON.parse(readFileSync(join(projectRoot, "cdktf.json"), "utf8")).app;
const TERRAFORM_INSTALL = "https://developer.hashicorp.com/terraform/install";
const TOFU_INSTALL = "https://opentofu.org/docs/intro/install/";
const INSTALL = `install it from ${TERRAFORM_INSTALL}`;
/** The CLI's command name as its help prints it: cdktf, or cdktn after the move to CDK Terrain. */
const CLI = cliEntry();

/** This machine's PATH less every directory that holds a terraform or an OpenTofu, with `first` and this Node in front. */
function pathWithoutTerraform(...first: string[]): string {
  const node = tempDir("node-");
  symlinkSync(process.execPath, join(node, "node"));
  const rest = (process.env.PATH ?? "")
    .split(delimiter)
    .filter((dir) => dir !== "" && !["terraform", "tofu"].some((name) => existsSync(join(dir, name))));
  return [...first, node, ...rest].join(delimiter);
}

/** A directory with a `name` that prints `output` and exits with `status`, whatever it is asked. */
function fakeTerraform(output: string, status = 0, name = "terraform"): string {
  const dir = tempDir("fake-terraform-");
  writeFileSync(join(dir, name), `#!/bin/sh\nprintf '%s\\n' '${output}'\nexit ${status}\n`);
  chmodSync(join(dir, name), 0o755);
  return dir;
}

const versionJson = (version: string) => JSON.stringify({ terraform_version: version, platform: "linux_amd64" });

/** An npm script's command run as npm runs it (through the shell, in the project), without npm itself. */
const runScript = (name: string, args: string[], env: NodeJS.ProcessEnv): SpawnSyncReturns<string> =>
  spawnSync(`${scripts[name]} ${args.join(" ")}`, { cwd: projectRoot, env, shell: true, encoding: "utf8" });

describe("npm run synth", () => {
  it("writes every stack without the cdktf CLI on a machine without terraform, and removes stacks the app no longer makes", () => {
    const outdir = join(tempDir("synth-"), "cdktf.out");
    mkdirSync(join(outdir, "stacks", "removed-stack"), { recursive: true });
    const run = runScript("synth", ["--output", outdir], { ...process.env, PATH: pathWithoutTerraform() });
    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: "" });
    const stacks = Object.keys(ENVIRONMENTS).flatMap((environment) => [environment, `${environment}-state`]);
    expect(run.stdout).toBe(`Generated Terraform code for the stacks: ${stacks.join(", ")}\n`);
    expect(readdirSync(join(outdir, "stacks")).sort()).toEqual([...stacks].sort());
    const prod = JSON.parse(readFileSync(join(outdir, "stacks", "prod", "cdk.tf.json"), "utf8"));
    const [createdAt] = Object.values(prod.resource.terraform_data) as Record<string, unknown>[];
    expect(createdAt).toMatchObject({ input: { at: "${timestamp()}" }, lifecycle: { ignore_changes: ["input"] } });
  });

  it("writes what `cdktf synth` writes, byte for byte: every stack and manifest.json", () => {
    const [cli, app] = [tempDir("cli-"), tempDir("app-")];
    const env = { ...process.env, CHECKPOINT_DISABLE: "1", DISABLE_VERSION_CHECK: "true" };
    const cliRun = spawnSync(process.execPath, [CLI.path, "synth", "--output", cli], {
      cwd: projectRoot,
      env,
      encoding: "utf8",
    });
    expect(cliRun.status).toBe(0);
    expect(runScript("synth", ["--output", app], env).status).toBe(0);
    const files = (dir: string) =>
      readdirSync(dir, { recursive: true, encoding: "utf8" })
        .filter((path) => statSync(join(dir, path)).isFile())
        .sort();
    expect(files(app)).toEqual(files(cli));
    expect(files(app)).toContain("manifest.json");
    for (const path of files(cli))
      expect({ path, content: readFileSync(join(app, path), "utf8") }).toEqual({ path, content: readFileSync(join(cli, path), "utf8") });
  });

  it("refuses options it does not have, pointing to the cdktf CLI, before synthesizing anything", () => {
    const run = runScript("synth", ["--hcl"], process.env);
    expect(run.status).toBe(1);
    expect(run.stderr).toBe(
      "npm run synth takes --output DIR only, not --hcl; the cdktf CLI has the other options: npx cdktf synth --hcl\n",
    );
  });

  it("reports bad configuration once, naming only the environment that has it, and writes nothing", () => {
    const outdir = join(tempDir("bad-config-"), "cdktf.out");
    const run = runScript("synth", ["--output", outdir], {
      ...process.env,
      [CONFIG_OVERRIDE_VARIABLE]: '{"prod":{"accountId":"333333333333"}}',
    });
    expect(run.status).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toBe(
      [
        "Invalid configuration (environment prod):",
        '  - prod.deployRoleArn: must be a role in accountId 333333333333; it is "arn:aws:iam::222222222222:role/lambda-rds-iam-deploy" in src/config/environments.ts: override prod.deployRoleArn in LAMBDA_RDS_IAM_CONFIG too',
        "Fix these fields and synthesize again; nothing was written.",
        "",
      ].join("\n"),
    );
    expect(existsSync(outdir)).toBe(false);
  });
});

describe("the app as cdktf.json runs it", () => {
  it("exits non-zero on bad configuration with every problem, and writes no output at all", () => {
    const outdir = join(tempDir("bad-config-"), "cdktf.out");
    const run = spawnSync(appCommand, {
      cwd: projectRoot,
      env: {
        ...process.env,
        CDKTF_OUTDIR: outdir,
        [CONFIG_OVERRIDE_VARIABLE]:
          '{"dev":{"network":{"azCount":1,"natGateways":"double"}},"prod":{"database":{"instanceClass":"db.t4g.small"}}}',
      },
      shell: true,
      encoding: "utf8",
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain("Invalid configuration (environments dev, prod):");
    expect(run.stderr).toContain("dev.network.azCount: must be between 2 and 6");
    expect(run.stderr).toContain('dev.network.natGateways: must be "single" or "per-az"');
    expect(run.stderr).toContain("prod.database.performanceInsights: db.t4g.small does not offer Performance Insights");
    expect(run.stderr).toContain("nothing was written");
    expect(existsSync(outdir)).toBe(false);
  });
});

describe("npm run diff, deploy and destroy", () => {
  it.each(["diff", "deploy", "destroy"])("%s stops with one line when there is no terraform", (command) => {
    const run = runScript(command, ["dev"], { ...process.env, PATH: pathWithoutTerraform() });
    expect(run.status).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toBe(
      `cdktf ${command} needs Terraform >= 1.10, and there is no terraform on PATH: ${INSTALL}, or OpenTofu and set TERRAFORM_BINARY_NAME=tofu, then run again (synth needs none).\n`,
    );
  });

  it("stops with one line when terraform is older than the stacks require", () => {
    const run = runScript("deploy", ["dev"], { ...process.env, PATH: pathWithoutTerraform(fakeTerraform(versionJson("1.9.8"))) });
    expect(run.status).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toBe(
      `cdktf deploy needs Terraform >= 1.10, and the terraform on PATH is 1.9.8: install a newer one from ${TERRAFORM_INSTALL}, then run again.\n`,
    );
  });

  it.each(["diff", "deploy", "destroy"])("%s looks for OpenTofu when TERRAFORM_BINARY_NAME says tofu, and names it", (command) => {
    const run = runScript(command, ["dev"], {
      ...process.env,
      PATH: pathWithoutTerraform(fakeTerraform(versionJson("1.12.2"))),
      TERRAFORM_BINARY_NAME: "tofu",
    });
    expect(run.status).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toBe(
      `cdktf ${command} needs OpenTofu >= 1.10, and there is no tofu on PATH (TERRAFORM_BINARY_NAME=tofu): install it from ${TOFU_INSTALL}, then run again (synth needs none).\n`,
    );
  });

  it("stops with one line when OpenTofu predates S3-native locking", () => {
    const tofu = fakeTerraform(versionJson("1.9.1"), 0, "tofu");
    const run = runScript("deploy", ["dev"], { ...process.env, PATH: pathWithoutTerraform(tofu), TERRAFORM_BINARY_NAME: "tofu" });
    expect(run.status).toBe(1);
    expect(run.stderr).toBe(
      `cdktf deploy needs OpenTofu >= 1.10, and the tofu on PATH is 1.9.1: install a newer one from ${TOFU_INSTALL}, then run again.\n`,
    );
  });

  it.each([
    ["terraform", {}],
    ["tofu", { TERRAFORM_BINARY_NAME: "tofu" }],
  ])("hands over to the cdktf CLI when %s is recent enough", (name, variables) => {
    const run = runScript("deploy", ["dev", "--help"], {
      ...process.env,
      ...variables,
      PATH: pathWithoutTerraform(fakeTerraform(versionJson("1.10.0"), 0, name)),
    });
    expect(run.status).toBe(0);
    expect(run.stdout).toContain(`${CLI.name} deploy [stacks...]`);
  });
});

describe("terraformProblem", () => {
  it("asks the binary cdktf runs, TERRAFORM_BINARY_NAME when set, against what OpenTofu needs", () => {
    const env = { PATH: fakeTerraform(versionJson("1.9.0"), 0, "tofu"), TERRAFORM_BINARY_NAME: "tofu" };
    expect(terraformProblem("diff", env)).toBe(
      `cdktf diff needs OpenTofu >= 1.10, and the tofu on PATH is 1.9.0: install a newer one from ${TOFU_INSTALL}, then run again.`,
    );
  });

  it("names a binary given by its path as that path", () => {
    const tofu = join(fakeTerraform(versionJson("1.8.5"), 0, "tofu"), "tofu");
    expect(terraformProblem("deploy", { PATH: "", TERRAFORM_BINARY_NAME: tofu })).toBe(
      `cdktf deploy needs OpenTofu >= 1.10, and the ${tofu} is 1.8.5: install a newer one from ${TOFU_INSTALL}, then run again.`,
    );
    expect(terraformProblem("deploy", { PATH: "", TERRAFORM_BINARY_NAME: "/nowhere/tofu" })).toBe(
      `cdktf deploy needs OpenTofu >= 1.10, and there is no /nowhere/tofu (TERRAFORM_BINARY_NAME=/nowhere/tofu): install it from ${TOFU_INSTALL}, then run again (synth needs none).`,
    );
  });

  it("says so when terraform does not tell its version", () => {
    expect(terraformProblem("deploy", { PATH: fakeTerraform("Error: unknown flag", 1) })).toBe(
      `cdktf deploy needs Terraform >= 1.10, and "terraform version -json" did not tell its version (exit status 1): install Terraform from ${TERRAFORM_INSTALL}, then run again.`,
    );
  });

  it.each([
    ["terraform", "1.10.0"],
    ["tofu", "1.10.0"],
    ["tofu", "1.11.2"],
  ])("has nothing to say about %s %s", (name, version) => {
    const env = { PATH: fakeTerraform(versionJson(version), 0, name), TERRAFORM_BINARY_NAME: name };
    expect(terraformProblem("deploy", env)).toBeUndefined();
  });
});

describe("meetsConstraint", () => {
  it.each([
    ["1.10.0", ">= 1.10", true],
    ["1.11.4", ">= 1.10", true],
    ["1.9.8", ">= 1.10", false],
    ["1.10.0-beta1", ">= 1.10", true],
    ["v1.10.2", "= 1.10.2", true],
    ["1.10.2", "1.10.2", true],
    ["1.10.2", "!= 1.10.2", false],
    ["1.10.2", "> 1.10.2", false],
    ["1.10.2", "< 1.11", true],
    ["1.10.2", "<= 1.10.1", false],
    ["1.99.0", "~> 1.10", true],
    ["2.0.0", "~> 1.10", false],
    ["1.10.9", "~> 1.10.3", true],
    ["1.11.0", "~> 1.10.3", false],
    ["1.12.1", ">= 1.10, < 1.12", false],
  ])("%s against %s: %s", (version, constraint, expected) => {
    expect(meetsConstraint(version, constraint)).toBe(expected);
  });

  it("refuses what it cannot read rather than guess", () => {
    expect(() => meetsConstraint("1.10.0", ">= one")).toThrow('">= one" is not a Terraform version constraint');
    expect(() => meetsConstraint("dev", ">= 1.10")).toThrow('"dev" is not a Terraform version');
  });
});
