/**
 * What a resource change sets or changes, attribute by attribute (leaf paths of before and after), with
 * sensitive values hidden and unknown ones named as such. The plan comment and the review both diff
 * attributes through this.
 */
import type { Json, Kind, Marks, ResourceChange } from "./terraform-plan";

type Step = string | number;
export const SENSITIVE = "(sensitive)";
export const UNKNOWN = "(known after apply)";
const pathText = (path: Step[]) =>
  path.map((step, index) => (typeof step === "number" ? `[${step}]` : index === 0 ? step : `.${step}`)).join("");

/** Leaf paths of a value; an empty object or list is a leaf of its own. */
function leaves(value: Marks, path: Step[] = []): Step[][] {
  if (Array.isArray(value)) return value.length === 0 ? [path] : value.flatMap((item, index) => leaves(item, [...path, index]));
  if (value !== null && typeof value === "object") {
    const keys = Object.keys(value);
    return keys.length === 0 ? [path] : keys.flatMap((key) => leaves((value as Record<string, Json>)[key], [...path, key]));
  }
  return [path];
}

function at(value: Marks, path: Step[]): Marks {
  let current: Marks = value;
  for (const step of path) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<string, Json>)[step as string];
  }
  return current;
}

/** Paths the marks (after_unknown) set to true. */
function markedPaths(marks: Marks, path: Step[] = []): Step[][] {
  if (marks === true) return [path];
  if (marks === null || typeof marks !== "object") return [];
  return Object.entries(marks).flatMap(([key, value]) => markedPaths(value, [...path, Array.isArray(marks) ? Number(key) : key]));
}

/** The value with every part the marks call sensitive replaced, so no container ever carries one out. */
export function redacted(value: Marks, marks: Marks): Marks {
  if (marks === true) return SENSITIVE;
  if (value === null || typeof value !== "object" || marks === null || typeof marks !== "object") return value;
  if (Array.isArray(value)) return value.map((item, index) => redacted(item, (marks as Json[])[index]) as Json);
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [key, redacted(item, (marks as Record<string, Json>)[key]) as Json]),
  );
}

/** True when the marks (after_unknown, *_sensitive) are true at the path or any of its ancestors. */
export function marked(marks: Marks, path: Step[]): boolean {
  let current: Marks = marks;
  for (let index = 0; ; index += 1) {
    if (current === true) return true;
    if (index === path.length || current === null || typeof current !== "object") return false;
    current = (current as Record<string, Json>)[path[index] as string];
  }
}

export interface AttributeRow {
  attribute: string;
  before?: string;
  after: string;
  forcesReplacement: boolean;
}

const display = (value: Marks): string => JSON.stringify(value ?? null);

/** Every path either side sets (or the marks name), without containers whose leaves are listed. */
function changedPaths(resource: ResourceChange, kind: Kind): Step[][] {
  const { before, after, after_unknown: unknown } = resource.change;
  const seen = new Set<string>();
  const unique = [...leaves(kind === "create" ? null : before), ...leaves(after), ...markedPaths(unknown)].filter((path) => {
    const key = JSON.stringify(path);
    if (path.length === 0 || seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  // A container that turned unknown (or empty) is shown through its leaves when it has any.
  const within = (inner: Step[], outer: Step[]) => inner.length > outer.length && outer.every((step, index) => inner[index] === step);
  return unique.filter((path) => !unique.some((other) => within(other, path)));
}

/** The attributes a change sets or changes, with sensitive values hidden and unknown ones named as such. */
export function attributeRows(resource: ResourceChange, kind: Kind): AttributeRow[] {
  if (kind === "delete") return [];
  const { before, after, after_unknown: unknown, before_sensitive: beforeSensitive, after_sensitive: afterSensitive } = resource.change;
  const replacePaths = (resource.change.replace_paths ?? []).map(pathText);
  const rows: AttributeRow[] = [];
  for (const path of changedPaths(resource, kind)) {
    const isUnknown = marked(unknown, path);
    const b = at(before, path);
    const a = at(after, path);
    if (!isUnknown && kind === "create" && (a === null || a === undefined)) continue;
    if (
      !isUnknown &&
      kind !== "create" &&
      JSON.stringify(b ?? null) === JSON.stringify(a ?? null) &&
      marked(beforeSensitive, path) === marked(afterSensitive, path)
    )
      continue;
    const attribute = pathText(path);
    rows.push({
      attribute,
      before: kind === "create" ? undefined : marked(beforeSensitive, path) ? SENSITIVE : display(redacted(b, at(beforeSensitive, path))),
      after: isUnknown ? UNKNOWN : marked(afterSensitive, path) ? SENSITIVE : display(redacted(a, at(afterSensitive, path))),
      forcesReplacement: replacePaths.some(
        (replacePath) => attribute === replacePath || attribute.startsWith(`${replacePath}.`) || attribute.startsWith(`${replacePath}[`),
      ),
    });
  }
  return rows;
}
