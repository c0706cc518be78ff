/**
 * Prints what a storm of cold execution environments does on the direct path and through RDS Proxy,
 * side by side: for 10, 50 and 200 environments invoked at once against the MariaDB IAM harness with
 * max_connections 10 (a short wait_timeout), straight to the server, then through the front's
 * multiplexing mode sized as this project's proxy (80% of max_connections, 3 s borrow timeout). For
 * each: how many succeed, how many are refused with the clear, retryable error, the latency, the
 * server's peak connections, and how many of the refused succeed when retried (on the direct path
 * once the server reaped idle connections, through the proxy at once). Figures only; nothing is enforced.
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
  while (Number((await h.admin("SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE USER = 'app_user'"))[0].n) > 0) {
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function storm(h: Harness, path: string, size: number): Promise<string[]> {
  progress(`${path}: starting ${size} execution environments...`);
  const environments = await ExecutionEnvironments.start(size, h.env);
  try {
    // Every storm starts cold: no server connection left from the one before, the proxy's pool empty too.
    await untilReaped(h);
    await h.admin("FLUSH STATUS");
    progress(`${path}: invoking all ${size} at once...`);
    const results = await environments.invoke(GET);
    const peak = await status(h, "Max_used_connections");
    const refused = results.map((result, i) => (succeeded(result) ? -1 : i)).filter((i) => i >= 0);
    const busy = results.filter((result) => result.error?.message.includes("is busy")).length;
    const clear = results.filter((result) => result.error?.name === "DatabaseUnavailableError" && result.error.retryable).length;
    if (path === "direct" && refused.length > 0) {
      progress(
        `${path}: waiting for the server to reap idle connections (wait_timeout ${WAIT_TIMEOUT_SECONDS} s), then retrying the ${refused.length} refused...`,
      );
      await untilReaped(h);
    }
    const retried = refused.length > 0 ? await environments.invoke(GET, refused) : [];
    const ms = results.map((result) => result.ms);
    return [
      path,
      String(size),
      String(results.filter(succeeded).length),
      `${clear} (${busy} busy)`,
      String(size - results.filter(succeeded).length - clear),
      `${percentile(ms, 50).toFixed(0)} / ${percentile(ms, 99).toFixed(0)} ms`,
      String(peak),
      refused.length > 0 ? `${retried.filter(succeeded).length} of ${refused.length}` : "-",
    ];
  } finally {
    environments.stop();
  }
}

async function main(): Promise<void> {
  const rows = [
    [
      "path",
      "environments",
      "succeeded",
      "refused, retryable",
      "other failures",
      "latency p50 / p99",
      "peak server connections",
      "refused, then retried",
    ],
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
      for (const size of STORMS) rows.push(await storm(h, name, size));
    } finally {
      await h.destroy();
    }
  }
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  console.log(
    `\nStorms of cold api environments (one node process each, the shipped bundle), one get each, against MariaDB with max_connections ${MAX_CONNECTIONS}` +
      ` (peak server connections include the bench's own admin connection):\n`,
  );
  for (const row of rows) console.log(`  ${row.map((cell, column) => cell.padEnd(widths[column])).join("   ")}`.trimEnd());
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
