import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { readInputs, runUrl } from "../../../../scripts/review/plan-comment";
import {
  COMMENT_MARKER,
  GITHUB_COMMENT_LIMIT,
  type ResourceChange,
  type StackPlan,
  attributeRows,
  countsOf,
  flagsOf,
  renderComment,
} from "../../../../scripts/review/plan-render";
import { projectRoot } from "../../synth";
import { tempDir } from "../../temp";

const fixtures = join(__dirname, "..", "..", "fixtures", "plans");
const stacksDir = join(fixtures, "stacks");
const { plans } = readInputs([join(fixtures, "dev.json"), join(fixtures, "prod.json")], stacksDir);
const dev = plans.find((plan) => plan.stack === "dev")!;
const change = (address: string) => dev.plan.resource_changes!.find((resource) => resource.address === address)!;
const DB = "aws_db_instance.database_instance_D7FC2283";

describe("plan comment", () => {
  const comment = renderComment(plans, [{ stack: "dev-state", reason: "deployed by hand; its state is a local file" }]);

  it("counts creates, updates, replaces and deletes per stack, leaving out no-ops and data reads", () => {
    expect(countsOf(dev.plan)).toEqual({ create: 1, update: 1, replace: 1, delete: 1 });
    expect(comment).toContain("| create | update | replace | delete |\n|---|---|---|---|\n| 1 | 1 | 1 | 1 |");
    expect(comment).not.toContain("aws_vpc.network_vpc_1A2B3C4D");
    expect(comment).not.toContain("data.aws_iam_policy_document");
  });

  it("says so for a stack without changes and for a stack without a plan", () => {
    expect(comment).toContain("### `prod`\n\nNo changes.");
    expect(comment).toContain("### `dev-state`\n\nNo plan: deployed by hand; its state is a local file");
  });

  it("starts with the marker, then flags the replaced database and security-group rule changes before anything else", () => {
    expect(comment.startsWith(COMMENT_MARKER)).toBe(true);
    expect(flagsOf(dev).map(({ address, why }) => [address, why])).toEqual([
      [DB, "replaces a database instance"],
      ["aws_vpc_security_group_ingress_rule.database_ingress-from-api_1234ABCD", "security group rule change"],
    ]);
    const flags = comment.indexOf("#### Look at these first");
    expect(flags).toBeGreaterThan(0);
    expect(flags).toBeLessThan(comment.indexOf("### `dev`"));
    expect(comment).toContain(
      "⚠️ **replaces a database instance**: `dev` <code>aws_db_instance.database_instance_D7FC2283</code> · <code>dev/database/instance</code> (replace)",
    );
  });

  it("flags IAM and resource policy changes, and a destroyed log group or KMS key", () => {
    const plan: StackPlan = {
      stack: "prod",
      constructPaths: {},
      plan: {
        format_version: "1.2",
        resource_changes: [
          {
            address: "aws_iam_role.r",
            type: "aws_iam_role",
            change: { actions: ["update"], before: { assume_role_policy: "a" }, after: { assume_role_policy: "b" } },
          },
          { address: "aws_kms_key.k", type: "aws_kms_key", change: { actions: ["delete"], before: {}, after: null } },
          {
            address: "aws_cloudwatch_log_group.g",
            type: "aws_cloudwatch_log_group",
            change: { actions: ["create", "delete"], before: {}, after: {} },
          },
          { address: "aws_kms_key.new", type: "aws_kms_key", change: { actions: ["create"], before: null, after: {} } },
          {
            address: "aws_kms_key.p",
            type: "aws_kms_key",
            change: { actions: ["update"], before: { policy: "{}" }, after: { policy: '{"Statement":[]}' } },
          },
          {
            address: "aws_s3_bucket_policy.b",
            type: "aws_s3_bucket_policy",
            change: { actions: ["create"], before: null, after: { policy: "{}" } },
          },
        ],
      },
    };
    expect(flagsOf(plan).map(({ address, why }) => [address, why])).toEqual([
      ["aws_iam_role.r", "IAM policy, role or trust change"],
      ["aws_kms_key.k", "destroys a KMS key (what it encrypted becomes unreadable)"],
      ["aws_cloudwatch_log_group.g", "replaces a log group (its logs go with it)"],
      ["aws_kms_key.p", "resource policy change"],
      ["aws_s3_bucket_policy.b", "IAM policy, role or trust change"],
    ]);
  });

  it("groups changes by resource with the construct path from cdk.tf.json and why Terraform replaces or deletes", () => {
    expect(comment).toContain(
      "<code>-/+</code> **replace** <code>aws_db_instance.database_instance_D7FC2283</code> · <code>dev/database/instance</code> (an attribute cannot be updated in place)",
    );
    expect(comment).toContain(
      "<code>~</code> **update** <code>aws_cloudwatch_log_group.api_log-group_0F9E8D7C</code> · <code>dev/api/log-group</code>",
    );
    expect(comment).toContain("(no longer in the configuration)");
    expect(comment).toContain("| <code>retention_in_days</code> | <code>14</code> | <code>30</code> |");
  });

  it("marks the attribute that forces the replacement", () => {
    expect(comment).toContain('| <code>engine_version</code> **forces replacement** | <code>"8.0"</code> | <code>"8.4"</code> |');
  });

  it("never prints a sensitive value, before or after, whole or nested", () => {
    for (const secret of ["hunter2", "s3cr3t-token-value"]) expect(comment).not.toContain(secret);
    expect(attributeRows(change(DB), "replace")).toContainEqual({
      attribute: "password",
      before: "(sensitive)",
      after: "(sensitive)",
      forcesReplacement: false,
    });
    expect(attributeRows(change("aws_lambda_function.api_function_5A1B2C3D"), "create")).toContainEqual({
      attribute: "environment[0].variables.API_TOKEN",
      after: "(sensitive)",
      forcesReplacement: false,
      before: undefined,
    });
  });

  it("hides a whole value marked sensitive at its top", () => {
    const resource: ResourceChange = {
      address: "x.y",
      type: "x",
      change: {
        actions: ["update"],
        before: { a: { b: "old" } },
        after: { a: { b: "new" } },
        before_sensitive: true,
        after_sensitive: true,
      },
    };
    expect(attributeRows(resource, "update")).toEqual([
      { attribute: "a.b", before: "(sensitive)", after: "(sensitive)", forcesReplacement: false },
    ]);
  });

  it("shows unknown values as (known after apply)", () => {
    const rows = attributeRows(change("aws_lambda_function.api_function_5A1B2C3D"), "create");
    expect(rows).toContainEqual({ attribute: "arn", after: "(known after apply)", forcesReplacement: false, before: undefined });
    expect(rows).toContainEqual({ attribute: "memory_size", after: "256", forcesReplacement: false, before: undefined });
    expect(attributeRows(change(DB), "replace")).toContainEqual({
      attribute: "address",
      before: '"db.example"',
      after: "(known after apply)",
      forcesReplacement: false,
    });
  });

  it("keeps values from breaking the Markdown table", () => {
    const resource: ResourceChange = {
      address: "x.y",
      type: "x",
      change: { actions: ["create"], before: null, after: { policy: '{"a": "b|c"}\n<script>' } },
    };
    const markdown = renderComment([{ stack: "s", constructPaths: {}, plan: { format_version: "1.2", resource_changes: [resource] } }], []);
    expect(markdown).toContain('| <code>policy</code> | <code>"{\\"a\\": \\"b&#124;c\\"}\\n&lt;script&gt;"</code> |');
  });

  it("refuses a plan format it does not know", () => {
    expect(() => renderComment([{ stack: "s", constructPaths: {}, plan: { format_version: "2.0" } }], [])).toThrow(
      "s: plan format_version 2.0 is not 1.x",
    );
  });

  describe("of an oversize plan", () => {
    const many: ResourceChange[] = Array.from({ length: 3000 }, (_, index) => ({
      address: `aws_cloudwatch_log_group.g${index}`,
      type: "aws_cloudwatch_log_group",
      change: {
        actions: ["update"],
        before: { name: `/g/${index}`, retention_in_days: 14, description: "x".repeat(400) },
        after: { name: `/g/${index}`, retention_in_days: 30, description: "y".repeat(400) },
      },
    }));
    const replaced = change(DB);
    const big: StackPlan = {
      stack: "prod",
      constructPaths: { [DB]: "prod/database/instance" },
      plan: { format_version: "1.2", resource_changes: [...many, replaced] },
    };
    const markdown = renderComment([big], [], { artifactUrl: "https://github.com/acme/app/actions/runs/42" });

    it("stays under GitHub's limit and says where the full plan is", () => {
      expect(markdown.length).toBeLessThanOrEqual(GITHUB_COMMENT_LIMIT);
      expect(markdown).toContain(
        "**Truncated to fit GitHub's comment limit: the full plans are in the plan artifacts of [this run](https://github.com/acme/app/actions/runs/42).**",
      );
    });

    it("keeps the flags and the flagged resource's details, and closes what it collapsed", () => {
      expect(markdown).toContain("⚠️ **replaces a database instance**: `prod`");
      expect(markdown).toContain("**forces replacement**");
      expect(markdown.split("<details>").length).toBe(markdown.split("</details>").length);
    });

    it("keeps the infrastructure review above the plans whole, cutting the plans instead", () => {
      const review = `## Infrastructure review\n\n${"| ➕ added | <code>dev</code> |\n".repeat(100)}`;
      const withReview = renderComment([big], [], { review });
      expect(withReview.length).toBeLessThanOrEqual(GITHUB_COMMENT_LIMIT);
      expect(withReview.startsWith(`${COMMENT_MARKER}\n${review.trim()}\n\n## Terraform plan\n`)).toBe(true);
      expect(withReview).toContain("**Truncated to fit GitHub's comment limit");
    });

    it("first drops long values and unflagged attribute rows when that is enough", () => {
      const medium: StackPlan = { ...big, plan: { ...big.plan, resource_changes: [...many.slice(0, 200), replaced] } };
      const shorter = renderComment([medium], []);
      expect(shorter.length).toBeLessThanOrEqual(GITHUB_COMMENT_LIMIT);
      expect(shorter).not.toContain("Truncated");
      expect(shorter).toContain("<details><summary>200 other changes</summary>");
      expect(shorter).toContain("aws_cloudwatch_log_group.g199");
    });
  });
});

