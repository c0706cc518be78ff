/**
 * The security-aware comparison of two synthesized apps (stack name -> cdk.tf.json), with no git, AWS
 * or terraform: elements matched by construct path, renamed constructs found as moves, the attributes
 * that make the AWS provider replace a resource marked, data at risk first, and IAM statements and
 * security-group rules compared as rows, by the security rules the plan comment uses too.
 */
import { attributeRows } from "../stacks/attribute-diff";
import {
  type IamRow,
  type Rename,
  type RouteRow,
  type RuleRow,
  canonical,
  iamChanges,
  readableStatement,
  routeChanges,
  ruleChanges,
  samePath,
} from "../stacks/security-rows";
import {
  CONCERNS,
  type Concern,
  HOLDS_DATA_OR_IDENTITY,
  POLICY_ATTRIBUTE,
  type Widening,
  concernsOf,
  resourceWidenings,
  weakensProtection,
  widenings,
} from "../stacks/security-rules";
import { type Block, type Element, SynthesizedStack, type TerraformJson } from "../stacks/synthesized-stack";
import type { Json } from "../stacks/terraform-plan";
import { REPLACED_WHEN_CHANGED } from "./replaced-when-changed";

export type Stacks = Record<string, TerraformJson>;
export type { Concern, IamRow, RouteRow, RuleRow };

export interface AttributeChange {
  attribute: string;
  before: string;
  after: string;
  replaces: boolean;
}

export interface ElementChange {
  stack: string;
  kind: "added" | "removed" | "changed" | "moved";
  /** Construct path below the stack (the new one, for a move). */
  path: string;
  /** Where a moved element was. */
  from?: string;
  type: string;
  mode: Element["mode"];
  /** Why Terraform destroys and recreates it, when it does. */
  replacedBecause?: string;
  attributes: AttributeChange[];
  concerns: Concern[];
  /** Settings of it that widen by themselves: exposure on, encryption off, a group joined. */
  widenings: Widening[];
}

export interface DataRisk {
  stack: string;
  path: string;
  type: string;
  /** What it holds, e.g. "database instance". */
  holds: string;
  what: string;
}

export interface Review {
  stacks: { stack: string; changes: ElementChange[] }[];
  dataRisks: DataRisk[];
  iam: IamRow[];
  rules: RuleRow[];
  /** HTTP API routes added and removed, with their authorization and who may call them. */
  routes: RouteRow[];
  /** Every concern a change touches, widening or not. */
  concerns: Concern[];
  /** The concerns that widen access or put data at risk: what makes exit status 4. */
  widens: Concern[];
}

/** 0: nothing changed; 3: changes, none widening access or putting data at risk; 4: something widens or data is at risk. */
export function reviewExitStatus(review: Review): 0 | 3 | 4 {
  if (review.widens.length > 0) return 4;
  return review.stacks.some(({ changes }) => changes.length > 0) ? 3 : 0;
}

/** Compares every stack of two synthesized apps. */
export function reviewInfrastructure(base: Stacks, head: Stacks): Review {
  const names = [...new Set([...Object.keys(base), ...Object.keys(head)])].sort();
  const compared = names.map((name) =>
    compareStack(new SynthesizedStack(name, base[name] ?? {}), new SynthesizedStack(name, head[name] ?? {})),
  );
  const dataRisks = compared.flatMap((stack) => stack.dataRisks);
  const holdsOrder = Object.keys(HOLDS_DATA_OR_IDENTITY);
  dataRisks.sort((a, b) => holdsOrder.indexOf(a.type) - holdsOrder.indexOf(b.type));
  const iam = compared.flatMap((stack) => stack.iam);
  const rules = compared.flatMap((stack) => stack.rules);
  const routes = compared.flatMap((stack) => stack.routes);
  const changes = compared.flatMap((stack) => stack.changes);
  const raised = new Set([
    ...changes.flatMap((change) => change.concerns),
    ...(iam.length > 0 ? ["IAM" as const] : []),
    ...(rules.length > 0 ? ["security groups" as const] : []),
  ]);
  const widening = new Set([
    ...(dataRisks.length > 0 ? ["data loss" as const] : []),
    ...(iam.some((row) => row.widens) ? ["IAM" as const] : []),
    ...(rules.some((row) => row.widens) ? ["security groups" as const] : []),
    ...changes.flatMap((change) => change.widenings.map((widening) => widening.concern)),
  ]);
  return {
    stacks: compared.map(({ stack, changes }) => ({ stack, changes })),
    dataRisks,
    iam,
    rules,
    routes,
    concerns: CONCERNS.filter((concern) => raised.has(concern)),
    widens: CONCERNS.filter((concern) => widening.has(concern)),
  };
}

