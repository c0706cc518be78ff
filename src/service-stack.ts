import type { Construct } from "constructs";
import { TerraformOutput, TerraformStack } from "cdktf";
import { type StackConfig, dataAccessLogBucketName, dataBucketName, serviceNamePrefix } from "./config/stack-config";
import { FUNCTION_DEFAULTS, databaseGrantsOf } from "./config/function-schema";
import { DataBucket } from "./storage/data-bucket";
import { DatabaseInstance } from "./database/database-instance";
import { DatabaseBootstrap } from "./database/database-bootstrap";
import { DatabaseProxy } from "./database/database-proxy";
import { GatewayEndpointPolicies } from "./network/gateway-endpoint-policies";
import { ServiceFunction } from "./functions/service-function";
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

/** One environment of the service: network, database, the declared functions and their wiring, with remote state; every role bounded. */
export class ServiceStack extends TerraformStack {
  /** The key of every log group, and the groups' maker. */
  readonly logs: LogEncryption;
  readonly network: Network;
  readonly database: DatabaseInstance;
  /** RDS Proxy between the functions and the instance, when configured. */
  readonly proxy?: DatabaseProxy;
  readonly bootstrap: DatabaseBootstrap;
  readonly dataBucket: DataBucket;
  /** The functions of src/config/functions.ts, by name; each construct's id is its name. */
  readonly functions: Readonly<Record<string, ServiceFunction>>;
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
    const grants = databaseGrantsOf(config.functions);
    if (proxy) {
      this.proxy = new DatabaseProxy(this, "database-proxy", {
        namePrefix,
        network: this.network,
        database: this.database,
        dbUsers: Object.keys(grants),
        logRetentionDays: config.database.logRetentionDays,
        logs,
      });
    }
    this.bootstrap = new DatabaseBootstrap(this, "bootstrap", {
      namePrefix,
      projectRoot: props.projectRoot,
      runtime: FUNCTION_DEFAULTS.runtime,
      logRetentionDays: config.database.logRetentionDays,
      logs,
      network: this.network,
      database: this.database,
      grants,
    });
    const { dataBucket } = config;
    this.dataBucket = new DataBucket(this, "data-bucket", {
      name: dataBucketName(config),
      objectRetentionDays: dataBucket.objectRetentionDays,
      preventDestroy: dataBucket.preventDestroy,
      keyPreventDestroy,
      forceDestroy: dataBucket.forceDestroy,
      accessLogBucketName: dataBucket.accessLogs ? dataAccessLogBucketName(config) : undefined,
    });
    new GatewayEndpointPolicies(this, "endpoint-policies", { network: this.network, buckets: [this.dataBucket.bucket] });
    // The functions connect through the proxy when there is one.
    const shared = {
      namePrefix,
      projectRoot: props.projectRoot,
      logs,
      network: this.network,
      database: this.proxy ?? this.database,
      dataBucket: this.dataBucket,
      keyPreventDestroy,
    };
    this.functions = Object.fromEntries(
      config.functions.map((fn) => [fn.name, new ServiceFunction(this, fn.name, { ...shared, config: fn })]),
    );
    this.alarms = new ServiceAlarms(this, "alarms", {
      namePrefix,
      functions: Object.values(this.functions),
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
    if (this.proxy) output("db_proxy_endpoint", this.proxy.address, "Host name of the RDS Proxy the functions connect to");
    output(
      "data_bucket_name",
      this.dataBucket.bucket.bucket,
      "Data bucket: objects written under a function's trigger prefix invoke it (src/config/functions.ts)",
    );
    for (const fn of Object.values(this.functions)) {
      const { name, outputPrefix } = fn.config;
      output(`${outputPrefix}function_name`, fn.functionName, `Name of the ${name} function`);
      output(`${outputPrefix}function_arn`, fn.arn, `ARN of the ${name} function`);
      output(`${outputPrefix}role_arn`, fn.role.arn, `Execution role of the ${name} function`);
      output(
        `${outputPrefix}failure_queue_url`,
        fn.failures.queue.url,
        `Queue of the ${name} function's failed asynchronous invocations after their retries (event, error, request id)`,
      );
      output(`${outputPrefix}failure_queue_arn`, fn.failures.queue.arn, "ARN of that queue");
    }
    output(
      "alarm_topic_arn",
      this.alarms.topic.topic.arn,
      "SNS topic every alarm of the environment notifies (subscriptions: alarms.subscriptions)",
    );
  }
}
