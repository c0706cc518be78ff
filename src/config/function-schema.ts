import { z } from "zod";
import { HTTPS_DESTINATIONS } from "../functions/function-props";
import { type DatabaseGrants, REFUSED_PRIVILEGES, TABLE_PRIVILEGES, type TableGrants } from "../../functions/migrate/privileges";
import { intInRange, logRetention, mysqlAccount } from "./fields";
import { httpRoutesSchema, throttleSchema } from "../api/http-route";
import { SCHEDULE_EXPRESSION, SCHEDULE_EXPRESSION_TAKES, SCHEDULE_RANGES, isTimeZone, rateSeconds } from "../schedule/schedule-rules";

/** A function's name: the `<prefix>-<name>` of its Lambda, role, log group, queue and alarms. */
export const FUNCTION_NAME = /^[a-z][a-z0-9-]*$/;
/** A key prefix of the data bucket, e.g. "incoming/". */
const S3_PREFIX = /^[A-Za-z0-9!_.*'()-]+(\/[A-Za-z0-9!_.*'()-]+)*\/$/;
const s3Prefix = z.string().regex(S3_PREFIX, { error: 'must be a key prefix of letters, digits and / ending in "/", like "incoming/"' });

/**
 * What starts a function: a closed union on `kind`, one member per kind, each wired by its own class in
 * src/functions/triggers/ (triggerFor there refuses to compile until a new kind is wired).
 */
export const triggerSchema = z.discriminatedUnion(
  "kind",
  [
    /** Callers with the function's invoke policy (the `<env>-state` stack's `<function>-invoke`) call it directly. */
    z.object({ kind: z.literal("invoke") }).strict(),
    /**
     * Objects created under `prefix` of the service's data bucket: the function may read that prefix and,
     * when `writePrefix` is set, write there; nothing else of the bucket.
     */
    z
      .object({
        kind: z.literal("s3-objects"),
        prefix: s3Prefix,
        /** Where the function writes what it made of each object; never inside any function's trigger prefix. */
        writePrefix: s3Prefix.optional(),
      })
      .strict(),
    /**
     * Routes of an API Gateway HTTP API in front of the function, every one authorized by IAM (callers
     * sign with SigV4); the function is still invoked directly too.
     */
    z
      .object({
        kind: z.literal("http"),
        /** Each `{ method, path, authorization: "AWS_IAM", throttle? }`: a route without IAM cannot be declared. */
        routes: httpRoutesSchema,
        /** Requests per second and burst of every route without its own. @default 50 and 100 */
        throttle: throttleSchema.optional(),
        /** Days the API's access logs are kept. @default the function's logRetentionDays */
        accessLogRetentionDays: logRetention.optional(),
        /** Thresholds of the API's alarms, per 5 minutes. @default 1 5XX answer, 3000 ms p99 latency */
        alarms: z
          .object({ serverErrors: intInRange(1, 100000).optional(), latencyP99Ms: intInRange(100, 30000, " ms").optional() })
          .strict()
          .default({}),
      })
      .strict(),
    /**
     * EventBridge Scheduler invokes the function on `expression`, in the service's schedule group, with
     * `input` as the event; a job that logs a summary line per run is watched for passes left unfinished.
     */
    z
      .object({
        kind: z.literal("schedule"),
        expression: z.string().regex(SCHEDULE_EXPRESSION, { error: `must be ${SCHEDULE_EXPRESSION_TAKES}` }),
        /** IANA time zone a cron expression is read in. @default "UTC" */
        timeZone: z.string().refine(isTimeZone, { error: 'must be an IANA time zone such as "UTC" or "Europe/Paris"' }).optional(),
        /** Minutes the scheduler may start a run late; 0 starts it on time. @default 15 */
        flexibleWindowMinutes: intInRange(...SCHEDULE_RANGES.flexibleWindowMinutes, " minutes").optional(),
        /** Attempts to deliver an invocation again (throttled, a transient error). @default 3 */
        retryAttempts: intInRange(...SCHEDULE_RANGES.retryAttempts).optional(),
        /** Seconds after which an undelivered invocation goes to the schedule's dead-letter queue. @default 3600 */
        maxEventAgeSeconds: intInRange(...SCHEDULE_RANGES.maxEventAgeSeconds, " seconds").optional(),
        /** The event every run gets: the job's settings, never secrets. @default {} */
        input: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({}),
        /**
         * The job's summary log line (its `message`, and its field that is 1 when a run finished a pass): an alarm
         * fires when no pass finished for `afterSchedules` intervals (a cron() schedule gives `intervalSeconds`).
         */
        unfinished: z
          .object({
            message: z.string().min(1, { error: "must be the message of the job's summary log line" }),
            finishedField: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: "must be a field name of that line" }),
            afterSchedules: intInRange(1, 1000).default(3),
            intervalSeconds: intInRange(60, 7 * 86_400, " seconds").optional(),
          })
          .strict()
          .optional(),
      })
      .strict()
      .refine((schedule) => !schedule.unfinished || schedule.unfinished.intervalSeconds || rateSeconds(schedule.expression), {
        error: "a cron() schedule has no fixed interval: set unfinished.intervalSeconds to the longest time between two runs",
        path: ["unfinished", "intervalSeconds"],
      }),
  ],
  { error: 'must have a kind: "invoke", "s3-objects", "http" or "schedule"' },
);
export type FunctionTrigger = z.output<typeof triggerSchema>;

