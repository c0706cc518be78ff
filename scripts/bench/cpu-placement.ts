import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";

/**
 * Where a benchmark's processes run. In Lambda the function has its vCPU to itself and the database
 * runs on other hosts; on a small machine the handler, the harness's front and MariaDB otherwise float
 * over the same cores, and which of them happen to share one moves a run's figures more than the code
 * does. So the measured process gets a CPU of its own and the harness the others (`taskset`, util-linux).
 */
export interface CpuPlacement {
  /** One line for the report: which CPUs, or why the processes float. */
  readonly description: string;
  /** The command and arguments that start `command` on the measured process's CPU. */
  command(command: string, args: string[]): [string, string[]];
}

/** The CPUs a `Cpus_allowed_list` line names: "0-3,8" is [0, 1, 2, 3, 8]. */
export function parseCpuList(list: string): number[] {
  const cpus: number[] = [];
  for (const part of list.trim().split(",")) {
    const match = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!match) throw new Error(`cannot read the CPU list "${list}": expected ranges such as 0-3,8`);
    const [first, last] = [Number(match[1]), Number(match[2] ?? match[1])];
    for (let cpu = first; cpu <= last; cpu++) cpus.push(cpu);
  }
  return cpus;
}

/** The CPUs this process may run on (its cgroup's cpuset and affinity), from /proc. */
export function allowedCpus(status = readFileSync("/proc/self/status", "utf8")): number[] {
  const line = /^Cpus_allowed_list:\s*(.+)$/m.exec(status);
  if (!line) throw new Error("/proc/self/status has no Cpus_allowed_list line");
  return parseCpuList(line[1]);
}

const floating = (why: string): CpuPlacement => ({
  description: `processes float over the CPUs (${why})`,
  command: (command, args) => [command, args],
});

/** Why the CPUs cannot be split between two sides here, or the allowed CPUs (at least two). */
function splittableCpus(options: { float?: boolean }): number[] | string {
  if (options.float) return "--float";
  if (process.platform !== "linux") return `CPU affinity is set only on Linux, this is ${process.platform}`;
  const cpus = allowedCpus();
  return cpus.length < 2 ? `only CPU ${cpus.join("")} is allowed` : cpus;
}

/** Moves every thread of process `pid` onto `cpus`; why it could not, or undefined. */
function move(pid: number, cpus: number[]): string | undefined {
  const moved = spawnSync("taskset", ["--all-tasks", "--cpu-list", "--pid", cpus.join(","), String(pid)], { encoding: "utf8" });
  if (moved.error) return "taskset not found: install util-linux";
  return moved.status === 0 ? undefined : `taskset failed: ${moved.stderr.trim()}`;
}

/**
 * Moves this process (every thread; the harness it starts inherits it) off the last allowed CPU and
 * returns how to start the measured process there. Falls back to floating, saying why, on one CPU,
 * without taskset, or when asked to.
 */
export function placeOnOwnCpu(options: { float?: boolean } = {}): CpuPlacement {
  const cpus = splittableCpus(options);
  if (typeof cpus === "string") return floating(cpus);
  const measured = cpus[cpus.length - 1];
  const rest = cpus.slice(0, -1);
  const failed = move(process.pid, rest);
  if (failed) return floating(failed);
  return {
    description: `measured process on CPU ${measured}, this process and the harness on CPU ${rest.join(",")}`,
    command: (command, args) => onCpu(measured, command, args),
  };
}

/**
 * Gives the database server (process `serverPid`) the first allowed CPU and moves this process, and what it
 * starts afterwards, to the others: what stands for Lambda (the functions' environments, a job's client) then
 * takes no CPU from the database, as on AWS, where they run on other hosts. Returns the report's line;
 * falls back to floating, saying why, like placeOnOwnCpu.
 */
export function placeServerApart(serverPid: number, options: { float?: boolean } = {}): string {
  const cpus = splittableCpus(options);
  if (typeof cpus === "string") return floating(cpus).description;
  const [server, ...clients] = cpus;
  const failed = move(serverPid, [server]);
  if (failed) return floating(failed).description;
  const clientsFailed = move(process.pid, clients);
  if (clientsFailed) {
    move(serverPid, cpus);
    return floating(clientsFailed).description;
  }
  return `database server on CPU ${server}, its clients on CPU ${clients.join(",")}`;
}

/** `command` started on `cpu` alone. */
export function onCpu(cpu: number, command: string, args: string[]): [string, string[]] {
  return ["taskset", ["--cpu-list", String(cpu), command, ...args]];
}
