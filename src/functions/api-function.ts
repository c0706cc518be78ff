import type { Construct } from "constructs";
import type { FunctionConfig } from "../config/stack-config";
import { type DatabaseEndpoint, connectionEnvironment } from "../database/database-instance";
import { FailureQueue } from "./failure-queue";
import type { LogEncryption } from "../storage/log-encryption";
import type { Network } from "../network/network";
import { Peer } from "../network/connections";
import { VpcFunction } from "./vpc-function";

export interface ApiFunctionProps {
  /** e.g. "lambda-rds-iam-dev-api"; its failure queue is `<functionName>-failures`. */
  readonly functionName: string;
  /** Directory that holds functions/ and node_modules/. */
  readonly projectRoot: string;
  readonly config: FunctionConfig;
  readonly logs: LogEncryption;
  readonly network: Network;
  /** The instance, or RDS Proxy in front of it. */
  readonly database: DatabaseEndpoint;
}

/**
 * The API function: talks to the database as `config.dbUser` with IAM auth tokens. Its security
 * group reaches only the database port (and HTTPS where `httpsEgress` says); its environment names the database and holds no secret.
 */
export class ApiFunction extends VpcFunction {
  /** Where failed asynchronous invocations go, after Lambda's retries. */
  readonly failures: FailureQueue;

  constructor(scope: Construct, id: string, props: ApiFunctionProps) {
    const { config, database } = props;
    const { functionName } = props;
    super(scope, id, {
      functionName,
      description: `${functionName}: items API on RDS MySQL with IAM database authentication`,
      projectRoot: props.projectRoot,
      source: config.source,
      runtime: config.runtime,
      memoryMb: config.memoryMb,
      timeoutSeconds: config.timeoutSeconds,
      reservedConcurrency: config.reservedConcurrency,
      logRetentionDays: config.logRetentionDays,
      logs: props.logs,
      network: props.network,
      environment: connectionEnvironment(database, config.dbUser),
      access: (fn) => {
        // Nothing but the database unless configured: the handler signs its token locally and calls no AWS API.
        for (const destination of config.httpsEgress) {
          const peer =
            destination === "internet"
              ? Peer.anyIpv4("AWS APIs and the internet through the NAT gateway")
              : props.network.gatewayEndpointPeer(destination);
          fn.connections.allowTo(peer, 443, "HTTPS");
        }
        // The first invocation needs both the grant and the way in.
        return [
          database.grantConnect(fn.role.role, config.dbUser),
          ...fn.connections.allowTo(database.connections, database.port, "MySQL").rules,
        ];
      },
    });

    this.failures = new FailureQueue(this, "failures", { name: `${functionName}-failures`, function: this });
  }
}
