/**
 * The same storm as storm.test.ts through the multiplexing front, sized as this project's RDS Proxy
 * (80% of max_connections, 3 s borrow timeout): the environments share the proxy's few server
 * connections, so none meets the server's own refusal, and the server never sees more than the pool.
 */
import { ExecutionEnvironments, type Invocation } from "../../harness/execution-environments";
import { type Harness, startHarness } from "../../harness/mariadb";
import { bootstrapHarness } from "../../harness/migrations";
import { projectProxyPool } from "../../harness/multiplexer";

const ENVIRONMENTS = 40;
const MAX_CONNECTIONS = 10;
const POOL = projectProxyPool(MAX_CONNECTIONS);
const GET = { op: "get", id: "storm" };

let h: Harness;
let environments: ExecutionEnvironments;

beforeAll(async () => {
  h = await startHarness({ maxConnections: MAX_CONNECTIONS, proxy: POOL });
  await bootstrapHarness(h);
  await h.admin(`INSERT INTO \`${h.database}\`.items (id, data) VALUES ('storm', '{}')`);
  environments = await ExecutionEnvironments.start(ENVIRONMENTS, h.env);
});

afterAll(async () => {
  environments?.stop();
  await h?.destroy();
});

const succeeded = (invocation: Invocation) => invocation.statusCode === 200;

it("serves a storm of more environments than the server has connections on the proxy's pool alone", async () => {
  await h.admin("FLUSH STATUS");
  const storm = await environments.invoke(GET);

  for (const invocation of storm.filter((result) => !succeeded(result))) {
    // On a busy machine a login may outlast the connect timeout; never the server's refusal.
    expect(invocation.error).toMatchObject({ name: "DatabaseUnavailableError", retryable: true });
    expect(invocation.error?.message).not.toContain("ER_CON_COUNT_ERROR");
  }
  expect(storm.filter(succeeded).length).toBeGreaterThan(0);
  expect(h.peakServerConnections()).toBeLessThanOrEqual(POOL.connections);
  expect(Number((await h.admin("SHOW GLOBAL STATUS LIKE 'Max_used_connections'"))[0].Value)).toBeLessThanOrEqual(POOL.connections + 1);
  expect(h.sessions().filter((session) => session.pins.length > 0)).toEqual([]);

  // Those that did not get in do on a retry, at once: no idle connection needs reaping first.
  const waiting = storm.map((invocation, i) => (succeeded(invocation) ? -1 : i)).filter((i) => i >= 0);
  if (waiting.length > 0) expect((await environments.invoke(GET, waiting)).filter((result) => !succeeded(result))).toEqual([]);
}, 120_000);
