/**
 * Separate Lambda execution environments of the api function, one node process each, running the
 * bundle as it ships: each has its own module state (token, connection) and keeps it between
 * invocations, as a warm or frozen environment does.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { unzipSync } from "fflate";
import { bundleFunction } from "../src/functions/function-bundle";

/** What one invocation came to, as the Lambda service would see it. */
export interface Invocation {
  /** The handler's answer; absent when it threw. */
  statusCode?: number;
  /** What it threw: the invocation failed (and Lambda would retry an asynchronous one). */
  error?: { name: string; message: string; retryable: boolean };
  ms: number;
}

const ENVIRONMENT = `
const { handler } = require(process.argv[1]);
process.on("message", async (event) => {
  const started = performance.now();
  try {
    const { statusCode } = await handler(event);
    process.send({ statusCode, ms: performance.now() - started });
  } catch (error) {
    process.send({ error: { name: error.name, message: error.message, retryable: error.retryable === true }, ms: performance.now() - started });
  }
});
process.send("ready");`;

const projectRoot = resolve(__dirname, "..");

export class ExecutionEnvironments {
  private constructor(
    private readonly children: ChildProcess[],
    private readonly dir: string,
  ) {}

  /** Starts `count` cold environments with `env` (the harness's) and waits until each has loaded the bundle. */
  static async start(count: number, env: Record<string, string>): Promise<ExecutionEnvironments> {
    const dir = mkdtempSync(join(tmpdir(), "execution-environments-"));
    const bundle = bundleFunction({ projectRoot, source: "functions/api", runtime: "nodejs22.x" });
    const indexJs = join(dir, "index.js");
    writeFileSync(indexJs, unzipSync(readFileSync(bundle.zipPath))["index.js"]);
    const children = Array.from({ length: count }, () =>
      // stdout carries the handler's log lines, which Lambda would send to CloudWatch.
      spawn(process.execPath, ["-e", ENVIRONMENT, indexJs], {
        env: { PATH: process.env.PATH ?? "", ...env },
        stdio: ["ignore", "ignore", "ignore", "ipc"],
      }),
    );
    const environments = new ExecutionEnvironments(children, dir);
    try {
      await Promise.all(children.map((child) => environments.nextMessage(child)));
    } catch (error) {
      environments.stop();
      throw error;
    }
    return environments;
  }

  get size(): number {
    return this.children.length;
  }

  /** Invokes the environments at `indices` (all by default) at the same moment; results in that order. */
  invoke(event: unknown, indices: number[] = this.children.map((_, i) => i)): Promise<Invocation[]> {
    return Promise.all(
      indices.map((i) => {
        const answer = this.nextMessage<Invocation>(this.children[i]);
        this.children[i].send(event as object);
        return answer;
      }),
    );
  }

  stop(): void {
    for (const child of this.children) child.kill("SIGKILL");
    rmSync(this.dir, { recursive: true, force: true });
  }

  private nextMessage<T>(child: ChildProcess): Promise<T> {
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`an execution environment exited (${code}) before answering`));
      child.once("exit", onExit);
      child.once("message", (message) => {
        child.off("exit", onExit);
        resolve(message as T);
      });
    });
  }
}
