/**
 * The infrastructure review as text for a terminal (colour only when asked, i.e. on a TTY) or as
 * Markdown for a pull-request comment. Order: the verdict (what widens), data at risk, then changes per
 * stack, then the IAM statement, security-group rule and HTTP API route tables, widening rows first.
 */
import { type ElementChange, type Review, reviewExitStatus } from "./review-diff";
import { type Table, changeText, code, iamTable, markdownTable, routeTable, ruleTable } from "./security-tables";

export interface ReviewLabels {
  /** What was compared against, e.g. "main (6d92d14)". */
  base: string;
  /** What was compared, e.g. "working tree". */
  head: string;
}

const KIND_ORDER: ElementChange["kind"][] = ["added", "removed", "moved", "changed"];
const SYMBOL: Record<ElementChange["kind"], string> = { added: "+", removed: "-", moved: ">", changed: "~" };

/** Exit 4 names what widens (or puts data at risk); 3 says whether security-relevant changes only narrow. */
export function reviewVerdict(review: Review): string {
  const status = reviewExitStatus(review);
  if (status === 0) return "no change";
  if (status === 4) return `widens: ${review.widens.join(", ")}`;
  return review.concerns.length > 0 ? `narrows only: ${review.concerns.join(", ")}` : "no security-relevant change";
}

function counts(changes: ElementChange[]): string {
  return KIND_ORDER.flatMap((kind) => {
    const count = changes.filter((change) => change.kind === kind).length;
    return count > 0 ? [`${count} ${kind}`] : [];
  }).join(", ");
}

const ordered = (changes: ElementChange[]) => [...changes].sort((a, b) => KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind));
const unchangedStacks = (review: Review) => review.stacks.filter(({ changes }) => changes.length === 0).map(({ stack }) => stack);
const changedStacks = (review: Review) => review.stacks.filter(({ changes }) => changes.length > 0);
const elementName = (change: ElementChange) => (change.kind === "moved" ? `${change.from} -> ${change.path}` : change.path);
const typeName = (change: ElementChange) =>
  change.mode === "data" ? `data ${change.type}` : change.mode === "setting" ? "stack setting" : change.type;

// ---- text ----

const ANSI = { red: 31, green: 32, yellow: 33, cyan: 36, bold: 1 } as const;
type Paint = (style: keyof typeof ANSI, text: string) => string;

export function renderReviewText(review: Review, labels: ReviewLabels, options: { color: boolean }): string {
  const paint: Paint = (style, text) => (options.color ? `\u001b[${ANSI[style]}m${text}\u001b[0m` : text);
  const kindColor: Record<ElementChange["kind"], keyof typeof ANSI> = { added: "green", removed: "red", moved: "cyan", changed: "yellow" };
  const lines = [
    `Infrastructure review: ${labels.base} -> ${labels.head}`,
    `Verdict: ${reviewVerdict(review)} (exit status ${reviewExitStatus(review)})`,
  ];

  if (review.dataRisks.length > 0) {
    lines.push("", paint("bold", paint("red", "DATA AT RISK")));
    for (const risk of review.dataRisks)
      lines.push(paint("red", `  ${risk.stack} ${risk.path} (${risk.type}, ${risk.holds}): ${risk.what}`));
  }
  for (const { stack, changes } of changedStacks(review)) {
    lines.push("", paint("bold", `${stack}: ${counts(changes)}`));
    for (const change of ordered(changes)) {
      const replaced = change.replacedBecause ? paint("red", `  REPLACED: ${change.replacedBecause}`) : "";
      lines.push(`  ${paint(kindColor[change.kind], `${SYMBOL[change.kind]} ${elementName(change)}`)}  ${typeName(change)}${replaced}`);
      for (const row of change.attributes)
        lines.push(`      ${row.attribute}: ${row.before} -> ${row.after}${row.replaces ? paint("red", "  (replaces)") : ""}`);
      for (const { concern, why } of change.widenings) lines.push(paint("red", `      WIDENS (${concern}): ${why}`));
    }
  }
  const unchanged = unchangedStacks(review);
  if (unchanged.length > 0) lines.push("", `${unchanged.join(", ")}: no change`);

  const textTable = (title: string, table: Table) => {
    if (table.rows.length === 0) return;
    const cells = table.rows.map((row) => [changeText(row), ...row.cells.map((values) => values.join(", ") || "-")]);
    const header = ["change", ...table.header];
    const widths = header.map((name, column) => Math.max(name.length, ...cells.map((row) => row[column].length)));
    const line = (row: string[]) =>
      row
        .map((cell, column) => cell.padEnd(widths[column]))
        .join("  ")
        .trimEnd();
    lines.push("", paint("bold", title), `  ${line(header)}`);
    for (const [index, row] of cells.entries()) lines.push(`  ${paint(table.rows[index].change === "added" ? "green" : "red", line(row))}`);
  };
  textTable("IAM statement changes", iamTable(review.iam, { stackColumn: true }));
  textTable("Security-group rule changes", ruleTable(review.rules, { stackColumn: true }));
  textTable("HTTP API route changes", routeTable(review.routes, { stackColumn: true }));
  return `${lines.join("\n")}\n`;
}

// ---- Markdown ----

function changeSection(change: ElementChange): string {
  const name = change.kind === "moved" ? `${code(change.from!)} → ${code(change.path)}` : code(change.path);
  const replaced = change.replacedBecause ? ` **replaced**: ${change.replacedBecause}` : "";
  const widens = change.widenings.map(({ concern, why }) => `\n  - ⚠️ widens (${concern}): ${why}`).join("");
  const title = `- <code>${SYMBOL[change.kind]}</code> **${change.kind}** ${name} · \`${typeName(change)}\`${replaced}${widens}`;
  if (change.attributes.length === 0) return `${title}\n`;
  const rows = change.attributes.map(
    (row) => `  | ${code(row.attribute)}${row.replaces ? " **replaces**" : ""} | ${code(row.before)} | ${code(row.after)} |`,
  );
  return `${title}\n\n  | attribute | before | after |\n  |---|---|---|\n${rows.join("\n")}\n\n`;
}

export function renderReviewMarkdown(review: Review, labels: ReviewLabels): string {
  const parts = [`## Infrastructure review\n\n${code(labels.base)} → ${code(labels.head)}: **${reviewVerdict(review)}**.\n\n`];
  if (review.dataRisks.length > 0) {
    const risks = review.dataRisks.map(
      (risk) => `- ⚠️ \`${risk.stack}\` ${code(risk.path)} (\`${risk.type}\`, ${risk.holds}): ${risk.what}`,
    );
    parts.push(`#### ⚠️ Data at risk\n\n${risks.join("\n")}\n\n`);
  }
  for (const { stack, changes } of changedStacks(review)) {
    parts.push(`#### \`${stack}\`: ${counts(changes)}\n\n${ordered(changes).map(changeSection).join("")}\n`);
  }
  const unchanged = unchangedStacks(review);
  if (unchanged.length > 0) parts.push(`${unchanged.map((stack) => `\`${stack}\``).join(", ")}: no change.\n\n`);
  parts.push(
    markdownTable("IAM statement changes", iamTable(review.iam, { stackColumn: true })),
    markdownTable("Security-group rule changes", ruleTable(review.rules, { stackColumn: true })),
    markdownTable("HTTP API route changes", routeTable(review.routes, { stackColumn: true })),
  );
  return parts.join("");
}
