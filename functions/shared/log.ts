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

const writers: Record<Level, (line: string | object) => void> = {
  debug: (line) => console.debug(line),
  info: (line) => console.info(line),
  warn: (line) => console.warn(line),
  error: (line) => console.error(line),
};

/**
 * In Lambda's JSON log format (the functions' logging config) the runtime's console wraps each call in
 * its own record, `{ timestamp, level, requestId, message }`: an object there stays an object, whose
 * fields Logs Insights discovers (`message.op`), where a JSON string would be one opaque text.
 */
const runtimeWritesJson = process.env.AWS_LAMBDA_LOG_FORMAT?.toUpperCase() === "JSON";

/** One JSON object per line, so CloudWatch Logs Insights can filter on every field. */
export function log(level: Level, message: string, fields: LogFields = {}): void {
  const record = { level, message, ...fields };
  writers[level](runtimeWritesJson ? record : JSON.stringify(record));
}
