/**
 * The Markdown of the pull-request plan comment (and of the deploy job's summary), from plans read by
 * the shared security rules: the verdict first (does anything widen access, is data at risk), flags
 * grouped by kind with counts, then per stack its IAM statement and security-group rule tables and its
 * changes. It fits GitHub's limit by a budget: routine detail is cut first, and the comment names what
 * it cut; the verdict, data at risk and the tables are kept whole.
 */
import { type AttributeRow, attributeRows } from "../stacks/attribute-diff";
import {
  DATA_AT_RISK,
  FLAG_KINDS,
  type Flag,
  type PlanVerdict,
  type StackReview,
  classifyPlan,
  verdictOf,
} from "../stacks/plan-classification";
import { type IamRow, type RuleRow, isDeferred } from "../stacks/security-rows";
import { POLICY_ATTRIBUTE } from "../stacks/security-rules";
import {
  KINDS,
  type Kind,
  type ResourceChange,
  type SkippedStack,
  type StackPlan,
  changesOf,
  checkPlanFormat,
  countsOf,
} from "../stacks/terraform-plan";
import { code, iamTable, markdownTable, ruleTable } from "./security-tables";

/** Hidden in the comment; how the upsert finds its own comment again. */
export const COMMENT_MARKER = "<!-- lambda-rds-iam:plan-comment -->";
/** GitHub refuses issue comments longer than this. */
export const GITHUB_COMMENT_LIMIT = 65_536;
/** The pull-request label the workflow sets while the plan widens access (docs/review.md). */
export const BROADENS_LABEL = "broadens-access";

const SYMBOL: Record<Kind, string> = { create: "+", update: "~", replace: "-/+", delete: "-" };
const REASONS: Record<string, string> = {
  replace_because_tainted: "tainted",
  replace_because_cannot_update: "an attribute cannot be updated in place",
  replace_by_request: "replacement requested",
  replace_by_triggers: "replace_triggered_by",
  delete_because_no_resource_config: "no longer in the configuration",
};
const plural = (count: number, word: string) => `${count.toLocaleString("en-US")} ${word}${count === 1 ? "" : "s"}`;
const where = (flag: { stack: string; address: string; path?: string }) =>
  `\`${flag.stack}\` ${code(flag.address)}${flag.path ? ` · ${code(flag.path)}` : ""}`;

/** How much of the routine detail is printed; each step down the budget turns one more part off. */
interface Detail {
  /** Per attribute value, at most this many characters (undefined: whole). */
  valueLength?: number;
  unflaggedRows: boolean;
  flaggedRows: boolean;
  otherChanges: boolean;
  flagLists: boolean;
  flaggedChanges: boolean;
  review: boolean;
}
const FULL: Detail = { unflaggedRows: true, flaggedRows: true, otherChanges: true, flagLists: true, flaggedChanges: true, review: true };

// ---- verdict and flags ----

function rowLine(row: IamRow | RuleRow): string {
  if ("statement" in row) {
    const { statement } = row;
    const principals = statement.principals.length > 0 ? ` to ${statement.principals.map((value) => code(value)).join(", ")}` : "";
    const resources = statement.resources.length > 0 ? ` on ${statement.resources.map((value) => code(value)).join(", ")}` : "";
    const actions = statement.actions.map((value) => code(value)).join(", ");
    const conditional = statement.conditions.length > 0 ? " (conditional)" : "";
    return `- \`${row.stack}\` ${row.change} in ${code(row.source)}: ${code(statement.effect)} ${actions}${resources}${principals}${conditional}`;
  }
  return `- \`${row.stack}\` ${row.change} on ${code(row.group)}: ${row.direction} ${row.protocol} ${row.ports} ${row.direction === "ingress" ? "from" : "to"} ${code(row.peer)}`;
}

/** How many widening rows the verdict repeats; more are only counted (the tables list them first). */
const VERDICT_ROWS = 10;

