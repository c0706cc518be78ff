import type { Construct } from "constructs";
import { DataAwsIamPolicyDocument } from "@cdktf/provider-aws/lib/data-aws-iam-policy-document";
import { IamPolicy } from "@cdktf/provider-aws/lib/iam-policy";
import type { FunctionConfig } from "../config/stack-config";
import { type DatabaseEndpoint, connectionEnvironment } from "../database/database-instance";
import { FailureQueue } from "./failure-queue";
import type { LogEncryption } from "../storage/log-encryption";
import type { Network } from "../network/network";
import { Peer } from "../network/connections";
import { VpcFunction } from "./vpc-function";

export interface ApiFunctionProps {
  /** Prefix of the function name, e.g. "lambda-rds-iam-dev"; the name is `<prefix>-<source>`. */
  readonly namePrefix: string;
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
  /** Allows invoking this function and nothing else; the platform team attaches it to the callers' groups or roles. */
  readonly invokePolicy: IamPolicy;
  /** Where failed asynchronous invocations go, after Lambda's retries. */
  readonly failures: FailureQueue;

  constructor(scope: Construct, id: string, props: ApiFunctionProps) {
    const { config, database } = props;
    const functionName = `${props.namePrefix}-${config.source}`;
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

    // Callers reach the database only through the function: user -> Lambda by this policy, Lambda -> RDS by the role.
    const invoke = new DataAwsIamPolicyDocument(this, "invoke-document", {
      statement: [
        {
          sid: "InvokeThisFunction",
          actions: ["lambda:InvokeFunction"],
          resources: [this.function.arn, `${this.function.arn}:*`],
        },
      ],
    });
    this.failures = new FailureQueue(this, "failures", { name: `${functionName}-failures`, function: this });

    this.invokePolicy = new IamPolicy(this, "invoke-policy", {
      name: `${functionName}-invoke`,
      description: `Invoke the ${functionName} function (its versions and aliases included) and nothing else`,
      policy: invoke.json,
    });
  }
}
