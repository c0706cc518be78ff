export type Json = { [key: string]: unknown };
export const isObject = (value: unknown): value is Json => typeof value === "object" && value !== null && !Array.isArray(value);

/** `override` over `base`: objects merged key by key, anything else replaced. */
export function mergeJson(base: unknown, override: unknown): unknown {
  if (override === undefined) return base;
  if (!isObject(base) || !isObject(override)) return override;
  const merged: Json = { ...base };
  for (const [key, value] of Object.entries(override)) merged[key] = mergeJson(base[key], value);
  return merged;
}
