/**
 * Prints what a storm of cold execution environments does to the direct path: for 10, 50 and 200
 * environments invoked at once against the MariaDB IAM harness (max_connections like a small RDS
 * instance, a short wait_timeout), how many succeed, how many are refused with a clear error, the
 * latency, the server's peak connections, and how many succeed when retried after the idle timeout.
 * Figures only; nothing is enforced.
 */
import { ExecutionEnvironments, type Invocation } from "../../harness/execution-environments";
import { type Harness, startHarness } from "../../harness/mariadb";
import { bootstrapHarness } from "../../harness/migrations";
import { percentile } from "./measure";

const STORMS = [10, 50, 200];
const MAX_CONNECTIONS = 60;
const WAIT_TIMEOUT_SECONDS = 5;
const GET = { op: "get", id: "storm" };

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

async function storm(h: Harness, size: number): Promise<string[]> {
  progress(`starting ${size} execution environments...`);
  const environments = await ExecutionEnvironments.start(size, h.env);
  try {
    await untilReaped(h);
    await h.admin("FLUSH STATUS");
    progress(`invoking all ${size} at once...`);
    const results = await environments.invoke(GET);
    const peak = await status(h, "Max_used_connections");
    const refused = results.map((result, i) => (succeeded(result) ? -1 : i)).filter((i) => i >= 0);
    const busy = results.filter((result) => result.error?.message.includes("is busy")).length;
    const clear = results.filter((result) => result.error?.name === "DatabaseUnavailableError" && result.error.retryable).length;
    progress(
      `waiting for the server to reap idle connections (wait_timeout ${WAIT_TIMEOUT_SECONDS} s), then retrying the ${refused.length} refused...`,
    );
    await untilReaped(h);
    const retried = refused.length > 0 ? await environments.invoke(GET, refused) : [];
    const ms = results.map((result) => result.ms);
    return [
      String(size),
      String(results.filter(succeeded).length),
      `${clear} (${busy} busy)`,
      String(size - results.filter(succeeded).length - clear),
      `${percentile(ms, 50).toFixed(0)} / ${percentile(ms, 99).toFixed(0)} ms`,
      String(peak),
      `${retried.filter(succeeded).length} of ${refused.length}`,
    ];
  } finally {
    environments.stop();
  }
}

async function main(): Promise<void> {
  progress(`starting MariaDB (max_connections ${MAX_CONNECTIONS}, wait_timeout ${WAIT_TIMEOUT_SECONDS} s) behind the IAM front...`);
  const h = await startHarness({ maxConnections: MAX_CONNECTIONS, waitTimeoutSeconds: WAIT_TIMEOUT_SECONDS });
  try {
    await bootstrapHarness(h);
    await h.admin(`INSERT INTO \`${h.database}\`.items (id, data) VALUES ('storm', '{}')`);
    const rows = [
      [
        "environments",
        "succeeded",
        "refused, clear",
        "other failures",
        "latency p50 / p99",
        "peak connections",
        "retried after idle timeout",
      ],
    ];
    for (const size of STORMS) rows.push(await storm(h, size));
    const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
    console.log(
      `\nStorms of cold api environments (one node process each, the shipped bundle), one get each, against MariaDB with max_connections ${MAX_CONNECTIONS}:\n`,
    );
    for (const row of rows) console.log(`  ${row.map((cell, column) => cell.padEnd(widths[column])).join("   ")}`.trimEnd());
  } finally {
    await h.destroy();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
