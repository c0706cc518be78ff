/** Removes `name VALUE` from args and returns VALUE (undefined when absent). */
export function takeOption(args: string[], name: string): string | undefined {
  const index = args.indexOf(name);
  if (index < 0) return undefined;
  const [, value] = args.splice(index, 2);
  if (!value) throw new Error(`${name} needs a value`);
  return value;
}

/** Removes the flag `name` from args and tells whether it was there. */
export function takeFlag(args: string[], name: string): boolean {
  const index = args.indexOf(name);
  if (index >= 0) args.splice(index, 1);
  return index >= 0;
}
