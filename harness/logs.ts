/** Sends the functions' log lines (console.*) into `lines` instead of the terminal: a green run prints nothing, and tests can read them. */
export function captureLogLines(lines: string[]): void {
  for (const method of ["debug", "info", "warn", "error"] as const) {
    jest.spyOn(console, method).mockImplementation((...args: unknown[]) => void lines.push(String(args[0])));
  }
}
