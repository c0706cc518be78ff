/**
 * A plan's before and after as two stacks the security rows can compare, resource by resource: known
 * values from the plan (sensitive ones redacted), and where the plan knows a value only after apply,
 * that resource's value in the synthesized JSON (a new resource's policy document, a rule's group
 * reference). A policy of a resource that exists already and that the plan defers stays "(known after
 * apply)": its synthesized references cannot be compared with the concrete values of the prior state.
 * Concrete ids and ARNs of the plan's own resources are written back as references, so both sides name
 * them by construct path.
 */
import { redacted, UNKNOWN } from "./attribute-diff";
import { POLICY_ATTRIBUTE } from "./security-rules";
import { SynthesizedStack, type Block, type TerraformJson } from "./synthesized-stack";
import type { Json, Marks, ResourceChange, StackPlan } from "./terraform-plan";

export interface PlanSides {
  before: SynthesizedStack;
  after: SynthesizedStack;
  /** Addresses whose policy the plan knows only after apply, read from the synthesized JSON instead. */
  synthesized: Set<string>;
}

const nameOf = (resource: ResourceChange) => resource.name ?? resource.address.slice(resource.address.indexOf(".") + 1);
const isObject = (value: unknown): value is Record<string, Json> => value !== null && typeof value === "object" && !Array.isArray(value);

/**
 * Whole values (ids, ARNs) of the plan's resources, to the reference that names them. A value two
 * resources share (a bucket policy's id is its bucket's name) goes to the one with an ARN, or to none.
 */
function aliasesOf(resources: ResourceChange[]): Map<string, string> {
  const owners = new Map<string, { reference: string; hasArn: boolean }[]>();
  for (const resource of resources) {
    for (const side of [resource.change.before, resource.change.after]) {
      if (!isObject(side)) continue;
      for (const attribute of ["id", "arn"]) {
        const value = side[attribute];
        if (typeof value !== "string" || value.length < 3) continue;
        const list = owners.get(value) ?? [];
        if (!list.some((owner) => owner.reference.startsWith(`\${${resource.address}.`)))
          list.push({ reference: `\${${resource.address}.${attribute}}`, hasArn: typeof side.arn === "string" });
        owners.set(value, list);
      }
    }
  }
  const aliases = new Map<string, string>();
  for (const [value, list] of owners) {
    const withArn = list.filter((owner) => owner.hasArn);
    const chosen = list.length === 1 ? list : withArn.length === 1 ? withArn : [];
    if (chosen.length === 1) aliases.set(value, chosen[0].reference);
  }
  return aliases;
}

/** The value with ids and ARNs written as references, inside policy documents too (an ARN followed by a path as well). */
function aliased(value: Json, aliases: Map<string, string>, key?: string): Json {
  if (typeof value === "string") {
    if (key && POLICY_ATTRIBUTE.test(key)) {
      try {
        return JSON.stringify(aliased(JSON.parse(value) as Json, aliases));
      } catch {
        return value;
      }
    }
    const whole = aliases.get(value);
    if (whole) return whole;
    const slash = value.indexOf("/", value.startsWith("arn:") ? 0 : value.length);
    const prefix = slash > 0 ? aliases.get(value.slice(0, slash)) : undefined;
    return prefix?.endsWith(".arn}") ? `${prefix}${value.slice(slash)}` : value;
  }
  if (Array.isArray(value)) return value.map((item) => aliased(item, aliases, key));
  if (isObject(value)) return Object.fromEntries(Object.entries(value).map(([inner, item]) => [inner, aliased(item, aliases, inner)]));
  return value;
}

/** `known` with every part the marks call unknown taken from `synthesized` (or named unknown where it has none). */
function filled(known: Json | undefined, unknown: Marks, synthesized: Json | undefined): Json {
  if (unknown === true) return synthesized ?? UNKNOWN;
  if (unknown === null || typeof unknown !== "object") return known ?? null;
  if (Array.isArray(known) || Array.isArray(unknown)) {
    const marks = unknown as Json[];
    const items = Array.isArray(known) ? known : [];
    const fromSynth = Array.isArray(synthesized) ? synthesized : [];
    return Array.from({ length: Math.max(items.length, marks.length) }, (_, index) => filled(items[index], marks[index], fromSynth[index]));
  }
  const object = isObject(known) ? known : {};
  const synth = isObject(synthesized) ? synthesized : {};
  const keys = [...new Set([...Object.keys(object), ...Object.keys(unknown)])];
  return Object.fromEntries(keys.map((key) => [key, filled(object[key], (unknown as Record<string, Json>)[key], synth[key])]));
}

const holdsPolicy = (key: string) => POLICY_ATTRIBUTE.test(key) || key === "inline_policy";

/** True when a policy of the resource is unknown in the plan and the synthesized JSON has it. */
function policyFromSynthesized(resource: ResourceChange, synthesized: Block | undefined): boolean {
  const unknown = resource.change.after_unknown;
  if (!isObject(unknown) || !synthesized) return false;
  return Object.entries(unknown).some(([key, mark]) => holdsPolicy(key) && mark !== false && synthesized[key] !== undefined);
}

export function planSides(stack: StackPlan, synthesized: TerraformJson = {}): PlanSides {
  const resources = (stack.plan.resource_changes ?? []).filter((resource) => resource.mode !== "data");
  const aliases = aliasesOf(resources);
  const synthesizedBlock = (resource: ResourceChange) => synthesized.resource?.[resource.type]?.[nameOf(resource)];
  const metadata = (resource: ResourceChange): Block => {
    const path = stack.constructPaths[resource.address];
    return path ? { "//": { metadata: { path } } } : {};
  };
  const before: Record<string, Record<string, Block>> = {};
  const after: Record<string, Record<string, Block>> = {};
  const put = (side: typeof before, resource: ResourceChange, block: Json) => {
    if (!isObject(block)) return;
    side[resource.type] ??= {};
    side[resource.type][nameOf(resource)] = { ...block, ...metadata(resource) };
  };
  const fromSynthesized = new Set<string>();
  for (const resource of resources) {
    const {
      actions,
      before: was,
      after: now,
      before_sensitive: wasSensitive,
      after_sensitive: nowSensitive,
      after_unknown: unknown,
    } = resource.change;
    if (!actions.includes("create") || actions.includes("delete"))
      put(before, resource, aliased(redacted(was, wasSensitive) as Json, aliases));
    if (!actions.includes("delete") || actions.includes("create")) {
      const created = resource.change.before === null || resource.change.before === undefined;
      const { "//": _, ...synth } = synthesizedBlock(resource) ?? {};
      const references = created ? synth : Object.fromEntries(Object.entries(synth).filter(([key]) => !holdsPolicy(key)));
      if (policyFromSynthesized(resource, references)) fromSynthesized.add(resource.address);
      put(after, resource, filled(aliased(redacted(now, nowSensitive) as Json, aliases), unknown, references));
    }
  }
  // Policy documents (data sources) are read from the synthesized JSON: the plan holds what they rendered.
  return {
    before: new SynthesizedStack(stack.stack, { resource: before, data: synthesized.data }),
    after: new SynthesizedStack(stack.stack, { resource: after, data: synthesized.data }),
    synthesized: fromSynthesized,
  };
}
