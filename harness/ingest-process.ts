/**
 * Runs the ingest function as it ships (the bundled zip, plain node) on one S3 event in a process of
 * its own, so its peak memory is its own: not the test runner's, nor the local S3 server's.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { unzipSync } from "fflate";
import { bundleFunction } from "../src/functions/function-bundle";

export interface IngestRun {
  status: string;
  linesOk: number;
  linesBad: number;
  durationMs: number;
  /** Peak resident memory of the whole process (process.resourceUsage().maxRSS). */
  maxRssMb: number;
}

// maxRSS is in KiB; the figures are the last line, after the function's own log lines.
const INGEST = `
const { handler, closeDatabase } = require(process.argv[1]);
handler(JSON.parse(process.argv[2])).then(async ([result]) => {
  await closeDatabase();
  const { badLines, ...summary } = result;
  process.stdout.write("\\n" + JSON.stringify({ ...summary, maxRssMb: process.resourceUsage().maxRSS / 1024 }));
});
`;

export async function ingestInOwnProcess(event: unknown, env: Record<string, string | undefined>): Promise<IngestRun> {
  const dir = mkdtempSync(join(tmpdir(), "ingest-process-"));
  try {
    const bundle = bundleFunction({ projectRoot: resolve(__dirname, ".."), source: "functions/ingest", runtime: "nodejs22.x" });
    writeFileSync(join(dir, "index.js"), unzipSync(readFileSync(bundle.zipPath))["index.js"]);
    const child = spawn(process.execPath, ["-e", INGEST, join(dir, "index.js"), JSON.stringify(event)], {
      env,
      stdio: ["ignore", "pipe", "ignore"],
    });
    let output = "";
    child.stdout.on("data", (data) => (output += data));
    const [code] = await once(child, "exit");
    if (code !== 0) throw new Error(`the ingest process exited with ${code}`);
    return JSON.parse(output.trim().split("\n").at(-1)!) as IngestRun;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
