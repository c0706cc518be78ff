/**
 * A connection storm: more cold execution environments at once than the server has connections.
 *
 * On the direct path each invocation succeeds or fails fast with a clear, retryable error, the server
 * stays up, no connection leaks, and once the server has reaped idle connections (wait_timeout) the
 * environments that were refused get in when retried, as Lambda retries asynchronous invocations.
 *
 * Through the multiplexing front sized as this project's RDS Proxy (80% of max_connections, 3 s
 * borrow timeout) the environments share the proxy's few server connections: none meets the server's
 * own refusal, the server never sees more than the pool, and those that did not get in do at once.
 */
import { CONNECT_TIMEOUT_MS, QUERY_TIMEOUT_MS } from "../../functions/shared/database-client";
import { ExecutionEnvironments, type Invocation } from "../../harness/execution-environments";
import { type Harness, type HarnessOptions, startHarness } from "../../harness/mariadb";
import { bootstrapHarness } from "../../harness/migrations";
import { projectProxyPool } from "../../harness/multiplexer";

const ENVIRONMENTS = 40;
const MAX_CONNECTIONS = 10;
const WAIT_TIMEOUT_SECONDS = 2;
const POOL = projectProxyPool(MAX_CONNECTIONS);
const GET = { op: "get", id: "storm" };

let h: Harness;
let environments: ExecutionEnvironments;

/** A small server and ENVIRONMENTS cold environments for the tests of the enclosing describe. */
function stormOn(options: HarnessOptions): void {
  beforeAll(async () => {
    h = await startHarness({ maxConnections: MAX_CONNECTIONS, waitTimeoutSeconds: WAIT_TIMEOUT_SECONDS, ...options });
    await bootstrapHarness(h);
    await h.admin(`INSERT INTO \`${h.database}\`.items (id, data) VALUES ('storm', '{}')`);
    environments = await ExecutionEnvironments.start(ENVIRONMENTS, h.env);
  });

  afterAll(async () => {
    environments?.stop();
    await h?.destroy();
  });
}

const appConnections = async () =>
  Number((await h.admin("SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE USER = 'app_user'"))[0].n);

async function untilReaped(): Promise<void> {
  const deadline = Date.now() + (WAIT_TIMEOUT_SECONDS + 10) * 1000;
  while ((await appConnections()) > 0) {
    if (Date.now() > deadline) throw new Error("idle connections were not reaped");
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const succeeded = (invocation: Invocation) => invocation.statusCode === 200;

describe("on the direct path", () => {
  stormOn({});

  it("answers every invocation of a storm, or refuses it fast with a retryable error, and keeps the server up", async () => {
    const storm = await environments.invoke(GET);

    const refused = storm.filter((invocation) => !succeeded(invocation));
    // How many get in at once depends on how fast this machine finishes 40 TLS logins (none did at a load
    // average of 30); that every one gets in is asserted below, after Lambda-style retries.
    // The server's own count, not the successes: a storm slower than wait_timeout frees reaped connections to later
    // environments, and 11 of 40 got in under load (the admin's session is the +1).
    expect(Number((await h.admin("SHOW GLOBAL STATUS LIKE 'Max_used_connections'"))[0].Value)).toBeLessThanOrEqual(MAX_CONNECTIONS + 1);
    for (const invocation of refused) {
      expect(invocation.error).toEqual({
        name: "DatabaseUnavailableError",
        retryable: true,
        message: expect.stringMatching(
          new RegExp(`^MySQL at 127\\.0\\.0\\.1:${h.port} (is busy \\(ER_CON_COUNT_ERROR\\)|is unavailable|did not answer)`),
        ),
      });
    }
    expect(refused.some((invocation) => invocation.error?.message.includes("is busy (ER_CON_COUNT_ERROR)"))).toBe(true);
    for (const invocation of storm) expect(invocation.ms).toBeLessThan(CONNECT_TIMEOUT_MS + QUERY_TIMEOUT_MS);
    // Only the environments that got in hold a connection: a refused one leaks none.
    expect(await appConnections()).toBeLessThanOrEqual(storm.filter(succeeded).length);
    expect(await h.admin("SELECT 1 AS up")).toEqual([{ up: 1 }]);

    // Lambda retries a failed asynchronous invocation later, spread over minutes: here a batch smaller than the
    // server's connections at a time, each once the server has reaped idle connections. (All of them at once were
    // a second storm, whose outcome is again this machine's TLS speed: at a load of 20, 19 of 40 never got in.)
    let waiting = storm.map((invocation, i) => (succeeded(invocation) ? -1 : i)).filter((i) => i >= 0);
    const batchSize = MAX_CONNECTIONS - 1;
    for (let retry = 1; waiting.length > 0 && retry <= 3 * Math.ceil(ENVIRONMENTS / batchSize); retry++) {
      await untilReaped();
      const batch = waiting.slice(0, batchSize);
      const results = await environments.invoke(GET, batch);
      waiting = [...batch.filter((_, k) => !succeeded(results[k])), ...waiting.slice(batch.length)];
    }
    expect(waiting).toEqual([]);
  }, 240_000);
});

describe("through the multiplexing front, sized as the project's proxy", () => {
  stormOn({ proxy: POOL });

  it("serves the storm on the proxy's pool alone", async () => {
    await h.admin("FLUSH STATUS");
    const storm = await environments.invoke(GET);

    for (const invocation of storm.filter((result) => !succeeded(result))) {
      // On a busy machine a login may outlast the connect timeout; never the server's refusal.
      expect(invocation.error).toMatchObject({ name: "DatabaseUnavailableError", retryable: true });
      expect(invocation.error?.message).not.toContain("ER_CON_COUNT_ERROR");
    }
    expect(h.peakServerConnections()).toBeLessThanOrEqual(POOL.connections);
    // The pool's connections and the admin connection asking.
    expect(Number((await h.admin("SHOW GLOBAL STATUS LIKE 'Max_used_connections'"))[0].Value)).toBeLessThanOrEqual(POOL.connections + 1);
    expect(h.sessions().filter((session) => session.pins.length > 0)).toEqual([]);

    // Those that did not get in do when retried, at once: no idle connection needs reaping first.
    let waiting = storm.map((invocation, i) => (succeeded(invocation) ? -1 : i)).filter((i) => i >= 0);
    for (let retry = 1; waiting.length > 0 && retry <= 4; retry++) {
      const results = await environments.invoke(GET, waiting);
      waiting = waiting.filter((_, k) => !succeeded(results[k]));
    }
    expect(waiting).toEqual([]);
  }, 120_000);
});
