/**
 * A real MariaDB that accepts ONLY valid RDS IAM auth tokens, run by the current user (root or not)
 * with no system configuration:
 *
 *   client --TLS--> IamFront on 127.0.0.1:<port>    (iam-front.ts: mysql_clear_password, token verified by iam-token.ts)
 *                     --TLS--> mariadbd on 127.0.0.1:<another port>, temp datadir, CA made at start
 *
 * The IAM users exist in MariaDB with a random password that only the front knows, so nothing but a
 * token the front accepted gets a client in. Needs mariadbd, mariadb-install-db and openssl
 * (prerequisites.ts says how to get them).
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { createSecureContext } from "node:tls";
import * as mysql from "mysql2/promise";
import { SERVICE_FUNCTIONS } from "../src/config/functions";
import type { AppUserAuthentication } from "../functions/migrate/bootstrap";
import { IamFront } from "./iam-front";
import type { MultiplexOptions } from "./multiplexer";
import type { SessionRecord } from "./pin-triggers";
import { type TrustedCredentials, verifyToken } from "./iam-token";
import { makeCertificates } from "./certificates";
import { type Tools, requireTools } from "./prerequisites";

export interface HarnessOptions {
  /** default "us-east-1" */
  region?: string;
  /** default "app"; created at start */
  database?: string;
  /** default the items API's user (src/config/functions.ts); may be empty (the bootstrap creates users); each granted SELECT, INSERT, UPDATE, DELETE ON <database>.* */
  iamUsers?: string[];
  /**
   * default true. false serves WITHOUT TLS (no ssl at all, and the IAM users are created without
   * `REQUIRE SSL`), so a client that leaks the token in cleartext actually gets in and is caught.
   */
  tls?: boolean;
  /** default true: the credentials carry a session token, as a Lambda's do (tokens of about 1 KB). */
  sessionCredentials?: boolean;
  /** default ["127.0.0.1", "localhost"]: the names the server certificate is valid for. */
  certificateNames?: string[];
  /** default 200: the server's max_connections (MariaDB admits one more for root). */
  maxConnections?: number;
  /** default 28800 (MySQL's 8 hours): seconds after which the server closes an idle connection. */
  waitTimeoutSeconds?: number;
  /**
   * default undefined: the direct path, one server connection per client session. Set, the front
   * multiplexes client sessions onto a pool of `connections` server connections between transactions,
   * as RDS Proxy does, and a command waits at most `borrowTimeoutMs` for one (multiplexer.ts).
   */
  proxy?: MultiplexOptions;
  /**
   * default 8: InnoDB's buffer pool in MiB (innodb_buffer_pool_size), with a redo log of half of it
   * (innodb_log_file_size, at least 4). The tests' few rows fit in 8; a bench of hundreds of thousands of
   * rows needs a server sized like the RDS instance it stands for (RDS gives the pool 3/4 of its memory),
   * or it measures disk reads and log flushes a real instance does not make.
   */
  bufferPoolMb?: number;
}

/** One login attempt as the front judged it (never contains the token). */
export interface AuthAttempt {
  time: string;
  user: string;
  result: "accepted" | "rejected";
  /** "ok" or why it was rejected, e.g. "signature-mismatch", "expired", "dbuser-mismatch", "host-port-mismatch" */
  reason: string;
}

export interface Harness {
  host: string;
  port: number;
  caPem: string;
  region: string;
  database: string;
  credentials: TrustedCredentials;
  /** Its private directory (data, socket, server log, certificates), removed by destroy(). */
  directory: string;
  /** The running server's process id (its pid file), e.g. to give it a CPU of its own. */
  serverPid(): number;
  /** What the handler reads: AWS credentials and region, DB_HOST/PORT/NAME/USER, and DB_TLS_CA_FILE when TLS is on. */
  env: Record<string, string>;
  admin(sql: string, params?: unknown[]): Promise<any>;
  /** A root connection over the unix socket (multiple statements allowed), e.g. for the migration runner; end it yourself. */
  adminConnection(): Promise<mysql.Connection>;
  /** How users the bootstrap creates must be identified for the front to log them in. */
  appUserAuthentication: AppUserAuthentication;
  stop(): Promise<void>;
  /** Freezes the server: connections stay open but nothing answers, like a hung database. */
  pause(): void;
  /** Lets a paused server answer again. */
  resume(): void;
  start(): Promise<void>;
  restart(): Promise<void>;
  destroy(): Promise<void>;
  /** Every login attempt since the harness started (oldest first). */
  authAttempts(): Promise<AuthAttempt[]>;
  /** Every client session the front served since the harness started (oldest first), with what would pin it on RDS Proxy. */
  sessions(): SessionRecord[];
  /** With `proxy`: the most server connections its pool had open at once, since the last start. */
  peakServerConnections(): number | undefined;
  /** The session with this id once the front saw it end (a client's close reaches it within moments); throws after 5 s. */
  closedSession(id: number): Promise<SessionRecord>;
}

