/**
 * Prints what a storm of cold execution environments does on the direct path and through RDS Proxy,
 * side by side: for 10, 50 and 200 environments invoked at once against the MariaDB IAM harness with
 * max_connections 10 (a short wait_timeout), straight to the server, then through the front's
 * multiplexing mode sized as this project's proxy (80% of max_connections, 3 s borrow timeout). For
 * each, a cold storm (no environment connected yet) and a warm one (every environment brought up first,
 * in waves, as Lambda scales over seconds): how many succeed, how many are refused with the clear,
 * retryable error, the latency and the server's peak connections. Figures only; nothing is enforced.
 */
import { ExecutionEnvironments, type Invocation } from "../../harness/execution-environments";
import { type Harness, startHarness } from "../../harness/mariadb";
import { bootstrapHarness } from "../../harness/migrations";
import { projectProxyPool } from "../../harness/multiplexer";
import { percentile } from "./measure";

const STORMS = [10, 50, 200];
const MAX_CONNECTIONS = 10;
const WAIT_TIMEOUT_SECONDS = 5;
const GET = { op: "get", id: "storm" };
const WAVE = 10;
const PATHS = [
  { name: "direct", proxy: undefined },
  { name: "proxy", proxy: projectProxyPool(MAX_CONNECTIONS) },
];

const progress = (line: string) => process.stderr.write(`${line}\n`);
const succeeded = (invocation: Invocation) => invocation.statusCode === 200;

async function status(h: Harness, name: string): Promise<number> {
  return Number((await h.admin("SHOW GLOBAL STATUS LIKE ?", [name]))[0].Value);
}

async function untilReaped(h: Harness): Promise<void> {
  while (Number((await h.admin("SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE USER = ?", [h.env.DB_USER]))[0].n) > 0) {
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** One storm: every environment invoked at once; the server's peak connections counted from FLUSH STATUS. */
async function stormOf(h: Harness, environments: ExecutionEnvironments, path: string, kind: string): Promise<string[]> {
  await h.admin("FLUSH STATUS");
  progress(`${path}: ${kind} storm, all ${environments.size} at once...`);
  const results = await environments.invoke(GET);
  const peak = await status(h, "Max_used_connections");
  const busy = results.filter((result) => result.error?.message.includes("is busy")).length;
  const clear = results.filter((result) => result.error?.name === "DatabaseUnavailableError" && result.error.retryable).length;
  const ms = results.map((result) => result.ms);
  return [
    path,
    String(environments.size),
    kind,
    String(results.filter(succeeded).length),
    `${clear} (${busy} busy)`,
    String(environments.size - results.filter(succeeded).length - clear),
    `${percentile(ms, 50).toFixed(0)} / ${percentile(ms, 99).toFixed(0)} ms`,
    String(peak),
  ];
}

/**
 * A cold storm (no environment connected yet), then a warm one: first every environment not yet served
 * is invoked in waves of WAVE, as Lambda brings environments up over seconds, so each that can hold a
 * connection (to the server, or to the proxy) has one; then all at once again.
 */
async function storms(h: Harness, path: string, size: number): Promise<string[][]> {
  progress(`${path}: starting ${size} execution environments...`);
  const environments = await ExecutionEnvironments.start(size, h.env);
  try {
    // Every run starts cold: no server connection left from the one before, the proxy's pool empty too.
    await untilReaped(h);
    const cold = await stormOf(h, environments, path, "cold");
    progress(`${path}: bringing the environments up in waves of ${WAVE}...`);
    for (let first = 0; first < size; first += WAVE) {
      await environments.invoke(
        GET,
        Array.from({ length: Math.min(WAVE, size - first) }, (_, k) => first + k),
      );
    }
    return [cold, await stormOf(h, environments, path, "warm")];
  } finally {
    environments.stop();
  }
}

async function main(): Promise<void> {
  const rows = [
    ["path", "environments", "storm", "succeeded", "refused, retryable", "other failures", "latency p50 / p99", "peak server connections"],
  ];
  for (const { name, proxy } of PATHS) {
    const via = proxy
      ? `through the multiplexing front (${proxy.connections} server connections, borrow timeout ${proxy.borrowTimeoutMs} ms)`
      : "direct";
    progress(
      `starting MariaDB (max_connections ${MAX_CONNECTIONS}, wait_timeout ${WAIT_TIMEOUT_SECONDS} s) behind the IAM front, ${via}...`,
    );
    const h = await startHarness({ maxConnections: MAX_CONNECTIONS, waitTimeoutSeconds: WAIT_TIMEOUT_SECONDS, proxy });
    try {
      await bootstrapHarness(h);
      await h.admin(`INSERT INTO \`${h.database}\`.items (id, data) VALUES ('storm', '{}')`);
      for (const size of STORMS) rows.push(...(await storms(h, name, size)));
    } finally {
      await h.destroy();
    }
  }
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  console.log(
    `\nStorms of api environments (one node process each, the shipped bundle), one get each, cold and then warm, against MariaDB with max_connections ${MAX_CONNECTIONS}` +
      ` (peak server connections include the bench's own admin connection):\n`,
  );
  for (const row of rows) console.log(`  ${row.map((cell, column) => cell.padEnd(widths[column])).join("   ")}`.trimEnd());
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
