import { spawn, spawnSync } from "node:child_process";
import { readFileSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { allowedCpus, onCpu, parseCpuList } from "../../../../scripts/bench/cpu-placement";
import { projectRoot } from "../../synth";
import { tempDir } from "../../temp";

const PRINT_ALLOWED_CPUS =
  "process.stdout.write(/^Cpus_allowed_list:\\s*(.+)$/m.exec(require('fs').readFileSync('/proc/self/status','utf8'))[1])";

describe("CPU lists", () => {
  it("reads ranges and single CPUs as /proc writes them", () => {
    expect(parseCpuList("0-3,8")).toEqual([0, 1, 2, 3, 8]);
    expect(parseCpuList("5\n")).toEqual([5]);
    expect(allowedCpus("Name:\tnode\nCpus_allowed:\t3\nCpus_allowed_list:\t0-1\n")).toEqual([0, 1]);
  });

  it("names a list it cannot read", () => {
    expect(() => parseCpuList("0-x")).toThrow('cannot read the CPU list "0-x": expected ranges such as 0-3,8');
    expect(() => allowedCpus("Name:\tnode\n")).toThrow("/proc/self/status has no Cpus_allowed_list line");
  });
});

describe("placement of a benchmark's processes", () => {
  const cpus = allowedCpus();

  it("starts the measured process on the one CPU it names", () => {
    const last = cpus[cpus.length - 1];
    const [command, args] = onCpu(last, process.execPath, ["-e", PRINT_ALLOWED_CPUS]);
    const child = spawnSync(command, args, { encoding: "utf8" });
    expect(child.stderr).toBe("");
    expect(child.stdout).toBe(String(last));
  });

  // In a child: placing moves the calling process, which must not be the test runner.
  const placed = (options: { float?: boolean; env?: NodeJS.ProcessEnv } = {}) => {
    const script = `const p = require("./scripts/bench/cpu-placement").placeOnOwnCpu({ float: ${options.float === true} });
      const [command, args] = p.command(process.execPath, ["-e", ${JSON.stringify(PRINT_ALLOWED_CPUS)}]);
      const measured = require("child_process").spawnSync(command, args, { encoding: "utf8" }).stdout;
      process.stdout.write(JSON.stringify({ description: p.description, measured, self: (${PRINT_ALLOWED_CPUS.replace("process.stdout.write", "")}) }));`;
    const child = spawnSync(process.execPath, ["--import", "tsx", "-e", script], {
      cwd: projectRoot,
      env: options.env ?? process.env,
      encoding: "utf8",
    });
    if (child.status !== 0) throw new Error(child.stderr);
    return JSON.parse(child.stdout) as { description: string; measured: string; self: string };
  };

  it("gives the measured process the last allowed CPU and keeps itself, and what it starts, on the others", () => {
    const result = placed();
    if (cpus.length < 2) {
      expect(result.description).toBe(`processes float over the CPUs (only CPU ${cpus[0]} is allowed)`);
      return;
    }
    const rest = cpus.slice(0, -1).join(",");
    expect(result.description).toBe(`measured process on CPU ${cpus[cpus.length - 1]}, this process and the harness on CPU ${rest}`);
    expect(result.measured).toBe(String(cpus[cpus.length - 1]));
    expect(parseCpuList(result.self)).toEqual(parseCpuList(rest));
  });

  it("floats when asked to, and says so", () => {
    const result = placed({ float: true });
    expect(result.description).toBe("processes float over the CPUs (--float)");
    expect(parseCpuList(result.measured)).toEqual(cpus);
    expect(parseCpuList(result.self)).toEqual(cpus);
  });

  it("floats without taskset, and says what to install", () => {
    // A PATH that has this Node and nothing else.
    const path = tempDir("node-");
    symlinkSync(process.execPath, join(path, "node"));
    const result = placed({ env: { ...process.env, PATH: path } });
    expect(result.description).toBe(
      cpus.length < 2
        ? `processes float over the CPUs (only CPU ${cpus[0]} is allowed)`
        : "processes float over the CPUs (taskset not found: install util-linux)",
    );
    expect(parseCpuList(result.self)).toEqual(cpus);
  });
});

describe("the database server apart from its clients", () => {
  const cpus = allowedCpus();
  const cpusOf = (pid: number) => parseCpuList(/^Cpus_allowed_list:\s*(.+)$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]);

  // A stand-in server, placed from a child: placing moves the calling process, which must not be the test runner.
  const placedApart = (options: { float?: boolean } = {}) => {
    const server = spawn("sleep", ["60"], { stdio: "ignore" });
    try {
      const script = `const description = require("./scripts/bench/cpu-placement").placeServerApart(${server.pid}, { float: ${options.float === true} });
        process.stdout.write(JSON.stringify({ description, self: (${PRINT_ALLOWED_CPUS.replace("process.stdout.write", "")}) }));`;
      const child = spawnSync(process.execPath, ["--import", "tsx", "-e", script], { cwd: projectRoot, encoding: "utf8" });
      if (child.status !== 0) throw new Error(child.stderr);
      return { ...(JSON.parse(child.stdout) as { description: string; self: string }), server: cpusOf(server.pid!) };
    } finally {
      server.kill();
    }
  };

  it("gives the server the first allowed CPU and the caller, with what it starts later, the others", () => {
    const result = placedApart();
    if (cpus.length < 2) {
      expect(result.description).toBe(`processes float over the CPUs (only CPU ${cpus[0]} is allowed)`);
      return;
    }
    expect(result.description).toBe(`database server on CPU ${cpus[0]}, its clients on CPU ${cpus.slice(1).join(",")}`);
    expect(result.server).toEqual([cpus[0]]);
    expect(parseCpuList(result.self)).toEqual(cpus.slice(1));
  });

  it("moves nothing when asked to float, and says so", () => {
    const result = placedApart({ float: true });
    expect(result.description).toBe("processes float over the CPUs (--float)");
    expect(result.server).toEqual(cpus);
    expect(parseCpuList(result.self)).toEqual(cpus);
  });
});