/**
 * An element's arguments as compared: references replaced by construct paths (of the head, through
 * `rename`), and policy attributes replaced by their statements, so a changed policy document shows on
 * the policy that uses it.
 */
function normalized(stack: SynthesizedStack, element: Element, rename: Rename): Json {
  const walk = (value: Json, key?: string): Json => {
    if (typeof value === "string") {
      if (key && POLICY_ATTRIBUTE.test(key))
        return canonical(stack.statementsOf(value).map((statement) => readableStatement(stack, statement, rename)));
      return stack.readable(value, rename);
    }
    if (Array.isArray(value)) return value.map((item) => walk(item, key));
    if (value !== null && typeof value === "object")
      return Object.fromEntries(Object.entries(value).map(([inner, item]) => [inner, walk(item, inner)]));
    return value;
  };
  return walk(element.block);
}

/**
 * Pairs elements that left one path with elements that arrived at another when, with references to
 * earlier pairs renamed, their arguments are the same: a renamed construct (or its parent). Repeats
 * until no new pair appears, since renaming a parent renames children that refer to each other.
 */
function findMoves(
  before: SynthesizedStack,
  after: SynthesizedStack,
  beforeByPath: Map<string, Element>,
  afterByPath: Map<string, Element>,
): Map<string, string> {
  const moves = new Map<string, string>();
  const rename: Rename = (path) => moves.get(path) ?? path;
  const signature = (stack: SynthesizedStack, element: Element, names: Rename) =>
    `${element.mode} ${element.type} ${canonical(normalized(stack, element, names))}`;
  for (let found = true; found; ) {
    found = false;
    const arrived = new Set(moves.values());
    const waiting = new Map<string, Element[]>();
    for (const element of afterByPath.values()) {
      if (beforeByPath.has(element.path) || arrived.has(element.path)) continue;
      const key = signature(after, element, samePath);
      waiting.set(key, [...(waiting.get(key) ?? []), element]);
    }
    for (const element of beforeByPath.values()) {
      if (afterByPath.has(element.path) || moves.has(element.path)) continue;
      const match = waiting.get(signature(before, element, rename))?.shift();
      if (!match) continue;
      moves.set(element.path, match.path);
      found = true;
    }
  }
  return moves;
}

function attributeChanges(before: Json, after: Json, element: Element): AttributeChange[] {
  const replacePaths = (REPLACED_WHEN_CHANGED[element.type] ?? []).map((attribute) => [attribute]);
  const rows = attributeRows(
    { address: element.address, type: element.type, change: { actions: ["update"], before, after, replace_paths: replacePaths } },
    "update",
  );
  // A policy's statements are compared row by row in the IAM table; here they are only counted.
  const statementCount = (text: string) => {
    const count = (JSON.parse(JSON.parse(text) as string) as unknown[]).length;
    return `${count} statement${count === 1 ? "" : "s"}`;
  };
  return rows.map(({ attribute, before: was = "null", after: now, forcesReplacement }) => {
    const policy =
      POLICY_ATTRIBUTE.test(
        attribute
          .split(/[.[\]]/)
          .filter(Boolean)
          .at(-1) ?? "",
      ) &&
      was !== "null" &&
      now !== "null";
    return {
      attribute,
      before: policy ? statementCount(was) : was,
      after: policy ? statementCount(now) : now,
      replaces: forcesReplacement,
    };
  });
}

/** Providers, the terraform block (backend, versions) and outputs, compared like elements under their own names. */
function settingsOf({ json }: SynthesizedStack): Element[] {
  const setting = (type: string, name: string, block: Block): Element => ({
    address: `${type}.${name}`,
    mode: "setting",
    type,
    path: `${type} ${name}`,
    block,
  });
  return [
    ...Object.entries(json.provider ?? {}).map(([name, blocks]) => setting("provider", name, { [name]: blocks })),
    ...(json.terraform ? [setting("terraform", "block", json.terraform)] : []),
    ...Object.entries(json.output ?? {}).map(([name, block]) => setting("output", name, block)),
  ];
}

interface StackComparison {
  stack: string;
  changes: ElementChange[];
  dataRisks: DataRisk[];
  iam: IamRow[];
  rules: RuleRow[];
  routes: RouteRow[];
}

