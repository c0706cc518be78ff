import { Socket } from "node:net";
import { Signer } from "@aws-sdk/rds-signer";
import { unrelatedCaPem } from "../../harness/certificates";
import { captureLogLines } from "../../harness/logs";
import { type Harness, startHarness } from "../../harness/mariadb";
import { DatabaseClient, DatabaseUnavailableError } from "../../functions/shared/database-client";
import { settingsFromEnvironment } from "../../functions/shared/database-settings";
import { health } from "../../functions/api/items";
import type { TokenSigner } from "../../functions/shared/token";

/** A real rds-signer token for the harness, as if signed at `at`. */
async function signToken(h: Harness, username: string, at?: Date): Promise<string> {
  const signer = new Signer({ hostname: h.host, port: h.port, username, region: h.region, credentials: h.credentials });
  if (!at) return signer.getAuthToken();
  // SigV4 reads the clock through Date; fake only that while signing.
  jest.useFakeTimers({
    now: at,
    doNotFake: ["nextTick", "setImmediate", "queueMicrotask", "setTimeout", "clearTimeout", "setInterval", "clearInterval"],
  });
  try {
    return await signer.getAuthToken();
  } finally {
    jest.useRealTimers();
  }
}

/** Hands out the given tokens first, then real ones for `username`. */
function signerFrom(h: Harness, first: string[], username = "app_user"): TokenSigner {
  const queue = [...first];
  return { getAuthToken: async () => queue.shift() ?? signToken(h, username) };
}

const logLines: string[] = [];
const logged = () => logLines.map((line) => JSON.parse(line));
const retried = { level: "warn", message: "retrying on a fresh connection", attempt: 1 };
beforeEach(() => {
  logLines.length = 0;
  captureLogLines(logLines);
});
afterEach(() => jest.restoreAllMocks());

const reasons = async (h: Harness) => (await h.authAttempts()).map((attempt) => attempt.reason);

describe("Database connection path against a real MariaDB", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ iamUsers: ["app_user", "report_user"] });
  });
  afterAll(async () => h?.destroy());

  const settings = () => settingsFromEnvironment(h.env);
  async function healthWith(signer: TokenSigner) {
    const db = new DatabaseClient(settings(), signer);
    const attemptsBefore = (await h.authAttempts()).length;
    try {
      const result = await db.run("test", health);
      return { result, signings: db.tokens.signings, reasons: (await reasons(h)).slice(attemptsBefore) };
    } finally {
      await db.end();
    }
  }

  it("re-signs and succeeds when the server refuses an expired token", async () => {
    const expired = await signToken(h, "app_user", new Date(Date.now() - 20 * 60_000));
    const outcome = await healthWith(signerFrom(h, [expired]));
    expect(outcome.result.currentUser).toBe("app_user@%");
    expect(outcome.reasons).toEqual(["expired", "ok"]);
    expect(outcome.signings).toBe(2);
    expect(logged()).toEqual([{ ...retried, requestId: "test", code: "ER_ACCESS_DENIED_ERROR" }]);
  });

  it("re-signs and succeeds when the server refuses a forged token", async () => {
    const genuine = await signToken(h, "app_user");
    const forged = genuine.replace(/X-Amz-Signature=([0-9a-f])/, (_, digit: string) => `X-Amz-Signature=${digit === "0" ? "1" : "0"}`);
    expect(forged).not.toBe(genuine);
    const outcome = await healthWith(signerFrom(h, [forged]));
    expect(outcome.reasons).toEqual(["signature-mismatch", "ok"]);
    expect(logged()).toEqual([{ ...retried, requestId: "test", code: "ER_ACCESS_DENIED_ERROR" }]);
  });

  it("gives up with a clear error when every token is for another database user", async () => {
    const db = new DatabaseClient(settings(), { getAuthToken: () => signToken(h, "report_user") });
    const attemptsBefore = (await h.authAttempts()).length;
    try {
      const failure = db.run("test", health);
      await expect(failure).rejects.toBeInstanceOf(DatabaseUnavailableError);
      await expect(failure).rejects.toThrow(
        `MySQL at 127.0.0.1:${h.port} refused the IAM token for app_user twice; check the rds-db:connect grant and that the user is IDENTIFIED WITH AWSAuthenticationPlugin`,
      );
    } finally {
      await db.end();
    }
    expect((await reasons(h)).slice(attemptsBefore)).toEqual(["dbuser-mismatch", "dbuser-mismatch"]);
    expect(logged()).toEqual([{ ...retried, requestId: "test", code: "ER_ACCESS_DENIED_ERROR" }]);
  });

  it("signs once and reuses the token and connection across many calls", async () => {
    const db = new DatabaseClient(settings(), { getAuthToken: () => signToken(h, "app_user") });
    try {
      for (let i = 0; i < 20; i++) await db.run("test", health);
      expect(db.tokens.signings).toBe(1);
    } finally {
      await db.end();
    }
  });

  it("gives a unit of work the connection to itself: another caller's statement never lands in its transaction", async () => {
    await h.admin("CREATE TABLE app.turns (caller VARCHAR(8) NOT NULL)");
    const db = new DatabaseClient(settings(), signerFrom(h, []));
    try {
      await db.run("open", health);
      let submitted!: () => void;
      const otherSubmitted = new Promise<void>((resolve) => (submitted = resolve));
      const rolledBack = db.run("first", async (connection) => {
        await connection.beginTransaction();
        await connection.query("INSERT INTO turns VALUES ('first')");
        await otherSubmitted;
        // Turns of the event loop in which an interleaved statement would reach the connection first.
        for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
        await connection.rollback();
      });
      const committed = db.run("second", (connection) => connection.query("INSERT INTO turns VALUES ('second')"));
      submitted();
      await Promise.all([rolledBack, committed]);
      expect(await h.admin("SELECT caller FROM app.turns")).toEqual([{ caller: "second" }]);
    } finally {
      await db.end();
      await h.admin("DROP TABLE app.turns");
    }
  });

  it("reads its settings from the environment, naming what is missing", () => {
    expect(settings()).toMatchObject({
      host: "127.0.0.1",
      port: h.port,
      user: "app_user",
      database: "app",
      region: "us-east-1",
      ca: h.caPem,
    });
    const { DB_HOST: _, ...withoutHost } = h.env;
    expect(() => settingsFromEnvironment(withoutHost)).toThrow("environment variable DB_HOST is not set");
    expect(() => settingsFromEnvironment({ ...h.env, DB_PORT: "mysql" })).toThrow(
      'environment variable DB_PORT is "mysql", not a port number',
    );
  });
});

