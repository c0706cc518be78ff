import { TLSSocket } from "node:tls";
import { Signer } from "@aws-sdk/rds-signer";
import mysql, { type Connection, type ConnectionOptions, type ResultSetHeader, type RowDataPacket } from "mysql2/promise";
import { type DatabaseSettings, verifiedTls } from "./database-settings";
import { log } from "./log";
import { TokenCache, type TokenSigner } from "./token";

/** Both stay well below the function timeout (15 s by default), so a dead database fails the invocation cleanly. */
export const CONNECT_TIMEOUT_MS = 4_000;
export const QUERY_TIMEOUT_MS = 5_000;
/**
 * Lambda runs one invocation per execution environment at a time, so one connection serves it. Every
 * environment's connection counts against the server's max_connections until the server reaps it
 * (wait_timeout) after Lambda froze or dropped the environment: a second one would halve capacity.
 */
export const CONNECTIONS_PER_ENVIRONMENT = 1;

/**
 * RDS Proxy pins a client session to its database connection for the rest of the session at a
 * statement longer than this ("Avoiding pinning an RDS Proxy"), as it does at a prepared statement.
 */
export const PROXY_PINNING_STATEMENT_BYTES = 16 * 1024;

/** The values a statement's `?` placeholders take. */
export type Values = (string | number)[];

// Connections that sent a statement the proxy pins on: closed when their unit of work ends, so the pin ends with it.
const pinning = new WeakSet<Connection>();

/**
 * Sends `sql` over the text protocol with its `?` placeholders filled in by mysql2's escaping (values
 * never concatenated by hand): a server-side prepared statement would pin the session on RDS Proxy.
 * A statement longer than PROXY_PINNING_STATEMENT_BYTES marks its connection to be closed after the
 * unit of work (DatabaseClient.run), so the pin ends with it.
 */
export async function query<T extends RowDataPacket[] | ResultSetHeader>(
  connection: Connection,
  sql: string,
  values: Values = [],
): Promise<T> {
  if (longestStatement(sql, values) > PROXY_PINNING_STATEMENT_BYTES) {
    // Without values the statement goes as it is (the ingest formats its own upserts).
    const statement = values.length > 0 ? connection.format(sql, values) : sql;
    if (Buffer.byteLength(statement, "utf8") > PROXY_PINNING_STATEMENT_BYTES) pinning.add(connection);
  }
  // The driver formats the statement itself, as any mysql2 caller's: only a statement that may be long was formatted twice.
  const [result] = await connection.query<T>(sql, values);
  return result;
}

/** An upper bound of the formatted statement's UTF-8 bytes: escaping at most doubles a string, UTF-8 at most triples a UTF-16 unit. */
function longestStatement(sql: string, values: Values): number {
  let bytes = sql.length * 3;
  for (const value of values) bytes += typeof value === "string" ? (value.length * 2 + 2) * 3 : 24;
  return bytes;
}

/** The database could not be reached or did not answer in time: a server-side failure the caller may retry. */
export class DatabaseUnavailableError extends Error {
  /** Lambda's asynchronous retries and on-failure destinations apply; a later attempt may well succeed. */
  readonly retryable = true;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "DatabaseUnavailableError";
  }
}

type MysqlError = Error & { code?: string; errno?: number; fatal?: boolean };
// Not `instanceof Error`: errors from another realm (a test VM context) would lose their code.
const asMysqlError = (error: unknown): MysqlError =>
  typeof error === "object" && error !== null ? (error as MysqlError) : new Error(String(error));

/** Socket-level failures: the server is down, restarting or unreachable. */
const NETWORK_ERRORS = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "PROTOCOL_CONNECTION_LOST",
]);
/** The server is full or going away: an immediate retry would be refused too, so these fail at once. */
const SERVER_BUSY_ERRORS = new Set(["ER_SERVER_SHUTDOWN", "ER_CON_COUNT_ERROR", "ER_TOO_MANY_USER_CONNECTIONS"]);
/** RDS Proxy's answer when no database connection of its pool came free within its borrow timeout. */
export const PROXY_BORROW_TIMEOUT_ERRNO = 9501;
const isBorrowTimeout = (error: MysqlError) => error.errno === PROXY_BORROW_TIMEOUT_ERRNO;
const isServerBusy = (error: MysqlError) => SERVER_BUSY_ERRORS.has(error.code ?? "") || isBorrowTimeout(error);

const isTokenRejected = (error: MysqlError) => error.code === "ER_ACCESS_DENIED_ERROR";
const isWithoutTls = (error: MysqlError) => error.code === "HANDSHAKE_NO_SSL_SUPPORT";
const QUERY_TIMEOUT = "QUERY_TIMEOUT";
const isTimeout = (error: MysqlError) => error.code === QUERY_TIMEOUT || error.code === "ETIMEDOUT";
/** The connection broke or could not be made (restart, idle disconnect): a fresh one may well succeed. */
const isBrokenConnection = (error: MysqlError) =>
  NETWORK_ERRORS.has(error.code ?? "") ||
  (error.fatal === true && !isTimeout(error) && !isTokenRejected(error) && !isWithoutTls(error) && !isServerBusy(error));

/**
 * Bounds a unit of work by QUERY_TIMEOUT_MS with one timer, rather than mysql2's per-query timers
 * (measurably slower on the warm path). On expiry the caller destroys the connection, and the work
 * settles on it unheard.
 */
