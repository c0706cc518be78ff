import type { LogEncryption } from "../storage/log-encryption";
import type { Network } from "../network/network";
import type { NodeRuntime } from "./function-bundle";

/** How a function of the service runs: what the API and ingest functions pass on to VpcFunction. */
export interface FunctionOptions {
  /** Directory that holds functions/ and node_modules/. */
  readonly projectRoot: string;
  /** Makes the function's log group, encrypted with the environment's log key. */
  readonly logs: LogEncryption;
  readonly network: Network;
  /** @default "nodejs22.x" */
  readonly runtime?: NodeRuntime;
  /** @default the function's own (API_FUNCTION_DEFAULTS, INGEST_FUNCTION_DEFAULTS) */
  readonly memoryMb?: number;
  /** @default the function's own */
  readonly timeoutSeconds?: number;
  /**
   * Concurrency reserved for (and capping) the function.
   * @default the function's own
   */
  readonly reservedConcurrency?: number;
  /** @default 14 */
  readonly logRetentionDays?: number;
  /**
   * Terraform refuses any plan that destroys the keys of the function's own resources (its failure queue's).
   * @default false
   */
  readonly keyPreventDestroy?: boolean;
}

/** What a function's HTTPS egress may reach: gateway endpoints by prefix list, or the internet through the NAT. */
export const HTTPS_DESTINATIONS = ["s3", "dynamodb", "internet"] as const;
export type HttpsDestination = (typeof HTTPS_DESTINATIONS)[number];

/** The API function's defaults: the configuration schema takes them from here. */
export const API_FUNCTION_DEFAULTS = {
  source: "api",
  runtime: "nodejs22.x",
  memoryMb: 256,
  // Leaves room for the handler's database timeouts (4 s to connect, 5 s per unit of work).
  timeoutSeconds: 15,
  reservedConcurrency: 10,
  logRetentionDays: 14,
  dbUser: "app_user",
  // The handler signs its token locally and calls no AWS API: it needs no HTTPS at all.
  httpsEgress: [] as readonly HttpsDestination[],
} as const;

/** The ingest function's defaults: objects are streamed, so memory bounds batches, not object size. */
export const INGEST_FUNCTION_DEFAULTS = {
  runtime: "nodejs22.x",
  memoryMb: 512,
  // A 200 MB object takes minutes; Lambda's limit is 15.
  timeoutSeconds: 900,
  reservedConcurrency: 2,
  logRetentionDays: 14,
  dbUser: "ingest",
} as const;
