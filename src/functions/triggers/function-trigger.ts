import type { Construct } from "constructs";
import type { ITerraformDependable } from "cdktf";
import type { FunctionTrigger as TriggerConfig } from "../../config/function-schema";
import type { AlarmTopic } from "../../monitoring/alarm-topic";
import type { DataBucket } from "../../storage/data-bucket";
import type { HttpsDestination } from "../function-props";
import type { VpcFunction } from "../vpc-function";
import type { LogEncryption } from "../../storage/log-encryption";
import { HttpTrigger } from "./http-trigger";
import { InvokeTrigger } from "./invoke-trigger";
import { S3ObjectsTrigger } from "./s3-objects-trigger";
import { ScheduleTrigger } from "./schedule-trigger";

/**
 * What starts a function, wired like aws-cdk-lib's event sources: the trigger's resources are made in the
 * function's own scope (so their Terraform addresses are the function's), in two steps around its creation.
 */
export interface FunctionTrigger {
  /** Where the function must open HTTPS connections to take what the trigger hands it. */
  readonly httpsEgress: readonly HttpsDestination[];
  /** Names of what the trigger hands the function, for its environment; never secrets. */
  readonly environment: Readonly<Record<string, string>>;
  /** Grants the function's role what the trigger hands it; runs before the function exists, which waits for the result. */
  grant(fn: VpcFunction): ITerraformDependable[];
  /** Connects the source to the function, once the function exists. */
  bind(fn: VpcFunction): void;
  /** What the trigger adds to the function's stack outputs, by name without the function's output prefix. */
  outputs?(): Record<string, { value: string; description: string }>;
  /** Alarms on the source itself, besides those every function has, to the environment's topic (ServiceAlarms). */
  alarms?(scope: Construct, id: string, props: { readonly topic: AlarmTopic; readonly name: string; readonly fn: VpcFunction }): void;
}

/** What the service offers triggers: the function's name (its ARN is built before it exists), the data bucket, the log groups' maker, the service's name prefix. */
export interface TriggerContext {
  readonly functionName: string;
  readonly dataBucket: DataBucket;
  readonly logs: LogEncryption;
  /** The function's log retention, which the trigger's own logs follow unless it says otherwise. */
  readonly logRetentionDays: number;
  readonly namePrefix: string;
  /** Terraform refuses any plan that destroys the keys of what the trigger makes. */
  readonly keyPreventDestroy?: boolean;
}

/** The trigger of a declared kind; a new kind of src/config/function-schema.ts does not compile until it has a case here. */
export function triggerFor(config: TriggerConfig, context: TriggerContext): FunctionTrigger {
  switch (config.kind) {
    case "invoke":
      return new InvokeTrigger();
    case "s3-objects":
      return new S3ObjectsTrigger({ ...config, ...context });
    case "http": {
      const { kind: _, ...api } = config;
      return new HttpTrigger({
        ...api,
        accessLogRetentionDays: api.accessLogRetentionDays ?? context.logRetentionDays,
        functionName: context.functionName,
        logs: context.logs,
      });
    }
    case "schedule":
      return new ScheduleTrigger({ ...config, ...context });
    default:
      return config satisfies never;
  }
}

/**
 * Whether callers invoke the function themselves, and so are offered its invoke policy
 * (src/functions/invoke-policy.ts): an HTTP-triggered function takes direct invocations too.
 */
export const callersInvoke = (config: TriggerConfig): boolean => config.kind === "invoke" || config.kind === "http";
