import type { Construct } from "constructs";
import type { DatabaseEndpoint } from "../database/database-instance";
import { withDefaults } from "../core/with-defaults";
import { FailureQueue } from "./failure-queue";
import { Peer } from "../network/connections";
import { API_FUNCTION_DEFAULTS, type FunctionOptions, type HttpsDestination } from "./function-props";
import { VpcFunction } from "./vpc-function";

export interface ApiFunctionProps extends FunctionOptions {
  /** Prefix of the function name, e.g. "lambda-rds-iam-dev"; the name is `<prefix>-<source>`. */
  readonly namePrefix: string;
  /** The instance, or RDS Proxy in front of it. */
  readonly database: DatabaseEndpoint;
  /**
   * Directory under functions/ that holds the handler (index.ts).
   * @default "api"
   */
  readonly source?: string;
  /**
   * The MySQL account the function signs IAM tokens for.
   * @default "app_user"
   */
  readonly dbUser?: string;
  /**
   * Where the function may open HTTPS connections besides the database: "s3" and "dynamodb" through
   * their gateway endpoints, "internet" (AWS's other APIs too) through the NAT gateway, for a team
   * whose code calls them. Its role's permissions and boundary still limit what a call may do.
   * @default [] (the items API signs its tokens locally and calls nothing)
   */
  readonly httpsEgress?: readonly HttpsDestination[];
}

/**
 * The API function: talks to the database as `dbUser` with IAM auth tokens. Its security
 * group reaches only the database port (and HTTPS where `httpsEgress` says); its environment names the database and holds no secret.
 */
export class ApiFunction extends VpcFunction {
  /** Where failed asynchronous invocations go, after Lambda's retries. */
  readonly failures: FailureQueue;

  constructor(scope: Construct, id: string, props: ApiFunctionProps) {
    const { namePrefix, database, dbUser, httpsEgress, keyPreventDestroy, ...options } = withDefaults(API_FUNCTION_DEFAULTS, props);
    const functionName = `${namePrefix}-${options.source}`;
    super(scope, id, {
      ...options,
      functionName,
      description: `${functionName}: items API on RDS MySQL with IAM database authentication`,
      database: { endpoint: database, user: dbUser },
      access: (fn) => {
        for (const destination of httpsEgress) {
          const peer =
            destination === "internet"
              ? Peer.anyIpv4("AWS APIs and the internet through the NAT gateway")
              : options.network.gatewayEndpointPeer(destination);
          fn.connections.allowTo(peer, 443, "HTTPS");
        }
        return [];
      },
    });

    this.failures = new FailureQueue(this, "failures", {
      name: `${functionName}-failures`,
      function: this,
      preventDestroy: keyPreventDestroy,
    });
  }
}
