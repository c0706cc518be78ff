import { Construct } from "constructs";
import { Fn } from "cdktf";
import { DataAwsIamPolicyDocument } from "@cdktf/provider-aws/lib/data-aws-iam-policy-document";
import { DbProxy } from "@cdktf/provider-aws/lib/db-proxy";
import { DbProxyDefaultTargetGroup } from "@cdktf/provider-aws/lib/db-proxy-default-target-group";
import { DbProxyTarget } from "@cdktf/provider-aws/lib/db-proxy-target";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import type { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { SecurityGroup } from "@cdktf/provider-aws/lib/security-group";
import { AwsContext } from "../core/aws-context";
import { type DatabaseInstance, type DatabaseEndpoint, grantDbUserConnect } from "./database-instance";
import type { LogEncryption } from "../storage/log-encryption";
import type { Network } from "../network/network";
import { Connections } from "../network/connections";

/** RDS Proxy for MySQL listens on 3306, whatever the instance's port. */
export const PROXY_PORT = 3306;
/** A frozen Lambda environment's client connection is closed after 15 minutes idle; the proxy's own database connections stay pooled. */
export const PROXY_IDLE_CLIENT_TIMEOUT_SECONDS = 900;
/** How long a client waits for a database connection from the pool: below the handler's 5 s timer, so it hears a clear refusal. */
export const PROXY_BORROW_TIMEOUT_SECONDS = 3;
/** The pool takes at most this share of max_connections; the rest stays for the migrate function and operators. */
export const PROXY_MAX_CONNECTIONS_PERCENT = 80;

export interface DatabaseProxyProps {
  /** Proxy name and prefix of related names, e.g. "lambda-rds-iam-prod". */
  readonly namePrefix: string;
  readonly network: Network;
  readonly database: DatabaseInstance;
  /** The MySQL accounts clients may use through the proxy; it connects to the instance as the same account, with IAM. */
  readonly dbUsers: string[];
  readonly logRetentionDays: number;
  /** Makes the proxy's log group, encrypted with the environment's log key. */
  readonly logs: LogEncryption;
}

/**
 * RDS Proxy in front of the instance with end-to-end IAM authentication (`IAM_AUTH`: no secret at
 * all): clients sign tokens for the proxy, the proxy signs its own for the instance. Many Lambda
 * environments then share a bounded pool of database connections, and a failover does not drop them.
 */
export class DatabaseProxy extends Construct implements DatabaseEndpoint {
  readonly proxy: DbProxy;
  readonly securityGroup: SecurityGroup;
  readonly connections: Connections;
  readonly port = PROXY_PORT;
  readonly databaseName: string;

  constructor(scope: Construct, id: string, props: DatabaseProxyProps) {
    super(scope, id);
    const { database, namePrefix, network } = props;
    this.databaseName = database.databaseName;

    this.securityGroup = new SecurityGroup(this, "security-group", {
      name: `${namePrefix}-db-proxy`,
      description: `RDS Proxy ${namePrefix}: MySQL in from allowed security groups, out to the database only`,
      vpcId: network.vpc.id,
      tags: { Name: `${namePrefix}-db-proxy` },
    });
    this.connections = new Connections(this, this.securityGroup, `RDS Proxy ${namePrefix}`);
    const toInstance = this.connections.allowTo(database.connections, database.port, "MySQL");

    const { accountId } = AwsContext.of(this);
    const trust = new DataAwsIamPolicyDocument(this, "role-trust", {
      statement: [
        {
          actions: ["sts:AssumeRole"],
          principals: [{ type: "Service", identifiers: ["rds.amazonaws.com"] }],
          condition: [{ test: "StringEquals", variable: "aws:SourceAccount", values: [accountId] }],
        },
      ],
    });
    const role = new IamRole(this, "role", {
      name: `${namePrefix}-db-proxy`,
      description: `RDS Proxy ${namePrefix}: connects to the instance as the app's database users, with IAM`,
      assumeRolePolicy: trust.json,
    });
    const grants = props.dbUsers.map((user) => database.grantConnect(role, user));

    const logGroup = props.logs.logGroup(this, "log-group", {
      name: `/aws/rds/proxy/${namePrefix}`,
      retentionDays: props.logRetentionDays,
    });

    this.proxy = new DbProxy(this, "proxy", {
      name: namePrefix,
      engineFamily: "MYSQL",
      requireTls: true,
      defaultAuthScheme: "IAM_AUTH",
      roleArn: role.arn,
      idleClientTimeout: PROXY_IDLE_CLIENT_TIMEOUT_SECONDS,
      vpcSubnetIds: network.subnets.isolated.map((subnet) => subnet.id),
      vpcSecurityGroupIds: [this.securityGroup.id],
      dependsOn: [logGroup, ...grants],
    });
    const targetGroup = new DbProxyDefaultTargetGroup(this, "target-group", {
      dbProxyName: this.proxy.name,
      connectionPoolConfig: {
        connectionBorrowTimeout: PROXY_BORROW_TIMEOUT_SECONDS,
        maxConnectionsPercent: PROXY_MAX_CONNECTIONS_PERCENT,
        maxIdleConnectionsPercent: PROXY_MAX_CONNECTIONS_PERCENT / 2,
      },
    });
    new DbProxyTarget(this, "target", {
      dbProxyName: this.proxy.name,
      targetGroupName: targetGroup.name,
      dbInstanceIdentifier: database.instance.identifier,
      dependsOn: toInstance.rules,
    });
  }

  get address(): string {
    return this.proxy.endpoint;
  }

  /** `prx-...`, the last part of the proxy's ARN: what rds-db:connect ARNs name for connections through it. */
  get resourceId(): string {
    return Fn.element(Fn.split(":", this.proxy.arn), 6);
  }

  grantConnect(role: IamRole, dbUser: string): IamRolePolicy {
    return grantDbUserConnect(role, this.resourceId, dbUser);
  }
}
