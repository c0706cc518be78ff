import type { Construct } from "constructs";
import { TerraformOutput, TerraformStack } from "cdktf";
import { type StackConfig, dataAccessLogBucketName, dataBucketName, serviceNamePrefix } from "./config/stack-config";
import { DataBucket } from "./storage/data-bucket";
import { DatabaseInstance } from "./database/database-instance";
import { DatabaseBootstrap } from "./database/database-bootstrap";
import { DatabaseProxy } from "./database/database-proxy";
import { ApiFunction } from "./functions/api-function";
import { GatewayEndpointPolicies } from "./network/gateway-endpoint-policies";
import { IngestFunction } from "./functions/ingest-function";
import { LogEncryption } from "./storage/log-encryption";
import { ServiceAlarms } from "./monitoring/service-alarms";
import { Network } from "./network/network";
import { guardedAwsProvider, useRemoteState } from "./state/remote-state";
import { AwsContext } from "./core/aws-context";
import { PermissionsBoundary } from "./iam/permissions-boundary";
import { serviceRoleBoundaryName } from "./iam/service-role-boundary";

export interface ServiceStackProps {
  readonly config: StackConfig;
  /** Directory that holds functions/ and node_modules/. */
  readonly projectRoot: string;
}

/** One environment of the service: network, database, function and their wiring, with remote state; every role bounded. */
export class ServiceStack extends TerraformStack {
  /** The key of every log group, and the groups' maker. */
  readonly logs: LogEncryption;
  readonly network: Network;
  readonly database: DatabaseInstance;
  /** RDS Proxy between the API function and the instance, when configured. */
  readonly proxy?: DatabaseProxy;
  readonly api: ApiFunction;
  readonly bootstrap: DatabaseBootstrap;
  readonly dataBucket: DataBucket;
  readonly ingest: IngestFunction;
  readonly alarms: ServiceAlarms;

  constructor(scope: Construct, id: string, props: ServiceStackProps) {
    super(scope, id);
    const { config } = props;
    const namePrefix = serviceNamePrefix(config);
    const keyPreventDestroy = config.kms.preventDestroy;

    useRemoteState(this, config, id);
    guardedAwsProvider(this, config);
    // The boundary is made by the <env>-state stack, deployed first; the deploy role may create roles only with it.
    PermissionsBoundary.of(this).apply(AwsContext.of(this).iamArn(`policy/${serviceRoleBoundaryName(namePrefix)}`));

    this.logs = new LogEncryption(this, "logs", { namePrefix, preventDestroy: keyPreventDestroy });
    const { logs } = this;
    this.network = new Network(this, "network", { namePrefix, region: config.region, logs, ...config.network });
    const { proxy, ...instance } = config.database;
    this.database = new DatabaseInstance(this, "database", { namePrefix, network: this.network, logs, ...instance, keyPreventDestroy });
    if (proxy) {
      this.proxy = new DatabaseProxy(this, "database-proxy", {
        namePrefix,
        network: this.network,
        database: this.database,
        dbUsers: [config.function.dbUser, config.ingest.dbUser],
        logRetentionDays: config.database.logRetentionDays,
        logs,
      });
    }
    // What every function shares; the functions connect through the proxy when there is one.
    const functions = { namePrefix, projectRoot: props.projectRoot, logs, network: this.network, keyPreventDestroy };
    const endpoint = this.proxy ?? this.database;
    this.api = new ApiFunction(this, "api", { ...functions, ...config.function, database: endpoint });
    this.bootstrap = new DatabaseBootstrap(this, "bootstrap", {
      namePrefix,
      projectRoot: props.projectRoot,
      runtime: config.function.runtime,
      logRetentionDays: config.function.logRetentionDays,
      logs,
      network: this.network,
      database: this.database,
      appUser: config.function.dbUser,
      ingestUser: config.ingest.dbUser,
    });
    const { objectRetentionDays, preventDestroy, forceDestroy, accessLogs, ...ingest } = config.ingest;
    this.dataBucket = new DataBucket(this, "data-bucket", {
      name: dataBucketName(config),
      objectRetentionDays,
      preventDestroy,
      keyPreventDestroy,
      forceDestroy,
      accessLogBucketName: accessLogs ? dataAccessLogBucketName(config) : undefined,
    });
    new GatewayEndpointPolicies(this, "endpoint-policies", { network: this.network, buckets: [this.dataBucket.bucket] });
    this.ingest = new IngestFunction(this, "ingest", {
      ...functions,
      ...ingest,
      runtime: config.function.runtime,
      database: endpoint,
      dataBucket: this.dataBucket,
    });
    this.alarms = new ServiceAlarms(this, "alarms", {
      namePrefix,
      functions: { api: this.api, ingest: this.ingest },
      database: this.database,
      instanceClass: config.database.instanceClass,
      allocatedStorageGb: config.database.allocatedStorageGb,
      proxy: this.proxy,
      keyPreventDestroy,
      ...config.alarms,
    });

    const output = (name: string, value: string | string[], description: string) => new TerraformOutput(this, name, { value, description });
    output("vpc_id", this.network.vpc.id, "VPC of the service");
    for (const tier of ["public", "private", "isolated"] as const) {
      output(
        `${tier}_subnet_ids`,
        this.network.subnets[tier].map((subnet) => subnet.id),
        `Subnets of the ${tier} tier, one per zone`,
      );
    }
    output("db_address", this.database.address, "Host name of the MySQL instance");
    output("db_port", String(this.database.port), "Port of the MySQL instance");
    output("db_resource_id", this.database.resourceId, "Resource id used in rds-db:connect ARNs");
    if (this.proxy) output("db_proxy_endpoint", this.proxy.address, "Host name of the RDS Proxy the API function connects to");
    output("function_name", this.api.functionName, "Name of the API function");
    output("function_arn", this.api.arn, "ARN of the API function");
    output("role_arn", this.api.role.arn, "Execution role of the API function");
    output(
      "failure_queue_url",
      this.api.failures.queue.url,
      "Queue of the API function's failed asynchronous invocations (event, error, request id)",
    );
    output("failure_queue_arn", this.api.failures.queue.arn, "ARN of that queue");
    output(
      "data_bucket_name",
      this.dataBucket.bucket.bucket,
      "Data bucket: objects written under incoming/ are ingested, results land under results/",
    );
    output("ingest_function_name", this.ingest.functionName, "Name of the ingest function");
    output(
      "ingest_failure_queue_url",
      this.ingest.failures.queue.url,
      "Queue of the S3 events the ingest function failed on after its retries (event, error)",
    );
    output(
      "alarm_topic_arn",
      this.alarms.topic.topic.arn,
      "SNS topic every alarm of the environment notifies (subscriptions: alarms.subscriptions)",
    );
  }
}
