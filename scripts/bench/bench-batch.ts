/**
 * Prints the purge job's speed against its speed limit, and what each does to the API, side by side on
 * the same MariaDB IAM harness and the same items (two in three expired), reloaded for each side: the job
 * (keyset chunks, a transaction each) and the same change as one plain DELETE, each while four API
 * execution environments (the shipped bundle, one node process each) get and put random items, after the
 * API alone; then each again without the API, which tells what the chunks cost from what the job leaves the API.
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
  /** Until the job or the statement returned. */
  readonly seconds?: number;
  /**
   * Until the server had purged what it deleted (InnoDB's history list empty): a DELETE returns with its rows only
   * marked, and the purge thread removes them afterwards, on the same CPU. The job's chunks are purged while it runs;
   * one statement's, after it returned. The rates compare this: the same work on both sides.
   */
  readonly purgedSeconds?: number;
  readonly api: number[];
  /** InnoDB's row-lock waits during the side and their total time: what the API waited on locks, apart from CPU. */
  readonly lockWaits: string;
  readonly load: string;
}

/** Resolves once InnoDB has purged every committed change (its history list is empty); fails after 10 minutes. */
async function purged(h: Harness): Promise<void> {
  const deadline = performance.now() + 10 * 60_000;
  for (;;) {
    const [{ length }] = await h.admin(
      "SELECT `COUNT` AS length FROM information_schema.INNODB_METRICS WHERE NAME = 'trx_rseg_history_len'",
    );
    if (Number(length) === 0) return;
    if (performance.now() > deadline) throw new Error(`InnoDB's history list still holds ${length} after 10 minutes`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** InnoDB's row-lock waits and their total time so far (the server keeps no per-side maximum): the API's waits on locks, apart from CPU. */
async function rowLockCounters(h: Harness): Promise<{ waits: number; ms: number }> {
  const rows: { Variable_name: string; Value: string }[] = await h.admin("SHOW GLOBAL STATUS LIKE 'Innodb_row_lock_%'");
  const value = (name: string) => Number(rows.find((row) => row.Variable_name === name)?.Value ?? Number.NaN);
  return { waits: value("Innodb_row_lock_waits"), ms: value("Innodb_row_lock_time") };
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
  /** Runs `work` on freshly loaded items, with the API alongside when `api`, and measures both. */
  const measure = async (api: boolean, work: () => Promise<Omit<Side, "api" | "lockWaits" | "load">>): Promise<Side> => {
    await loadPurgeItems(h, ROWS);
    // Nothing of the previous side's purge left to run into this one.
    await purged(h);
    const before = await rowLockCounters(h);
    const started = performance.now();
    const running = work().then(async (done) => {
      await purged(h);
      return { ...done, purgedSeconds: done.rows === undefined ? undefined : (performance.now() - started) / 1000 };
    });
    const latencies = api ? await apiLatencies(environments, running) : [];
    const done = await running;
    const after = await rowLockCounters(h);
    return { ...done, api: latencies, lockWaits: `${after.waits - before.waits} (${after.ms - before.ms} ms)`, load: load() };
  };
  const theJob = (runId: string) => async () => {
    const summary = await purgeExpiredItems(job, {
      retentionDays: RETENTION_DAYS,
      runId,
      remainingMs: () => 15 * 60_000,
      maxChunkRows: MAX_ROWS,
    });
    if (summary.outcome !== "finished") throw new Error(`the job did not finish: ${JSON.stringify(summary)}`);
    return {
      name: `job (${summary.chunks} chunks of <= ${MAX_ROWS} rows, longest ${summary.longestChunkMs} ms)`,
      rows: summary.rowsChanged,
      seconds: summary.durationMs / 1000,
    };
  };
  const oneDelete = async () => {
    const connection = await iamConnection(h, PURGE_USER);
    try {
      const started = performance.now();
      const [result] = (await connection.query("DELETE FROM items WHERE updated_at < NOW(3) - INTERVAL ? DAY", [
        RETENTION_DAYS,
      ])) as unknown as [{ affectedRows: number }];
      return { name: "one DELETE", rows: result.affectedRows, seconds: (performance.now() - started) / 1000 };
    } finally {
      await connection.end();
    }
  };
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      progress(`round ${round}: the API alone for ${IDLE_MS / 1000} s, then the job and one DELETE with it, then each without it...`);
      const idle = await measure(true, async () => {
        await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
        return { name: "API alone" };
      });
      const withApi = [await measure(true, theJob(`bench-${round}`)), await measure(true, oneDelete)];
      const alone = [await measure(false, theJob(`bench-${round}-alone`)), await measure(false, oneDelete)];
      rounds.push([idle, ...withApi, ...alone.map((side) => ({ ...side, name: `${side.name}, no API` }))]);
    }
  } finally {
    await job.end();
    environments.stop();
    await h.destroy();
  }

  console.log(
    `\nPurge of ${ROWS} items (two in three expired) on the MariaDB harness, ${API_ENVIRONMENTS} API environments getting and putting random items throughout; ${placement}; buffer pool ${BUFFER_POOL_MB} MiB; load = 1-minute load average after each side:\n`,
  );
  const rate = (side: Side) => side.rows! / side.purgedSeconds!;
  const returnedRate = (side: Side) => side.rows! / side.seconds!;
  const rows = [
    [
      "round",
      "side",
      "rows deleted",
      "s to return",
      "s to purged",
      "rows/s (purged)",
      "API p50 / p99 / max",
      "row-lock waits (total)",
      "load",
    ],
  ];
  rounds.forEach((sides, index) => {
    for (const side of sides) {
      rows.push([
        String(index + 1),
        side.name,
        side.rows === undefined ? "" : String(side.rows),
        side.seconds === undefined ? "" : side.seconds.toFixed(1),
        side.purgedSeconds === undefined ? "" : side.purgedSeconds.toFixed(1),
        side.rows === undefined ? "" : String(Math.round(rate(side))),
        side.api.length === 0 ? "" : latency(side.api),
        side.lockWaits,
        side.load,
      ]);
    }
  });
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  for (const row of rows) console.log(`  ${row.map((cell, column) => cell.padEnd(widths[column])).join("   ")}`.trimEnd());

  const range = (values: number[], digits: number) => `${Math.min(...values).toFixed(digits)}-${Math.max(...values).toFixed(digits)}`;
  const speed = rounds.map(([, jobSide, statement]) => rate(jobSide) / rate(statement));
  const speedAlone = rounds.map(([, , , jobSide, statement]) => rate(jobSide) / rate(statement));
  const speedReturned = rounds.map(([, jobSide, statement]) => returnedRate(jobSide) / returnedRate(statement));
  const p99 = rounds.map(([idle, jobSide]) => percentile(jobSide.api, 99) / percentile(idle.api, 99));
  const statementP99 = rounds.map(([idle, , statement]) => percentile(statement.api, 99) / percentile(idle.api, 99));
  console.log(`\n  job's rate / one DELETE's rate, each until purged: ${range(speed, 2)}x over ${ROUNDS} rounds (goal: 0.5x or more)`);
  console.log(`  the same, each until it returned: ${range(speedReturned, 2)}x (one DELETE leaves its purge for after it returned)`);
  console.log(`  API p99 during the job / idle: ${range(p99, 2)}x (goal: 2x or less)`);
  console.log(`  API p99 during one DELETE / idle: ${range(statementP99, 2)}x`);
  console.log(
    `  without the API, job's rate / one DELETE's rate: ${range(speedAlone, 2)}x (what the job's chunks cost, apart from what it leaves the API)`,
  );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
