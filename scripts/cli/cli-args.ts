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

/**
 * Runs a script's main when that script was started itself (not imported by a test): its result is the
 * exit code (anything else is 0), an error prints its message and exits 1. Sets exitCode rather than exiting, so piped output is never cut.
 */
export function runCli(entry: NodeModule, main: (args: string[]) => unknown): void {
  if (require.main !== entry) return;
  Promise.resolve()
    .then(() => main(process.argv.slice(2)))
    .then(
      (code) => {
        process.exitCode = typeof code === "number" ? code : 0;
      },
      (error: Error) => {
        console.error(error.message);
        process.exitCode = 1;
      },
    );
}
