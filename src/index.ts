/**
 * lambda-rds-iam: CDKTF constructs for private, MySQL-backed AWS Lambda services that reach RDS with IAM
 * database authentication. `ServiceStack` and `StateStack` are the whole service of one environment; the
 * constructs below are its parts, for a platform team to compose in stacks of its own. API: docs/API.md.
 * @packageDocumentation
 */

// The whole service, one environment: its two stacks.
export { ServiceStack, type ServiceStackProps } from "./service-stack";
export { StateStack, type StateStackProps } from "./state/state-stack";

// Configuration: validated in full before any construct exists.
export {
  ConfigError,
  type ConfigProblem,
  type ConfigResult,
  type DeclaredFunctions,
  type ServiceDefinition,
  type FunctionSettings,
  type StackConfig,
  type StackConfigInput,
  parseStackConfig,
  serviceNamePrefix,
  stackConfigSchemaFor,
  validateStackConfig,
} from "./config/stack-config";
export { FUNCTION_DEFAULTS, type FunctionDeclaration, type ServiceFunctionConfig, databaseGrantsOf } from "./config/function-schema";
export type { DatabaseGrants, TableGrants } from "../functions/migrate/privileges";

// Network.
export { Network, type InterfaceEndpoint } from "./network/network";
export type { NetworkProps } from "./network/network-props";
export { Connections, Peer, type NetworkPath } from "./network/connections";
export { GatewayEndpointPolicies, type GatewayEndpointPoliciesProps } from "./network/gateway-endpoint-policies";

// Database.
export { DatabaseInstance, type DatabaseEndpoint, connectionEnvironment } from "./database/database-instance";
export type { DatabaseInstanceProps } from "./database/database-instance-props";
export { DatabaseProxy, type DatabaseProxyProps } from "./database/database-proxy";
export { DatabaseBootstrap, type DatabaseBootstrapProps } from "./database/database-bootstrap";

// Functions and their triggers.
export { VpcFunction, type VpcFunctionProps, type DatabaseConnection } from "./functions/vpc-function";
export { ServiceFunction, type ServiceFunctionProps } from "./functions/service-function";
export { ExecutionRole, type ExecutionRoleProps } from "./functions/execution-role";
export { FailureQueue, type FailureQueueProps } from "./functions/failure-queue";
export { InvokePolicy, type InvokePolicyProps } from "./functions/invoke-policy";
export { type FunctionTrigger, type TriggerContext, triggerFor } from "./functions/triggers/function-trigger";
export { InvokeTrigger } from "./functions/triggers/invoke-trigger";
export { S3ObjectsTrigger, type S3ObjectsTriggerProps } from "./functions/triggers/s3-objects-trigger";
export { HttpTrigger, type HttpTriggerProps } from "./functions/triggers/http-trigger";
export { ScheduleTrigger, type ScheduleTriggerProps } from "./functions/triggers/schedule-trigger";

// EventBridge Scheduler: a function run on a schedule, with retries and a dead-letter queue.
export { FunctionSchedule, type FunctionScheduleProps } from "./schedule/function-schedule";
export { ScheduleGroup, type ScheduleGroupProps } from "./schedule/schedule-group";

// An HTTP API in front of a function, every route authorized by IAM.
export { HttpApi, type HttpApiProps } from "./api/http-api";
export { HttpApiInvokePolicy, type HttpApiInvokePolicyProps } from "./api/http-api-invoke-policy";
export type { HttpRoute, Throttle } from "./api/http-route";
export { type BundleOptions, type FunctionBundle, type NodeRuntime, bundleFunction } from "./functions/function-bundle";

// Buckets and keys.
export { DataBucket, type DataBucketProps } from "./storage/data-bucket";
export { AccessLogBucket, type AccessLogBucketProps } from "./storage/access-log-bucket";
export { type PrivateBucketProps, privateBucket } from "./storage/private-bucket";
export { type CustomerManagedKeyProps, customerManagedKey } from "./storage/kms-key";
export { LogEncryption, type LogEncryptionProps, type EncryptedLogGroupProps } from "./storage/log-encryption";

// Alarms.
export { ServiceAlarms, type ServiceAlarmsProps } from "./monitoring/service-alarms";
export { AlarmTopic, type AlarmTopicProps } from "./monitoring/alarm-topic";
export { FunctionAlarms, type FunctionAlarmsProps } from "./monitoring/function-alarms";
export { DatabaseAlarms, type DatabaseAlarmsProps } from "./monitoring/database-alarms";
export { ProxyAlarms, type ProxyAlarmsProps } from "./monitoring/proxy-alarms";
export { HttpApiAlarms, type HttpApiAlarmsProps } from "./monitoring/http-api-alarms";
export { ScheduleAlarms, type ScheduleAlarmsProps, type JobSummaryLine } from "./monitoring/schedule-alarms";

// IAM: the permissions boundary on every role of a scope, and the CI roles.
export { PermissionsBoundary } from "./iam/permissions-boundary";
export { ServiceRoleBoundary, type ServiceRoleBoundaryProps, serviceRoleBoundaryName } from "./iam/service-role-boundary";
export { CiRoles, type CiRolesProps } from "./ci/ci-roles";

// Remote state and the account's context.
export { guardedAwsProvider, useRemoteState } from "./state/remote-state";
export { AwsContext } from "./core/aws-context";
