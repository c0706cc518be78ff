/**
 * What a service's handlers import to reach their database (`lambda-rds-iam/runtime`): an IAM-token,
 * verified-TLS MySQL client configured from the environment the constructs give the function.
 * @packageDocumentation
 */
export { DatabaseClient, DatabaseUnavailableError } from "./shared/database-client";
export { type DatabaseSettings, settingsFromEnvironment } from "./shared/database-settings";
export { log } from "./shared/log";
export { type HttpApiEvent, type HttpApiResult, httpResult, isHttpApiEvent, jsonBody } from "./shared/http-event";
