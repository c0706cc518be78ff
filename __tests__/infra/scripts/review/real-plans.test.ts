/**
 * The plan comment, the review, the diagram and the ForceNew table on plans the real AWS provider made
 * (npm run plans:record: first deploys of every stack and changes against a deployed one), read with the
 * synthesized JSON of this checkout. No terraform needed: the fixtures are checked in.
 */
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { diagramOf } from "../../../../scripts/diagram/diagram-graph";
import { REPLACED_WHEN_CHANGED } from "../../../../scripts/review/replaced-when-changed";
import { GITHUB_COMMENT_LIMIT, renderPlans } from "../../../../scripts/review/plan-render";
import { PLAN_CHANGES, type PlanChange, changed } from "../../../../scripts/review/plans/plan-changes";
import { type RealPlan, addressesOf } from "../../../../scripts/review/plans/real-plan";
import { shortHashOf } from "../../../../scripts/review/plans/record-plans";
import { reviewExitStatus, reviewInfrastructure } from "../../../../scripts/review/review-diff";
import { marked } from "../../../../scripts/stacks/attribute-diff";
import { classifyPlan, flagsOf } from "../../../../scripts/stacks/plan-classification";
import { planSides } from "../../../../scripts/stacks/plan-sides";
import { readSynthesizedStacks, synthesizeApp } from "../../../../scripts/stacks/synth-app";
import { SynthesizedStack, type TerraformJson, constructPathsOf } from "../../../../scripts/stacks/synthesized-stack";
import { type Json, type StackPlan, changesOf, kindOf } from "../../../../scripts/stacks/terraform-plan";
import { projectRoot } from "../../synth";
import { tempDir } from "../../temp";

const FIXTURES = join(projectRoot, "__tests__/infra/fixtures/real-plans");

interface Fixture {
  name: string;
  plan: RealPlan;
  change?: PlanChange;
  synthesized: TerraformJson;
  stackPlan: StackPlan;
}

let stacks: Record<string, TerraformJson>;
let fixtures: Fixture[];
const fixture = (name: string) => fixtures.find((candidate) => candidate.name === name)!;

beforeAll(async () => {
  // The checked-in configuration, as plans:record synthesizes it.
  const out = tempDir("synth-");
  const { LAMBDA_RDS_IAM_CONFIG: _, ...env } = process.env;
  await synthesizeApp(projectRoot, out, env);
  stacks = readSynthesizedStacks(join(out, "stacks"));
  fixtures = readdirSync(FIXTURES)
    .filter((file) => file.endsWith(".json"))
    .map((file) => {
      const plan = JSON.parse(readFileSync(join(FIXTURES, file), "utf8")) as RealPlan;
      const change = PLAN_CHANGES.find((candidate) => candidate.name === plan.recorded.change && candidate.stack === plan.recorded.stack);
      const base = stacks[plan.recorded.stack];
      const synthesized = change ? changed(base, change) : base;
      const stackPlan = { stack: plan.recorded.stack, plan, constructPaths: constructPathsOf(synthesized), synthesized };
      return { name: file.replace(/\.json$/, ""), plan, change, synthesized, stackPlan };
    });
}, 120_000);

/** The verdict section of a rendered comment: what a reviewer reads first. */
const verdictOf = (markdown: string) =>
  markdown.slice(markdown.indexOf("### Verdict"), markdown.indexOf("\n### ", markdown.indexOf("### Verdict") + 1));

describe("the real-plan fixtures", () => {
  it("cover a first deploy of every synthesized stack and every change of plan-changes.ts", () => {
    const names = fixtures.map((candidate) => candidate.name).sort();
    expect(names).toEqual([...Object.keys(stacks), ...PLAN_CHANGES.map((change) => `${change.stack}.${change.name}`)].sort());
  });

  it("each record the provider version, the stack, and were made from this checkout's synthesized stack (else: npm run plans:record)", () => {
    for (const { name, plan, synthesized } of fixtures) {
      expect([name, plan.recorded.provider]).toEqual([
        name,
        expect.stringMatching(/^registry\.terraform\.io\/hashicorp\/aws \d+\.\d+\.\d+$/),
      ]);
      expect([name, plan.format_version]).toEqual([name, expect.stringMatching(/^1\./)]);
      expect([name, plan.recorded.synthesizedAddresses]).toEqual([name, shortHashOf(addressesOf(synthesized))]);
    }
  });

  it("plan every resource of a first deploy as a create, and a change against a deployed stack", () => {
    for (const { name, plan, change, synthesized } of fixtures) {
      const managed = (plan.resource_changes ?? []).filter((resource) => resource.mode === "managed");
      expect([name, managed.map((resource) => resource.address).sort()]).toEqual([name, addressesOf(synthesized)]);
      if (!change) expect([name, managed.filter((resource) => kindOf(resource.change.actions) !== "create")]).toEqual([name, []]);
      else expect([name, changesOf(plan).length > 0]).toEqual([name, true]);
    }
  });
});

