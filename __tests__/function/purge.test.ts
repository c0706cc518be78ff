import { type Harness, startHarness } from "../../harness/mariadb";
import { captureLogLines } from "../../harness/logs";
import { bootstrapHarness } from "../../harness/migrations";
import { loadPurgeItems, PURGE_ITEMS } from "../../harness/purge-items";
import { deleteItem, putItem } from "../../functions/api/items";
import { closeDatabase, handler, retentionDaysOf } from "../../functions/purge/index";
import { SERVICE_FUNCTIONS } from "../../src/config/functions";
import {
  CHUNK_TARGET_MS,
  JOB,
  MAX_CHUNK_ROWS,
  MIN_CHUNK_ROWS,
  type PurgeSummary,
  STOP_MARGIN_MS,
  nextChunkRows,
  purgeExpiredItems,
} from "../../functions/purge/purge";
import { DatabaseClient } from "../../functions/shared/database-client";
import { settingsFromEnvironment } from "../../functions/shared/database-settings";

let h: Harness;
const logLines: string[] = [];
const RETENTION_DAYS = 30;
/** What the schedule sends (trigger.input), with the retention the items are made for. */
const EVENT = { retentionDays: RETENTION_DAYS };
const PURGE_USER = SERVICE_FUNCTIONS.purge.database.user;
const { rows: ROWS, idOf, isExpired } = PURGE_ITEMS;
const EXPIRED = Array.from({ length: ROWS }, (_, n) => n).filter(isExpired).length;

beforeAll(async () => {
  h = await startHarness();
  // The declared users with their declared grants (src/config/functions.ts), the purge's among them.
  await bootstrapHarness(h);
  for (const name of ["AWS_SESSION_TOKEN", "AWS_PROFILE", "DB_TLS_CA_FILE"]) delete process.env[name];
  Object.assign(process.env, h.env, { DB_USER: PURGE_USER });
  captureLogLines(logLines);
});

afterAll(async () => {
  await closeDatabase();
  await h?.destroy();
  jest.restoreAllMocks();
});

/** A Lambda context whose invocation is cut off `ms` from now. */
const contextOf = (requestId: string, ms: number) => {
  const deadline = Date.now() + ms;
  return { awsRequestId: requestId, getRemainingTimeInMillis: () => deadline - Date.now() };
};
const FIFTEEN_MINUTES = 15 * 60_000;
/**
 * A Lambda context with time for `chunks` chunks: the run reads the remaining time once for its lease and
 * once before each chunk, and after `chunks` of those it is below the margin the run keeps.
 */
const contextCutAfter = (requestId: string, chunks: number) => {
  let reads = 0;
  return { awsRequestId: requestId, getRemainingTimeInMillis: () => (reads++ <= chunks ? STOP_MARGIN_MS + 60_000 : STOP_MARGIN_MS - 1) };
};
const ids = async (): Promise<string[]> =>
  (await h.admin(`SELECT id FROM \`${h.database}\`.items ORDER BY id`)).map((row: { id: string }) => row.id);
const freshIds = () =>
  Array.from({ length: ROWS }, (_, n) => n)
    .filter((n) => !isExpired(n))
    .map(idOf);
const checkpoint = async () => (await h.admin(`SELECT * FROM \`${h.database}\`.batch_jobs WHERE job = ?`, [JOB]))[0];
const summaries = () =>
  logLines
    .map((text) => JSON.parse(text))
    .filter((entry) => entry.message === "purge run")
    .map(({ level, message, requestId, ...summary }) => ({ level, requestId, ...summary }));
const status = async (name: string) => Number((await h.admin("SHOW GLOBAL STATUS LIKE ?", [name]))[0].Value);

