import { ITEM_ROUTES } from "../../functions/api/routes";
import { INCOMING_PREFIX, RESULTS_PREFIX } from "../../functions/ingest/layout";
import { resolve } from "node:path";
import { PURGE_SUMMARY_LINE } from "../../functions/purge/summary-line";
import type { FunctionDeclaration } from "./function-schema";
import type { ServiceDefinition } from "./stack-config";

/**
 * The service's functions, each declared once: everything else (roles, security groups, database users
 * and grants, the proxy's and the boundary's users, failure queues, alarms, outputs, invoke policies, the
 * CI roles' reach, the diagram, the plan comment) follows this list. An environment overrides sizes under
 * `functions.<name>` in src/config/environments.ts. The fields: src/config/function-schema.ts; the
 * recipe: "Add a function" in the README. The migrate function is the service's own (src/database/database-bootstrap.ts).
 */
export const SERVICE_FUNCTIONS = {
  api: {
    description: "items API on RDS MySQL with IAM database authentication",
    // Invoked directly, and over HTTP on its handler's routes (functions/api/routes.ts), each signed with SigV4 and allowed by IAM.
    trigger: { kind: "http", routes: ITEM_ROUTES.map(({ method, path }) => ({ method, path, authorization: "AWS_IAM" as const })) },
    database: { user: "app_user", grants: { items: ["SELECT", "INSERT", "UPDATE", "DELETE"] } },
    // The handler signs its token locally and calls no AWS API: it needs no HTTPS at all.
    httpsEgress: [],
    memoryMb: 256,
    timeoutSeconds: 15,
    reservedConcurrency: 10,
    // Its outputs kept their names from before the function list (function_name, role_arn, ...).
    outputPrefix: "",
  },
  ingest: {
    description: `loads JSON Lines objects from ${INCOMING_PREFIX} of the data bucket into the items table`,
    trigger: { kind: "s3-objects", prefix: INCOMING_PREFIX, writePrefix: RESULTS_PREFIX },
    database: {
      user: "ingest",
      grants: {
        // Upserts, never deletes; the server checks SELECT on the columns an ON DUPLICATE KEY UPDATE names.
        items: ["SELECT", "INSERT", "UPDATE"],
        ingested_objects: ["SELECT", "INSERT"],
        // The newest version of each key (SELECT ... FOR UPDATE needs UPDATE too).
        ingested_keys: ["SELECT", "INSERT", "UPDATE"],
      },
    },
    // The object is streamed, so memory bounds batches, not object size.
    memoryMb: 512,
    // A 200 MB object takes minutes; Lambda's limit is 15.
    timeoutSeconds: 900,
    // Objects ingested at once, each holding one database connection.
    reservedConcurrency: 2,
  },
  purge: {
    description: "deletes the items not written for the retention age, in short chunks beside the API",
    // Hourly: a run does what it can in its 15 minutes and the next one goes on from its checkpoint.
    trigger: {
      kind: "schedule",
      expression: "rate(1 hour)",
      input: { retentionDays: 365 },
      unfinished: { ...PURGE_SUMMARY_LINE, afterSchedules: 3 },
    },
    database: {
      user: "purge",
      // Finds and deletes expired items; holds its lease and checkpoint in the row the migration made.
      grants: { items: ["SELECT", "DELETE"], batch_jobs: ["SELECT", "UPDATE"] },
    },
    timeoutSeconds: 900,
    // One run at a time; its lease in batch_jobs guards against overlap as well.
    reservedConcurrency: 1,
  },
} satisfies Readonly<Record<string, FunctionDeclaration>>;

/** This repository's service: its functions, with their sources and migrations/ in this checkout. */
export const SERVICE: ServiceDefinition = { functions: SERVICE_FUNCTIONS, projectRoot: resolve(__dirname, "..", "..") };