describe("the plan model on every resource of every real plan", () => {
  it("reads every change: nothing skipped, nothing thrown", () => {
    for (const { name, stackPlan } of fixtures) expect([name, classifyPlan(stackPlan).skipped]).toEqual([name, []]);
  });

  it("flags every change of an IAM resource (aws_iam_*), a resource policy or a permission as IAM, and counts each in the comment", () => {
    const grantsAccess = (type: string) => type.startsWith("aws_iam_") || type.endsWith("_policy") || type === "aws_lambda_permission";
    for (const { name, stackPlan } of fixtures) {
      const flagged = flagsOf(stackPlan)
        .filter(({ flag }) => flag === "IAM policy, role, trust or permission")
        .map(({ address }) => address);
      const iam = changesOf(stackPlan.plan).filter(({ resource }) => grantsAccess(resource.type));
      for (const { resource } of iam)
        expect([name, resource.address, flagged.includes(resource.address)]).toEqual([name, resource.address, true]);
      if (iam.length === 0) continue;
      const { markdown } = renderPlans([stackPlan], [], { limit: Number.MAX_SAFE_INTEGER });
      expect([name, markdown]).toEqual([name, expect.stringContaining(`| IAM policy, role, trust or permission | ${flagged.length} |`)]);
    }
  });

  it("shows every value the plan knows only after apply as such, and never a sensitive value", () => {
    const leaves = (value: Json | undefined, path: (string | number)[] = []): [(string | number)[], Json][] =>
      Array.isArray(value)
        ? value.flatMap((item, index) => leaves(item, [...path, index]))
        : value !== null && typeof value === "object"
          ? Object.entries(value).flatMap(([key, item]) => leaves(item, [...path, key]))
          : [[path, value ?? null]];
    for (const { name, stackPlan } of fixtures) {
      const { markdown } = renderPlans([stackPlan], [], { limit: Number.MAX_SAFE_INTEGER });
      for (const resource of stackPlan.plan.resource_changes ?? []) {
        const secrets = leaves(resource.change.after ?? null).filter(
          ([path, value]) => typeof value === "string" && value.length >= 8 && marked(resource.change.after_sensitive, path),
        );
        for (const [path, value] of secrets)
          expect([name, resource.address, path, markdown.includes(String(value))]).toEqual([name, resource.address, path, false]);
      }
      const sides = planSides(stackPlan, stackPlan.synthesized);
      // Inline rules of a new group are unknown until apply: a rule of "(known after apply)", never a crash.
      for (const rule of sides.after.securityGroupRules()) expect(typeof rule.peer).toBe("string");
    }
  });

  it("renders what it can of a plan it cannot fully read, says what it skipped, and sets the label", () => {
    const { stackPlan } = fixture("dev");
    const [first, ...rest] = stackPlan.plan.resource_changes!.filter((resource) => kindOf(resource.change.actions));
    const unreadable = { ...first, change: { ...first.change, replace_paths: "storage_encrypted" as unknown as string[][] } };
    const synthesized = structuredClone(stackPlan.synthesized!);
    for (const document of Object.values(synthesized.data!.aws_iam_policy_document)) document.source_policy_documents = ["{}"];
    const plan = { ...stackPlan.plan, resource_changes: [unreadable, ...rest] };
    const { markdown, verdict } = renderPlans([{ ...stackPlan, plan, synthesized }], []);
    expect(verdict).toMatchObject({ broadens: true, skipped: 2 });
    const verdictText = verdictOf(markdown);
    expect(verdictText).toContain(`not read, so not reviewed here: <code>${first.address}: `);
    expect(verdictText).toContain("not read, so not reviewed here: <code>IAM statement table: ");
    expect(markdown).toContain("#### Changes");
  });

  it("renders every real plan within GitHub's comment limit", () => {
    for (const { name, stackPlan } of fixtures) {
      const { markdown } = renderPlans([stackPlan], []);
      expect([name, markdown.length <= GITHUB_COMMENT_LIMIT]).toEqual([name, true]);
    }
    const firstDeploys = fixtures.filter((candidate) => !candidate.change).map((candidate) => candidate.stackPlan);
    expect(renderPlans(firstDeploys, []).markdown.length).toBeLessThanOrEqual(GITHUB_COMMENT_LIMIT);
  });

  it("shows the first prod deploy's IAM and rule tables with the grants the functions live by", () => {
    const { markdown } = renderPlans([fixture("prod").stackPlan], []);
    expect(markdown).toContain("#### IAM statement changes");
    expect(markdown).toContain("#### Security-group rule changes");
    const iamTable = markdown.slice(markdown.indexOf("#### IAM statement changes"), markdown.indexOf("#### Security-group rule changes"));
    for (const action of ["rds-db:connect", "secretsmanager:GetSecretValue", "s3:GetObject", "sqs:SendMessage"])
      expect([action, iamTable.includes(`<code>${action}</code>`)]).toEqual([action, true]);
  });
});

