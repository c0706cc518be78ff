import { spawn } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";

export interface Measurement {
  readonly wallSeconds: number;
  /** User plus system CPU time of the whole process tree: steadier than wall time on a shared machine. */
  readonly cpuSeconds: number;
  /** Largest sum of resident memory over the command's whole process tree (CLI, app, npx...). */
  readonly peakTreeMb: number;
  /** Largest resident memory of any single process of the tree. */
  readonly peakProcessMb: number;
}

function parentOf(pid: number): number | undefined {
  try {
    // Field 4 of /proc/<pid>/stat, after the parenthesised command name.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return undefined;
  }
}

/** CPU seconds of this process's children that have ended and been waited for (cutime + cstime, in Linux's 100 Hz ticks). */
function childrenCpuSeconds(): number {
  const stat = readFileSync("/proc/self/stat", "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[13]) + Number(fields[14])) / 100;
}

function residentMb(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

function treeResidentMb(root: number): { total: number; largest: number } {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const parent = parentOf(pid);
    if (parent !== undefined) children.set(parent, [...(children.get(parent) ?? []), pid]);
  }
  let total = 0;
  let largest = 0;
  const pending = [root];
  while (pending.length > 0) {
    const pid = pending.pop()!;
    const rss = residentMb(pid);
    total += rss;
    largest = Math.max(largest, rss);
    pending.push(...(children.get(pid) ?? []));
  }
  return { total, largest };
}

/** Runs a command to completion, sampling its process tree's memory every 25 ms; throws if it fails. Run one at a time: CPU time is counted for all children. */
export function measure(command: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<Measurement> {
  return new Promise((resolve, reject) => {
    const cpuBefore = childrenCpuSeconds();
    const started = process.hrtime.bigint();
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk) => (stderr += chunk));
    let peakTreeMb = 0;
    let peakProcessMb = 0;
    const sampler = setInterval(() => {
      const { total, largest } = treeResidentMb(child.pid!);
      peakTreeMb = Math.max(peakTreeMb, total);
      peakProcessMb = Math.max(peakProcessMb, largest);
    }, 25);
    child.on("error", reject);
    child.on("close", (code) => {
      clearInterval(sampler);
      const wallSeconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (code !== 0) reject(new Error(`${command} ${args.join(" ")} exited with ${code}:\n${stderr.slice(-2000)}`));
      else resolve({ wallSeconds, cpuSeconds: childrenCpuSeconds() - cpuBefore, peakTreeMb, peakProcessMb });
    });
  });
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** The sample below which `p` percent of the samples lie (nearest rank). */
export function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}