/** `labelled`: in a pull request, where the workflow sets the label; not in the deploy summary. */
function verdictSection(verdict: PlanVerdict, reviews: StackReview[], labelled: boolean): string {
  const { iam, rules, settings } = verdict.widening;
  const parts = [
    plural(iam, "IAM statement"),
    plural(rules, "security-group rule"),
    plural(settings, "setting"),
    plural(verdict.skipped, "part not read"),
  ].filter((part) => !part.startsWith("0 "));
  const rows = reviews.flatMap((review) => [...review.iam, ...review.rules]).filter((row) => row.widens);
  const tableRows = reviews.flatMap((review) => [...review.iam, ...review.rules]);
  // Rows known only after apply carry no verdict: they are neither a narrowing nor a widening.
  const deferred = tableRows.filter(isDeferred).length;
  const anyRow = tableRows.length > deferred;
  const lines = ["### Verdict", ""];
  if (verdict.broadens) {
    lines.push(
      `**⚠️ Broadens permissions or network reach**${labelled ? ` (label \`${BROADENS_LABEL}\`, for a second approval)` : ""}. Widening: ${parts.join(", ")}.`,
    );
    if (rows.length > 0 && rows.length <= VERDICT_ROWS) lines.push("", ...rows.map(rowLine));
    else if (rows.length > 0) lines.push("", `They are listed first in each stack's tables below, marked ⚠️ **widens**.`);
    const settingFlags = reviews.flatMap((review) => review.flags).filter((flag) => flag.flag === "widens by a setting");
    lines.push(...settingFlags.map((flag) => `- ${where(flag)}: ${flag.why}`));
    // What could not be read counts as widening: nobody has seen that it does not.
    lines.push(
      ...reviews.flatMap((review) =>
        review.skipped.map((part) => `- ⚠️ \`${review.plan.stack}\` not read, so not reviewed here: ${code(part, 300)}`),
      ),
    );
  } else {
    lines.push(
      anyRow
        ? "**Narrows only**: IAM and security-group changes remove or narrow access; nothing widens."
        : deferred > 0
          ? "**No IAM or security-group change known before apply.**"
          : "**No IAM or security-group change.**",
    );
  }
  if (deferred > 0)
    lines.push(
      "",
      `${plural(deferred, "table row")} known only after apply (⏳ below): compared only where both sides are known, so no verdict on them.`,
    );
  const risks = reviews.flatMap((review) => review.flags).filter((flag) => DATA_AT_RISK.includes(flag.flag));
  lines.push("");
  if (risks.length === 0) lines.push("No resource holding data or identity is replaced or destroyed; no protection is weakened.");
  else
    lines.push(
      `**⚠️ Data at risk**: ${plural(risks.length, "change")}:`,
      "",
      ...risks.map((flag) => `- ⚠️ **${flag.why}**: ${where(flag)} (${flag.kind})`),
    );
  return `${lines.join("\n")}\n\n`;
}

function flagSection(flags: Flag[], detail: Detail): string {
  if (flags.length === 0) return "";
  const rows = FLAG_KINDS.flatMap((kind) => {
    const of = flags.filter((flag) => flag.flag === kind);
    if (of.length === 0) return [];
    const stacks = [...new Set(of.map((flag) => `\`${flag.stack}\``))].join(", ");
    return [`| ${DATA_AT_RISK.includes(kind) ? "⚠️ " : ""}${kind} | ${of.length} | ${stacks} |`];
  });
  const lists = FLAG_KINDS.filter((kind) => !DATA_AT_RISK.includes(kind)).flatMap((kind) => {
    const of = flags.filter((flag) => flag.flag === kind);
    if (of.length === 0 || !detail.flagLists) return [];
    return [
      `<details><summary>${kind}: ${of.length}</summary>\n\n${of.map((flag) => `- ${where(flag)} (${flag.kind})`).join("\n")}\n\n</details>\n`,
    ];
  });
  return `### Flags by kind\n\n| kind | changes | stacks |\n|---|---|---|\n${rows.join("\n")}\n\n${lists.join("\n")}${lists.length > 0 ? "\n" : ""}`;
}

// ---- per stack ----

/** A policy's value as the number of its statements: the IAM table shows them one by one. */
function shownValue(row: AttributeRow, value: string | undefined, valueLength?: number): string {
  const last =
    row.attribute
      .split(/[.[\]]/)
      .filter(Boolean)
      .at(-1) ?? "";
  if (value && POLICY_ATTRIBUTE.test(last)) {
    try {
      const { Statement: statements } = JSON.parse(JSON.parse(value) as string) as { Statement?: unknown };
      return `${plural([statements ?? []].flat().length, "statement")} (IAM table)`;
    } catch {
      // Not a JSON document: shown as it is.
    }
  }
  return code(value ?? "", valueLength);
}

function resourceSection(
  stack: StackPlan,
  resource: ResourceChange,
  kind: Kind,
  rows: "all" | "forcing" | "none",
  valueLength?: number,
): string {
  const path = stack.constructPaths[resource.address];
  const reason = resource.action_reason ? ` (${REASONS[resource.action_reason] ?? resource.action_reason})` : "";
  const title = `<code>${SYMBOL[kind]}</code> **${kind}** ${code(resource.address)}${path ? ` · ${code(path)}` : ""}${reason}`;
  let all: AttributeRow[];
  try {
    all = rows === "none" ? [] : attributeRows(resource, kind);
  } catch (error) {
    // Named in the verdict as not read; here its title stays, with why it has no rows.
    return `- ${title}: attributes not read (${code(error instanceof Error ? error.message : String(error), 300)})\n`;
  }
  const tableRows = rows === "forcing" ? all.filter((row) => row.forcesReplacement) : all;
  if (tableRows.length === 0) return `- ${title}\n`;
  const header = kind === "create" ? "| attribute | value |\n|---|---|\n" : "| attribute | before | after |\n|---|---|---|\n";
  const lines = tableRows.map((row) => {
    const name = `${code(row.attribute)}${row.forcesReplacement ? " **forces replacement**" : ""}`;
    const after = row.after === "(known after apply)" ? code(row.after) : shownValue(row, row.after, valueLength);
    return kind === "create" ? `| ${name} | ${after} |` : `| ${name} | ${shownValue(row, row.before, valueLength)} | ${after} |`;
  });
  return `- ${title}\n\n${header}${lines.join("\n")}\n\n`;
}

function stackSection(review: StackReview, detail: Detail): string {
  const { plan: stack } = review;
  const counts = countsOf(stack.plan);
  const table = `| create | update | replace | delete |\n|---|---|---|---|\n| ${KINDS.map((kind) => counts[kind]).join(" | ")} |\n`;
  const errored = stack.plan.errored ? "\n**The plan errored; what follows is incomplete.**\n" : "";
  const changes = changesOf(stack.plan);
  if (changes.length === 0) return `### \`${stack.stack}\`\n\nNo changes.${errored}\n\n`;
  const flagged = new Set(review.flags.map((flag) => flag.address));
  const loud = changes.filter(({ resource }) => flagged.has(resource.address));
  const quiet = changes.filter(({ resource }) => !flagged.has(resource.address));
  const tables =
    markdownTable("IAM statement changes", iamTable(review.iam, { stackColumn: false })) +
    markdownTable("Security-group rule changes", ruleTable(review.rules, { stackColumn: false }));
  const render = (list: typeof changes, rows: "all" | "forcing" | "none") =>
    list.map(({ resource, kind }) => resourceSection(stack, resource, kind, rows, detail.valueLength)).join("");
  const loudPart = !detail.flaggedChanges
    ? loud.length > 0
      ? `${plural(loud.length, "flagged change")}: list cut (see the flags above).\n`
      : ""
    : render(loud, detail.flaggedRows ? "all" : "forcing");
  const quietPart =
    quiet.length === 0
      ? ""
      : detail.otherChanges
        ? `\n<details><summary>${plural(quiet.length, "other change")}</summary>\n\n${render(quiet, detail.unflaggedRows ? "all" : "none")}\n</details>\n`
        : `\n${plural(quiet.length, "other change")}: list cut.\n`;
  return `### \`${stack.stack}\`\n\n${table}${errored}\n${tables}${loud.length + quiet.length > 0 ? "#### Changes\n\n" : ""}${loudPart}${quietPart}\n`;
}

export interface RenderOptions {
  /** Where the full plans are (the run's artifacts), named in the cut note. */
  artifactUrl?: string;
  limit?: number;
  /** Markdown of `npm run review -- --format markdown`, shown above the plans. */
  review?: string;
  /** Without the marker the upsert looks for (the deploy job's summary). */
  marker?: boolean;
}

export interface RenderedPlan {
  markdown: string;
  verdict: PlanVerdict;
}

/** The steps of the budget, least important detail first, each with what it cuts in words. */
function budget(reviews: StackReview[]): { detail: Detail; cut: string }[] {
  const flagged = reviews.reduce((sum, review) => sum + new Set(review.flags.map((flag) => flag.address)).size, 0);
  const quiet = reviews.reduce((sum, review) => sum + changesOf(review.plan.plan).length, 0) - flagged;
  const steps: [Partial<Detail>, string][] = [
    [{ valueLength: 200 }, "attribute values over 200 characters shortened"],
    [{ unflaggedRows: false }, `the attribute rows of ${plural(quiet, "routine change")}`],
    [
      { flaggedRows: false },
      `the attribute rows of ${plural(flagged, "flagged change")} other than those forcing replacement (their statements and rules are in the tables)`,
    ],
    [{ otherChanges: false }, `the list of ${plural(quiet, "other change")}`],
    [{ flagLists: false, flaggedChanges: false }, "the lists of flagged changes by kind (their counts stay)"],
    [{ review: false }, "the infrastructure review (in the review artifact of this run)"],
  ];
  let detail = FULL;
  return steps.map(([change, cut]) => {
    detail = { ...detail, ...change };
    return { detail, cut };
  });
}

/** The whole comment: marker, review, verdict, flags, then every stack; shortened by the budget to fit `limit` (GitHub's by default). */
export function renderPlans(plans: StackPlan[], skipped: SkippedStack[], options: RenderOptions = {}): RenderedPlan {
  const limit = options.limit ?? GITHUB_COMMENT_LIMIT;
  plans.forEach(checkPlanFormat);
  const reviews = plans.map(classifyPlan);
  const verdict = verdictOf(reviews);
  const flags = reviews.flatMap((review) => review.flags);
  const skippedPart = skipped.map(({ stack, reason }) => `### \`${stack}\`\n\nNo plan: ${reason}\n\n`).join("");
  const artifacts = options.artifactUrl ? `the plan artifacts of [this run](${options.artifactUrl})` : "the plan artifacts of this run";
  const body = (detail: Detail, cut: string[]) => {
    const review = options.review && detail.review ? `${options.review.trim()}\n\n` : "";
    const note =
      cut.length > 0
        ? `**Cut to fit GitHub's ${limit.toLocaleString("en-US")} characters**: ${cut.join("; ")}. The full plans are in ${artifacts}.\n\n`
        : "";
    const head = `${options.marker === false ? "" : `${COMMENT_MARKER}\n`}${review}## Terraform plan\n\n${note}${verdictSection(verdict, reviews, options.marker !== false)}${flagSection(flags, detail)}`;
    return `${head}${reviews.map((review) => stackSection(review, detail)).join("")}${skippedPart}`;
  };
  const cuts: string[] = [];
  let text = body(FULL, cuts);
  for (const { detail, cut } of budget(reviews)) {
    if (text.length <= limit) return { markdown: text, verdict };
    cuts.push(cut);
    text = body(detail, cuts);
  }
  if (text.length <= limit) return { markdown: text, verdict };
  // Past every step (tables longer than the limit): a hard cut, which says it may have lost rows.
  const note = `\n\n**Cut at GitHub's limit even after the budget: the tables may be incomplete; the full plans are in ${artifacts}.**\n`;
  const kept = text.slice(0, text.lastIndexOf("\n", limit - note.length - 200));
  const open = kept.split("<details>").length - kept.split("</details>").length;
  return { markdown: `${kept}${"\n\n</details>".repeat(Math.max(0, open))}${note}`, verdict };
}

/**
 * What the pull request is told when the comment cannot be rendered: the error, where the log is,
 * and a verdict that sets the label, so the pull request needs its second approval until a comment
 * renders (fail closed).
 */
export function failureComment(error: string, runUrl?: string): RenderedPlan {
  const log = runUrl ? `[the job log](${runUrl})` : "the job log";
  const markdown = `${COMMENT_MARKER}\n## Terraform plan\n\n### Verdict\n\n**⚠️ The plan comment could not be rendered**, so nothing below was reviewed by it (label \`${BROADENS_LABEL}\`, for a second approval, until it renders).\n\n${code(error, 2000)}\n\nSee ${log}; the plans are in the artifacts of this run.\n`;
  return {
    markdown,
    verdict: { broadens: true, dataAtRisk: false, widening: { iam: 0, rules: 0, settings: 0 }, dataRisks: 0, skipped: 1 },
  };
}

/** The comment's Markdown alone. */
export const renderComment = (plans: StackPlan[], skipped: SkippedStack[], options: RenderOptions = {}) =>
  renderPlans(plans, skipped, options).markdown;