describe("npm run plan:comment", () => {
  it("renders plan files named for their stacks, with construct paths from the synthesized stacks and skipped stacks' reasons", () => {
    const dir = tempDir("plan-comment-");
    const skipped = join(dir, "prod-state.skipped");
    writeFileSync(skipped, "deployed by hand\n");
    const out = join(dir, "comment.md");
    const review = join(dir, "review.md");
    writeFileSync(review, "## Infrastructure review\n\nno change\n");
    const run = spawnSync(
      "npm",
      ["run", "-s", "plan:comment", "--", "--stacks-dir", stacksDir, "--out", out, "--review", review, join(fixtures, "dev.json"), skipped],
      {
        cwd: projectRoot,
        encoding: "utf8",
        env: { ...process.env, GITHUB_SERVER_URL: "https://github.com", GITHUB_REPOSITORY: "acme/app", GITHUB_RUN_ID: "7" },
      },
    );
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    const markdown = readFileSync(out, "utf8");
    expect(markdown.startsWith(`${COMMENT_MARKER}\n## Infrastructure review\n\nno change\n\n## Terraform plan\n`)).toBe(true);
    expect(markdown).toContain("· <code>dev/database/instance</code>");
    expect(markdown).toContain("### `prod-state`\n\nNo plan: deployed by hand");
  });

  it("names the artifact page of the run from GitHub's variables", () => {
    expect(runUrl({ GITHUB_SERVER_URL: "https://github.com", GITHUB_REPOSITORY: "acme/app", GITHUB_RUN_ID: "7" })).toBe(
      "https://github.com/acme/app/actions/runs/7",
    );
    expect(runUrl({})).toBeUndefined();
  });

  it("fails with usage on no input", () => {
    const run = spawnSync("npm", ["run", "-s", "plan:comment"], { cwd: projectRoot, encoding: "utf8" });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain("usage: npm run plan:comment");
  });
});
