/**
 * Prints figures for the api function as it ships: zip size, cold start of the extracted bundle,
 * warm latency next to a raw mysql2 query, and token signings, all on the MariaDB IAM harness.
 * Figures only; targets are printed beside them, nothing is enforced.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Signer } from "@aws-sdk/rds-signer";
import { unzipSync } from "fflate";
import mysql from "mysql2/promise";
import { type Harness, startHarness } from "../../harness/mariadb";
import { bootstrapHarness } from "../../harness/migrations";
import { bundleFunction } from "../../src/functions/function-bundle";
import { placeOnOwnCpu } from "./cpu-placement";
import { median, percentile } from "./measure";

const projectRoot = resolve(__dirname, "../..");
const COLD_STARTS = 5;
// V8 is still optimising the handler's longer path after a few hundred calls (its compiler threads
// kept using CPU over the first thousands here), and 1,000 samples a side left the ratio 0.17 apart
// between two copies of the same bundle: both are well above that now.
const WARM_UP = 1000;
const INVOCATIONS = 4000;
const BLOCK = 100;
const ITEM_ID = "bench-item";

// Plain `node`, no tsx hooks: module load is what Lambda pays for our code (its own bootstrap is not counted).
const COLD_START = `
const started = performance.now();
const { handler, closeDatabase } = require(process.argv[1]);
const loaded = performance.now();
handler({ op: "health" }).then(async (response) => {
  const invoked = performance.now();
  if (response.statusCode !== 200) throw new Error(JSON.stringify(response));
  await closeDatabase();
  process.send({ loadMs: loaded - started, firstInvocationMs: invoked - loaded }, () => process.exit(0));
});`;

interface ColdStart {
  loadMs: number;
  firstInvocationMs: number;
}

interface WarmJob {
  indexJs: string;
  host: string;
  port: number;
  user: string;
  database: string;
  ca: string;
  token: string;
}

interface Side {
  ms: number[];
  /** CPU time of the child (user + system, every thread) over this side's blocks: steadier than wall time on a shared machine. */
  cpuMicros: number;
}

interface WarmResult {
  handler: Side;
  raw: Side;
  /** The same raw statement on a connection with the handler's `trace: false` (mysql2 captures no stack per statement). */
  rawWithoutTrace: Side;
  signings: number;
}

/** The first message of a child that runs the bundle; its stdout (the handler's log lines) goes to /dev/null, as cheaply as Lambda's log pipe. */
function firstMessage<T>(child: ChildProcess): Promise<T> {
  let stderr = "";
  child.stderr!.on("data", (chunk) => (stderr += chunk));
  return new Promise((done, fail) => {
    child.once("message", (message) => done(message as T));
    child.once("error", fail);
    child.once("exit", (code) => fail(new Error(`benchmark child exited with ${code} before reporting:\n${stderr.slice(-2000)}`)));
  });
}

/** Calls `run` `count` times in a row; with `side`, adds each call's wall time and the calls' CPU time to it. */
async function timed(count: number, run: () => Promise<unknown>, side?: Side): Promise<void> {
  const cpuBefore = process.cpuUsage();
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    await run();
    side?.ms.push(performance.now() - started);
  }
  if (side) {
    const cpu = process.cpuUsage(cpuBefore);
    side.cpuMicros += cpu.user + cpu.system;
  }
}

/**
 * Runs in a child of its own: the shipped bundle and a raw connection in one process with the same loop,
 * so the only difference is what the handler adds (parsing, its unit of work with one timer and a retry, row decoding, logging).
 * A child because the bundle reads its settings from process.env and logs every call to stdout.
 */
