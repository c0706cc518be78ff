import type { PurgeSummary } from "./purge";

/** The purge's one summary log line per run: its message, and the field a metric filter counts finished passes by. */
export const PURGE_SUMMARY_LINE = {
  message: "purge run",
  finishedField: "passesFinished" satisfies keyof PurgeSummary,
} as const;
