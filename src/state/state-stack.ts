import type { Construct } from "constructs";
import { Fn, LocalBackend, TerraformOutput, TerraformStack, Token } from "cdktf";
import type { LambdaPermission } from "@cdktf/provider-aws/lib/lambda-permission";
import type { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import type { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import { AccessLogBucket } from "../storage/access-log-bucket";
import { AwsContext } from "../core/aws-context";
import { resourcesOfType } from "../core/terraform-type";
import { CiRoles } from "../ci/ci-roles";
import { terraformTypesOf } from "../ci/ci-permissions";
import {
  type StackConfig,
  accessLogBucketName,
  ciRoleNames,
  dataAccessLogBucketName,
  dataBucketName,
  serviceNamePrefix,
} from "../config/stack-config";
import { ENHANCED_MONITORING_POLICY } from "../database/database-instance";
import { InvokePolicy } from "../functions/invoke-policy";
import { DataAwsApigatewayv2Apis } from "@cdktf/provider-aws/lib/data-aws-apigatewayv2-apis";
import { HttpApiInvokePolicy } from "../api/http-api-invoke-policy";
import type { HttpRoute } from "../api/http-route";
import { callersInvoke } from "../functions/triggers/function-trigger";
import { databaseGrantsOf } from "../config/function-schema";
import { ServiceRoleBoundary } from "../iam/service-role-boundary";
import { customerManagedKey, usableThroughS3ForBucket } from "../storage/kms-key";
import { privateBucket } from "../storage/private-bucket";
import { guardedAwsProvider, stateBucketName, stateKeyAlias, stateObjectKey, stateRegion, useRemoteState } from "./remote-state";
import { REQUIRED_TERRAFORM_VERSION } from "./required-terraform";
import { localStateFile } from "./local-state-file";

/**
 * The managed policies for callers of a function's HTTP API (src/functions/triggers/http-trigger.ts), here
 * where the deploy role cannot rewrite them. The API's id exists only once the service stack is applied:
 * it is looked up by the API's name (the function's), and until it exists the policies name an API id
 * none can have ("none-deployed-yet"), so they allow nothing; applying this stack again after the service
 * stack's first apply points them at the API. Two HTTP APIs of that name fail the plan (one()).
 */
function httpCallerPolicies(scope: Construct, namePrefix: string, name: string, routes: readonly HttpRoute[]) {
  const apiName = `${namePrefix}-${name}`;
  const apis = new DataAwsApigatewayv2Apis(scope, `${name}-http-api`, { name: apiName, protocolType: "HTTP" });
  const apiId = Fn.coalesce([Fn.one(apis.ids), "none-deployed-yet"]);
  const executionArn = AwsContext.of(scope).arn("execute-api", apiId);
  const policy = (access: "invoke" | "read") =>
    new HttpApiInvokePolicy(scope, `${name}-http-${access}-policy`, {
      name: `${apiName}-http-${access}`,
      apiName,
      executionArn,
      routes,
      access,
    });
  return { invoke: policy("invoke"), read: policy("read") };
}

/** The principals the service stack lets invoke its functions (its aws_lambda_permission resources). */
function invokePrincipalsOf(service: TerraformStack): string[] {
  const principals = resourcesOfType<LambdaPermission>(service, "aws_lambda_permission").map((permission) => {
    const principal = permission.principalInput;
    if (!principal || Token.isUnresolved(principal)) {
      throw new Error(`${permission.node.path}: the principal must be a literal, so the deploy role may add exactly it`);
    }
    return principal;
  });
  return [...new Set(principals)].sort();
}

export interface StateStackProps {
  readonly config: StackConfig;
  /** The environment's service stack: its state object and, when ci.repository is set, what its CI roles may do. */
  readonly service: TerraformStack;
}

/**
 * The S3 bucket the environment's other stacks keep their state in, the environment's CI roles, and
 * the IAM the deploy role must not change: the service roles' boundary and the functions' invoke policies.
 * It cannot keep its own state there before the bucket exists, so its first apply keeps it in a local file
 * beside cdktf.json (see the README for the order); with state.selfHosted it is in the bucket from then on
 * (after `npm run state:migrate`), and pull requests plan it. It is deployed by hand, never by CI.
 */
export class StateStack extends TerraformStack {
  readonly bucket: S3Bucket;
  readonly key: KmsKey;
  /** Where the state bucket's server access logs go (state.accessLogs). */
  readonly accessLogs?: AccessLogBucket;
  readonly ci?: CiRoles;
  /** The most any role of the service stack may do (every one carries it). */
  readonly serviceRoleBoundary: ServiceRoleBoundary;
  /** What callers of each directly invoked function are given, by function name; here, so the deploy role cannot rewrite them. */
  readonly invokePolicies: Readonly<Record<string, InvokePolicy>>;
  /** What callers of the HTTP-triggered functions' APIs are given, per function: every route, or the GET ones. */
  readonly httpPolicies: Readonly<Record<string, { invoke: HttpApiInvokePolicy; read: HttpApiInvokePolicy }>>;

  constructor(scope: Construct, id: string, props: StateStackProps) {
    super(scope, id);
    const { config, service } = props;
    if (config.state.selfHosted) {
      // In the bucket this stack made, beside the service stack's state; moved there once by `npm run state:migrate`.
      useRemoteState(this, config, id);
    } else {
      // Relative to cdktf.out/stacks/<id>, where Terraform runs: the project root, not this machine's path.
      new LocalBackend(this, { path: `../../../${localStateFile(id)}` });
      this.addOverride("terraform.required_version", REQUIRED_TERRAFORM_VERSION);
    }
    guardedAwsProvider(this, config);
    const name = stateBucketName(config);

    const context = AwsContext.of(this);
    this.key = customerManagedKey(this, "key", {
      description: `Terraform state of ${config.project} ${config.environment}`,
      alias: stateKeyAlias(config),
      preventDestroy: true,
      usage: [
        // For the state objects of this one bucket: the CI roles, whoever deploys by hand.
        usableThroughS3ForBucket(context, "UseThroughS3ForStateBucket", name),
      ],
    });

    this.bucket = privateBucket(this, {
      name,
      encryption: { applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: this.key.arn }, bucketKeyEnabled: true },
      lifecycleRule: {
        id: "expire-superseded-state",
        status: "Enabled",
        filter: [{}],
        noncurrentVersionExpiration: [{ noncurrentDays: config.state.noncurrentVersionDays }],
        abortIncompleteMultipartUpload: [{ daysAfterInitiation: 7 }],
      },
    });
    if (config.state.accessLogs) {
      this.accessLogs = new AccessLogBucket(this, "access-logs", {
        name: accessLogBucketName(config),
        source: this.bucket,
        retentionDays: config.state.noncurrentVersionDays,
      });
    }

    new TerraformOutput(this, "bucket_name", { value: this.bucket.bucket, description: "State bucket of the environment's stacks" });
    new TerraformOutput(this, "kms_key_arn", { value: this.key.arn, description: "Key that encrypts the state" });
    if (this.accessLogs)
      new TerraformOutput(this, "access_log_bucket_name", {
        value: this.accessLogs.bucket.bucket,
        description: "Server access logs of the state bucket",
      });

    const namePrefix = serviceNamePrefix(config);
    this.serviceRoleBoundary = new ServiceRoleBoundary(this, "service-role-boundary", {
      namePrefix,
      dbUsers: Object.keys(databaseGrantsOf(config.functions)),
      dataBucketName: dataBucketName(config),
      objectAccess: config.functions.flatMap((fn) =>
        fn.trigger.kind === "s3-objects" ? [{ readPrefix: fn.trigger.prefix, writePrefix: fn.trigger.writePrefix }] : [],
      ),
      scheduledFunctions: config.functions.filter((fn) => fn.trigger.kind === "schedule").map((fn) => `${namePrefix}-${fn.name}`),
      enhancedMonitoring: config.database.monitoringIntervalSeconds > 0,
    });
    const invoked = config.functions.filter((fn) => callersInvoke(fn.trigger));
    this.invokePolicies = Object.fromEntries(
      invoked.map((fn) => [fn.name, new InvokePolicy(this, `${fn.name}-invoke-policy`, { functionName: `${namePrefix}-${fn.name}` })]),
    );
    this.httpPolicies = Object.fromEntries(
      config.functions.flatMap((fn) =>
        fn.trigger.kind === "http" ? [[fn.name, httpCallerPolicies(this, namePrefix, fn.name, fn.trigger.routes)]] : [],
      ),
    );
    new TerraformOutput(this, "role_boundary_arn", {
      value: this.serviceRoleBoundary.arn,
      description: "Permissions boundary of every role of the service stack",
    });
    for (const fn of invoked) {
      new TerraformOutput(this, `${fn.outputPrefix}invoke_policy_arn`, {
        value: this.invokePolicies[fn.name].arn,
        description: `Managed policy to attach to the callers allowed to invoke the ${fn.name} function`,
      });
    }
    for (const fn of config.functions.filter((candidate) => this.httpPolicies[candidate.name])) {
      for (const policy of Object.values(this.httpPolicies[fn.name])) {
        const { access } = policy;
        new TerraformOutput(this, `${fn.outputPrefix}http_${access}_policy_arn`, {
          value: policy.arn,
          description: `Managed policy to attach to the callers allowed ${access === "read" ? "the GET routes" : "every route"} of the ${fn.name} function's HTTP API`,
        });
      }
    }

    if (config.ci.repository) {
      this.ci = new CiRoles(this, "ci", {
        repository: config.ci.repository,
        environment: config.environment,
        ...ciRoleNames(config),
        oidcProviderArn: config.ci.oidcProviderArn,
        serviceNamePrefix: namePrefix,
        serviceRoleBoundary: this.serviceRoleBoundary.arn,
        // Callers hold it: the deploy role may never rewrite it, nor the boundary.
        protectedPolicies: [
          this.serviceRoleBoundary.arn,
          ...Object.values(this.invokePolicies).map((policy) => policy.arn),
          ...Object.values(this.httpPolicies).flatMap((policies) => Object.values(policies).map((policy) => policy.arn)),
        ],
        awsManagedPolicies: [ENHANCED_MONITORING_POLICY],
        invokePrincipals: invokePrincipalsOf(service),
        serviceTypes: terraformTypesOf(service),
        serviceBuckets: [dataBucketName(config), ...(config.dataBucket.accessLogs ? [dataAccessLogBucketName(config)] : [])],
        serviceRegion: config.region,
        state: {
          bucket: this.bucket,
          key: this.key,
          region: stateRegion(config),
          objectKey: stateObjectKey(config, service.node.id),
          stateStackObjectKey: config.state.selfHosted ? stateObjectKey(config, id) : undefined,
        },
      });
      // The workflows read these ARNs from repository variables named for the environment.
      const variable = (role: string) => `${config.environment.toUpperCase().replace(/-/g, "_")}_${role}_ROLE_ARN`;
      new TerraformOutput(this, "ci_plan_role_arn", {
        value: this.ci.plan.arn,
        description: `Plan role of pull requests: the repository variable ${variable("PLAN")}`,
      });
      new TerraformOutput(this, "ci_deploy_role_arn", {
        value: this.ci.deploy.arn,
        description: `Deploy role of the ${config.environment} GitHub environment: the repository variable ${variable("DEPLOY")}`,
      });
      // Last: the plan role's reads follow every type this stack holds.
      if (config.state.selfHosted) this.ci.allowPlanOf(this);
    }
  }
}
