/**
 * Real MariaDB test server that accepts ONLY valid RDS IAM auth tokens.
 *
 *   mariadbd (temp datadir, 127.0.0.1:<free port>, TLS with a CA generated at test time)
 *     -> auth_pam (cleartext: the client sends the token via mysql_clear_password)
 *       -> /etc/pam.d/<unique service>: pam_exec.so expose_authtok
 *         -> node verify-token.cjs <config.json>   (recomputes the SigV4 signature)
 *
 * Needs root (writes /etc/pam.d, runs mariadbd --user=root) and the Debian
 * mariadb-server package. Fails loudly if either is missing; never skips.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import * as mysql from "mysql2/promise";

export interface HarnessOptions {
  /** default "us-east-1" */
  region?: string;
  /** default "app"; created at start */
  database?: string;
  /** default ["app_user"]; may be empty (the bootstrap creates users); each IDENTIFIED VIA pam REQUIRE SSL, granted SELECT, INSERT, UPDATE, DELETE ON <database>.* */
  iamUsers?: string[];
  /**
   * default true. false starts a server WITHOUT TLS (no ssl at all, no
   * require_secure_transport, and the IAM users are created WITHOUT `REQUIRE SSL`,
   * so a client that leaks the token in cleartext actually gets in and is caught).
   */
  tls?: boolean;
}

/** One run of the token verifier, as logged by verify-token.cjs (never contains the token). */
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
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** What the handler reads: AWS credentials and region, DB_HOST/PORT/NAME/USER, and DB_TLS_CA_FILE when TLS is on. */
  env: Record<string, string>;
  admin(sql: string, params?: unknown[]): Promise<any>;
  /** A root connection over the unix socket (multiple statements allowed), e.g. for the migration runner; end it yourself. */
  adminConnection(): Promise<mysql.Connection>;
  /** The PAM service IAM users must be IDENTIFIED VIA to log in with tokens. */
  pamService: string;
  stop(): Promise<void>;
  /** Freezes the server (SIGSTOP): connections stay open but nothing answers, like a hung database. */
  pause(): void;
  /** Lets a paused server run again (SIGCONT). */
  resume(): void;
  start(): Promise<void>;
  restart(): Promise<void>;
  destroy(): Promise<void>;
  /** Every time the verifier ran since the harness started (oldest first). */
  authAttempts(): Promise<AuthAttempt[]>;
}

const MARIADBD_CANDIDATES = ["/usr/sbin/mariadbd", "/usr/bin/mariadbd", "/usr/local/sbin/mariadbd", "/usr/local/bin/mariadbd"];
const INSTALL_DB_CANDIDATES = ["/usr/bin/mariadb-install-db", "/usr/local/bin/mariadb-install-db", "/usr/scripts/mariadb-install-db"];
const PAM_EXEC_CANDIDATES = [
  "/usr/lib/x86_64-linux-gnu/security/pam_exec.so",
  "/usr/lib/aarch64-linux-gnu/security/pam_exec.so",
  "/lib/x86_64-linux-gnu/security/pam_exec.so",
  "/lib/aarch64-linux-gnu/security/pam_exec.so",
  "/usr/lib64/security/pam_exec.so",
  "/lib/security/pam_exec.so",
  "/usr/lib/security/pam_exec.so",
];
const INSTALL_HINT = "install mariadb-server: apt-get install -y mariadb-server";
const VERIFIER = path.join(__dirname, "verify-token.cjs");
const PAM_DIR = "/etc/pam.d";
const NAME_RE = /^[A-Za-z0-9_]{1,64}$/;

function findFirst(candidates: string[], exe: string): string | undefined {
  for (const c of candidates) if (fs.existsSync(c)) return c;
  for (const dir of (process.env.PATH ?? "").split(":")) {
    if (!dir) continue;
    const p = path.join(dir, exe);
    if (fs.existsSync(p)) return p;
  }
  return undefined;
}

function preflight(): { mariadbd: string; installDb: string } {
  if (process.platform !== "linux") {
    throw new Error(`MariaDB IAM test harness: needs Linux (PAM + mariadbd), got ${process.platform}.`);
  }
  if (typeof process.getuid !== "function" || process.getuid() !== 0) {
    throw new Error(
      "MariaDB IAM test harness: must run as root (it writes a PAM service to /etc/pam.d and runs mariadbd --user=root). " +
        "Run the tests as root, e.g. in the dev container / CI image.",
    );
  }
  const mariadbd = findFirst(MARIADBD_CANDIDATES, "mariadbd");
  const installDb = findFirst(INSTALL_DB_CANDIDATES, "mariadb-install-db");
  if (!mariadbd || !installDb) {
    throw new Error(`MariaDB IAM test harness: mariadbd / mariadb-install-db not found; ${INSTALL_HINT}`);
  }
  if (!PAM_EXEC_CANDIDATES.some((p) => fs.existsSync(p))) {
    throw new Error(`MariaDB IAM test harness: pam_exec.so not found; install libpam-modules (${INSTALL_HINT} pulls it in).`);
  }
  if (!findFirst([], "openssl") && !fs.existsSync("/usr/bin/openssl")) {
    throw new Error("MariaDB IAM test harness: openssl CLI not found; install it: apt-get install -y openssl");
  }
  return { mariadbd, installDb };
}

