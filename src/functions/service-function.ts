import type { Construct } from "constructs";
import type { ServiceFunctionConfig } from "../config/function-schema";
import type { DatabaseEndpoint } from "../database/database-instance";
import { Peer } from "../network/connections";
import type { Network } from "../network/network";
import type { DataBucket } from "../storage/data-bucket";
import type { LogEncryption } from "../storage/log-encryption";
import { FailureQueue } from "./failure-queue";
import type { HttpsDestination } from "./function-props";
import { type FunctionTrigger, triggerFor } from "./triggers/function-trigger";
import { VpcFunction } from "./vpc-function";

export interface ServiceFunctionProps {
  /** Prefix of the function's name, e.g. "lambda-rds-iam-dev": the name is `<prefix>-<config.name>`. */
  readonly namePrefix: string;
  /** The function as src/config/functions.ts declares it, with its environment's sizes. */
  readonly config: ServiceFunctionConfig;
  /** The app's directory: `config.source` is relative to it; its node_modules/ resolves the handler's imports. */
  readonly projectRoot: string;
  /**
   * Folder of the service's migrations, which the bundle carries like the migrate function's.
   * @default none
   */
  readonly migrationsDir?: string;
  /** Makes the function's log group, encrypted with the environment's log key. */
  readonly logs: LogEncryption;
  readonly network: Network;
  /** The instance, or RDS Proxy in front of it. */
  readonly database: DatabaseEndpoint;
  /** The bucket S3-triggered functions read from and write to. */
  readonly dataBucket: DataBucket;
  /**
   * Terraform refuses any plan that destroys the key of the function's failure queue.
   * @default false
   */
  readonly keyPreventDestroy?: boolean;
}

/**
 * One declared function of the service, with everything every function gets: its own role and security
 * group, both halves of its MySQL path, `rds-db:connect` as exactly its own user (through the instance or
 * the proxy), its HTTPS egress, a failure queue for its failed asynchronous invocations, and its trigger
 * (src/functions/triggers/). Its environment names the database and what the trigger hands it; no secret.
 */
export class ServiceFunction extends VpcFunction {
  readonly config: ServiceFunctionConfig;
  readonly trigger: FunctionTrigger;
  /** Where failed asynchronous invocations go, after Lambda's retries. */
  readonly failures: FailureQueue;

  constructor(scope: Construct, id: string, props: ServiceFunctionProps) {
    const { config, network } = props;
    const functionName = `${props.namePrefix}-${config.name}`;
    const trigger = triggerFor(config.trigger, {
      functionName,
      dataBucket: props.dataBucket,
      logs: props.logs,
      logRetentionDays: config.logRetentionDays,
      namePrefix: props.namePrefix,
      keyPreventDestroy: props.keyPreventDestroy,
    });
    super(scope, id, {
      functionName,
      description: `${functionName}: ${config.description}`,
      projectRoot: props.projectRoot,
      source: config.source,
      migrationsDir: props.migrationsDir,
      runtime: config.runtime,
      memoryMb: config.memoryMb,
      timeoutSeconds: config.timeoutSeconds,
      reservedConcurrency: config.reservedConcurrency,
      logRetentionDays: config.logRetentionDays,
      logs: props.logs,
      network,
      database: { endpoint: props.database, user: config.database.user },
      environment: trigger.environment,
      access: (fn) => {
        const granted = trigger.grant(fn);
        const egress = [...new Set<HttpsDestination>([...config.httpsEgress, ...trigger.httpsEgress])].map((destination) => {
          const peer =
            destination === "internet"
              ? Peer.anyIpv4("AWS APIs and the internet through the NAT gateway")
              : network.gatewayEndpointPeer(destination);
          return fn.connections.allowTo(peer, 443, "HTTPS");
        });
        return [...granted, ...egress.flatMap((path) => path.rules)];
      },
    });
    this.config = config;
    this.trigger = trigger;
    this.failures = new FailureQueue(this, "failures", {
      name: `${functionName}-failures`,
      function: this,
      preventDestroy: props.keyPreventDestroy,
    });
    trigger.bind(this);
  }
}
