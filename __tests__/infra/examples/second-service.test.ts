import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { unzipSync } from "fflate";
import { type Harness, startHarness } from "../../../harness/mariadb";
import { bootstrapHarness } from "../../../harness/migrations";
import { loadMigrations } from "../../../functions/shared/migration-files";
import { tempDir } from "../temp";

/**
 * examples/second-service as a platform team's second service gets the library: `npm pack` of this
 * checkout installed from the tarball into a copy of the example (the npm cache, offline first), which
 * synthesizes, passes its own test, and whose function bundle runs against the MariaDB harness.
 */
const projectRoot = resolve(__dirname, "..", "..", "..");
const EXAMPLE = join(projectRoot, "examples", "second-service");
/**
 * The example's commands, with a temp directory this test file removes: its own test, like any consumer's,
 * synthesizes through cdktf's Testing.app(), which leaves a cdktf.outdir.* behind in the temp directory.
 */
let temp: string | undefined;
const run = (cwd: string, command: string, ...args: string[]) => {
  temp ??= tempDir("example-tmp-");
  return execFileSync(command, args, {
    cwd,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, CI: "true", TMPDIR: temp },
  });
};

type Lambda = { function_name: string; filename: string; environment: { variables: Record<string, string> } };

/**
 * The AWS provider's 390 MB, the same version the example pins, linked from this checkout rather than
 * unpacked from the npm cache again (npm keeps a package already in place at the wanted version): most
 * of the install's time. Hard links where the file system allows them (no package writes into its own
 * files), a copy otherwise.
 */
function seedProvider(app: string): void {
  const provider = join("node_modules", "@cdktf", "provider-aws");
  mkdirSync(join(app, "node_modules", "@cdktf"), { recursive: true });
  try {
    execFileSync("cp", ["-al", join(projectRoot, provider), join(app, provider)], { stdio: "ignore" });
  } catch {
    cpSync(join(projectRoot, provider), join(app, provider), { recursive: true });
  }
}

let work: string;
let app: string;
let packed: string[];

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "second-service-"));
  run(projectRoot, "npm", "run", "-s", "build");
  const [pack] = JSON.parse(run(projectRoot, "npm", "pack", "--json", "--ignore-scripts", "--pack-destination", work));
  packed = pack.files.map((file: { path: string }) => file.path);
  app = join(work, "app");
  cpSync(EXAMPLE, app, { recursive: true, filter: (source) => !/[/\\](node_modules|cdktf\.out)$/.test(source) });
  seedProvider(app);
  run(app, "npm", "install", join(work, pack.filename), "--prefer-offline", "--no-audit", "--no-fund");
}, 600_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("the packed library", () => {
  it("holds the compiled entry with its types and the migrate function's sources, and nothing of the repository's own", () => {
    // The app's own functions (api, ingest, purge) and configuration stay out: only what the entry imports.
    const shipped =
      /^(package\.json|README\.md|dist\/(src\/.+|functions\/(runtime|(shared|migrate)\/[a-z-]+))\.(js|d\.ts)|functions\/(migrate|shared)\/[a-z-]+\.ts)$/;
    expect(packed.filter((path) => !shipped.test(path) || /^dist\/src\/config\/(functions|environments)\./.test(path))).toEqual([]);
    expect(packed).toEqual(expect.arrayContaining(["dist/src/index.js", "dist/src/index.d.ts", "functions/migrate/index.ts"]));
  });
});

describe("examples/second-service on the installed tarball", () => {
  let stack: { resource: { aws_lambda_function: Record<string, Lambda>; aws_db_instance: Record<string, { db_name: string }> } };
  const lambda = (name: string) => Object.values(stack.resource.aws_lambda_function).find((fn) => fn.function_name === name)!;

  beforeAll(() => {
    run(app, "npm", "run", "-s", "synth");
    stack = JSON.parse(readFileSync(join(app, "cdktf.out", "stacks", "dev", "cdk.tf.json"), "utf8"));
  });

  it("type-checks against the tarball's declarations", () => {
    // This checkout's TypeScript and Node types: the example itself installs neither.
    const tsc = join(projectRoot, "node_modules", ".bin", "tsc");
    expect(run(app, tsc, "-p", ".", "--typeRoots", join(projectRoot, "node_modules", "@types"))).toBe("");
  });

  it("passes its own test", () => {
    expect(run(app, "npm", "test")).toMatch(/^# fail 0$/m);
  });

  it("synthesizes its own database, its one function, and a bootstrap that creates only that function's user", () => {
    expect(Object.values(stack.resource.aws_db_instance).map((db) => db.db_name)).toEqual(["orders"]);
    expect(
      Object.values(stack.resource.aws_lambda_function)
        .map((fn) => fn.function_name)
        .sort(),
    ).toEqual(["orders-dev-migrate", "orders-dev-orders"]);
    expect(JSON.parse(lambda("orders-dev-migrate").environment.variables.DB_GRANTS)).toEqual({
      orders_app: { orders: ["SELECT", "INSERT"] },
    });
  });

  describe("its function's bundle on the MariaDB harness", () => {
    let h: Harness;
    let handler: (event: unknown) => Promise<{ orders: unknown[] }>;

    beforeAll(async () => {
      const orders = lambda("orders-dev-orders");
      const migrate = lambda("orders-dev-migrate");
      h = await startHarness({ database: "orders", iamUsers: [] });
      // The deploy's bootstrap with what the stack hands the migrate function: its users and the example's migrations.
      await bootstrapHarness(h, {
        users: JSON.parse(migrate.environment.variables.DB_GRANTS),
        migrations: loadMigrations(join(app, "migrations")),
      });
      const zip = unzipSync(readFileSync(join(app, "cdktf.out", "stacks", "dev", orders.filename)));
      const bundle = join(work, "orders.js");
      writeFileSync(bundle, zip["index.js"]);
      for (const name of ["AWS_SESSION_TOKEN", "AWS_PROFILE", "DB_TLS_CA_FILE"]) delete process.env[name];
      Object.assign(process.env, h.env, { DB_USER: orders.environment.variables.DB_USER });
      handler = require(bundle).handler;
    });

    afterAll(async () => {
      await h?.destroy();
    });

    it("records and lists orders as its own IAM-authenticated user", async () => {
      expect(await handler({ item: "tea", quantity: 2 })).toEqual({ orders: [{ item: "tea", quantity: 2 }] });
      expect(await handler({})).toEqual({ orders: [{ item: "tea", quantity: 2 }] });
      const grants = await h.admin("SHOW GRANTS FOR 'orders_app'@'%'");
      expect(
        grants.map((row: Record<string, string>) => Object.values(row)[0]).filter((grant: string) => grant.includes("`orders`")),
      ).toEqual(["GRANT SELECT, INSERT ON `orders`.`orders` TO `orders_app`@`%`"]);
    });
  });
});