describe("each change against a deployed stack", () => {
  const alarms = PLAN_CHANGES.filter((change) => change.expect === "alarm");
  const routine = PLAN_CHANGES.filter((change) => change.expect === "routine");

  it.each(alarms.map((change) => [`${change.stack}.${change.name}`, change] as const))(
    "%s: the comment's verdict says it, and the review exits 4",
    (name, change) => {
      const { stackPlan } = fixture(name);
      const { markdown, verdict } = renderPlans([stackPlan], []);
      expect(verdict.broadens || verdict.dataAtRisk).toBe(true);
      expect(verdictOf(markdown)).toContain(change.verdictSays);
      const review = reviewInfrastructure(
        { [change.stack]: stacks[change.stack] },
        { [change.stack]: changed(stacks[change.stack], change) },
      );
      expect(reviewExitStatus(review)).toBe(4);
    },
  );

  it.each(routine.map((change) => [`${change.stack}.${change.name}`, change] as const))(
    "%s: no widening and no data at risk, in the comment and in the review (exit 3)",
    (name, change) => {
      const { stackPlan } = fixture(name);
      const review = classifyPlan(stackPlan);
      expect([...review.iam, ...review.rules].filter((row) => row.widens)).toEqual([]);
      const { markdown, verdict } = renderPlans([stackPlan], []);
      expect(verdict).toMatchObject({ broadens: false, dataAtRisk: false });
      expect(verdictOf(markdown)).not.toContain("⚠️");
      // What the plan knows only after apply is said so, never called a narrowing.
      expect(verdictOf(markdown)).not.toContain("Narrows only");
      const diff = reviewInfrastructure(
        { [change.stack]: stacks[change.stack] },
        { [change.stack]: changed(stacks[change.stack], change) },
      );
      expect(reviewExitStatus(diff)).toBe(3);
    },
  );

  it("shows a policy the plan defers on an update as known after apply, without a verdict", () => {
    const deferred = fixtures
      .filter((candidate) => candidate.change)
      .flatMap(({ stackPlan }) => classifyPlan(stackPlan).iam.filter((row) => row.statement.effect === "(known after apply)"));
    for (const row of deferred) expect(row).toMatchObject({ change: "added", widens: false });
  });
});

describe("the ForceNew table on real replacements", () => {
  it("names every attribute the provider replaced a resource for", () => {
    const replaced = fixtures.flatMap(({ plan }) =>
      changesOf(plan)
        .filter(({ kind }) => kind === "replace")
        .flatMap(({ resource }) => (resource.change.replace_paths ?? []).map((path) => [resource.type, String(path[0])])),
    );
    expect(replaced).toContainEqual(["aws_db_instance", "storage_encrypted"]);
    for (const [type, attribute] of replaced)
      expect([type, attribute, REPLACED_WHEN_CHANGED[type]]).toEqual([type, attribute, expect.arrayContaining([attribute])]);
  });
});

describe("the diagram of a real plan", () => {
  // Keys and the managed secret hang off values a first deploy knows only after apply, so the plan's
  // drawing may leave them out; it never draws what the synthesized stack does not have.
  it("draws the after side of every real plan of a service stack: the tiers, functions and database, nothing the stack lacks", () => {
    for (const { name, stackPlan } of fixtures) {
      const synthesized = diagramOf(new SynthesizedStack(name, stackPlan.synthesized!));
      if (!synthesized) continue;
      const planned = diagramOf(planSides(stackPlan, stackPlan.synthesized).after)!;
      const ids = (diagram: typeof synthesized) => diagram.nodes.map((node) => node.id);
      expect([name, ids(planned).filter((id) => !ids(synthesized).includes(id))]).toEqual([name, []]);
      const core = ids(synthesized).filter((id) => /_function$|^database_instance$|^subnet_/.test(id));
      expect([name, core.filter((id) => !ids(planned).includes(id))]).toEqual([name, []]);
    }
  });
});
