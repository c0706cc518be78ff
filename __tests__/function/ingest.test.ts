import { createReadStream, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { GetObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { type Harness, startHarness } from "../../harness/mariadb";
import { type LocalS3, objectCreatedEvent, startLocalS3 } from "../../harness/local-s3";
import { ingestInOwnProcess } from "../../harness/ingest-process";
import { captureLogLines } from "../../harness/logs";
import { bootstrapHarness } from "../../harness/migrations";
import { closeDatabase, handler } from "../../functions/ingest/index";
import { UnexpectedEventError } from "../../functions/ingest/event";
import { type IngestResult, MAX_LINE_BYTES, ingestObject } from "../../functions/ingest/ingest";
import { DatabaseClient } from "../../functions/shared/database-client";
import { settingsFromEnvironment } from "../../functions/shared/database-settings";

let h: Harness;
let s3: LocalS3;
const logLines: string[] = [];

beforeAll(async () => {
  h = await startHarness();
  await bootstrapHarness(h);
  s3 = await startLocalS3(h.credentials, h.region);
  for (const name of ["AWS_SESSION_TOKEN", "AWS_PROFILE", "DB_TLS_CA_FILE"]) delete process.env[name];
  Object.assign(process.env, h.env, s3.env, { DB_USER: "ingest" });
  captureLogLines(logLines);
});

afterAll(async () => {
  await closeDatabase();
  await s3?.close();
  await h?.destroy();
  jest.restoreAllMocks();
});

beforeEach(async () => {
  await h.admin(`DELETE FROM \`${h.database}\`.items`);
  await h.admin(`DELETE FROM \`${h.database}\`.ingested_objects`);
  await h.admin(`DELETE FROM \`${h.database}\`.ingested_keys`);
  logLines.length = 0;
});

/** Uploads an object and returns the event S3 would send for it. */
async function upload(key: string, body: string | Uint8Array) {
  const { ETag } = await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: body }));
  return objectCreatedEvent(s3.bucket, key, ETag!);
}

const ingest = async (event: unknown) => (await handler(event, { awsRequestId: "test" }))[0] as IngestResult;
const itemCount = async () => Number((await h.admin(`SELECT COUNT(*) AS n FROM \`${h.database}\`.items`))[0].n);
const resultObject = async (key: string) =>
  JSON.parse(await (await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }))).Body!.transformToString()) as IngestResult;
const line = (id: string, data: unknown) => JSON.stringify({ id, data });
const logged = (message: string) => logLines.map((text) => JSON.parse(text)).filter((entry) => entry.message === message);

