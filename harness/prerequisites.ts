/**
 * What the MariaDB harness needs from the machine: mariadbd, mariadb-install-db (which runs
 * my_print_defaults) and the openssl CLI.
 * `ensurePrerequisites` installs them once with apt where it may (root on Debian or Ubuntu) and
 * otherwise says in one line what to run.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { delimiter, join } from "node:path";

export interface Tools {
  mariadbd: string;
  installDb: string;
  printDefaults: string;
  openssl: string;
}

/** Debian's packages that hold them: the server and client binaries without a system service, and openssl. */
export const PACKAGES = ["mariadb-server-core", "mariadb-client-core", "openssl"];
export const INSTALL_COMMAND = `sudo apt-get install -y ${PACKAGES.join(" ")}`;

const SEARCH_PATH = ["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"];

function which(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? "").split(delimiter), ...SEARCH_PATH].filter(Boolean);
  return dirs.map((dir) => join(dir, name)).find((file) => existsSync(file));
}

const BINARIES: Record<keyof Tools, string> = {
  mariadbd: "mariadbd",
  installDb: "mariadb-install-db",
  printDefaults: "my_print_defaults",
  openssl: "openssl",
};

/** The tools, or the names of those missing. */
export function findTools(): Tools | { missing: string[] } {
  const found = Object.fromEntries(Object.entries(BINARIES).map(([key, binary]) => [key, which(binary)]));
  const missing = Object.entries(found)
    .filter(([, file]) => !file)
    .map(([key]) => BINARIES[key as keyof Tools]);
  return missing.length > 0 ? { missing } : (found as unknown as Tools);
}

export class MissingPrerequisite extends Error {
  constructor(missing: string[], why = "") {
    super(`The function tests need ${missing.join(", ")}${why}: run \`${INSTALL_COMMAND}\` (Debian/Ubuntu), then the tests again.`);
    this.name = "MissingPrerequisite";
  }
}

export function requireTools(): Tools {
  const tools = findTools();
  if ("missing" in tools) throw new MissingPrerequisite(tools.missing);
  return tools;
}

const canInstall = () => process.platform === "linux" && process.getuid?.() === 0 && existsSync("/usr/bin/apt-get");

/** Installs what is missing when this process may (root with apt), once; otherwise throws one line naming the command. */
export function ensurePrerequisites(log: (line: string) => void): Tools {
  const tools = findTools();
  if (!("missing" in tools)) return tools;
  if (!canInstall()) throw new MissingPrerequisite(tools.missing);
  log(`Installing ${PACKAGES.join(" ")} with apt-get for the function tests (once)...`);
  const apt = (args: string[]) =>
    execFileSync("apt-get", ["-qq", ...args], {
      stdio: ["ignore", "ignore", "pipe"],
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    });
  try {
    apt(["update"]);
    apt(["install", "-y", "--no-install-recommends", ...PACKAGES]);
  } catch (error) {
    const stderr = String((error as { stderr?: Buffer }).stderr ?? "")
      .trim()
      .split("\n")
      .pop();
    throw new MissingPrerequisite(tools.missing, ` and apt-get could not install them (${stderr})`);
  }
  return requireTools();
}
