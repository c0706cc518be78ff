type Level = "debug" | "info" | "warn" | "error";

/** Fields a log line may carry. Never put tokens, passwords or item data here. */
export interface LogFields {
  requestId?: string;
  op?: string;
  statusCode?: number;
  durationMs?: number;
  field?: string;
  error?: string;
  code?: string;
  attempt?: number;
  [key: string]: string | number | boolean | undefined;
}

const writers: Record<Level, (line: string) => void> = {
  debug: (line) => console.debug(line),
  info: (line) => console.info(line),
  warn: (line) => console.warn(line),
  error: (line) => console.error(line),
};

/** One JSON object per line, so CloudWatch Logs Insights can filter on every field. */
export function log(level: Level, message: string, fields: LogFields = {}): void {
  writers[level](JSON.stringify({ level, message, ...fields }));
}