const privilege = z.enum(TABLE_PRIVILEGES, {
  error: (issue) => {
    const word = typeof issue.input === "string" ? issue.input.toUpperCase() : undefined;
    const why = word === undefined ? undefined : REFUSED_PRIVILEGES[word];
    const list = TABLE_PRIVILEGES.join(", ");
    return why
      ? `${word} is refused (${why}); list the privileges the function's statements need, from ${list}`
      : `${JSON.stringify(issue.input)} is not a privilege MySQL grants on a table; use ${list}`;
  },
});

const tableGrants = z.record(
  z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,63}$/, { error: "must be a table name: a letter, then letters, digits or _" }),
  z
    .array(privilege)
    .min(1, { error: "grants nothing; list at least one privilege or leave the table out" })
    .refine((privileges) => new Set(privileges).size === privileges.length, { error: "names a privilege twice" }),
);

/** Defaults of a declared function: small, and bounded in what it may hold of the database's connections. */
export const FUNCTION_DEFAULTS = {
  runtime: "nodejs22.x",
  memoryMb: 256,
  timeoutSeconds: 15,
  reservedConcurrency: 2,
  logRetentionDays: 14,
} as const;

/** One function of the service, as src/config/functions.ts declares it and environments override it. */
export const functionSchema = z
  .object({
    /** What the function does, in a few words; its Lambda's description is `<name>: <description>`. */
    description: z.string().min(1, { error: "must say what the function does" }).max(200, { error: "must be at most 200 characters" }),
    /** Folder of the handler (its index.ts exports `handler`), relative to the project root. @default functions/<name> */
    source: z
      .string()
      .regex(/^[A-Za-z0-9_-]+(\/[A-Za-z0-9_.-]+)*$/, { error: 'must be a folder relative to the project root, like "functions/reports"' })
      .optional(),
    trigger: triggerSchema,
    /** The MySQL account the function signs IAM tokens for, and what it may do per table. */
    database: z
      .object({
        user: mysqlAccount,
        /** Privileges per table, e.g. `{ items: ["SELECT"] }`: granted exactly by the migrate function. */
        grants: tableGrants,
      })
      .strict(),
    /**
     * Where the function may open HTTPS connections besides the database: "s3" and "dynamodb" through
     * their gateway endpoints, "internet" (AWS's other APIs too) through the NAT gateway.
     * @default []
     */
    httpsEgress: z
      .array(z.enum(HTTPS_DESTINATIONS, { error: `must be ${HTTPS_DESTINATIONS.map((d) => `"${d}"`).join(", ")}` }))
      .refine((destinations) => new Set(destinations).size === destinations.length, { error: "names a destination twice" })
      .default([]),
    runtime: z.enum(["nodejs20.x", "nodejs22.x"], { error: 'must be "nodejs20.x" or "nodejs22.x"' }).default(FUNCTION_DEFAULTS.runtime),
    memoryMb: intInRange(128, 10240, " MB").default(FUNCTION_DEFAULTS.memoryMb),
    /** Must leave room for the database client's timeouts (4 s to connect, 5 s per unit of work). */
    timeoutSeconds: intInRange(10, 900, " seconds (the handler's database timeouts take up to 9 s)").default(
      FUNCTION_DEFAULTS.timeoutSeconds,
    ),
    /** Concurrency reserved for (and capping) the function: each environment holds a database connection. */
    reservedConcurrency: intInRange(1, 1000).default(FUNCTION_DEFAULTS.reservedConcurrency),
    logRetentionDays: logRetention.default(FUNCTION_DEFAULTS.logRetentionDays),
    /** Thresholds of the function's alarms, per 5 minutes. @default alarms.functionErrors and alarms.functionThrottles */
    alarms: z
      .object({ errors: intInRange(1, 100000).optional(), throttles: intInRange(1, 100000).optional() })
      .strict()
      .default({}),
    /**
     * Prefix of the function's stack outputs (`<prefix>function_name`, ...). Deployments read the items
     * API's outputs unprefixed from before the function list: it keeps "".
     * @default "<name>_" with "-" as "_"
     */
    outputPrefix: z
      .string()
      .regex(/^([a-z][a-z0-9_]*_)?$/, { error: 'must be "" or lowercase letters, digits and _ ending in "_"' })
      .optional(),
  })
  .strict();

export type FunctionDeclaration = z.input<typeof functionSchema>;

/** A declared function as the stacks use it: named, its source and output prefix filled in. */
export type ServiceFunctionConfig = Omit<z.output<typeof functionSchema>, "source" | "outputPrefix"> & {
  readonly name: string;
  readonly source: string;
  readonly outputPrefix: string;
};

/** The functions, keyed by name, in declaration order; the record's keys become `name`. */
export const functionsSchema = z.record(z.string(), functionSchema).transform((functions) =>
  Object.entries(functions).map(
    ([name, declared]): ServiceFunctionConfig => ({
      ...declared,
      name,
      source: declared.source ?? `functions/${name}`,
      outputPrefix: declared.outputPrefix ?? `${name.replace(/-/g, "_")}_`,
    }),
  ),
);

/** The functions' database users with their grants, each user once (validation refuses one user with two sets of grants). */
export function databaseGrantsOf(
  functions: Iterable<{ readonly database: { readonly user: string; readonly grants: TableGrants } }>,
): DatabaseGrants {
  const grants: Record<string, TableGrants> = {};
  for (const { database } of functions) grants[database.user] ??= database.grants;
  return grants;
}
