/**
 * The IAM statement, security-group rule and HTTP API route tables, as the review (text and Markdown)
 * and the plan comment print them: one row per statement, rule or route added or removed, the ones that
 * widen access marked.
 */
import { type IamRow, type RouteRow, type RuleRow, isDeferred } from "../stacks/security-rows";

export interface Table {
  header: string[];
  /** deferred: known only after apply, so neither added nor removed yet, and no verdict. */
  rows: { change: IamRow["change"]; widens: boolean; deferred?: boolean; cells: string[][] }[];
  /** A note under the table, when a row needs one. */
  note?: string;
}

const SYNTHESIZED_MARK = "†";
const not = (label: string, values: string[]) => values.map((value) => `${label} ${value}`);

/** Widening rows first, then the rest in their order (per owner, removed before added). */
const wideningFirst = <T extends { widens: boolean }>(rows: T[]) => [
  ...rows.filter((row) => row.widens),
  ...rows.filter((row) => !row.widens),
];

export function iamTable(rows: IamRow[], options: { stackColumn: boolean }): Table {
  const synthesized = rows.some((row) => row.synthesized);
  return {
    header: [
      ...(options.stackColumn ? ["stack"] : []),
      "role or policy",
      "written in",
      "effect",
      "principals",
      "actions",
      "resources",
      "conditions",
    ],
    rows: wideningFirst(rows).map((row) => {
      const { statement } = row;
      return {
        change: row.change,
        widens: row.widens,
        ...(isDeferred(row) ? { deferred: true } : {}),
        cells: [
          ...(options.stackColumn ? [[row.stack]] : []),
          [row.owner],
          [`${row.source}${row.synthesized ? ` ${SYNTHESIZED_MARK}` : ""}`],
          [statement.effect],
          [...statement.principals, ...not("not", statement.notPrincipals)],
          [...statement.actions, ...not("not", statement.notActions)],
          [...statement.resources, ...not("not", statement.notResources)],
          statement.conditions,
        ],
      };
    }),
    ...(synthesized
      ? {
          note: `${SYNTHESIZED_MARK} The plan knows this policy only after apply: its statements are read from the synthesized JSON (cdk.tf.json).`,
        }
      : {}),
  };
}

export function ruleTable(rows: RuleRow[], options: { stackColumn: boolean }): Table {
  return {
    header: [...(options.stackColumn ? ["stack"] : []), "security group", "direction", "protocol", "ports", "peer"],
    rows: wideningFirst(rows).map((row) => ({
      change: row.change,
      widens: row.widens,
      ...(isDeferred(row) ? { deferred: true } : {}),
      cells: [...(options.stackColumn ? [[row.stack]] : []), [row.group], [row.direction], [row.protocol], [row.ports], [row.peer]],
    })),
  };
}

/** Each route with who may call it: its authorization, and the roles and policies allowed execute-api:Invoke on it. */
export function routeTable(rows: RouteRow[], options: { stackColumn: boolean }): Table {
  return {
    header: [...(options.stackColumn ? ["stack"] : []), "API", "route", "authorization", "may call (execute-api:Invoke)"],
    rows: wideningFirst(rows).map((row) => ({
      change: row.change,
      widens: row.widens,
      cells: [...(options.stackColumn ? [[row.stack]] : []), [row.api], [row.route], [row.authorization], row.callers],
    })),
  };
}

/** "added, widens": how a row reads in text. */
export const changeText = (row: Table["rows"][number]) => `${row.change}${row.widens ? ", widens" : ""}`;

/** Markdown-safe inline code that survives table cells: no pipes, no HTML, no line breaks. */
export function code(text: string, max?: number): string {
  const shortened = max !== undefined && text.length > max ? `${text.slice(0, max)}…` : text;
  const escaped = shortened
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/\|/g, "&#124;")
    .replace(/\r?\n/g, "⏎");
  return `<code>${escaped}</code>`;
}

const MARK: Record<IamRow["change"], string> = { added: "➕ added", removed: "➖ removed" };

export function markdownTable(title: string, table: Table): string {
  if (table.rows.length === 0) return "";
  const header = `| | ${table.header.join(" | ")} |\n|${"---|".repeat(table.header.length + 1)}\n`;
  const rows = table.rows.map(
    (row) =>
      `| ${row.deferred ? "⏳ after apply" : MARK[row.change]}${row.widens ? " ⚠️ **widens**" : ""} | ${row.cells.map((values) => values.map((value) => code(value)).join("<br>")).join(" | ")} |`,
  );
  return `#### ${title}\n\n${header}${rows.join("\n")}\n${table.note ? `\n${table.note}\n` : ""}\n`;
}