async function warmChild(job: WarmJob): Promise<WarmResult> {
  const api: typeof import("../../functions/api/index") = require(job.indexJs);
  // mysql2 as a caller writes it, with its defaults; and with the one driver setting the handler changes that costs time.
  const options = {
    host: job.host,
    port: job.port,
    user: job.user,
    database: job.database,
    password: job.token,
    ssl: { ca: job.ca },
    enableCleartextPlugin: true,
  };
  const raw = await mysql.createConnection(options);
  const rawWithoutTrace = await mysql.createConnection({ ...options, trace: false });
  const get = { op: "get", id: ITEM_ID };
  // Lambda always passes the invocation's id, so the handler never makes one of its own there.
  const context = { awsRequestId: "2b1f8d1e-3c5a-4f7e-9d2b-1a2b3c4d5e6f" };
  const viaHandler = () => api.handler(get, context);
  // The statement the handler sends, the way it sends it: text protocol, the value escaped by the driver.
  const viaRaw = () => raw.query("SELECT id, data FROM items WHERE id = ?", [ITEM_ID]);
  const viaRawWithoutTrace = () => rawWithoutTrace.query("SELECT id, data FROM items WHERE id = ?", [ITEM_ID]);

  await api.handler({ op: "put", item: { id: ITEM_ID, data: { colour: "red", sizes: [1, 2, 3] } } });
  const answer = await viaHandler();
  if (answer.statusCode !== 200) throw new Error(`get answered ${JSON.stringify(answer)}`);
  await timed(WARM_UP, viaHandler);
  await timed(WARM_UP, viaRaw);
  await timed(WARM_UP, viaRawWithoutTrace);

  // Alternating blocks, so a burst of load from elsewhere on the machine hits every side alike.
  const side = (): Side => ({ ms: [], cpuMicros: 0 });
  const result: WarmResult = { handler: side(), raw: side(), rawWithoutTrace: side(), signings: 0 };
  for (let done = 0; done < INVOCATIONS; done += BLOCK) {
    const signedBefore = api.sharedDatabase().tokens.signings;
    await timed(BLOCK, viaHandler, result.handler);
    result.signings += api.sharedDatabase().tokens.signings - signedBefore;
    await timed(BLOCK, viaRaw, result.raw);
    await timed(BLOCK, viaRawWithoutTrace, result.rawWithoutTrace);
  }
  return result;
}

interface Figures {
  p50: number;
  p99: number;
  cpuPerCall: number;
}

const figures = (side: Side): Figures => ({
  p50: percentile(side.ms, 50),
  p99: percentile(side.ms, 99),
  cpuPerCall: side.cpuMicros / side.ms.length,
});

const ms = (value: number) => `${value.toFixed(value < 10 ? 3 : 1)} ms`;
const row = (label: string, ...cells: string[]) =>
  console.log(`  ${label.padEnd(50)}${cells.map((cell) => cell.padEnd(14)).join("")}`.trimEnd());

const progress = (line: string) => process.stderr.write(`${line}\n`);