describe(`purge of expired items, ${ROWS} rows on the MariaDB harness, as its own user with only its grants`, () => {
  beforeEach(async () => {
    await loadPurgeItems(h);
    logLines.length = 0;
  });

  it("stops a run before its deadline at a chunk's end, resumes there on the next run and finishes; a third run changes nothing", async () => {
    const sessionsBefore = h.sessions().length;
    const cut = await handler(EVENT, contextCutAfter("cut", 3));
    expect(cut).toMatchObject({ outcome: "stopped-early", passesFinished: 0, resumed: false, chunks: 3 });
    expect(cut.rowsExamined).toBeLessThan(ROWS);
    // Every chunk is committed with the checkpoint at its last key: what was examined is exactly what was purged.
    expect(await checkpoint()).toMatchObject({ after_id: idOf(cut.rowsExamined - 1), lease_owner: null, lease_until: null });
    const examinedExpired = Array.from({ length: cut.rowsExamined }, (_, n) => n).filter(isExpired).length;
    expect(cut.rowsChanged).toBe(examinedExpired);

    const resumed = await handler(EVENT, contextOf("resumed", FIFTEEN_MINUTES));
    expect(resumed).toMatchObject({ outcome: "finished", passesFinished: 1, resumed: true, passStartedAt: cut.passStartedAt });
    expect(resumed.rowsExamined).toBe(ROWS - cut.rowsExamined);
    expect(cut.rowsChanged + resumed.rowsChanged).toBe(EXPIRED);
    expect(await ids()).toEqual(freshIds());
    expect(await checkpoint()).toMatchObject({
      after_id: null,
      pass_started_at: null,
      lease_owner: null,
      last_finished_at: expect.any(Date),
    });

    const [before] = await h.admin(`CHECKSUM TABLE \`${h.database}\`.items`);
    const again = await handler(EVENT, contextOf("again", FIFTEEN_MINUTES));
    expect(again).toMatchObject({ outcome: "finished", resumed: false, rowsExamined: ROWS - EXPIRED, rowsChanged: 0 });
    expect(await h.admin(`CHECKSUM TABLE \`${h.database}\`.items`)).toEqual([before]);

    // One summary line per run, each with what it did.
    expect(summaries()).toEqual(
      [
        ["cut", cut],
        ["resumed", resumed],
        ["again", again],
      ].map(([requestId, summary]) => ({ level: "info", requestId, ...(summary as PurgeSummary) })),
    );
    // Nothing it sent would pin an RDS Proxy session.
    const sessions = h
      .sessions()
      .slice(sessionsBefore)
      .filter((session) => session.user === PURGE_USER);
    expect(sessions.length).toBeGreaterThan(0);
    for (const session of sessions) expect(session.pins).toEqual([]);
  });

  it("lets only one of two runs started at once work: the other finds the lease held and changes nothing", async () => {
    const clients = [0, 1].map(() => new DatabaseClient(settingsFromEnvironment(process.env)));
    try {
      const runs = await Promise.all(
        clients.map((db, i) =>
          purgeExpiredItems(db, { retentionDays: RETENTION_DAYS, runId: `run-${i}`, remainingMs: () => FIFTEEN_MINUTES }),
        ),
      );
      const outcomes = runs.map((run) => run.outcome).sort();
      expect(outcomes).toEqual(["finished", "lease-held"]);
      const held = runs.find((run) => run.outcome === "lease-held")!;
      expect(held).toMatchObject({ rowsExamined: 0, rowsChanged: 0, chunks: 0 });
      expect(runs.find((run) => run.outcome === "finished")).toMatchObject({ rowsExamined: ROWS, rowsChanged: EXPIRED });
      expect(await ids()).toEqual(freshIds());
    } finally {
      await Promise.all(clients.map((db) => db.end()));
    }
  });

  it("fences off a run whose lease ran out once another run has claimed it, and stops it at its next checkpoint", async () => {
    const clients = [0, 1].map(() => new DatabaseClient(settingsFromEnvironment(process.env)));
    try {
      let takeover: Promise<PurgeSummary> | undefined;
      let calls = 0;
      // The first run outlives its lease (a frozen environment): once it has saved a checkpoint, its lease is made to
      // expire, and a second run starts while the first goes on.
      const takeOver = async () => {
        while (!(await checkpoint()).after_id) await new Promise((resolve) => setTimeout(resolve, 50));
        await h.admin(`UPDATE \`${h.database}\`.batch_jobs SET lease_until = NOW(3) - INTERVAL 1 SECOND WHERE job = ?`, [JOB]);
        return purgeExpiredItems(clients[1], { retentionDays: RETENTION_DAYS, runId: "second", remainingMs: () => FIFTEEN_MINUTES });
      };
      const remainingMs = () => {
        if (++calls === 2) takeover = takeOver();
        return FIFTEEN_MINUTES;
      };
      const first = await purgeExpiredItems(clients[0], { retentionDays: RETENTION_DAYS, runId: "first", remainingMs, maxChunkRows: 100 });
      const second = await takeover!;
      expect(first.outcome).toBe("lease-lost");
      expect(second).toMatchObject({ outcome: "finished", resumed: true });
      // The second run went on from the first one's last checkpoint (examining again what the first had done since, which
      // deletes nothing more), and the first deleted nothing once the second held the lease: every expired item was
      // deleted exactly once, by one run or the other.
      expect(first.rowsChanged + second.rowsChanged).toBe(EXPIRED);
      expect(await ids()).toEqual(freshIds());
    } finally {
      await Promise.all(clients.map((db) => db.end()));
    }
  });

  it("makes an API writing across the table wait on no lock longer than one of its chunks, and purges nothing the API wrote", async () => {
    const callers = [0, 1, 2, 3];
    const apis = callers.map(
      () => new DatabaseClient(settingsFromEnvironment({ ...process.env, DB_USER: SERVICE_FUNCTIONS.api.database.user })),
    );
    await h.admin("FLUSH STATUS");
    const waitsBefore = await status("Innodb_row_lock_waits");
    let done = false;
    const written = new Set<string>();
    // Four API callers, each with its own connection and keys (n % 4 = its number), put and delete random items across
    // the table, ahead of the job and behind it, as fast as they can: some land in the chunk being deleted. (Keys just
    // ahead of the checkpoint missed it on a fast machine: the checkpoint moves once a second, the job ran past them.)
    const caller = async (worker: number) => {
      const api = apis[worker];
      for (let i = 0; !done; i++) {
        const id = idOf(4 * Math.floor((Math.random() * ROWS) / 4) + worker);
        if (i % 5 === 4) {
          await api.run("api", (connection) => deleteItem(connection, id));
          written.delete(id);
        } else {
          await api.run("api", (connection) => putItem(connection, { id, data: { by: "api" } }));
          written.add(id);
        }
      }
    };
    const working = callers.map(caller);
    const run = await handler(EVENT, contextOf("alongside", FIFTEEN_MINUTES)).finally(() => (done = true));
    await Promise.all(working);
    await Promise.all(apis.map((api) => api.end()));

    expect(run).toMatchObject({ outcome: "finished", rowsExamined: expect.any(Number) });
    // The callers did contend with the job, and no wait outlasted the longest chunk (InnoDB counts in whole ms).
    expect((await status("Innodb_row_lock_waits")) - waitsBefore).toBeGreaterThan(0);
    expect(await status("Innodb_row_lock_time_max")).toBeLessThanOrEqual(run.longestChunkMs + 1);
    // The job checks an item's age under the lock: an item the API wrote during the run is never purged.
    const left = new Set(await ids());
    for (const id of written) expect(left.has(id)).toBe(true);
  });

  it("refuses an event without a valid retentionDays, naming it and what the schedule sends, and logs the failed run", async () => {
    for (const [requestId, event] of [
      ["none", {}],
      ["words", { retentionDays: "thirty" }],
      ["zero", { retentionDays: 0 }],
    ] as const) {
      await expect(handler(event, contextOf(requestId, FIFTEEN_MINUTES))).rejects.toThrow(
        `the event's retentionDays is ${JSON.stringify((event as { retentionDays?: unknown }).retentionDays)}; the schedule sends { "retentionDays": <whole number of days, 1 or more> } (trigger.input)`,
      );
    }
    expect(summaries()).toEqual(
      ["none", "words", "zero"].map((requestId) =>
        expect.objectContaining({ level: "error", requestId, outcome: "failed", error: "Error" }),
      ),
    );
    expect(await ids()).toHaveLength(ROWS);
  });
});

