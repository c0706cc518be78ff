/**
 * `npm run terrain:compare -- CDKTF_STACKS CDKTN_STACKS`: proves that a move to CDK Terrain changes
 * nothing Terraform would apply but what it must. It compares two directories of synthesized stacks
 * (cdktf.out/stacks of the project as it is, and of its copy after `npm run terrain:migrate`) value by
 * value. Allowed are only the providers' pins (`terraform.required_providers.<provider>.source` and
 * `.version`: @cdktn/provider-aws 25.7.0 pins hashicorp/aws 6.66.0, @cdktf/provider-aws 21.22.1
 * aws 6.25.0) and the library's version in the metadata (`//.metadata.version`). Any other difference
 * (a value, a key one side lacks, a stack only one side has) is printed with its path, the construct
 * it belongs to and both values, and the exit status is 1. Formatting is not compared: cdktn writes an
 * empty list as `[]`, cdktf over two lines.
 */
import type { Json } from "../stacks/terraform-plan";
import { runCli } from "../cli/cli-args";
import { readSynthesizedStacks } from "../stacks/synth-app";
import type { TerraformJson } from "../stacks/synthesized-stack";

export interface Difference {
  readonly stack: string;
  /** Keys from the top of the stack's JSON down to the value that differs. */
  readonly path: readonly (string | number)[];
  /** The value on each side; undefined where that side has none. */
  readonly cdktf: Json | undefined;
  readonly cdktn: Json | undefined;
}

/** What CDK Terrain is expected to change: a provider's pin, and the library version the metadata names. */
export function isExpected({ path }: Pick<Difference, "path">): boolean {
  const [top, section, , field, ...rest] = path;
  const providerPin =
    top === "terraform" && section === "required_providers" && (field === "source" || field === "version") && rest.length === 0;
  return providerPin || (path.length === 3 && top === "//" && section === "metadata" && path[2] === "version");
}

const isObject = (value: Json | undefined): value is { [key: string]: Json } =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** Every place where `a` and `b` differ, down to the smallest differing value. */
function differences(
  a: Json | undefined,
  b: Json | undefined,
  path: (string | number)[] = [],
): { path: (string | number)[]; a?: Json; b?: Json }[] {
  if (Array.isArray(a) && Array.isArray(b)) {
    return Array.from({ length: Math.max(a.length, b.length) }, (_, i) => differences(a[i], b[i], [...path, i])).flat();
  }
  if (isObject(a) && isObject(b)) {
    return [...new Set([...Object.keys(a), ...Object.keys(b)])].sort().flatMap((key) => differences(a[key], b[key], [...path, key]));
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [{ path, a, b }];
}

/** The differences between two sets of synthesized stacks, stack by stack (a stack only one side has is one difference). */
export function compareStacks(cdktf: Record<string, TerraformJson>, cdktn: Record<string, TerraformJson>): Difference[] {
  const stacks = [...new Set([...Object.keys(cdktf), ...Object.keys(cdktn)])].sort();
  return stacks.flatMap((stack) =>
    differences(cdktf[stack] as Json | undefined, cdktn[stack] as Json | undefined).map(({ path, a, b }) => ({
      stack,
      path,
      cdktf: a,
      cdktn: b,
    })),
  );
}

const formatPath = (path: readonly (string | number)[]) =>
  path
    .map((key, i) => (typeof key === "number" ? `[${key}]` : /^[\w/-]+$/.test(key) ? `${i ? "." : ""}${key}` : `[${JSON.stringify(key)}]`))
    .join("");
const formatValue = (value: Json | undefined) => {
  if (value === undefined) return "(absent)";
  const text = JSON.stringify(value);
  return text.length > 200 ? `${text.slice(0, 200)}...` : text;
};

/** The construct a difference belongs to, from the `//` metadata of the resource or data source it is in. */
function constructOf({ stack, path }: Difference, stacks: Record<string, TerraformJson>[]): string | undefined {
  const [section, type, name] = path;
  if ((section !== "resource" && section !== "data") || typeof type !== "string" || typeof name !== "string") return undefined;
  for (const json of stacks) {
    const block = json[stack]?.[section]?.[type]?.[name] as { "//"?: { metadata?: { path?: string } } } | undefined;
    if (block?.["//"]?.metadata?.path) return block["//"].metadata.path;
  }
  return undefined;
}

/** What `npm run terrain:compare` prints: the expected differences, then every unexpected one with both values. */
export function renderComparison(
  cdktf: Record<string, TerraformJson>,
  cdktn: Record<string, TerraformJson>,
): { text: string; ok: boolean } {
  const found = compareStacks(cdktf, cdktn);
  const line = (difference: Difference) => {
    const construct = constructOf(difference, [cdktf, cdktn]);
    const where = `${difference.stack}: ${formatPath(difference.path) || "(the whole stack)"}${construct ? ` (${construct})` : ""}`;
    return `  ${where}\n    cdktf: ${formatValue(difference.cdktf)}\n    cdktn: ${formatValue(difference.cdktn)}`;
  };
  const expected = found.filter(isExpected);
  const unexpected = found.filter((difference) => !isExpected(difference));
  const stacks = [...new Set([...Object.keys(cdktf), ...Object.keys(cdktn)])].sort().join(", ");
  const lines = [`Compared the stacks ${stacks}: ${expected.length} expected differences (provider pins, library version).`];
  if (unexpected.length > 0) {
    lines.push(`${unexpected.length} unexpected differences: CDK Terrain would change what Terraform applies.`, ...unexpected.map(line));
  } else {
    // The expected ones are the same in every stack: one line each, naming the stacks.
    const grouped = new Map<string, string[]>();
    for (const difference of expected) {
      const key = `${formatPath(difference.path)}: ${formatValue(difference.cdktf)} -> ${formatValue(difference.cdktn)}`;
      grouped.set(key, [...(grouped.get(key) ?? []), difference.stack]);
    }
    lines.push(
      "No other difference: the same infrastructure.",
      ...[...grouped].map(([change, inStacks]) => `  ${change} (${inStacks.join(", ")})`),
    );
  }
  return { text: lines.join("\n"), ok: unexpected.length === 0 };
}

runCli(module, (args) => {
  if (args.length !== 2)
    throw new Error("npm run terrain:compare -- CDKTF_STACKS CDKTN_STACKS (two directories of synthesized stacks, as cdktf.out/stacks)");
  const { text, ok } = renderComparison(readSynthesizedStacks(args[0]), readSynthesizedStacks(args[1]));
  console.log(text);
  return ok ? 0 : 1;
});
