/**
 * Prints the purge job's speed against its speed limit, and what each does to the API, side by side on
 * the same MariaDB IAM harness and the same 200,000 items (two in three expired): the job (keyset chunks,
 * a transaction each) and the same change as one plain DELETE, each while four API execution environments
 * (the shipped bundle, one node process each) get and put random items; the API's latency idle first.
 * Figures only; the goals are printed beside them, nothing is enforced.
 */
import { loadavg } from "node:os";
import { ExecutionEnvironments } from "../../harness/execution-environments";
import { iamConnection } from "../../harness/iam-connection";
import { type Harness, startHarness } from "../../harness/mariadb";
import { bootstrapHarness } from "../../harness/migrations";
import { PURGE_ITEMS, loadPurgeItems } from "../../harness/purge-items";
import { MAX_CHUNK_ROWS, purgeExpiredItems } from "../../functions/purge/purge";
import { DatabaseClient } from "../../functions/shared/database-client";
import { settingsFromEnvironment } from "../../functions/shared/database-settings";
import { SERVICE_FUNCTIONS } from "../../src/config/functions";
import { DATABASE_INSTANCE_DEFAULTS } from "../../src/database/database-instance-props";
import { classMemoryGib } from "../../src/database/instance-classes";
import { placeServerApart } from "./cpu-placement";
import { percentile } from "./measure";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
/**
 * More than the tests' 200,000: the job then runs for seconds (about 4 here) with about a thousand API requests
 * beside it, so that their p99 is the tenth slowest rather than the second or third.
 */
const ROWS = Number(process.env.BENCH_ROWS ?? 1_500_000);
/** The job's cap on a chunk's rows, to see what it trades: the job's rate against the API's lock waits. */
const MAX_ROWS = Number(process.env.BENCH_MAX_CHUNK_ROWS ?? MAX_CHUNK_ROWS);
const API_ENVIRONMENTS = 4;
const IDLE_MS = 5_000;
/** Each environment's pause between requests: the same offered load in every phase (a closed loop would take whatever CPU the other side leaves). */
const PAUSE_MS = 10;
const RETENTION_DAYS = 30;
const PURGE_USER = SERVICE_FUNCTIONS.purge.database.user;
/**
 * The server sized like the smallest instance the configuration deploys (the default class): RDS gives InnoDB's
 * buffer pool 3/4 of the class's memory, which holds these items whole. The tests' 8 MiB would measure disk reads.
 */
const BUFFER_POOL_MB = Math.floor(((classMemoryGib(DATABASE_INSTANCE_DEFAULTS.instanceClass) ?? 1) * 1024 * 3) / 4);

const progress = (line: string) => process.stderr.write(`${line}\n`);
const load = () => loadavg()[0].toFixed(1);

/** Every environment gets and puts random items, PAUSE_MS apart, until `until` settles; their latencies. */
async function apiLatencies(environments: ExecutionEnvironments, until: Promise<unknown>): Promise<number[]> {
  let done = false;
  const ms: number[] = [];
  const caller = async (index: number) => {
    for (let i = 0; !done; i++) {
      const id = PURGE_ITEMS.idOf(Math.floor(Math.random() * ROWS));
      const event = i % 2 === 0 ? { op: "get", id } : { op: "put", item: { id, data: { by: "api", i } } };
      const [invocation] = await environments.invoke(event, [index]);
      // 404: a get of an item already purged.
      if (invocation.statusCode === undefined || invocation.statusCode >= 400 + (i % 2 === 0 ? 5 : 0)) {
        throw new Error(`the API answered ${JSON.stringify(invocation)} during the bench`);
      }
      ms.push(invocation.ms);
      await new Promise((resolve) => setTimeout(resolve, PAUSE_MS));
    }
  };
  const callers = Array.from({ length: environments.size }, (_, index) => caller(index));
  // Its failure is the caller's to report; the environments finish their requests first.
  await Promise.allSettled([until]);
  done = true;
  await Promise.all(callers);
  return ms;
}

interface Side {
  readonly name: string;
  readonly rows?: number;
  readonly seconds?: number;
  readonly api: number[];
  /** InnoDB's row-lock waits during the side and their total time: what the API waited on locks, apart from CPU. */
  readonly lockWaits: string;
  readonly load: string;
}

/** InnoDB's row-lock waits and their total time so far (the server keeps no per-side maximum). */
async function rowLockCounters(h: Harness): Promise<{ waits: number; ms: number }> {
  const rows: { Variable_name: string; Value: string }[] = await h.admin("SHOW GLOBAL STATUS LIKE 'Innodb_row_lock_%'");
  const value = (name: string) => Number(rows.find((row) => row.Variable_name === name)?.Value ?? Number.NaN);
  return { waits: value("Innodb_row_lock_waits"), ms: value("Innodb_row_lock_time") };
}

/** Runs `side` and says how many row-lock waits it caused, and their total time: the API's waits on locks, apart from CPU. */
async function withLockWaits<T>(h: Harness, side: () => Promise<T>): Promise<[T, string]> {
  const before = await rowLockCounters(h);
  const result = await side();
  const after = await rowLockCounters(h);
  return [result, `${after.waits - before.waits} (${after.ms - before.ms} ms)`];
}