describe("ingest of JSON Lines objects from a local S3 into MariaDB with IAM-token authentication", () => {
  it("loads a large object with bad lines sprinkled in, reporting each bad line by number without aborting the good ones", async () => {
    const lines: string[] = [];
    const badAt = new Map<number, string>();
    for (let n = 1; n <= 20_000; n++) {
      if (n % 1000 === 7) {
        lines.push(`{"id": "broken-${n}", "data": `);
        badAt.set(n, "is not valid JSON");
      } else if (n % 1000 === 500) {
        lines.push(line(`bad-${n}`, [1, 2]));
        badAt.set(n, "item.data: must be a JSON object, got an array");
      } else if (n === 12_345) {
        lines.push(line("x".repeat(200), {}));
        badAt.set(n, "item.id: is 200 characters long; the limit is 128");
      } else {
        lines.push(line(`item-${n}`, { n, text: "some text ".repeat(5) }));
      }
    }
    const result = await ingest(await upload("incoming/large.jsonl", `${lines.join("\n")}\n`));

    expect(result).toMatchObject({
      status: "ingested",
      linesOk: 20_000 - badAt.size,
      linesBad: badAt.size,
      resultKey: "results/large.jsonl.json",
    });
    expect(result.badLines).toEqual([...badAt].map(([number, error]) => ({ line: number, error })));
    expect(await itemCount()).toBe(20_000 - badAt.size);
    expect((await h.admin(`SELECT data FROM \`${h.database}\`.items WHERE id = 'item-19999'`))[0].data).toEqual({
      n: 19999,
      text: "some text ".repeat(5),
    });
    expect(await resultObject("results/large.jsonl.json")).toEqual(result);

    expect(logged("bad line").map((entry) => entry.line)).toEqual([...badAt.keys()]);
    expect(logLines.join("\n")).not.toContain("some text");
    expect(logged("object ingested")).toEqual([
      expect.objectContaining({
        level: "info",
        key: "incoming/large.jsonl",
        status: "ingested",
        linesOk: 20_000 - badAt.size,
        linesBad: badAt.size,
        durationMs: expect.any(Number),
      }),
    ]);
  });

  it("pins nothing on the proxy path: transactions of several upserts of at most 16 KB each", async () => {
    await closeDatabase();
    const before = h.sessions().length;
    const lines = Array.from({ length: 3000 }, (_, n) => line(`pin-${n}`, { n, text: 'quoted "text" '.repeat(20) }));
    expect(await ingest(await upload("incoming/pins.jsonl", lines.join("\n")))).toMatchObject({ status: "ingested", linesOk: 3000 });
    expect(await itemCount()).toBe(3000);
    const sessions = h.sessions().slice(before);
    expect(sessions).toEqual([expect.objectContaining({ user: "ingest", pins: [], closed: false })]);
    // 3000 rows of about 460 bytes in statements under 16 KB: far more statements than the 6 transactions of 500 rows.
    expect(sessions[0].commands).toBeGreaterThan(3000 / 40);
  });

  it("closes its connection after the transaction of an item whose upsert alone must exceed 16 KB", async () => {
    await closeDatabase();
    const before = h.sessions().length;
    const quotes = { q: '"'.repeat(8000) };
    const body = [line("small-1", {}), line("quotes", quotes), line("small-2", {})].join("\n");
    expect(await ingest(await upload("incoming/quotes.jsonl", body))).toMatchObject({ status: "ingested", linesOk: 3 });
    expect((await h.admin(`SELECT data FROM \`${h.database}\`.items WHERE id = 'quotes'`))[0].data).toEqual(quotes);
    const [session] = h
      .sessions()
      .slice(before)
      .filter((s) => s.pins.length > 0);
    expect(session.user).toBe("ingest");
    expect(session.pins.map((pin) => pin.trigger)).toEqual(["statement over 16 KB"]);
    await h.closedSession(session.id);
  });

  it("changes nothing when the same object version is delivered again, even after the items changed", async () => {
    const event = await upload("incoming/again.jsonl", [line("a", { v: 1 }), line("b", { v: 1 })].join("\n"));
    expect(await ingest(event)).toMatchObject({ status: "ingested", linesOk: 2 });
    await h.admin(`UPDATE \`${h.database}\`.items SET data = '{"v": 2}' WHERE id = 'a'`);
    const first = await resultObject("results/again.jsonl.json");

    expect(await ingest(event)).toMatchObject({ status: "already-ingested", linesOk: 2, linesBad: 0 });
    expect((await h.admin(`SELECT data FROM \`${h.database}\`.items WHERE id = 'a'`))[0].data).toEqual({ v: 2 });
    expect(await resultObject("results/again.jsonl.json")).toEqual(first);
    expect(Number((await h.admin(`SELECT COUNT(*) AS n FROM \`${h.database}\`.ingested_objects`))[0].n)).toBe(1);

    // A new version of the same key is a new object.
    expect(await ingest(await upload("incoming/again.jsonl", line("a", { v: 3 })))).toMatchObject({ status: "ingested", linesOk: 1 });
    expect((await h.admin(`SELECT data FROM \`${h.database}\`.items WHERE id = 'a'`))[0].data).toEqual({ v: 3 });
  });

  it("reads gzipped objects, and reports a truncated one as malformed with the lines before the cut loaded", async () => {
    const body = Array.from({ length: 5000 }, (_, n) => line(`gz-${n}`, { n })).join("\n");
    expect(await ingest(await upload("incoming/whole.jsonl.gz", gzipSync(body)))).toMatchObject({
      status: "ingested",
      linesOk: 5000,
      linesBad: 0,
    });

    await h.admin(`DELETE FROM \`${h.database}\`.items`);
    const zipped = gzipSync(body);
    const result = await ingest(await upload("incoming/cut.jsonl.gz", zipped.subarray(0, Math.floor(zipped.length / 2))));
    expect(result).toMatchObject({
      status: "malformed",
      linesBad: 0,
      error: expect.stringMatching(/^the object could not be read to its end: unexpected end of file/),
    });
    expect(result.linesOk).toBeGreaterThan(0);
    expect(await itemCount()).toBe(result.linesOk);
    expect(await resultObject("results/cut.jsonl.gz.json")).toMatchObject({ status: "malformed" });
    expect(logged("object ingested")).toContainEqual(expect.objectContaining({ level: "error", status: "malformed" }));
  });

  it("reports every line of an object that is not JSON Lines, and a line past the limit without holding it", async () => {
    const csv = "id,data\na,1\nb,2\n";
    expect(await ingest(await upload("incoming/items.csv", csv))).toMatchObject({
      status: "ingested",
      linesOk: 0,
      linesBad: 3,
      badLines: [1, 2, 3].map((n) => ({ line: n, error: "is not valid JSON" })),
    });
    const huge = `${line("ok-1", {})}\n${"z".repeat(MAX_LINE_BYTES * 3)}\n\n${line("ok-2", {})}`;
    expect(await ingest(await upload("incoming/huge.jsonl", huge))).toMatchObject({
      linesOk: 2,
      badLines: [{ line: 2, error: `line is ${MAX_LINE_BYTES * 3} bytes; the limit is ${MAX_LINE_BYTES}` }],
    });
  });

  it("refuses objects outside incoming/ and other buckets without reading them", async () => {
    const event = await upload("results/elsewhere.jsonl", line("r", {}));
    expect(await handler(event)).toEqual([
      { status: "refused", bucket: s3.bucket, key: "results/elsewhere.jsonl", reason: "only objects under incoming/ are ingested" },
    ]);
    const other = objectCreatedEvent("someone-elses", "incoming/x.jsonl", "e");
    expect(await handler(other)).toEqual([
      { status: "refused", bucket: "someone-elses", key: "incoming/x.jsonl", reason: "bucket someone-elses is not the data bucket" },
    ]);
    expect(await itemCount()).toBe(0);
  });

  it("decodes keys as S3 events encode them", async () => {
    const result = await ingest(await upload("incoming/with space+plus.jsonl", line("k", {})));
    expect(result).toMatchObject({ key: "incoming/with space+plus.jsonl", status: "ingested", linesOk: 1 });
  });

  it("keeps the newer version's rows when an older version's event arrives after it, and a redelivery of either changes nothing", async () => {
    const key = "incoming/ordered.jsonl";
    const older = [line("a", { v: 1 }), line("only-in-1", { v: 1 })].join("\n");
    const olderEvent = await upload(key, older);
    const newerEvent = await upload(key, [line("a", { v: 2 }), line("b", { v: 2 })].join("\n"));
    const newerVersion = newerEvent.Records[0].s3.object.eTag;

    expect(await ingest(newerEvent)).toMatchObject({ status: "ingested", version: newerVersion, linesOk: 2 });
    const newerResult = await resultObject("results/ordered.jsonl.json");
    // s3rver keeps no versions: put the older bytes back, so they are what the older event's object reads as
    // (its ETag is the same again), as a versioned bucket serves them by version id.
    await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: older }));

    const olderVersion = olderEvent.Records[0].s3.object.eTag;
    const superseded = { status: "superseded", version: olderVersion, supersededBy: newerVersion, linesOk: 0 };
    expect(await ingest(olderEvent)).toMatchObject(superseded);
    const rows = async () =>
      (await h.admin(`SELECT id, data FROM \`${h.database}\`.items ORDER BY id`)).map((row: { id: string; data: unknown }) => [
        row.id,
        row.data,
      ]);
    const newerRows = [
      ["a", { v: 2 }],
      ["b", { v: 2 }],
    ];
    expect(await rows()).toEqual(newerRows);
    expect(await resultObject("results/ordered.jsonl.json")).toEqual(newerResult);
    expect(logged("object ingested").at(-1)).toMatchObject({
      level: "warn",
      key,
      status: "superseded",
      version: olderVersion,
      supersededBy: newerVersion,
    });

    expect(await ingest(newerEvent)).toMatchObject({ status: "already-ingested", version: newerVersion, linesOk: 2 });
    expect(await ingest(olderEvent)).toMatchObject(superseded);
    expect(await rows()).toEqual(newerRows);
    expect(await resultObject("results/ordered.jsonl.json")).toEqual(newerResult);
    const recorded = await h.admin(`SELECT object_version FROM \`${h.database}\`.ingested_objects`);
    expect(recorded.map((row: { object_version: string }) => row.object_version)).toEqual([newerVersion]);
  });

  it("stops an older version that is being read when a newer one's rows are committed, writing none of its own", async () => {
    const key = "incoming/overtaken.jsonl";
    const event = await upload(key, Array.from({ length: 1200 }, (_, n) => line(`o-${n}`, { v: 1 })).join("\n"));
    const { sequencer, eTag } = event.Records[0].s3.object;
    // A newer version of the key claims it (commits its first rows) just as the older one starts reading:
    // after the older one's check on arrival, before its first batch. The S3 client is the local server's,
    // told to make that claim first when the object is fetched.
    const claimNewer = () =>
      h.admin(
        `INSERT INTO \`${h.database}\`.ingested_keys (key_hash, bucket, object_key, sequencer, object_version) VALUES (SHA2(CONCAT(?, CHAR(0), ?), 256), ?, ?, ?, 'newer')`,
        [s3.bucket, key, s3.bucket, key, `${sequencer}0`],
      );
    const fetching = {
      send: async (command: unknown) => {
        if (command instanceof GetObjectCommand) await claimNewer();
        return s3.client.send(command as GetObjectCommand);
      },
    } as unknown as S3Client;
    const db = new DatabaseClient(settingsFromEnvironment(process.env));
    try {
      const object = { bucket: s3.bucket, key, version: eTag, sequencer };
      expect(await ingestObject(fetching, db, object, "overtaken")).toMatchObject({ status: "superseded", supersededBy: "newer" });
    } finally {
      await db.end();
    }
    expect(await itemCount()).toBe(0);
    expect(Number((await h.admin(`SELECT COUNT(*) AS n FROM \`${h.database}\`.ingested_objects`))[0].n)).toBe(0);
  });

  it("refuses an event that is not an S3 notification of created objects with an error naming what arrived, writing nothing", async () => {
    const misrouted: [unknown, string][] = [
      [
        { "detail-type": "Object Created", source: "aws.s3", detail: { bucket: { name: s3.bucket } } },
        'an EventBridge event (source "aws.s3", detail-type "Object Created")',
      ],
      [{ op: "health" }, "an object with fields op"],
      [{ Records: [{ eventSource: "aws:sqs", body: "{}" }] }, '1 record from "aws:sqs"'],
      [
        { Records: [{ ...objectCreatedEvent(s3.bucket, "incoming/x.jsonl", "e").Records[0], eventName: "ObjectRemoved:Delete" }] },
        'record 0 of S3 event "ObjectRemoved:Delete"',
      ],
      [undefined, "no event (undefined)"],
    ];
    for (const [event, what] of misrouted) {
      const refused = handler(event, { awsRequestId: "misrouted" });
      await expect(refused).rejects.toThrow(UnexpectedEventError);
      await expect(refused).rejects.toThrow(`the ingest function takes S3 event notifications of created objects`);
      await expect(refused).rejects.toThrow(`and got ${what};`);
    }
    expect(logged("event refused")).toHaveLength(misrouted.length);
    expect(logged("event refused")[0]).toMatchObject({
      level: "error",
      error: "UnexpectedEventError",
      reason: expect.stringContaining("EventBridge"),
    });
    expect(await itemCount()).toBe(0);
  });

  it("acknowledges S3's test event without reading or writing anything", async () => {
    const testEvent = {
      Service: "Amazon S3",
      Event: "s3:TestEvent",
      Time: "2026-12-01T22:00:00.000Z",
      Bucket: s3.bucket,
      RequestId: "R",
      HostId: "H",
    };
    expect(await handler(testEvent)).toEqual([{ status: "test-event", bucket: s3.bucket }]);
    expect(logged("test event acknowledged")).toEqual([expect.objectContaining({ level: "info", bucket: s3.bucket })]);
    expect(await itemCount()).toBe(0);
  });

  it("logs every failed attempt with the object version and the error, and throws so Lambda retries and then queues the event", async () => {
    const event = objectCreatedEvent(s3.bucket, "incoming/never-written.jsonl", "0123abcd");
    await expect(handler(event, { awsRequestId: "failing" })).rejects.toMatchObject({ name: "NoSuchKey" });
    expect(logged("object failed")).toEqual([
      expect.objectContaining({
        level: "error",
        requestId: "failing",
        bucket: s3.bucket,
        key: "incoming/never-written.jsonl",
        version: "0123abcd",
        sequencer: event.Records[0].s3.object.sequencer,
        error: "NoSuchKey",
        errorMessage: expect.stringContaining("does not exist"),
      }),
    ]);
  });

  it("streams: 40 MB more of object cost the ingest process well under half of that in peak memory (buffering would cost all of it)", async () => {
    // Written to a file and streamed up, so no object sits in memory here; each ingest runs in a process of its own.
    const dir = mkdtempSync(join(tmpdir(), "ingest-memory-"));
    const objectOf = async (key: string, parts: number) => {
      const file = join(dir, key);
      const chunk = Array.from({ length: 1000 }, (_, n) => line(`${key}-${n}`, { n, padding: "p".repeat(150) })).join("\n");
      writeFileSync(file, "");
      for (let part = 0; part < parts; part++)
        writeFileSync(file, `${chunk.replace(/-(\d+)"/g, (_, n) => `-${part}-${n}"`)}\n`, { flag: "a" });
      const size = statSync(file).size;
      const { ETag } = await s3.client.send(
        new PutObjectCommand({ Bucket: s3.bucket, Key: `incoming/${key}`, Body: createReadStream(file), ContentLength: size }),
      );
      return {
        size,
        event: objectCreatedEvent(s3.bucket, `incoming/${key}`, ETag!),
      };
    };
    try {
      const env = { PATH: process.env.PATH, ...h.env, ...s3.env, DB_USER: "ingest" };
      const small = await objectOf("small.jsonl", 100);
      const large = await objectOf("large.jsonl", 300);
      expect(large.size - small.size).toBeGreaterThan(35 * 1024 * 1024);
      const [smallRun, largeRun] = [await ingestInOwnProcess(small.event, env), await ingestInOwnProcess(large.event, env)];
      expect(smallRun).toMatchObject({ status: "ingested", linesOk: 100_000, linesBad: 0 });
      expect(largeRun).toMatchObject({ status: "ingested", linesOk: 300_000, linesBad: 0 });
      // Batches, one line and the stream's buffers stay the same; V8's heap settles a little higher (measured: +13-14 MB for
      // +41 MB; 116 MB for 200 MB in bench:ingest). Reading the whole object would add at least its size.
      expect((largeRun.maxRssMb - smallRun.maxRssMb) * 1024 * 1024).toBeLessThan((large.size - small.size) / 2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // 400,000 rows through two processes into MariaDB: 20-30 s alone, past a minute on a 2-core machine busy with other tests.
  }, 240_000);
});