function run(cmd: string, args: string[], opts: { cwd?: string } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd: opts.cwd, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) {
        reject(new Error(`${cmd} ${args.join(" ")} failed: ${err.message}\n${stdout}\n${stderr}`));
      } else {
        resolve(stdout);
      }
    });
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => (port ? resolve(port) : reject(new Error("could not allocate a port"))));
    });
  });
}

async function generateTls(dir: string): Promise<{ ca: string; cert: string; key: string }> {
  const ca = path.join(dir, "ca.pem");
  const caKey = path.join(dir, "ca-key.pem");
  const cert = path.join(dir, "server-cert.pem");
  const key = path.join(dir, "server-key.pem");
  const csr = path.join(dir, "server.csr");
  const ext = path.join(dir, "server-ext.cnf");
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await run("openssl", [
    "req", "-x509", ...ec, "-keyout", caKey, "-out", ca, "-days", "2", "-sha256",
    "-subj", `/CN=rds-iam-harness test CA ${crypto.randomBytes(4).toString("hex")}`,
    "-addext", "basicConstraints=critical,CA:TRUE",
    "-addext", "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  fs.writeFileSync(
    ext,
    [
      "basicConstraints=critical,CA:FALSE",
      "keyUsage=critical,digitalSignature,keyEncipherment",
      "extendedKeyUsage=serverAuth",
      "subjectAltName=IP:127.0.0.1,DNS:localhost",
      "",
    ].join("\n"),
  );
  await run("openssl", ["req", "-new", ...ec, "-keyout", key, "-out", csr, "-subj", "/CN=localhost"]);
  await run("openssl", [
    "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", caKey, "-set_serial", `0x${crypto.randomBytes(8).toString("hex")}`,
    "-days", "2", "-sha256", "-extfile", ext, "-out", cert,
  ]);
  return { ca, cert, key };
}

// ---------------------------------------------------------------------------
// Crash safety: kill every mariadbd we started if this process exits without destroy().
// (A detached watchdog per harness additionally covers SIGKILL of this process.)
const live = new Set<{ child: ChildProcess | undefined; pamFile: string; dir: string }>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const h of live) {
      try {
        h.child?.kill("SIGKILL");
      } catch {
        // ignore
      }
      try {
        fs.rmSync(h.pamFile, { force: true });
      } catch {
        // ignore
      }
      try {
        fs.rmSync(h.dir, { recursive: true, force: true });
      } catch {
        // ignore
      }
    }
  });
}

const WATCHDOG_SCRIPT = `
parent="$1"; pidfile="$2"; dir="$3"; pam="$4"
while kill -0 "$parent" 2>/dev/null; do sleep 1; done
if [ -f "$pidfile" ]; then
  pid=$(cat "$pidfile" 2>/dev/null)
  if [ -n "$pid" ] && tr '\\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$dir"; then
    kill -9 "$pid" 2>/dev/null
    i=0; while [ -d "/proc/$pid" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
  fi
fi
rm -f "$pam"
rm -rf "$dir"
`;

function startWatchdog(pidFile: string, dir: string, pamFile: string): ChildProcess {
  const wd = spawn("/bin/sh", ["-c", WATCHDOG_SCRIPT, "rds-iam-harness-watchdog", String(process.pid), pidFile, dir, pamFile], {
    detached: true,
    stdio: "ignore",
  });
  wd.unref();
  return wd;
}

// ---------------------------------------------------------------------------

function randomAccessKeyId(): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  const bytes = crypto.randomBytes(16);
  let s = "AKIA";
  for (const b of bytes) s += alphabet[b % alphabet.length];
  return s;
}