const latency = (ms: number[]) =>
  `${percentile(ms, 50).toFixed(1)} / ${percentile(ms, 99).toFixed(1)} / ${Math.max(...ms).toFixed(0)} ms (${ms.length} requests)`;

async function main(): Promise<void> {
  progress("starting MariaDB behind the IAM front...");
  const h = await startHarness({ bufferPoolMb: BUFFER_POOL_MB });
  // Before the API environments start, so that they inherit the clients' CPUs.
  const placement = placeServerApart(h.serverPid(), { float: process.argv.includes("--float") });
  // The job's client signs its tokens with the harness's credentials, from the environment as in Lambda.
  Object.assign(process.env, h.env);
  const environments = await (async () => {
    // The declared users with their declared grants, the purge's among them.
    await bootstrapHarness(h);
    return ExecutionEnvironments.start(API_ENVIRONMENTS, h.env);
  })();
  const job = new DatabaseClient(settingsFromEnvironment({ ...h.env, DB_USER: PURGE_USER }));
  const rounds: Side[][] = [];
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      const sides: Side[] = [];
      progress(`round ${round}: loading ${ROWS} items, then the API alone for ${IDLE_MS / 1000} s...`);
      await loadPurgeItems(h, ROWS);
      await h.admin("UPDATE ??.batch_jobs SET lease_owner = NULL, lease_until = NULL, pass_started_at = NULL, after_id = NULL", [
        h.database,
      ]);
      const [idle, idleWaits] = await withLockWaits(h, () =>
        apiLatencies(environments, new Promise((resolve) => setTimeout(resolve, IDLE_MS))),
      );
      sides.push({ name: "API alone", api: idle, lockWaits: idleWaits, load: load() });

      progress(`round ${round}: the job, with the API alongside...`);
      const jobRun = purgeExpiredItems(job, {
        retentionDays: RETENTION_DAYS,
        runId: `bench-${round}`,
        remainingMs: () => 15 * 60_000,
        maxChunkRows: MAX_ROWS,
      });
      const [duringJob, jobWaits] = await withLockWaits(h, () => apiLatencies(environments, jobRun));
      const summary = await jobRun;
      if (summary.outcome !== "finished") throw new Error(`the job did not finish: ${JSON.stringify(summary)}`);
      sides.push({
        name: `job (${summary.chunks} chunks of <= ${MAX_ROWS} rows, longest ${summary.longestChunkMs} ms)`,
        rows: summary.rowsChanged,
        seconds: summary.durationMs / 1000,
        api: duringJob,
        lockWaits: jobWaits,
        load: load(),
      });

      progress(`round ${round}: reloading, then one DELETE, with the API alongside...`);
      await loadPurgeItems(h, ROWS);
      const connection = await iamConnection(h, PURGE_USER);
      try {
        const started = performance.now();
        const statement = connection.query("DELETE FROM items WHERE updated_at < NOW(3) - INTERVAL ? DAY", [RETENTION_DAYS]);
        const [duringStatement, statementWaits] = await withLockWaits(h, () => apiLatencies(environments, statement));
        const [result] = (await statement) as unknown as [{ affectedRows: number }];
        sides.push({
          name: "one DELETE",
          rows: result.affectedRows,
          seconds: (performance.now() - started) / 1000,
          api: duringStatement,
          lockWaits: statementWaits,
          load: load(),
        });
      } finally {
        await connection.end();
      }
      rounds.push(sides);
    }
  } finally {
    await job.end();
    environments.stop();
    await h.destroy();
  }

  console.log(
    `\nPurge of ${ROWS} items (two in three expired) on the MariaDB harness, ${API_ENVIRONMENTS} API environments getting and putting random items throughout; ${placement}; buffer pool ${BUFFER_POOL_MB} MiB; load = 1-minute load average after each side:\n`,
  );
  const rows = [["round", "side", "rows deleted", "seconds", "rows/s", "API p50 / p99 / max", "row-lock waits (total)", "load"]];
  rounds.forEach((sides, index) => {
    for (const side of sides) {
      rows.push([
        String(index + 1),
        side.name,
        side.rows === undefined ? "" : String(side.rows),
        side.seconds === undefined ? "" : side.seconds.toFixed(1),
        side.rows === undefined ? "" : String(Math.round(side.rows / side.seconds!)),
        latency(side.api),
        side.lockWaits,
        side.load,
      ]);
    }
  });
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  for (const row of rows) console.log(`  ${row.map((cell, column) => cell.padEnd(widths[column])).join("   ")}`.trimEnd());

  const range = (values: number[], digits: number) => `${Math.min(...values).toFixed(digits)}-${Math.max(...values).toFixed(digits)}`;
  const rate = (side: Side) => side.rows! / side.seconds!;
  const speed = rounds.map(([, jobSide, statement]) => rate(jobSide) / rate(statement));
  const p99 = rounds.map(([idle, jobSide]) => percentile(jobSide.api, 99) / percentile(idle.api, 99));
  const statementP99 = rounds.map(([idle, , statement]) => percentile(statement.api, 99) / percentile(idle.api, 99));
  console.log(`\n  job's rate / one DELETE's rate: ${range(speed, 2)}x over ${ROUNDS} rounds (goal: 0.5x or more)`);
  console.log(`  API p99 during the job / idle: ${range(p99, 2)}x (goal: 2x or less)`);
  console.log(`  API p99 during one DELETE / idle: ${range(statementP99, 2)}x`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
