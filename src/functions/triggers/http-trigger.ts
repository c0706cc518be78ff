import type { Construct } from "constructs";
import { HttpApi } from "../../api/http-api";
import type { HttpRoute, Throttle } from "../../api/http-route";
import type { AlarmTopic } from "../../monitoring/alarm-topic";
import { HttpApiAlarms } from "../../monitoring/http-api-alarms";
import type { LogEncryption } from "../../storage/log-encryption";
import type { VpcFunction } from "../vpc-function";
import type { FunctionTrigger } from "./function-trigger";

export interface HttpTriggerProps {
  /** The function's name, which the API and its log group are named after. */
  readonly functionName: string;
  /** Every route authorized by IAM: src/api/http-route.ts. */
  readonly routes: readonly HttpRoute[];
  /** @default HTTP_API_DEFAULTS.throttle */
  readonly throttle?: Throttle;
  /** @default HTTP_API_DEFAULTS.accessLogRetentionDays */
  readonly accessLogRetentionDays?: number;
  /** Makes the API's access log group, encrypted with the environment's log key. */
  readonly logs: LogEncryption;
  /** Thresholds of the API's alarms. @default HTTP_API_ALARM_DEFAULTS */
  readonly alarms?: { readonly serverErrors?: number; readonly latencyP99Ms?: number };
}

/**
 * Routes of an API Gateway HTTP API (src/api/http-api.ts), each authorized by IAM and admitted by the
 * function by its own source ARN; callers still invoke the function directly too (its invoke policy).
 * The API is made in the function's scope and named as the function; its callers' policies are the
 * `<env>-state` stack's (src/state/state-stack.ts), out of the deploy role's reach.
 */
export class HttpTrigger implements FunctionTrigger {
  readonly httpsEgress = [];
  readonly environment = {};
  private made?: HttpApi;

  constructor(private readonly props: HttpTriggerProps) {}

  grant(): [] {
    return [];
  }

  bind(fn: VpcFunction): void {
    const { functionName: name, routes, throttle, accessLogRetentionDays, logs } = this.props;
    this.made = new HttpApi(fn, "http-api", { name, function: fn, routes, throttle, accessLogRetentionDays, logs });
  }

  outputs(): Record<string, { value: string; description: string }> {
    return {
      http_api_endpoint: { value: this.api.endpoint, description: "URL of the HTTP API: callers sign requests with SigV4 for execute-api" },
    };
  }

  /** 5XX answers and p99 latency of the API, named `<name>-http-...`. */
  alarms(scope: Construct, id: string, { topic, name }: { readonly topic: AlarmTopic; readonly name: string }): void {
    new HttpApiAlarms(scope, id, { api: this.api, topic, name: `${name}-http`, ...this.props.alarms });
  }

  /** The API, once bound. */
  get api(): HttpApi {
    if (!this.made) throw new Error("HttpTrigger: the API exists once the trigger is bound to its function");
    return this.made;
  }
}