const HOST = "127.0.0.1";
const NAME = /^[A-Za-z0-9_]{1,64}$/;

// Its errors carry the command and what it printed on stderr.
const run = promisify(execFile);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, HOST, () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function randomAccessKeyId(): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  return `ASIA${[...randomBytes(16)].map((b) => alphabet[b % alphabet.length]).join("")}`;
}

/** Credentials shaped like a Lambda's: an STS session token of several hundred bytes makes tokens of about 1 KB. */
function testCredentials(session: boolean): TrustedCredentials {
  return {
    accessKeyId: randomAccessKeyId(),
    secretAccessKey: randomBytes(30).toString("base64"),
    ...(session ? { sessionToken: `IQoJb3JpZ2luX2VjE${randomBytes(600).toString("base64")}` } : {}),
  };
}

function tail(file: string, lines = 30): string {
  try {
    return fs.readFileSync(file, "utf8").split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

// mariadbd and mariadb-install-db refuse to run as root unless told to.
const asRoot = process.getuid?.() === 0 ? ["--user=root"] : [];

/**
 * A new server's data directory, copied from one made by mariadb-install-db once per user and server
 * build and kept in the temp directory (it takes seconds; a copy takes milliseconds).
 */
async function copyFreshDataDir(tools: Tools, dataDir: string): Promise<void> {
  const build = fs.statSync(tools.mariadbd);
  const template = path.join(os.tmpdir(), `lambda-rds-iam-mariadb-${process.getuid?.() ?? 0}-${build.size}-${Math.round(build.mtimeMs)}`);
  if (!fs.existsSync(template)) {
    const staging = fs.mkdtempSync(`${template}-staging-`);
    // A temp directory of its own, not the shared TMPDIR: a server removes the #sql temp files it finds in its tmpdir,
    // and on a fresh machine (two workers making the template at once) a bootstrap failed with its own deleted under it.
    fs.mkdirSync(path.join(staging, "tmp"));
    try {
      await run(tools.installDb, [
        "--no-defaults",
        `--datadir=${path.join(staging, "data")}`,
        `--tmpdir=${path.join(staging, "tmp")}`,
        ...asRoot,
        "--skip-test-db",
        // root without a password, reachable only through the socket in each server's private directory
        "--auth-root-authentication-method=normal",
        "--innodb-log-file-size=4M",
        "--innodb-buffer-pool-size=8M",
      ]);
      // Atomic: a concurrent worker that made it first wins, and this copy is dropped.
      fs.renameSync(staging, template);
    } catch (error) {
      fs.rmSync(staging, { recursive: true, force: true });
      if (!fs.existsSync(template)) throw error;
    }
  }
  fs.cpSync(path.join(template, "data"), dataDir, { recursive: true });
}

/** Kills the server and removes its directory if this process dies without destroy() (SIGKILL included). */
function startWatchdog(pidFile: string, dir: string): ChildProcess {
  const script = `
while kill -0 "$1" 2>/dev/null; do sleep 1; done
pid=$(cat "$2" 2>/dev/null) && [ -n "$pid" ] && tr '\\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$3" && kill -9 "$pid"
sleep 0.5; rm -rf "$3"`;
  const watchdog = spawn("/bin/sh", ["-c", script, "rds-iam-harness-watchdog", String(process.pid), pidFile, dir], {
    detached: true,
    stdio: "ignore",
  });
  watchdog.unref();
  return watchdog;
}

export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const tools = requireTools();
  const region = opts.region ?? "us-east-1";
  const database = opts.database ?? "app";
  const iamUsers = opts.iamUsers ?? [SERVICE_FUNCTIONS.api.database.user];
  const tls = opts.tls ?? true;
  const bufferPoolMb = opts.bufferPoolMb ?? 8;
  if (!NAME.test(database)) throw new Error(`invalid database name ${JSON.stringify(database)}`);
  for (const u of iamUsers) if (!/^[A-Za-z0-9_]{1,80}$/.test(u)) throw new Error(`invalid IAM user name ${JSON.stringify(u)}`);
  if (!/^[a-z0-9-]{1,40}$/.test(region)) throw new Error(`invalid region ${JSON.stringify(region)}`);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rds-iam-harness-"));
  const dataDir = path.join(dir, "data");
  const socketPath = path.join(dir, "mariadb.sock");
  const pidFile = path.join(dir, "mariadbd.pid");
  const errLog = path.join(dir, "mariadbd.err");
  const watchdog = startWatchdog(pidFile, dir);
  const credentials = testCredentials(opts.sessionCredentials ?? true);
  const backendPassword = randomBytes(24).toString("base64url");
  const attempts: AuthAttempt[] = [];

  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let front: IamFront | undefined;
  // Sessions of the fronts before the last restart.
  const earlierSessions: SessionRecord[] = [];
  let destroyed = false;

  try {
    fs.mkdirSync(path.join(dir, "tmp"));
    const [tlsFiles] = await Promise.all([
      makeCertificates(tools.openssl, dir, opts.certificateNames ?? [HOST, "localhost"]),
      copyFreshDataDir(tools, dataDir),
    ]);
    const caPem = fs.readFileSync(tlsFiles.ca, "utf8");
    // The front binds first (any free port, kept across restarts); mariadbd's port is probed, so a lost race is retried.
    let port = 0;
    let backendPort = 0;
    const serverArgs = () => [
      "--no-defaults",
      `--datadir=${dataDir}`,
      ...asRoot,
      `--bind-address=${HOST}`,
      `--port=${backendPort}`,
      `--socket=${socketPath}`,
      `--pid-file=${pidFile}`,
      `--log-error=${errLog}`,
      `--tmpdir=${path.join(dir, "tmp")}`,
      "--skip-name-resolve",
      "--skip-log-bin",
      "--performance-schema=OFF",
      `--innodb-buffer-pool-size=${bufferPoolMb}M`,
      `--innodb-log-file-size=${Math.max(4, Math.floor(bufferPoolMb / 2))}M`,
      "--innodb-use-native-aio=0",
      "--innodb-doublewrite=0",
      "--innodb-flush-log-at-trx-commit=2",
      "--key-buffer-size=1M",
      `--max-connections=${opts.maxConnections ?? 200}`,
      `--wait-timeout=${opts.waitTimeoutSeconds ?? 28800}`,
      "--character-set-server=utf8mb4",
      "--collation-server=utf8mb4_general_ci",
      ...(tls
        ? [`--ssl-ca=${tlsFiles.ca}`, `--ssl-cert=${tlsFiles.cert}`, `--ssl-key=${tlsFiles.key}`, "--tls-version=TLSv1.2,TLSv1.3"]
        : ["--skip-ssl"]),
    ];
    const newFront = () =>
      new IamFront({
        host: HOST,
        port,
        backend: { host: HOST, port: backendPort },
        backendPassword,
        tls: tls
          ? {
              context: createSecureContext({
                cert: fs.readFileSync(tlsFiles.cert),
                key: fs.readFileSync(tlsFiles.key),
                minVersion: "TLSv1.2",
              }),
              ca: caPem,
            }
          : undefined,
        multiplex: opts.proxy,
        verify: (token, user) => verifyToken(token, user, { host: HOST, port, region, credentials }),
        onAttempt: (user, { accepted, reason }) =>
          attempts.push({ time: new Date().toISOString(), user: user.slice(0, 80), result: accepted ? "accepted" : "rejected", reason }),
      });

    const adminConnection = async (): Promise<mysql.Connection> => {
      // A server full of app connections (a storm test) frees slots within moments; root waits for one.
      for (const deadline = Date.now() + 10_000; ; await new Promise((r) => setTimeout(r, 100))) {
        try {
          return await mysql.createConnection({ socketPath, user: "root", multipleStatements: true, connectTimeout: 10_000 });
        } catch (error) {
          if ((error as { code?: string }).code !== "ER_CON_COUNT_ERROR" || Date.now() > deadline) throw error;
        }
      }
    };
    const admin = async (sql: string, params?: unknown[]): Promise<any> => {
      if (!child) throw new Error("MariaDB harness: admin() called while the server is stopped");
      const conn = await adminConnection();
      try {
        const [rows] = await conn.query(sql, params);
        return rows;
      } finally {
        await conn.end().catch(() => undefined);
      }
    };

    const startServer = async (): Promise<void> => {
      const logOffset = fs.existsSync(errLog) ? fs.statSync(errLog).size : 0;
      const c = spawn(tools.mariadbd, serverArgs(), { stdio: "ignore", cwd: dir });
      child = c;
      let exitInfo: string | undefined;
      exited = new Promise<void>((resolve) =>
        c.once("exit", (code, signal) => {
          exitInfo = `code=${code} signal=${signal}`;
          if (child === c) child = undefined;
          resolve();
        }),
      );
      c.once("error", (e) => (exitInfo = `spawn error: ${e.message}`));
      const deadline = Date.now() + 30_000;
      for (;;) {
        if (exitInfo) throw new Error(`MariaDB harness: mariadbd exited during startup (${exitInfo}). Log:\n${tail(errLog)}`);
        const log = fs.existsSync(errLog) ? fs.readFileSync(errLog).subarray(logOffset).toString("utf8") : "";
        if (log.includes("ready for connections")) break;
        if (Date.now() > deadline) {
          c.kill("SIGKILL");
          throw new Error(`MariaDB harness: mariadbd did not become ready within 30s. Log:\n${tail(errLog)}`);
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      c.unref();
    };

    const start = async (): Promise<void> => {
      if (destroyed) throw new Error("MariaDB harness: already destroyed");
      if (child) return;
      for (let attempt = 1; ; attempt++) {
        backendPort ||= await freePort();
        try {
          await startServer();
          break;
        } catch (error) {
          if (attempt >= 5 || !/Address already in use|Bind on TCP\/IP port/i.test((error as Error).message)) throw error;
          backendPort = 0;
        }
      }
      front = newFront();
      await front.listen();
      port = front.port;
    };

    const stop = async (): Promise<void> => {
      await front?.close();
      // A stopped front dropped every session.
      earlierSessions.push(...(front?.sessions() ?? []).map((session) => ({ ...session, closed: true })));
      front = undefined;
      const c = child;
      if (!c) return;
      c.ref();
      c.kill("SIGTERM");
      const timer = setTimeout(() => c.kill("SIGKILL"), 20_000);
      try {
        await exited;
      } finally {
        clearTimeout(timer);
      }
    };

    const destroy = async (): Promise<void> => {
      if (destroyed) return;
      await stop();
      destroyed = true;
      try {
        if (watchdog.pid) process.kill(-watchdog.pid, "SIGKILL");
      } catch {
        // already gone
      }
      fs.rmSync(dir, { recursive: true, force: true });
    };

    await start();

    const requireSsl = tls ? " REQUIRE SSL" : "";
    // mariadb-install-db also made password-less root accounts for TCP; root stays on the private socket only.
    let setup =
      "DELETE FROM mysql.global_priv WHERE User = 'root' AND Host <> 'localhost'; FLUSH PRIVILEGES; CREATE DATABASE ?? CHARACTER SET utf8mb4;";
    const params: unknown[] = [database];
    for (const u of iamUsers) {
      setup += ` CREATE USER ?@'%' IDENTIFIED BY ?${requireSsl}; GRANT SELECT, INSERT, UPDATE, DELETE ON ??.* TO ?@'%';`;
      params.push(u, backendPassword, database, u);
    }
    await admin(setup, params);

    return {
      host: HOST,
      port,
      caPem,
      region,
      database,
      credentials,
      directory: dir,
      serverPid: () => Number(fs.readFileSync(pidFile, "utf8").trim()),
      env: {
        AWS_ACCESS_KEY_ID: credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
        ...(credentials.sessionToken ? { AWS_SESSION_TOKEN: credentials.sessionToken } : {}),
        AWS_REGION: region,
        DB_HOST: HOST,
        DB_PORT: String(port),
        DB_NAME: database,
        ...(iamUsers.length > 0 ? { DB_USER: iamUsers[0] } : {}),
        // The handler trusts this CA instead of the Amazon RDS bundle.
        ...(tls ? { DB_TLS_CA_FILE: tlsFiles.ca } : {}),
      },
      admin,
      adminConnection,
      appUserAuthentication: { kind: "password", password: backendPassword },
      pause: () => front?.pause(),
      resume: () => front?.resume(),
      stop,
      start,
      restart: async () => {
        await stop();
        await start();
      },
      destroy,
      authAttempts: async () => [...attempts],
      sessions: () => [...earlierSessions, ...(front?.sessions() ?? [])],
      peakServerConnections: () => front?.peakServerConnections,
      closedSession: async (id) => {
        for (const deadline = Date.now() + 5_000; ; await new Promise((r) => setTimeout(r, 20))) {
          const session = [...earlierSessions, ...(front?.sessions() ?? [])].find((candidate) => candidate.id === id);
          if (session?.closed) return session;
          if (Date.now() > deadline) throw new Error(`session ${id} is still open`);
        }
      },
    };
  } catch (err) {
    // startup failed: leave nothing behind
    await front?.close();
    child?.kill("SIGKILL");
    await exited;
    try {
      if (watchdog.pid) process.kill(-watchdog.pid, "SIGKILL");
    } catch {
      // already gone
    }
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/** Points a handler in this process at the harness exactly as Lambda's environment would: no profile, no session token or CA file of the caller's. */
export function useHarnessEnvironment(harness: Harness): void {
  for (const name of ["AWS_SESSION_TOKEN", "AWS_PROFILE", "DB_TLS_CA_FILE"]) delete process.env[name];
  Object.assign(process.env, harness.env);
}