function tail(file: string, lines = 30): string {
  try {
    return fs.readFileSync(file, "utf8").split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const { mariadbd, installDb } = preflight();
  const region = opts.region ?? "us-east-1";
  const database = opts.database ?? "app";
  const iamUsers = opts.iamUsers ?? ["app_user"];
  const tls = opts.tls ?? true;
  if (!NAME_RE.test(database)) throw new Error(`invalid database name ${JSON.stringify(database)}`);
  for (const u of iamUsers) {
    if (!/^[A-Za-z0-9_]{1,80}$/.test(u)) throw new Error(`invalid IAM user name ${JSON.stringify(u)}`);
  }
  if (!/^[a-z0-9-]{1,40}$/.test(region)) throw new Error(`invalid region ${JSON.stringify(region)}`);

  const host = "127.0.0.1";
  const id = crypto.randomBytes(6).toString("hex");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rds-iam-harness-"));
  const dataDir = path.join(dir, "data");
  const socketPath = path.join(dir, "mariadb.sock");
  const pidFile = path.join(dir, "mariadbd.pid");
  const errLog = path.join(dir, "mariadbd.err");
  const verifierLog = path.join(dir, "auth-attempts.jsonl");
  const verifierConfig = path.join(dir, "verifier.json");
  const pamService = `rds-iam-harness-${id}`;
  const pamFile = path.join(PAM_DIR, pamService);

  for (const p of [process.execPath, VERIFIER, verifierConfig]) {
    if (/\s/.test(p)) throw new Error(`MariaDB IAM test harness: path ${JSON.stringify(p)} contains whitespace, which a PAM service line cannot hold`);
  }

  const record: { child: ChildProcess | undefined; pamFile: string; dir: string } = { child: undefined, pamFile, dir };
  installExitHook();
  live.add(record);
  const watchdog = startWatchdog(pidFile, dir, pamFile);

  const credentials = {
    accessKeyId: randomAccessKeyId(),
    secretAccessKey: crypto.randomBytes(30).toString("base64"),
  };

  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let destroyed = false;

  const cleanupFiles = () => {
    fs.rmSync(pamFile, { force: true });
    fs.rmSync(dir, { recursive: true, force: true });
  };

  try {
    let port = 0;
    fs.mkdirSync(path.join(dir, "tmp"));

    const [tlsFiles] = await Promise.all([
      generateTls(dir),
      run(installDb, [
        "--no-defaults",
        `--datadir=${dataDir}`,
        "--user=root",
        "--skip-test-db",
        "--auth-root-authentication-method=socket",
        "--innodb-log-file-size=4M",
        "--innodb-buffer-pool-size=8M",
      ]),
    ]);
    const caPem = fs.readFileSync(tlsFiles.ca, "utf8");

    fs.writeFileSync(verifierLog, "", { mode: 0o600 });
    // pam_exec runs the program with an empty environment (no PATH), so use absolute paths.
    fs.writeFileSync(
      pamFile,
      [
        `# RDS IAM token verifier for the MariaDB test harness in ${dir}; removed by destroy()`,
        `auth required pam_exec.so expose_authtok quiet ${process.execPath} ${VERIFIER} ${verifierConfig}`,
        "account required pam_permit.so",
        "",
      ].join("\n"),
      { mode: 0o644 },
    );

    const args = () => [
      "--no-defaults",
      `--datadir=${dataDir}`,
      "--user=root",
      `--bind-address=${host}`,
      `--port=${port}`,
      `--socket=${socketPath}`,
      `--pid-file=${pidFile}`,
      `--log-error=${errLog}`,
      `--tmpdir=${path.join(dir, "tmp")}`,
      "--skip-name-resolve",
      "--skip-log-bin",
      "--performance-schema=OFF",
      "--innodb-buffer-pool-size=8M",
      "--innodb-log-file-size=4M",
      "--innodb-use-native-aio=0",
      "--innodb-doublewrite=0",
      "--innodb-flush-log-at-trx-commit=2",
      "--key-buffer-size=1M",
      "--max-connections=200",
      "--character-set-server=utf8mb4",
      "--collation-server=utf8mb4_general_ci",
      "--plugin-load-add=auth_pam",
      "--pam-use-cleartext-plugin=ON",
      ...(tls
        ? [
            `--ssl-ca=${tlsFiles.ca}`,
            `--ssl-cert=${tlsFiles.cert}`,
            `--ssl-key=${tlsFiles.key}`,
            "--tls-version=TLSv1.2,TLSv1.3",
            "--require-secure-transport=ON",
          ]
        : ["--skip-ssl"]),
    ];

    const writeVerifierConfig = () =>
      fs.writeFileSync(
        verifierConfig,
        JSON.stringify({
          host,
          port,
          region,
          accessKeyId: credentials.accessKeyId,
          secretAccessKey: credentials.secretAccessKey,
          sessionToken: null,
          maxExpiresSeconds: 900,
          maxClockSkewSeconds: 300,
          logFile: verifierLog,
        }),
        { mode: 0o600 },
      );

    const adminConn = () =>
      mysql.createConnection({ socketPath, user: "root", multipleStatements: true, connectTimeout: 10_000 });

    const admin = async (sql: string, params?: unknown[]): Promise<any> => {
      if (!child) throw new Error("MariaDB harness: admin() called while the server is stopped");
      const conn = await adminConn();
      try {
        const [rows] = await conn.query(sql, params);
        return rows;
      } finally {
        await conn.end().catch(() => undefined);
      }
    };

    const start = async (): Promise<void> => {
      if (destroyed) throw new Error("MariaDB harness: already destroyed");
      if (child) return;
      const logOffset = fs.existsSync(errLog) ? fs.statSync(errLog).size : 0;
      const c = spawn(mariadbd, args(), { stdio: "ignore", cwd: dir });
      child = c;
      record.child = c;
      let exitInfo: string | undefined;
      exited = new Promise<void>((resolve) => {
        c.once("exit", (code, signal) => {
          exitInfo = `code=${code} signal=${signal}`;
          if (child === c) child = undefined;
          if (record.child === c) record.child = undefined;
          resolve();
        });
      });
      c.once("error", (e) => {
        exitInfo = `spawn error: ${e.message}`;
      });

      const deadline = Date.now() + 30_000;
      for (;;) {
        if (exitInfo) {
          throw new Error(`MariaDB harness: mariadbd exited during startup (${exitInfo}). Log:\n${tail(errLog)}`);
        }
        let log = "";
        try {
          const fd = fs.openSync(errLog, "r");
          try {
            const size = fs.fstatSync(fd).size;
            const buf = Buffer.alloc(Math.max(0, size - logOffset));
            fs.readSync(fd, buf, 0, buf.length, logOffset);
            log = buf.toString("utf8");
          } finally {
            fs.closeSync(fd);
          }
        } catch {
          // log not there yet
        }
        if (log.includes("ready for connections")) break;
        if (Date.now() > deadline) {
          c.kill("SIGKILL");
          throw new Error(`MariaDB harness: mariadbd did not become ready within 30s. Log:\n${tail(errLog)}`);
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      c.unref();
    };

    const stop = async (): Promise<void> => {
      const c = child;
      if (!c) return;
      c.ref();
      // A paused server would hold SIGTERM until continued.
      c.kill("SIGCONT");
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
      live.delete(record);
      try {
        if (watchdog.pid) process.kill(-watchdog.pid, "SIGKILL");
      } catch {
        // already gone
      }
      cleanupFiles();
    };

    // Pick a free port; if another process grabs it between probing and mariadbd's bind(), try again.
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      writeVerifierConfig();
      try {
        await start();
        break;
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        if (attempt >= 5 || !/Address already in use|Bind on TCP\/IP port/i.test(msg)) throw e;
      }
    }

    // Schema + IAM users.
    const requireSsl = tls ? " REQUIRE SSL" : "";
    let setup = "CREATE DATABASE ?? CHARACTER SET utf8mb4;";
    const params: unknown[] = [database];
    for (const u of iamUsers) {
      setup += ` CREATE USER ?@'%' IDENTIFIED VIA pam USING ?${requireSsl};`;
      setup += " GRANT SELECT, INSERT, UPDATE, DELETE ON ??.* TO ?@'%';";
      params.push(u, pamService, database, u);
    }
    await admin(setup, params);

    const env: Record<string, string> = {
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      AWS_REGION: region,
      DB_HOST: host,
      DB_PORT: String(port),
      DB_NAME: database,
      ...(iamUsers.length > 0 ? { DB_USER: iamUsers[0] } : {}),
      // The handler trusts this CA instead of the Amazon RDS bundle.
      ...(tls ? { DB_TLS_CA_FILE: tlsFiles.ca } : {}),
    };

    return {
      host,
      port,
      caPem,
      region,
      database,
      credentials,
      env,
      admin,
      adminConnection: adminConn,
      pause: () => void child?.kill("SIGSTOP"),
      resume: () => void child?.kill("SIGCONT"),
      pamService,
      stop,
      start,
      restart: async () => {
        await stop();
        await start();
      },
      destroy,
      authAttempts: async () =>
        fs
          .readFileSync(verifierLog, "utf8")
          .split("\n")
          .filter((l) => l.trim() !== "")
          .map((l) => JSON.parse(l) as AuthAttempt),
    };
  } catch (err) {
    // startup failed: leave nothing behind
    try {
      child?.kill("SIGKILL");
      await exited;
    } catch {
      // ignore
    }
    live.delete(record);
    try {
      if (watchdog.pid) process.kill(-watchdog.pid, "SIGKILL");
    } catch {
      // ignore
    }
    cleanupFiles();
    throw err;
  }
}
