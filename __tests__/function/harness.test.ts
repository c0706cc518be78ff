/**
 * Proves the MariaDB + RDS-IAM-token harness is honest: real tokens from
 * @aws-sdk/rds-signer get in over TLS, everything else is refused — and the
 * refusal happens for the intended reason (checked via the verifier's log).
 */
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import { Signer } from "@aws-sdk/rds-signer";
import * as mysql from "mysql2/promise";
import { unrelatedCaPem } from "../../harness/certificates";
import { type AuthAttempt, type Harness, startHarness } from "../../harness/mariadb";

interface SignOpts {
  hostname?: string;
  port?: number;
  username?: string;
  region?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** sign as if the clock said this */
  at?: Date;
}

async function sign(h: Harness, o: SignOpts = {}): Promise<string> {
  const signer = new Signer({
    hostname: o.hostname ?? h.host,
    port: o.port ?? h.port,
    username: o.username ?? "app_user",
    region: o.region ?? h.region,
    credentials: o.credentials ?? h.credentials,
  });
  if (!o.at) return signer.getAuthToken();
  // SignatureV4.presign defaults signingDate to `new Date()`; fake only the clock while signing.
  jest.useFakeTimers({ now: o.at, doNotFake: ["nextTick", "setImmediate", "queueMicrotask"] });
  try {
    return await signer.getAuthToken();
  } finally {
    jest.useRealTimers();
  }
}

/** The way the Lambda handler is expected to connect. */
function connect(h: Harness, token: string, extra: Partial<mysql.ConnectionOptions> = {}): Promise<mysql.Connection> {
  return mysql.createConnection({
    host: h.host,
    port: h.port,
    user: "app_user",
    password: token,
    database: h.database,
    ssl: { ca: h.caPem },
    enableCleartextPlugin: true,
    connectTimeout: 10_000,
    ...extra,
  });
}

async function withConn<T>(p: Promise<mysql.Connection>, fn: (c: mysql.Connection) => Promise<T>): Promise<T> {
  const c = await p;
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

async function currentUser(c: mysql.Connection): Promise<string> {
  const [rows] = await c.query<mysql.RowDataPacket[]>("SELECT CURRENT_USER() AS u");
  return rows[0]!.u as string;
}

/** Runs fn, returns the verifier log entries written meanwhile. */
async function attemptsDuring(h: Harness, fn: () => Promise<unknown>): Promise<AuthAttempt[]> {
  const before = (await h.authAttempts()).length;
  await fn();
  return (await h.authAttempts()).slice(before);
}

async function expectRefusedBecause(h: Harness, token: string, reason: string, user = "app_user"): Promise<void> {
  const attempts = await attemptsDuring(h, async () => {
    await expect(connect(h, token, { user })).rejects.toMatchObject({ code: "ER_ACCESS_DENIED_ERROR" });
  });
  expect(attempts).toEqual([expect.objectContaining({ user, result: "rejected", reason })]);
}

function portRefuses(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: "127.0.0.1", port });
    s.once("connect", () => {
      s.destroy();
      resolve(false);
    });
    s.once("error", (e: NodeJS.ErrnoException) => resolve(e.code === "ECONNREFUSED"));
  });
}