function withinQueryTimeout<T>(work: Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(Object.assign(new Error(`no answer within ${QUERY_TIMEOUT_MS} ms`), { code: QUERY_TIMEOUT, fatal: true })),
      QUERY_TIMEOUT_MS,
    );
    work.then(
      (result) => {
        clearTimeout(timer);
        resolve(result);
      },
      (error) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/**
 * MySQL access for one execution environment: one connection opened on first use and kept for the
 * environment's life (CONNECTIONS_PER_ENVIRONMENT), authenticated with IAM tokens sent only over
 * verified TLS, replaced and the work retried once when it broke or the token was refused.
 */
export class DatabaseClient {
  readonly tokens: TokenCache;
  private connection: Connection | undefined;
  // Units of work take turns on the one connection, so a transaction never interleaves with other statements.
  private lastTurn: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly settings: DatabaseSettings,
    signer: TokenSigner = new Signer({ hostname: settings.host, port: settings.port, username: settings.user, region: settings.region }),
  ) {
    this.tokens = new TokenCache(signer);
  }

  /** Runs `work` on the environment's connection; throws DatabaseUnavailableError when the server cannot serve it. */
  run<T>(requestId: string, work: (connection: Connection) => Promise<T>): Promise<T> {
    const turn = this.lastTurn.then(() => this.attempt(requestId, work));
    this.lastTurn = turn.catch(() => undefined);
    return turn;
  }

  /** Closes the connection once the units of work already started have ended; the next one opens a new connection. */
  async end(): Promise<void> {
    await this.lastTurn;
    const connection = this.connection;
    this.connection = undefined;
    await connection?.end();
  }

  private async attempt<T>(requestId: string, work: (connection: Connection) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      let connection: Connection | undefined;
      try {
        connection = await this.connected();
        const result = await withinQueryTimeout(work(connection));
        if (pinning.has(connection)) this.discard(connection);
        return result;
      } catch (caught) {
        const error = asMysqlError(caught);
        if (connection && (error.fatal || pinning.has(connection))) this.discard(connection);
        const retryable = isTokenRejected(error) || isBrokenConnection(error);
        if (attempt === 1 && retryable) {
          if (isTokenRejected(error)) this.tokens.invalidate();
          log("warn", "retrying on a fresh connection", { requestId, code: error.code, attempt });
          continue;
        }
        throw this.explain(error);
      }
    }
  }

  private async connected(): Promise<Connection> {
    if (this.connection) return this.connection;
    const connection = await mysql.createConnection(this.connectionOptions());
    // The server closes idle connections (wait_timeout) and restarts: the next unit of work opens a new one.
    // The error listener also keeps such a loss between invocations from being an unhandled 'error' event.
    const forget = () => {
      if (this.connection === connection) this.connection = undefined;
    };
    connection.on("error", forget);
    connection.on("end", forget);
    this.connection = connection;
    return connection;
  }

  private discard(connection: Connection): void {
    if (this.connection === connection) this.connection = undefined;
    connection.destroy();
  }

  private explain(error: MysqlError): Error {
    const where = `MySQL at ${this.settings.host}:${this.settings.port}`;
    if (isTokenRejected(error)) {
      return new DatabaseUnavailableError(
        `${where} refused the IAM token for ${this.settings.user} twice; check the rds-db:connect grant and that the user is IDENTIFIED WITH AWSAuthenticationPlugin`,
        { cause: error },
      );
    }
    if (isWithoutTls(error)) {
      return new Error(`${where} does not offer TLS; the IAM token is never sent without it`, { cause: error });
    }
    if (error.code === QUERY_TIMEOUT) {
      return new DatabaseUnavailableError(`${where} did not answer within ${QUERY_TIMEOUT_MS} ms`, { cause: error });
    }
    if (isBorrowTimeout(error)) {
      return new DatabaseUnavailableError(
        `${where} is busy (error ${error.errno}: ${error.message}): every database connection of the proxy's pool stayed in use; retry later, or give the pool more connections (a larger instance class)`,
        { cause: error },
      );
    }
    if (isServerBusy(error)) {
      return new DatabaseUnavailableError(
        `${where} is busy (${error.code}): it accepts no more connections now; retry later, or put RDS Proxy in front of it (database.proxy)`,
        { cause: error },
      );
    }
    if (isBrokenConnection(error) || isTimeout(error)) {
      return new DatabaseUnavailableError(`${where} is unavailable: ${error.code ?? error.message}`, { cause: error });
    }
    return error;
  }

  private connectionOptions(): ConnectionOptions {
    return {
      host: this.settings.host,
      port: this.settings.port,
      user: this.settings.user,
      database: this.settings.database,
      charset: "utf8mb4",
      // Affected rows then tell an insert (1) from an update (2) or a no-op (0).
      flags: ["-FOUND_ROWS"],
      ssl: verifiedTls(this.settings.ca),
      authPlugins: {
        mysql_clear_password:
          ({ connection }) =>
          () =>
            this.tokenForEncrypted(connection),
      },
      connectTimeout: CONNECT_TIMEOUT_MS,
      enableKeepAlive: true,
      supportBigNumbers: true,
      // No stack captured at every statement (tens of µs on the warm path): explain() says what failed and where.
      trace: false,
    };
  }

  /** The token travels as cleartext inside the MySQL protocol, so it is only ever handed to an encrypted socket. */
  private async tokenForEncrypted(connection: unknown): Promise<Buffer> {
    const stream = (connection as { stream?: unknown }).stream;
    if (!(stream instanceof TLSSocket) || !stream.encrypted) {
      throw new Error("refusing to send the IAM token: the connection is not encrypted with TLS");
    }
    return Buffer.from(`${await this.tokens.get()}\0`);
  }
}
