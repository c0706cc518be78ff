import { createHash } from "node:crypto";
import { join } from "node:path";
import { Construct } from "constructs";
import { LambdaInvocation } from "@cdktf/provider-aws/lib/lambda-invocation";
import { loadMigrations } from "../../functions/shared/migration-files";
import { type DatabaseInstance, connectionEnvironment } from "./database-instance";
import type { NodeRuntime } from "../functions/function-bundle";
import type { LogEncryption } from "../storage/log-encryption";
import type { InterfaceEndpoint, Network } from "../network/network";
import { VpcFunction } from "../functions/vpc-function";
import type { DatabaseGrants } from "../../functions/migrate/privileges";

export interface DatabaseBootstrapProps {
  readonly namePrefix: string;
  /** Directory that holds functions/, migrations/ and node_modules/. */
  readonly projectRoot: string;
  readonly runtime: NodeRuntime;
  readonly logRetentionDays: number;
  readonly logs: LogEncryption;
  readonly network: Network;
  readonly database: DatabaseInstance;
  /** The functions' MySQL accounts, each created for IAM authentication and granted exactly these privileges per table. */
  readonly grants: DatabaseGrants;
}

/**
 * Makes a new database usable without a person: a "migrate" function, run by Terraform once the
 * instance exists and again whenever migrations/ or the functions' grants change, creates the database,
 * the schema and the functions' IAM-authenticated users with exactly their declared grants. It reads the master secret through a Secrets Manager endpoint, not the NAT.
 */
export class DatabaseBootstrap extends Construct {
  readonly function: VpcFunction;
  readonly secretsEndpoint: InterfaceEndpoint;
  readonly invocation: LambdaInvocation;

  constructor(scope: Construct, id: string, props: DatabaseBootstrapProps) {
    super(scope, id);
    const { database, network } = props;
    this.secretsEndpoint = network.addInterfaceEndpoint("secretsmanager", "Secrets Manager");
    const functionName = `${props.namePrefix}-migrate`;

    this.function = new VpcFunction(this, "migrate", {
      functionName,
      description: `${functionName}: creates the app database, its IAM user and schema, and applies migrations`,
      projectRoot: props.projectRoot,
      source: "functions/migrate",
      runtime: props.runtime,
      memoryMb: 256,
      // Migrations may rebuild tables; Terraform waits for the result either way.
      timeoutSeconds: 300,
      // One run at a time, like GET_LOCK inside it; a second concurrent invoke is throttled, not queued behind the lock.
      reservedConcurrency: 1,
      logRetentionDays: props.logRetentionDays,
      logs: props.logs,
      network,
      environment: {
        // It connects as the master user, whose password it reads from the secret.
        ...connectionEnvironment(database, database.instance.username),
        DB_GRANTS: JSON.stringify(props.grants),
        MASTER_SECRET_ARN: database.masterUserSecretArn,
      },
      access: (fn) => {
        return [
          database.grantMasterSecretRead(fn.role.role),
          ...fn.connections.allowTo(database.connections, database.port, "MySQL").rules,
          ...fn.connections.allowTo(this.secretsEndpoint.connections, 443, "HTTPS").rules,
        ];
      },
    });

    // Terraform invokes again only when this input changes: new or edited migrations, other users or grants, another database.
    const migrations = loadMigrations(join(props.projectRoot, "migrations"));
    this.invocation = new LambdaInvocation(this, "run", {
      functionName: this.function.functionName,
      input: JSON.stringify({
        database: database.databaseName,
        grants: props.grants,
        migrations: migrations.map((migration) => migration.name),
        checksum: createHash("sha256").update(JSON.stringify(migrations)).digest("hex"),
      }),
      // The instance must accept connections and the endpoint must resolve before the first run.
      dependsOn: [database.instance, this.secretsEndpoint.endpoint],
    });
  }
}