/** The elements of a side by construct path; policy documents are compared through the policies that use them. */
const comparedElements = (side: SynthesizedStack) =>
  new Map(
    [...side.elements.filter((element) => element.type !== "aws_iam_policy_document"), ...settingsOf(side)].map((element) => [
      element.path,
      element,
    ]),
  );

function elementChange(
  stack: string,
  element: Element,
  kind: ElementChange["kind"],
  attributes: AttributeChange[] = [],
  replacedBecause?: string,
  before?: Json,
): ElementChange {
  const settings = [...widenings(attributes), ...(kind === "removed" ? [] : resourceWidenings(element.type, before, element.block))];
  const concerns = concernsOf(element.type, kind === "removed" || replacedBecause !== undefined, attributes);
  return {
    stack,
    path: element.path,
    type: element.type,
    mode: element.mode,
    kind,
    ...(replacedBecause ? { replacedBecause } : {}),
    attributes,
    concerns: CONCERNS.filter((concern) => concerns.includes(concern) || settings.some((widening) => widening.concern === concern)),
    widenings: settings,
  };
}

/** Why Terraform destroys and recreates an element that stayed (or moved): a lost address or an attribute that cannot change in place. */
function replacementReason(element: Element, now: Element, attributes: AttributeChange[], movedBlocks: Set<string>): string | undefined {
  const addressLost =
    element.mode === "managed" && element.address !== now.address && !movedBlocks.has(`${element.address} ${now.address}`);
  if (addressLost) return `its Terraform address changes (${element.address} -> ${now.address}) and no moved block carries its state over`;
  const forcing = attributes.filter((row) => row.replaces).map((row) => row.attribute);
  return forcing.length > 0 ? `${forcing.join(", ")} cannot change in place` : undefined;
}

/** Every element removed, added, moved or changed between the sides, by construct path. */
function elementChanges(before: SynthesizedStack, after: SynthesizedStack, rename: Rename): ElementChange[] {
  const stack = after.name;
  const [beforeByPath, afterByPath] = [comparedElements(before), comparedElements(after)];
  const movedBlocks = new Set((after.json.moved ?? []).map(({ from, to }) => `${from} ${to}`));
  const changes: ElementChange[] = [];
  const matched = new Set<string>();
  for (const element of beforeByPath.values()) {
    const path = rename(element.path);
    const now = afterByPath.get(path);
    if (!now || now.type !== element.type || now.mode !== element.mode) {
      changes.push(elementChange(stack, element, "removed"));
      continue;
    }
    matched.add(path);
    const attributes = attributeChanges(normalized(before, element, rename), normalized(after, now, samePath), now);
    const replacedBecause = replacementReason(element, now, attributes, movedBlocks);
    const kind = path !== element.path ? "moved" : "changed";
    if (kind === "changed" && attributes.length === 0 && !replacedBecause) continue;
    changes.push({
      ...elementChange(stack, now, kind, attributes, replacedBecause, element.block),
      ...(kind === "moved" ? { from: element.path } : {}),
    });
  }
  for (const element of afterByPath.values()) {
    if (!matched.has(element.path)) changes.push(elementChange(stack, element, "added"));
  }
  return changes.sort((a, b) => a.path.localeCompare(b.path));
}

/** What holds data or identity and is destroyed or replaced, and every protection switched off. */
function dataRisksOf(changes: ElementChange[]): DataRisk[] {
  return changes.flatMap((change): DataRisk[] => {
    const holds = HOLDS_DATA_OR_IDENTITY[change.type];
    const weaker = change.attributes
      .filter(weakensProtection)
      .map((row) => `protection weakened: ${row.attribute} ${row.before} -> ${row.after}`);
    const lost =
      holds && change.kind === "removed"
        ? ["destroyed: no longer in the configuration"]
        : holds && change.replacedBecause
          ? [`replaced: ${change.replacedBecause}`]
          : [];
    return [...lost, ...weaker].map((what) => ({
      stack: change.stack,
      path: change.path,
      type: change.type,
      holds: holds ?? change.type,
      what,
    }));
  });
}

function compareStack(before: SynthesizedStack, after: SynthesizedStack): StackComparison {
  const moves = findMoves(before, after, comparedElements(before), comparedElements(after));
  const rename: Rename = (path) => moves.get(path) ?? path;
  const changes = elementChanges(before, after, rename);
  return {
    stack: after.name,
    changes,
    dataRisks: dataRisksOf(changes),
    iam: iamChanges(after.name, before, after, rename),
    rules: ruleChanges(after.name, before, after, rename),
    routes: routeChanges(after.name, before, after, rename),
  };
}