describe("DatabaseClient against servers it must not trust", () => {
  let h: Harness;
  beforeAll(async () => {
    // Signed by the harness CA, but for another host name.
    h = await startHarness({ certificateNames: ["db.example.internal"] });
  });
  afterAll(async () => h?.destroy());

  async function refusedBeforeTheToken(settings: ReturnType<typeof settingsFromEnvironment>, problem: RegExp): Promise<void> {
    const db = new DatabaseClient(settings, { getAuthToken: () => signToken(h, "app_user") });
    try {
      const failure = db.run("test", health);
      await expect(failure).rejects.toThrow();
      const cause = await failure.catch((error: Error) => String(error.cause ?? error));
      expect(cause).toMatch(problem);
    } finally {
      await db.end();
    }
    expect(db.tokens.signings).toBe(0);
    expect(await h.authAttempts()).toEqual([]);
    expect(logged()).toEqual([expect.objectContaining(retried)]);
  }

  it("never sends the token to a server whose certificate names another host", async () => {
    await refusedBeforeTheToken(settingsFromEnvironment(h.env), /Hostname\/IP does not match certificate's altnames/);
  });

  it("never sends the token to a server whose certificate another CA signed", async () => {
    await refusedBeforeTheToken(
      { ...settingsFromEnvironment(h.env), ca: await unrelatedCaPem() },
      /self-signed certificate|unable to verify|unable to get local issuer/i,
    );
  });
});

describe("the cleartext auth plugin", () => {
  it("hands the token only to an encrypted socket, whatever the driver does", async () => {
    const db = new DatabaseClient(
      { host: "127.0.0.1", port: 3306, user: "app_user", database: "app", region: "us-east-1" },
      { getAuthToken: async () => "token" },
    );
    // biome-ignore lint/complexity/useLiteralKeys: the bracket reaches a private method, which dot access may not.
    await expect(db["tokenForEncrypted"]({ stream: new Socket() })).rejects.toThrow(
      "refusing to send the IAM token: the connection is not encrypted with TLS",
    );
    // biome-ignore lint/complexity/useLiteralKeys: the bracket reaches a private method, which dot access may not.
    await expect(db["tokenForEncrypted"]({})).rejects.toThrow("refusing to send the IAM token");
    expect(db.tokens.signings).toBe(0);
  });
});

describe("DatabaseClient against a server without TLS", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ tls: false });
  });
  afterAll(async () => h?.destroy());

  it("refuses to connect and never sends the token", async () => {
    const db = new DatabaseClient(settingsFromEnvironment(h.env), { getAuthToken: () => signToken(h, "app_user") });
    try {
      await expect(db.run("test", health)).rejects.toThrow(
        `MySQL at 127.0.0.1:${h.port} does not offer TLS; the IAM token is never sent without it`,
      );
    } finally {
      await db.end();
    }
    expect(await h.authAttempts()).toEqual([]);
  });
});
