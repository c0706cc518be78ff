/**
 * Prints rows per second and peak memory of the ingest function, as it ships (the bundled zip, plain
 * node), loading a 200 MB JSON Lines object from a local S3 (s3rver) into the MariaDB IAM harness.
 * Figures only: nothing is enforced. Progress lines while it runs.
 */
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { once } from "node:events";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { ingestInOwnProcess } from "../../harness/ingest-process";
import { startHarness } from "../../harness/mariadb";
import { objectCreatedEvent, startLocalS3 } from "../../harness/local-s3";
import { bootstrapHarness } from "../../harness/migrations";
import { bundleFunction } from "../../src/functions/function-bundle";

const projectRoot = resolve(__dirname, "../..");
const OBJECT_BYTES = 200 * 1024 * 1024;
const KEY = "incoming/bench.jsonl";

async function writeObject(file: string): Promise<number> {
  const out = createWriteStream(file);
  let bytes = 0;
  for (let n = 0; bytes < OBJECT_BYTES; n++) {
    const line = `${JSON.stringify({ id: `item-${n}`, data: { n, name: `name ${n}`, tags: ["a", "b", "c"], note: "x".repeat(100) } })}\n`;
    bytes += line.length;
    if (!out.write(line)) await once(out, "drain");
  }
  out.end();
  await once(out, "finish");
  return statSync(file).size;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "bench-ingest-"));
  const h = await startHarness();
  const s3 = await startLocalS3(h.credentials, h.region);
  try {
    await bootstrapHarness(h);
    console.log(
      `ingest zip: ${Math.round(bundleFunction({ projectRoot, source: "functions/ingest", runtime: "nodejs22.x" }).bytes / 1024)} KB`,
    );

    const file = join(dir, "bench.jsonl");
    const size = await writeObject(file);
    const { ETag } = await s3.client.send(
      new PutObjectCommand({ Bucket: s3.bucket, Key: KEY, Body: createReadStream(file), ContentLength: size }),
    );
    rmSync(file);
    console.log(`object: ${(size / 1024 / 1024).toFixed(0)} MB uploaded to the local S3`);
    const event = objectCreatedEvent(s3.bucket, KEY, ETag!);

    const env = {
      PATH: process.env.PATH,
      ...h.env,
      ...s3.env,
      DB_USER: "ingest",
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    };
    const started = performance.now();
    let poll: Promise<void> = Promise.resolve();
    const progress = setInterval(() => {
      poll = h
        .admin(`SELECT COUNT(*) AS n FROM \`${h.database}\`.items`)
        .then(([{ n }]: { n: number }[]) => console.log(`  ${((performance.now() - started) / 1000).toFixed(0)} s: ${n} rows`));
    }, 5000);
    const result = await ingestInOwnProcess(event, env).finally(() => clearInterval(progress));
    // The last count must finish before the harness stops.
    await poll;
    console.log(`rows: ${result.linesOk} ok, ${result.linesBad} bad, in ${(result.durationMs / 1000).toFixed(1)} s`);
    console.log(`rows per second: ${Math.round(result.linesOk / (result.durationMs / 1000))}`);
    console.log(
      `peak memory (maxRSS) of the ingest process: ${Math.round(result.maxRssMb)} MB for a ${(size / 1024 / 1024).toFixed(0)} MB object`,
    );
  } finally {
    await s3.close();
    await h.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