describe("MariaDB RDS IAM harness (TLS)", () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ iamUsers: ["app_user", "other_user"] });
    await h.admin("CREATE TABLE app.items (id INT PRIMARY KEY, name VARCHAR(50))");
  });

  afterAll(async () => {
    await h?.destroy();
  });

  test("exposes connection details and env for the handler", () => {
    expect(h.host).toBe("127.0.0.1");
    expect(h.port).toBeGreaterThan(0);
    expect(h.caPem).toMatch(/^-----BEGIN CERTIFICATE-----/);
    expect(h.env).toEqual({
      AWS_ACCESS_KEY_ID: h.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: h.credentials.secretAccessKey,
      AWS_REGION: "us-east-1",
      DB_HOST: "127.0.0.1",
      DB_PORT: String(h.port),
      DB_NAME: "app",
      DB_USER: "app_user",
      DB_TLS_CA_FILE: expect.stringMatching(/ca\.pem$/),
      AWS_SESSION_TOKEN: h.credentials.sessionToken,
    });
    expect(fs.readFileSync(h.env.DB_TLS_CA_FILE, "utf8")).toBe(h.caPem);
  });

  test("a real rds-signer token connects over TLS as the IAM user", async () => {
    const token = await sign(h);
    const attempts = await attemptsDuring(h, () =>
      withConn(connect(h, token), async (c) => {
        expect(await currentUser(c)).toBe("app_user@%");
        const [tlsRows] = await c.query<mysql.RowDataPacket[]>("SHOW SESSION STATUS LIKE 'Ssl_version'");
        expect(tlsRows[0]!.Value).toMatch(/^TLSv1\.[23]$/);
        await c.query("INSERT INTO items VALUES (1, 'one')");
        const [rows] = await c.query<mysql.RowDataPacket[]>("SELECT name FROM items WHERE id = 1");
        expect(rows).toEqual([{ name: "one" }]);
        // only the DML grants
        await expect(c.query("CREATE TABLE nope (id INT)")).rejects.toMatchObject({ code: "ER_TABLEACCESS_DENIED_ERROR" });
      }),
    );
    expect(attempts).toEqual([expect.objectContaining({ user: "app_user", result: "accepted", reason: "ok" })]);
  });

  test("a custom mysql_clear_password authPlugin works too", async () => {
    const token = await sign(h);
    const user = await withConn(
      connect(h, "", {
        enableCleartextPlugin: false,
        authPlugins: { mysql_clear_password: () => () => Buffer.from(`${token}\0`) },
      }),
      currentUser,
    );
    expect(user).toBe("app_user@%");
  });

  test("a token can be reused within its lifetime and each IAM user works with its own token", async () => {
    const token = await sign(h, { username: "other_user" });
    expect(await withConn(connect(h, token, { user: "other_user" }), currentUser)).toBe("other_user@%");
    expect(await withConn(connect(h, token, { user: "other_user" }), currentUser)).toBe("other_user@%");
  });

  test("a forged signature is refused", async () => {
    const token = await sign(h);
    const forged = token.replace(
      /(X-Amz-Signature=[0-9a-f]{63})([0-9a-f])/,
      (_, p: string, last: string) => p + (last === "0" ? "1" : "0"),
    );
    expect(forged).not.toBe(token);
    await expectRefusedBecause(h, forged, "signature-mismatch");
  });

  test("a token signed with another secret key is refused", async () => {
    const token = await sign(h, {
      credentials: { ...h.credentials, secretAccessKey: `${h.credentials.secretAccessKey}x` },
    });
    await expectRefusedBecause(h, token, "signature-mismatch");
  });

  test("a token for another access key id is refused", async () => {
    const token = await sign(h, {
      credentials: { ...h.credentials, accessKeyId: "ASIAIOSFODNN7EXAMPLE" },
    });
    await expectRefusedBecause(h, token, "unknown-access-key");
  });

  test("a token signed with session credentials, as a Lambda's are (about 1 KB), connects", async () => {
    expect(h.credentials.sessionToken!.length).toBeGreaterThan(700);
    const token = await sign(h);
    expect(token.length).toBeGreaterThan(1000);
    expect(token).toContain("X-Amz-Security-Token=");
    expect(await withConn(connect(h, token), currentUser)).toBe("app_user@%");
  });

  test("a token with another session token, or none, is refused", async () => {
    await expectRefusedBecause(
      h,
      await sign(h, { credentials: { ...h.credentials, sessionToken: `${h.credentials.sessionToken}x` } }),
      "session-token-mismatch",
    );
    const { sessionToken: _, ...longTerm } = h.credentials;
    await expectRefusedBecause(h, await sign(h, { credentials: longTerm }), "missing-session-token");
  });

  test("a valid token for an account that is not an IAM user is refused by the server", async () => {
    await h.admin(
      "CREATE USER 'password_user'@'%' IDENTIFIED BY 'correct horse battery staple'; GRANT SELECT ON app.* TO 'password_user'@'%'",
    );
    const token = await sign(h, { username: "password_user" });
    const attempts = await attemptsDuring(h, async () => {
      await expect(connect(h, token, { user: "password_user" })).rejects.toMatchObject({ code: "ER_ACCESS_DENIED_ERROR" });
    });
    expect(attempts).toEqual([expect.objectContaining({ user: "password_user", result: "accepted" })]);
  });

  test("a token for another DB user is refused", async () => {
    await expectRefusedBecause(h, await sign(h, { username: "other_user" }), "dbuser-mismatch", "app_user");
    await expectRefusedBecause(h, await sign(h, { username: "app_user" }), "dbuser-mismatch", "other_user");
  });

  test("an expired token is refused", async () => {
    const token = await sign(h, { at: new Date(Date.now() - 16 * 60_000) });
    expect(token).toMatch(/X-Amz-Expires=900/);
    await expectRefusedBecause(h, token, "expired");
  });

  test("a token that is still valid but was signed 14 minutes ago is accepted", async () => {
    const token = await sign(h, { at: new Date(Date.now() - 14 * 60_000) });
    expect(await withConn(connect(h, token), currentUser)).toBe("app_user@%");
  });

  test("a token dated in the future is refused", async () => {
    const token = await sign(h, { at: new Date(Date.now() + 60 * 60_000) });
    await expectRefusedBecause(h, token, "date-in-future");
  });

  test("a token for the wrong port or host is refused", async () => {
    await expectRefusedBecause(h, await sign(h, { port: h.port + 1 }), "host-port-mismatch");
    await expectRefusedBecause(h, await sign(h, { hostname: "localhost" }), "host-port-mismatch");
  });

  test("a token for the wrong region is refused", async () => {
    await expectRefusedBecause(h, await sign(h, { region: "eu-west-1" }), "region-mismatch");
  });

  test("a plain password / garbage is refused", async () => {
    await expectRefusedBecause(h, "hunter2", "malformed-token");
  });

  test("a connection without TLS is refused by the server — but only AFTER the token went over the wire", async () => {
    // MySQL and MariaDB enforce REQUIRE SSL after the auth plugin ran, and so does the harness:
    // the cleartext token reaches (and passes) the verifier before the login is refused.
    // A server refusal therefore does NOT mean the token was protected: the client must insist on TLS.
    const token = await sign(h);
    const attempts = await attemptsDuring(h, async () => {
      await expect(connect(h, token, { ssl: undefined })).rejects.toMatchObject({ code: "ER_ACCESS_DENIED_ERROR" });
    });
    expect(attempts).toEqual([expect.objectContaining({ user: "app_user", result: "accepted", reason: "ok" })]);
  });

  test("the server certificate is only trusted via the harness CA", async () => {
    const token = await sign(h);
    const other = await unrelatedCaPem();
    await expect(connect(h, token, { ssl: { ca: other } })).rejects.toThrow(/certificate|self.signed|verify/i);
  });

  test("admin() runs as root over the unix socket", async () => {
    const rows = await h.admin("SELECT CURRENT_USER() AS u, ? AS p", [42]);
    expect(rows).toEqual([{ u: "root@localhost", p: 42 }]);
  });

  test("stop() closes the port, start() brings it back on the same port with the same data", async () => {
    const port = h.port;
    await h.stop();
    expect(await portRefuses(port)).toBe(true);
    await expect(h.admin("SELECT 1")).rejects.toThrow(/stopped/);
    await h.start();
    expect(h.port).toBe(port);
    const token = await sign(h);
    await withConn(connect(h, token), async (c) => {
      const [rows] = await c.query<mysql.RowDataPacket[]>("SELECT name FROM items WHERE id = 1");
      expect(rows).toEqual([{ name: "one" }]);
    });
    await h.restart();
    expect(await withConn(connect(h, token), currentUser)).toBe("app_user@%");
  });
});