async function main(): Promise<void> {
  // Before the harness starts, so MariaDB inherits this process's CPUs.
  const placement = placeOnOwnCpu({ float: process.argv.includes("--float") });
  const work = mkdtempSync(join(tmpdir(), "bench-function-"));
  let h: Harness | undefined;
  try {
    progress("bundling the api function...");
    const bundle = bundleFunction({ projectRoot, source: "functions/api", runtime: "nodejs22.x" });
    // Extracted alone in a temp dir: nothing resolves from a node_modules beside it.
    const code = unzipSync(readFileSync(bundle.zipPath))["index.js"];
    const indexJs = join(work, "index.js");
    writeFileSync(indexJs, code);

    progress("starting the MariaDB IAM harness...");
    h = await startHarness();
    await bootstrapHarness(h);
    // Session credentials, as a Lambda's: tokens of about 1 KB.
    const env = { ...process.env, ...h.env };
    delete env.AWS_PROFILE;

    const coldStarts: ColdStart[] = [];
    for (let i = 0; i < COLD_STARTS; i++) {
      progress(`cold start ${i + 1} of ${COLD_STARTS}...`);
      const child = spawn(...placement.command(process.execPath, ["-e", COLD_START, indexJs]), {
        env,
        stdio: ["ignore", "ignore", "pipe", "ipc"],
      });
      coldStarts.push(await firstMessage<ColdStart>(child));
    }

    const token = await new Signer({
      hostname: h.host,
      port: h.port,
      username: h.env.DB_USER,
      region: h.region,
      credentials: h.credentials,
    }).getAuthToken();
    progress(`${(WARM_UP + INVOCATIONS) * 3} warm calls, the handler and the raw driver alternating...`);
    const child = spawn(...placement.command(process.execPath, [...process.execArgv, __filename, "--warm"]), {
      env,
      stdio: ["ignore", "ignore", "pipe", "ipc"],
    });
    const warm = firstMessage<WarmResult>(child);
    child.send({ indexJs, host: h.host, port: h.port, user: h.env.DB_USER, database: h.database, ca: h.caPem, token } satisfies WarmJob);
    const { handler, raw, rawWithoutTrace, signings } = await warm;
    console.log(
      `api function, nodejs22.x bundle (run here on node ${process.version}), MariaDB IAM harness on loopback (through its token-verifying front)`,
    );
    console.log(`${placement.description}\n`);
    row("zip size", `${(bundle.bytes / 1024).toFixed(1)} KB`, "", "target <= 600 KB");
    row("index.js unzipped", `${(code.byteLength / 1024).toFixed(1)} KB`);
    console.log(`\ncold start, median of ${COLD_STARTS} fresh node processes`);
    row("module load (require index.js)", ms(median(coldStarts.map((c) => c.loadMs))));
    row("first invocation (health: TLS, token, 2 queries)", ms(median(coldStarts.map((c) => c.firstInvocationMs))));
    row("total", ms(median(coldStarts.map((c) => c.loadMs + c.firstInvocationMs))));
    console.log(`\nwarm get of one item, ${INVOCATIONS} sequential calls each (blocks of ${BLOCK}, alternating) after ${WARM_UP} warm-up`);
    row("", "p50", "p99", "CPU per call");
    const [handlerFigures, rawFigures, rawWithoutTraceFigures] = [handler, raw, rawWithoutTrace].map(figures);
    const µs = (micros: number) => `${micros.toFixed(0)} µs`;
    const times = (part: number, whole: number) => `${(part / whole).toFixed(2)}x`;
    const sideRow = (label: string, f: Figures) => row(label, ms(f.p50), ms(f.p99), µs(f.cpuPerCall));
    const ratioRow = (label: string, f: Figures, base: Figures, ...notes: string[]) =>
      row(label, times(f.p50, base.p50), times(f.p99, base.p99), times(f.cpuPerCall, base.cpuPerCall), ...notes);
    sideRow("handler (bundle)", handlerFigures);
    sideRow("raw mysql2 query, open TLS connection", rawFigures);
    ratioRow("ratio handler / raw", handlerFigures, rawFigures, "target <= 1.3x at p50");
    row(
      "handler overhead (handler - raw)",
      µs((handlerFigures.p50 - rawFigures.p50) * 1000),
      µs((handlerFigures.p99 - rawFigures.p99) * 1000),
      µs(handlerFigures.cpuPerCall - rawFigures.cpuPerCall),
    );
    console.log("\nthe raw query with the handler's trace: false (mysql2 captures no stack per statement), for comparison");
    sideRow("raw mysql2 query, trace: false", rawWithoutTraceFigures);
    ratioRow("ratio handler / raw with trace: false", handlerFigures, rawWithoutTraceFigures);
    console.log();
    row("token signings per 100 warm invocations", String((signings * 100) / INVOCATIONS), "", "", "target <= 1");
  } finally {
    await h?.destroy();
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[2] === "--warm") {
  process.once("message", (job) =>
    warmChild(job as WarmJob).then(
      (result) => process.send!(result, () => process.exit(0)),
      (error) => {
        console.error(error);
        process.exit(1);
      },
    ),
  );
} else {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
