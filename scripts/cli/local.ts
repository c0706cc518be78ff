/**
 * Invokes the api function from source against the MariaDB test harness, no AWS account needed.
 *
 *   npm run local:db                   starts a database in the foreground and writes .local/harness.json
 *   npm run local -- '<event json>'    invokes the handler; uses that database when it answers,
 *                                      otherwise a throwaway one for this call only
 *
 * Prints the handler's response on stdout (its log lines go to stderr); a thrown error exits 1.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join, resolve } from "node:path";
import { type Harness, startHarness } from "../../harness/mariadb";
import { bootstrapHarness } from "../../harness/migrations";
import { closeDatabase, handler } from "../../functions/api/index";

const projectRoot = resolve(__dirname, "../..");
const stateFile = join(projectRoot, ".local", "harness.json");
const USAGE = `usage: npm run local -- '<event json>'   e.g. npm run local -- '{"op":"get","id":"a"}'
       npm run local:db                  keeps a database running between calls`;

async function startDatabase(): Promise<Harness> {
  const h = await startHarness();
  await bootstrapHarness(h);
  return h;
}

/** The environment of a running `local:db`, or undefined when there is none or it no longer answers. */
async function runningDatabase(): Promise<Record<string, string> | undefined> {
  if (!existsSync(stateFile)) return undefined;
  const env = JSON.parse(readFileSync(stateFile, "utf8")) as Record<string, string>;
  // A harness killed without cleanup leaves the file behind, but its directory (and CA) is gone.
  if (!existsSync(env.DB_TLS_CA_FILE)) return undefined;
  const answers = await new Promise<boolean>((done) => {
    const socket = connect({ host: env.DB_HOST, port: Number(env.DB_PORT), timeout: 1_000 });
    const finish = (answered: boolean) => {
      socket.destroy();
      done(answered);
    };
    socket
      .once("connect", () => finish(true))
      .once("error", () => finish(false))
      .once("timeout", () => finish(false));
  });
  return answers ? env : undefined;
}

async function serve(): Promise<void> {
  if (await runningDatabase()) {
    console.error(`A local database already runs (see ${stateFile}); stop it before starting another.`);
    process.exit(1);
  }
  const h = await startDatabase();
  mkdirSync(join(projectRoot, ".local"), { recursive: true });
  writeFileSync(stateFile, `${JSON.stringify(h.env, null, 2)}\n`, { mode: 0o600 });
  // The harness unrefs mariadbd, so this timer is what keeps the process in the foreground.
  const keepAlive = setInterval(() => undefined, 60_000);
  const stop = async () => {
    clearInterval(keepAlive);
    rmSync(stateFile, { force: true });
    await h.destroy();
    console.log("\nLocal database stopped and removed.");
  };
  process.once("SIGINT", stop).once("SIGTERM", stop);
  console.log(`Local MariaDB for the api function on ${h.host}:${h.port} (database ${h.database}, IAM user ${h.env.DB_USER}, migrations applied).
Its environment is in ${stateFile}. In another terminal:
  npm run local -- '{"op":"health"}'
  npm run local -- '{"op":"put","item":{"id":"a","data":{"n":1}}}'
  npm run local -- '{"op":"list"}'
Data lives until Ctrl-C, which stops the server and deletes it.`);
}

function parseEvent(args: string[]): unknown {
  const usage = (problem: string): never => {
    console.error(`${problem}\n${USAGE}`);
    process.exit(2);
  };
  if (args.length !== 1) return usage(`expected one argument, the event as JSON (quote it for the shell); got ${args.length}`);
  try {
    return JSON.parse(args[0]);
  } catch (error) {
    return usage(`the event is not valid JSON (${(error as Error).message}): ${args[0]}`);
  }
}

async function invoke(args: string[]): Promise<void> {
  const event = parseEvent(args);
  let env = await runningDatabase();
  let throwaway: Harness | undefined;
  if (!env) {
    console.error("No local database answers (start one with `npm run local:db`); using a throwaway one for this call.");
    throwaway = await startDatabase();
    env = throwaway.env;
  }
  // The harness's credentials only: none of the caller's own AWS settings may mix with them.
  delete process.env.AWS_SESSION_TOKEN;
  delete process.env.AWS_PROFILE;
  Object.assign(process.env, env);
  // In Lambda log lines go to CloudWatch, not the response: keep stdout for the response alone.
  console.log = console.info = console.debug = console.error;

  try {
    process.stdout.write(`${JSON.stringify(await handler(event), null, 2)}\n`);
  } catch (error) {
    const failure = error as Error;
    console.error(`function error: ${failure.name}: ${failure.message}`);
    process.exitCode = 1;
  } finally {
    await closeDatabase();
    await throwaway?.destroy();
  }
}

const args = process.argv.slice(2);
(args[0] === "--serve" ? serve() : invoke(args)).catch((error) => {
  console.error(error);
  process.exit(1);
});