describe("MariaDB RDS IAM harness (tls: false, a 32 MiB buffer pool)", () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ tls: false, database: "plain", region: "eu-central-1", bufferPoolMb: 32 });
  });

  test("sizes InnoDB as asked, with a redo log half the buffer pool, and names the server's process", async () => {
    expect(await h.admin("SELECT @@innodb_buffer_pool_size AS pool, @@innodb_log_file_size AS log")).toEqual([
      { pool: 32 * 1024 ** 2, log: 16 * 1024 ** 2 },
    ]);
    expect(fs.readFileSync(`/proc/${h.serverPid()}/comm`, "utf8").trim()).toMatch(/^(mariadbd|mysqld)$/);
  });

  afterAll(async () => {
    await h?.destroy();
  });

  test("really serves without TLS: a TLS-requiring client refuses before sending the token", async () => {
    const vars = await h.admin("SELECT @@have_ssl AS s");
    expect(vars).toEqual([{ s: "DISABLED" }]);
    const token = await sign(h);
    const attempts = await attemptsDuring(h, async () => {
      await expect(connect(h, token)).rejects.toThrow(/does not support secure connection/);
    });
    expect(attempts).toEqual([]);
  });

  test("a client that sends the token in cleartext gets in (so a leaking client is detectable)", async () => {
    const token = await sign(h);
    const attempts = await attemptsDuring(h, () =>
      withConn(connect(h, token, { ssl: undefined }), async (c) => {
        expect(await currentUser(c)).toBe("app_user@%");
        const [tlsRows] = await c.query<mysql.RowDataPacket[]>("SHOW SESSION STATUS LIKE 'Ssl_version'");
        expect(tlsRows[0]!.Value).toBe("");
      }),
    );
    expect(attempts).toEqual([expect.objectContaining({ result: "accepted" })]);
    expect(h.env.DB_NAME).toBe("plain");
    expect(h.env.AWS_REGION).toBe("eu-central-1");
  });

  test("destroy() stops the server and removes its directory", async () => {
    const dir = h.directory;
    expect(fs.existsSync(dir)).toBe(true);
    const port = h.port;
    await h.destroy();
    expect(await portRefuses(port)).toBe(true);
    expect(fs.existsSync(dir)).toBe(false);
  });
});

describe("MariaDB RDS IAM harness on a fresh machine", () => {
  test("starts in several workers at once when none finds the data directory template yet", async () => {
    // A fresh TMPDIR: no template, so both make one, as two jest workers do on a fresh machine.
    const before = process.env.TMPDIR;
    process.env.TMPDIR = fs.mkdtempSync(`${os.tmpdir()}/harness-fresh-`);
    const started: Harness[] = [];
    try {
      // Staggered: a server starting removes the #sql temp files in its tmpdir while another is bootstrapping.
      const results = await Promise.allSettled(
        [0, 1, 2, 3].map(async (i) => {
          await new Promise((resolve) => setTimeout(resolve, i * 200));
          return startHarness({ iamUsers: [] });
        }),
      );
      for (const result of results) if (result.status === "fulfilled") started.push(result.value);
      expect(results.map((result) => (result.status === "rejected" ? String(result.reason) : "started"))).toEqual(
        results.map(() => "started"),
      );
    } finally {
      await Promise.all(started.map((h) => h.destroy()));
      fs.rmSync(process.env.TMPDIR, { recursive: true, force: true });
      if (before === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = before;
    }
  });
});