describe("nextChunkRows", () => {
  it("sizes chunks towards the target time, at most doubling, always within the bounds", () => {
    for (const rows of [MIN_CHUNK_ROWS, 1000, 4000, MAX_CHUNK_ROWS]) {
      for (const ms of [0, 1, 10, CHUNK_TARGET_MS - 1, CHUNK_TARGET_MS, CHUNK_TARGET_MS + 1, 200, 5000]) {
        const next = nextChunkRows(rows, ms);
        expect(next).toBeGreaterThanOrEqual(MIN_CHUNK_ROWS);
        expect(next).toBeLessThanOrEqual(Math.min(MAX_CHUNK_ROWS, rows * 2));
        // Faster than the target: never smaller; slower: never larger.
        if (ms < CHUNK_TARGET_MS) expect(next).toBeGreaterThanOrEqual(rows);
        if (ms > CHUNK_TARGET_MS) expect(next).toBeLessThanOrEqual(rows);
      }
    }
    expect(nextChunkRows(1000, 10, 100)).toBe(100);
  });
});

describe("the purge's declaration", () => {
  it("has its schedule send the event the handler reads", () => {
    const { trigger } = SERVICE_FUNCTIONS.purge;
    expect(retentionDaysOf(trigger.input)).toBe(trigger.input.retentionDays);
  });
});
