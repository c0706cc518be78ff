import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { CONFIG_OVERRIDE_VARIABLE, loadStackConfigs, parseServiceConfig } from "../../../src/config/environments";
import { SERVICE_FUNCTIONS } from "../../../src/config/functions";
import type { FunctionSettings } from "../../../src/config/stack-config";
import { REPORTS_FUNCTION } from "../../fixtures/functions/reports/declaration";
import { MINIMAL, configProblems, projectRoot } from "../synth";
import { tempDir } from "../temp";

/** Every problem of the minimal configuration with `functions` added to (or over) the declared ones. */
function problemsOf(functions: Record<string, FunctionSettings>, input: Record<string, unknown> = {}): string[] {
  return configProblems({ ...MINIMAL, ...input, functions });
}

const reports = (changes: Partial<FunctionSettings>): Record<string, FunctionSettings> => ({
  reports: { ...REPORTS_FUNCTION, ...changes },
});
const s3Reports = (prefix: string, writePrefix?: string) => reports({ trigger: { kind: "s3-objects", prefix, writePrefix } });

describe("the function list", () => {
  it("declares today's functions once, each becoming a configured function of every environment, in declaration order", () => {
    for (const config of loadStackConfigs({})) {
      expect(config.functions.map((fn) => fn.name)).toEqual(Object.keys(SERVICE_FUNCTIONS));
      for (const fn of config.functions) expect(fn.source).toBe(`functions/${fn.name}`);
    }
  });

  it("takes an environment's sizes over the declaration and keeps the rest of the entry", () => {
    const [api] = parseServiceConfig({ ...MINIMAL, functions: { api: { memoryMb: 1024 } } }, "test").functions;
    expect(api).toMatchObject({ ...SERVICE_FUNCTIONS.api, memoryMb: 1024, name: "api" });
  });

  it("accepts one more entry with a handler folder and a read-only grant, and fills its defaults", () => {
    const config = parseServiceConfig({ ...MINIMAL, functions: { reports: REPORTS_FUNCTION } }, "test");
    expect(config.functions.at(-1)).toMatchObject({ name: "reports", outputPrefix: "reports_", httpsEgress: [], alarms: {} });
  });

  it.each<[string, Record<string, FunctionSettings>, Record<string, unknown>, string]>([
    [
      "two functions sharing a user with different grants",
      reports({ database: { user: "app_user", grants: { items: ["SELECT"] } } }),
      {},
      "functions.reports.database.grants: differ from those of api, which connects as app_user too; give one of them its own user, or the same grants",
    ],
    [
      "a table no migration creates",
      reports({ database: { user: "reports", grants: { audit_log: ["SELECT"] } } }),
      {},
      "functions.reports.database.grants.audit_log: no migration creates the table audit_log; add a migration under migrations/ that creates it, or grant on one of batch_jobs, ingested_keys, ingested_objects, items",
    ],
    [
      "a privilege MySQL does not have",
      reports({ database: { user: "reports", grants: { items: ["SELEKT" as "SELECT"] } } }),
      {},
      'functions.reports.database.grants.items.0: "SELEKT" is not a privilege MySQL grants on a table; use SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, ALTER, INDEX, REFERENCES, CREATE VIEW, SHOW VIEW, TRIGGER',
    ],
    [
      "the user of the master",
      reports({ database: { user: "admin", grants: { items: ["SELECT"] } } }),
      { database: { masterUsername: "admin" } },
      "functions.reports.database.user: is the master user admin; give the function a user of its own",
    ],
    [
      "a name too long once prefixed",
      { "monthly-report-of-all-the-items": REPORTS_FUNCTION },
      { project: "a-project-name-of-twenty", environment: "production" },
      "functions.monthly-report-of-all-the-items: makes the function and role name a-project-name-of-twenty-production-monthly-report-of-all-the-items, 67 characters, over Lambda's and IAM's 64; shorten the name to at most 28 characters",
    ],
    [
      "a name that is not one",
      { Reports_2: REPORTS_FUNCTION },
      {},
      'functions.Reports_2: must be a function name of lowercase letters, digits and -, starting with a letter, like "reports"',
    ],
    [
      "the migrate function's name",
      { migrate: REPORTS_FUNCTION },
      {},
      "functions.migrate: is the name of the service's own migrate function; choose another name",
    ],
    [
      "a source folder that does not exist",
      reports({ source: "functions/reports" }),
      {},
      "functions.reports.source: functions/reports/index.ts does not exist; create the handler there or set source to the folder that holds it",
    ],
    [
      "an S3 prefix inside another function's",
      s3Reports("incoming/reports/"),
      {},
      "functions.reports.trigger.prefix: incoming/reports/ overlaps incoming/ of ingest: an object would invoke both; choose prefixes where neither starts with the other",
    ],
    [
      "a write prefix where a function is triggered",
      s3Reports("reports/", "incoming/"),
      {},
      "functions.reports.trigger.writePrefix: incoming/ overlaps incoming/, which triggers ingest: what reports writes would invoke a function again; write outside every trigger prefix",
    ],
    [
      "a trigger of no known kind",
      reports({ trigger: { kind: "queue" } as unknown as FunctionSettings["trigger"] }),
      {},
      'functions.reports.trigger.kind: must have a kind: "invoke", "s3-objects", "http" or "schedule"',
    ],
  ])("refuses %s, naming the field and the fix", (_, functions, input, problem) => {
    expect(problemsOf(functions, input)).toContain(problem);
  });

  it.each([
    ["ALL", "what ALL covers grows with the server"],
    ["GRANT OPTION", "the user could hand its rights on"],
    ["SUPER", "a global privilege that reaches beyond the database"],
    ["FILE", "a global privilege that reads and writes the server's files"],
  ])("refuses %s on a table, saying why", (privilege, why) => {
    const problems = problemsOf(reports({ database: { user: "reports", grants: { items: ["SELECT", privilege as "SELECT"] } } }));
    expect(problems).toEqual([
      `functions.reports.database.grants.items.1: ${privilege} is refused (${why}); list the privileges the function's statements need, from SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, ALTER, INDEX, REFERENCES, CREATE VIEW, SHOW VIEW, TRIGGER`,
    ]);
  });

  it("lets two functions share a user that has the same grants", () => {
    const config = parseServiceConfig({ ...MINIMAL, functions: reports({ database: SERVICE_FUNCTIONS.api.database }) }, "test");
    expect(config.functions.filter((fn) => fn.database.user === "app_user").map((fn) => fn.name)).toEqual(["api", "reports"]);
  });

  it("stops the app before anything is written, listing the bad declaration with its environment", () => {
    const outdir = join(tempDir("bad-function-"), "cdktf.out");
    const run = spawnSync(process.execPath, ["--require", "./scripts/cli/register-ts.cjs", "scripts/cli/synth.ts", "--output", outdir], {
      cwd: projectRoot,
      env: { ...process.env, [CONFIG_OVERRIDE_VARIABLE]: JSON.stringify({ dev: { functions: s3Reports("incoming/") } }) },
      encoding: "utf8",
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain("dev.functions.reports.trigger.prefix: incoming/ overlaps incoming/ of ingest");
    expect(run.stderr).toContain("nothing was written");
    expect(existsSync(outdir)).toBe(false);
  });
});
