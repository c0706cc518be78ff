import { Construct } from "constructs";
import { AssetType, type ITerraformDependable, TerraformAsset } from "cdktf";
import type { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { LambdaFunction } from "@cdktf/provider-aws/lib/lambda-function";
import { SecurityGroup } from "@cdktf/provider-aws/lib/security-group";
import { ExecutionRole } from "./execution-role";
import { type FunctionBundle, type NodeRuntime, bundleFunction } from "./function-bundle";
import type { LogEncryption } from "../storage/log-encryption";
import type { Network } from "../network/network";
import { Connections } from "../network/connections";
import { type DatabaseEndpoint, connectionEnvironment } from "../database/database-instance";

export interface VpcFunctionProps {
  readonly functionName: string;
  readonly description: string;
  /** Directory that holds functions/ and node_modules/. */
  readonly projectRoot: string;
  /** Folder whose index.ts exports `handler`, relative to projectRoot, e.g. "functions/api". */
  readonly source: string;
  readonly runtime: NodeRuntime;
  readonly memoryMb: number;
  readonly timeoutSeconds: number;
  /** Concurrency reserved for (and capping) the function; unreserved when absent. */
  readonly reservedConcurrency?: number;
  readonly logRetentionDays: number;
  /** Makes the function's log group, encrypted with the environment's log key. */
  readonly logs: LogEncryption;
  readonly network: Network;
  /** Names of things to reach, never secrets; the database's come first when `database` is set. */
  readonly environment?: Record<string, string>;
  /**
   * The database the function connects to with IAM auth tokens: its environment names the endpoint and
   * user, its role may `rds-db:connect` as that user only, and the path to the port is opened both ways.
   * @default no database
   */
  readonly database?: DatabaseConnection;
  /**
   * Grants what the function needs (egress rules, role policies, ingress elsewhere), given its role
   * and security group; runs before the function is created, which then waits for what it returns.
   */
  readonly access?: (fn: VpcFunction) => ITerraformDependable[];
}

/** Where a function connects, and as which MySQL account. */
export interface DatabaseConnection {
  /** The instance, or RDS Proxy in front of it. */
  readonly endpoint: DatabaseEndpoint;
  readonly user: string;
}

/**
 * A Node.js Lambda bundled from its source folder, in the private subnets with its own security
 * group (no rules until granted), its own execution role and its own encrypted log group with retention.
 */
export class VpcFunction extends Construct {
  readonly function: LambdaFunction;
  readonly role: ExecutionRole;
  readonly securityGroup: SecurityGroup;
  /** Opens the function's network paths (`connections.allowTo(...)`); none exist until opened. */
  readonly connections: Connections;
  readonly logGroup: CloudwatchLogGroup;
  readonly bundle: FunctionBundle;

  constructor(scope: Construct, id: string, props: VpcFunctionProps) {
    super(scope, id);
    const { functionName, network } = props;

    this.bundle = bundleFunction({ projectRoot: props.projectRoot, source: props.source, runtime: props.runtime });
    const code = new TerraformAsset(this, "code", {
      path: this.bundle.zipPath,
      type: AssetType.FILE,
      // Content hash, so the asset path (and the plan) changes only when the code does.
      assetHash: this.bundle.sha256Hex,
    });

    this.logGroup = props.logs.logGroup(this, "log-group", { name: `/aws/lambda/${functionName}`, retentionDays: props.logRetentionDays });
    this.role = new ExecutionRole(this, "role", { name: functionName });
    const logWriting = this.role.grantLogWriting(this.logGroup);

    this.securityGroup = new SecurityGroup(this, "security-group", {
      name: functionName,
      description: `Lambda ${functionName}: outbound only where granted`,
      vpcId: network.vpc.id,
      tags: { Name: functionName },
    });

    this.connections = new Connections(this, this.securityGroup, `Lambda ${functionName}`);

    const { database } = props;
    const toDatabase = database && this.connections.allowTo(database.endpoint.connections, database.endpoint.port, "MySQL");
    const access = props.access?.(this) ?? [];
    if (database && toDatabase) {
      // The first invocation needs both the grant and the way in.
      access.push(database.endpoint.grantConnect(this.role.role, database.user), ...toDatabase.rules);
    }

    this.function = new LambdaFunction(this, "function", {
      functionName,
      description: props.description,
      role: this.role.arn,
      runtime: props.runtime,
      architectures: ["arm64"],
      handler: "index.handler",
      filename: code.path,
      sourceCodeHash: this.bundle.sha256Base64,
      memorySize: props.memoryMb,
      timeout: props.timeoutSeconds,
      reservedConcurrentExecutions: props.reservedConcurrency,
      tracingConfig: { mode: "Active" },
      loggingConfig: { logFormat: "JSON", logGroup: this.logGroup.name, applicationLogLevel: "INFO", systemLogLevel: "WARN" },
      vpcConfig: {
        subnetIds: network.subnets.private.map((subnet) => subnet.id),
        securityGroupIds: [this.securityGroup.id],
      },
      environment: { variables: { ...(database && connectionEnvironment(database.endpoint, database.user)), ...props.environment } },
      // Lambda checks the network-interface permissions when it creates a VPC function.
      dependsOn: [this.role.networkPolicy, logWriting, this.logGroup, ...access],
    });
  }

  get functionName(): string {
    return this.function.functionName;
  }

  get arn(): string {
    return this.function.arn;
  }
}
