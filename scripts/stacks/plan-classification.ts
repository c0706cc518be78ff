/**
 * What a plan does that a reviewer must see, per stack, by the shared security rules: flags by kind
 * (data destroyed or replaced first), the IAM statement and security-group rule rows, and the verdict
 * (whether anything widens access or puts data at risk). The plan comment and the deploy summary
 * render it; the workflow reads the verdict as JSON.
 */
import { type AttributeRow, attributeRows } from "./attribute-diff";
import { planSides } from "./plan-sides";
import { type IamRow, type RuleRow, iamChanges, ruleChanges, samePath } from "./security-rows";
import {
  type ChangedAttribute,
  HOLDS_DATA_OR_IDENTITY,
  POLICY_ATTRIBUTE,
  concernsOf,
  resourceWidenings,
  weakensProtection,
  widenings,
} from "./security-rules";
import { type Kind, type ResourceChange, type StackPlan, changesOf } from "./terraform-plan";

/** Kinds of flag, in the order the comment lists them: data at risk first. */
export const FLAG_KINDS = [
  "destroys or replaces data or identity",
  "weakens a protection",
  "widens by a setting",
  "IAM policy, role, trust or permission",
  "security group or rule",
  "encryption setting",
  "public exposure setting",
] as const;
export type FlagKind = (typeof FLAG_KINDS)[number];
export const DATA_AT_RISK: readonly FlagKind[] = ["destroys or replaces data or identity", "weakens a protection"];

export interface Flag {
  stack: string;
  address: string;
  path?: string;
  kind: Kind;
  flag: FlagKind;
  /** What exactly: "replaces a database instance", "publicly_accessible false -> true (public exposure)". */
  why: string;
}

export interface StackReview {
  plan: StackPlan;
  flags: Flag[];
  iam: IamRow[];
  rules: RuleRow[];
  /** What could not be read, and why ("aws_iam_role.x: ..."): the review is incomplete by these. */
  skipped: string[];
}

export interface PlanVerdict {
  /** Something widens: an IAM statement, a security-group rule, or a setting (exposure, encryption off, a group joined). */
  broadens: boolean;
  /** Something holding data or identity is destroyed or replaced, or a protection is switched off. */
  dataAtRisk: boolean;
  widening: { iam: number; rules: number; settings: number };
  dataRisks: number;
  /** Parts of the plans that could not be read: the verdict then broadens, as nobody knows it does not. */
  skipped: number;
}

const asChanged = (rows: AttributeRow[]): ChangedAttribute[] => rows.map(({ attribute, before, after }) => ({ attribute, before, after }));

const failure = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** The flags of one stack's plan, one per kind a change falls in; a change it cannot read goes to `skipped`. */
export function flagsOf(stack: StackPlan, skipped: string[] = []): Flag[] {
  return changesOf(stack.plan).flatMap(({ resource, kind }) => {
    try {
      return resourceFlags(stack, resource, kind);
    } catch (error) {
      skipped.push(`${resource.address}: ${failure(error)}`);
      return [];
    }
  });
}

/** The flags of one change, one per kind it falls in. */
function resourceFlags(stack: StackPlan, resource: ResourceChange, kind: Kind): Flag[] {
  const base = { stack: stack.stack, address: resource.address, path: stack.constructPaths[resource.address], kind };
  const attributes = asChanged(attributeRows(resource, kind));
  const destroyed = kind === "replace" || kind === "delete";
  const holds = HOLDS_DATA_OR_IDENTITY[resource.type];
  const flags: Omit<Flag, keyof typeof base>[] = [];
  if (holds && destroyed)
    flags.push({ flag: "destroys or replaces data or identity", why: `${kind === "replace" ? "replaces" : "destroys"} a ${holds}` });
  for (const row of attributes.filter(weakensProtection))
    flags.push({ flag: "weakens a protection", why: `${row.attribute} ${row.before} -> ${row.after}` });
  const { before, after } = resource.change;
  for (const { why } of [...widenings(attributes), ...resourceWidenings(resource.type, before, kind === "delete" ? null : after)])
    flags.push({ flag: "widens by a setting", why });
  // A create is flagged by its type and policies: its other settings are not changes of anything.
  const policies = attributes.filter((row) => POLICY_ATTRIBUTE.test(row.attribute));
  const concerns = concernsOf(resource.type, destroyed, kind === "create" ? policies : attributes);
  if (concerns.includes("IAM")) flags.push({ flag: "IAM policy, role, trust or permission", why: "IAM change" });
  if (concerns.includes("security groups")) flags.push({ flag: "security group or rule", why: "security-group change" });
  if (concerns.includes("encryption")) flags.push({ flag: "encryption setting", why: "encryption change" });
  if (concerns.includes("public exposure")) flags.push({ flag: "public exposure setting", why: "exposure setting change" });
  return flags.map((flag) => ({ ...base, ...flag }));
}

/**
 * One stack's plan read by the security rules; policies the plan knows only after apply come from
 * `stack.synthesized`. What cannot be read (a change, the IAM or rule table) is left out and named in `skipped`.
 */
export function classifyPlan(stack: StackPlan): StackReview {
  const skipped: string[] = [];
  const attempt = <T>(part: string, read: () => T[]): T[] => {
    try {
      return read();
    } catch (error) {
      skipped.push(`${part}: ${failure(error)}`);
      return [];
    }
  };
  const flags = flagsOf(stack, skipped);
  const sides = attempt("IAM and security-group tables", () => [planSides(stack, stack.synthesized)])[0];
  return {
    plan: stack,
    flags,
    iam: sides ? attempt("IAM statement table", () => iamChanges(stack.stack, sides.before, sides.after, samePath, sides.synthesized)) : [],
    rules: sides ? attempt("security-group rule table", () => ruleChanges(stack.stack, sides.before, sides.after, samePath)) : [],
    skipped,
  };
}

export function verdictOf(reviews: StackReview[]): PlanVerdict {
  const flags = reviews.flatMap((review) => review.flags);
  const widening = {
    iam: reviews.flatMap((review) => review.iam).filter((row) => row.widens).length,
    rules: reviews.flatMap((review) => review.rules).filter((row) => row.widens).length,
    settings: flags.filter((flag) => flag.flag === "widens by a setting").length,
  };
  const dataRisks = flags.filter((flag) => DATA_AT_RISK.includes(flag.flag)).length;
  const skipped = reviews.reduce((sum, review) => sum + review.skipped.length, 0);
  return {
    broadens: widening.iam + widening.rules + widening.settings + skipped > 0,
    dataAtRisk: dataRisks > 0,
    widening,
    dataRisks,
    skipped,
  };
}
