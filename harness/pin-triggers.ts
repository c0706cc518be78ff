/**
 * What pins a client session of RDS Proxy for MySQL to one database connection for the rest of the
 * session ("Avoiding pinning an RDS Proxy"), judged from the commands a client sends, as the front
 * sees them in plaintext after TLS. Conservative where the proxy is lenient: every SET counts.
 */
import { Command } from "./mysql-protocol";

/** RDS Proxy pins at a statement with text longer than 16 KB. */
export const PINNING_STATEMENT_BYTES = 16 * 1024;

export type PinTrigger =
  | "prepared statement"
  | "statement over 16 KB"
  | "SET"
  | "temporary table"
  | "LOCK TABLES"
  | "GET_LOCK"
  | "executable comment"
  /** A command the front does not multiplex (COM_INIT_DB, COM_CHANGE_USER, ...): the session keeps its connection. */
  | "session command";

export interface Pin {
  trigger: PinTrigger;
  /** The start of the statement, or the command's name. */
  statement: string;
}

// String literals and quoted identifiers, whose text is data: a value that reads "GET_LOCK(" pins nothing.
const QUOTED = /'(?:[^'\\]|\\[\s\S]|'')*'|"(?:[^"\\]|\\[\s\S]|"")*"|`(?:[^`]|``)*`/g;
const COMMENTS = /\/\*[\s\S]*?\*\/|(?:--\s|#)[^\n]*/g;
const STATEMENT_RULES: [PinTrigger, RegExp][] = [
  ["prepared statement", /^\s*PREPARE\s/i],
  ["SET", /^\s*SET\s/i],
  ["temporary table", /^\s*CREATE\s+TEMPORARY\s+TABLE\b/i],
  ["LOCK TABLES", /^\s*LOCK\s+TABLES?\b/i],
  ["GET_LOCK", /\bGET_LOCK\s*\(/i],
];

/** The triggers in one SQL text (one or more statements). */
export function statementTriggers(sql: string, bytes: number): PinTrigger[] {
  const triggers = new Set<PinTrigger>();
  if (bytes > PINNING_STATEMENT_BYTES) triggers.add("statement over 16 KB");
  const code = sql.replace(QUOTED, "''");
  if (code.includes("/*!")) triggers.add("executable comment");
  for (const statement of code.replace(COMMENTS, " ").split(";")) {
    for (const [trigger, rule] of STATEMENT_RULES) if (rule.test(statement)) triggers.add(trigger);
  }
  return [...triggers];
}

/** Commands a multiplexing front can run on whichever server connection it borrows. */
const MULTIPLEXABLE = new Set<number>([Command.QUERY, Command.PING, Command.QUIT]);
const PREPARED_STATEMENT_COMMANDS = new Set<number>([
  Command.STMT_EXECUTE,
  Command.STMT_SEND_LONG_DATA,
  Command.STMT_CLOSE,
  Command.STMT_RESET,
  Command.STMT_FETCH,
]);

/** The pins one command of the command phase causes; `bytes` is its payload length, continuation packets included. */
export function commandPins(payload: Buffer, bytes: number): Pin[] {
  const command = payload[0];
  if (command === Command.STMT_PREPARE) return [{ trigger: "prepared statement", statement: excerpt(payload) }];
  // Executing, closing or resetting a statement follows its prepare, which pinned already.
  if (PREPARED_STATEMENT_COMMANDS.has(command)) return [];
  if (command === Command.QUERY) {
    const sql = payload.toString("utf8", 1);
    return statementTriggers(sql, bytes - 1).map((trigger) => ({ trigger, statement: excerpt(payload) }));
  }
  if (!MULTIPLEXABLE.has(command)) return [{ trigger: "session command", statement: `command 0x${command.toString(16).padStart(2, "0")}` }];
  return [];
}

const excerpt = (payload: Buffer) => payload.toString("utf8", 1, Math.min(payload.length, 81));

/** One client session as the front saw it. */
export interface SessionRecord {
  readonly id: number;
  readonly user: string;
  /** Commands sent in the command phase. */
  commands: number;
  pins: Pin[];
  /** The session ended (either side closed it). */
  closed: boolean;
}

/** Pins kept per session record: a pinned session repeats them. */
const MAX_RECORDED_PINS = 100;

/** Counts one command of the session and records its pins; returns them. */
export function recordCommand(record: SessionRecord, payload: Buffer, bytes: number): Pin[] {
  const pins = commandPins(payload, bytes);
  record.commands++;
  record.pins.push(...pins.slice(0, Math.max(0, MAX_RECORDED_PINS - record.pins.length)));
  return pins;
}
