import { Construct } from "constructs";
import { Apigatewayv2Api } from "@cdktf/provider-aws/lib/apigatewayv2-api";
import { Apigatewayv2Integration } from "@cdktf/provider-aws/lib/apigatewayv2-integration";
import { Apigatewayv2Route } from "@cdktf/provider-aws/lib/apigatewayv2-route";
import { Apigatewayv2Stage } from "@cdktf/provider-aws/lib/apigatewayv2-stage";
import type { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { DataAwsIamPolicyDocument, type DataAwsIamPolicyDocumentStatement } from "@cdktf/provider-aws/lib/data-aws-iam-policy-document";
import type { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { LambdaPermission } from "@cdktf/provider-aws/lib/lambda-permission";
import { routeKey } from "../../functions/shared/http-event";
import { withDefaults } from "../core/with-defaults";
import type { VpcFunction } from "../functions/vpc-function";
import type { LogEncryption } from "../storage/log-encryption";
import { type HttpRoute, type Throttle, httpRoutesSchema, isRead } from "./http-route";

export interface HttpApiProps {
  /** Name of the API, its access log group (`/aws/apigateway/<name>`) and its grants' policies. */
  readonly name: string;
  /** The function every route invokes, with API Gateway's payload format 2.0. */
  readonly function: VpcFunction;
  /** The routes; each is authorized by IAM, admitted by the function and granted on its own. */
  readonly routes: readonly HttpRoute[];
  /** Throttling of every route that has none of its own. @default HTTP_API_DEFAULTS.throttle */
  readonly throttle?: Throttle;
  /** Makes the access log group, encrypted with the environment's log key. */
  readonly logs: LogEncryption;
  /** @default HTTP_API_DEFAULTS.accessLogRetentionDays */
  readonly accessLogRetentionDays?: number;
}

export const HTTP_API_DEFAULTS = {
  // Below what the items function's default reserved concurrency (10) serves at tens of milliseconds a request.
  throttle: { rateLimit: 50, burstLimit: 100 },
  accessLogRetentionDays: 30,
} as const;

/** The one stage: `$default` serves the API at its root URL, and auto-deploys every change of a route. */
export const STAGE = "$default";

/**
 * One access log line per request, in JSON. Who called (the SigV4 signer's ARN and account), what route
 * and what came of it; never the Authorization header, the path (it holds ids), the query string or a body.
 */
export const ACCESS_LOG_FORMAT = {
  requestId: "$context.requestId",
  requestTime: "$context.requestTime",
  routeKey: "$context.routeKey",
  status: "$context.status",
  responseLength: "$context.responseLength",
  responseLatency: "$context.responseLatency",
  integrationLatency: "$context.integrationLatency",
  integrationStatus: "$context.integrationStatus",
  error: "$context.error.message",
  callerArn: "$context.identity.userArn",
  callerAccountId: "$context.identity.accountId",
  sourceIp: "$context.identity.sourceIp",
} as const;

/**
 * The ARN IAM checks `execute-api:Invoke` against for requests to `route` of the API with this execution
 * ARN: a path parameter stands for any one value (`/items/*`), a literal path for itself alone.
 */
export const routeArn = (executionArn: string, route: HttpRoute) =>
  `${executionArn}/${STAGE}/${route.method}${route.path.replace(/\{[^}]+\}/g, "*")}`;

/** `execute-api:Invoke` on these routes of the API with this execution ARN (`reads`: the GET ones only), and nothing else. */
export function routeInvokeStatement(
  executionArn: string,
  routes: readonly HttpRoute[],
  reads: boolean,
): DataAwsIamPolicyDocumentStatement {
  const granted = reads ? routes.filter(isRead) : routes;
  if (granted.length === 0) throw new Error(`no ${reads ? "GET " : ""}route to grant on ${executionArn}`);
  return {
    sid: reads ? "ReadRoutes" : "InvokeRoutes",
    actions: ["execute-api:Invoke"],
    resources: granted.map((route) => routeArn(executionArn, route)),
  };
}

/** Terraform ids and Lambda statement ids of a route: "GET /items/{id}" is "get-items-by-id". */
const routeId = (route: HttpRoute) =>
  `${route.method.toLowerCase()}${route.path.replace(/\{/g, "by-").replace(/[^A-Za-z0-9]+/g, "-")}`.replace(/-$/, "");

/**
 * An API Gateway HTTP API in front of one function: every route authorized by IAM (callers sign with
 * SigV4), a `$default` stage with throttling and JSON access logs, and the function admitting this
 * API's routes only, each by its own source ARN. Callers get routes, not the API: `grantInvoke`, `grantRead`.
 */
export class HttpApi extends Construct {
  readonly api: Apigatewayv2Api;
  readonly stage: Apigatewayv2Stage;
  readonly routes: readonly HttpRoute[];
  readonly accessLogs: CloudwatchLogGroup;
  readonly name: string;

  constructor(scope: Construct, id: string, props: HttpApiProps) {
    super(scope, id);
    const { name, function: fn, throttle, accessLogRetentionDays } = withDefaults(HTTP_API_DEFAULTS, props);
    // The type refuses a route without IAM; this refuses it from plain JavaScript or a cast too.
    const checked = httpRoutesSchema.safeParse(props.routes);
    if (!checked.success) {
      const issue = checked.error.issues[0];
      throw new Error(`HttpApi ${name}: ${["routes", ...issue.path].join(".")} ${issue.message}`);
    }
    this.name = name;
    this.routes = props.routes;
    const ids = this.routes.map(routeId);
    const clash = ids.find((routeIdOf, index) => ids.indexOf(routeIdOf) !== index);
    if (clash) throw new Error(`HttpApi ${name}: two routes are both named ${clash}; rename a path segment of one`);

    this.api = new Apigatewayv2Api(this, "api", {
      name,
      protocolType: "HTTP",
      description: `${name}: ${fn.functionName} over HTTPS, every route signed with SigV4 and allowed by IAM`,
    });
    const integration = new Apigatewayv2Integration(this, "integration", {
      apiId: this.api.id,
      integrationType: "AWS_PROXY",
      integrationMethod: "POST",
      integrationUri: fn.arn,
      payloadFormatVersion: "2.0",
    });

    const routes = this.routes.map((route, index) => {
      const made = new Apigatewayv2Route(this, `route-${ids[index]}`, {
        apiId: this.api.id,
        routeKey: routeKey(route),
        authorizationType: route.authorization,
        target: `integrations/${integration.id}`,
      });
      // API Gateway invokes with the route's own ARN: the function admits exactly these, never `/*/*`.
      new LambdaPermission(this, `permission-${ids[index]}`, {
        statementId: `${name}-${ids[index]}`,
        action: "lambda:InvokeFunction",
        functionName: fn.functionName,
        principal: "apigateway.amazonaws.com",
        sourceArn: `${this.api.executionArn}/${STAGE}/${route.method}${route.path}`,
      });
      return made;
    });

    this.accessLogs = props.logs.logGroup(this, "access-logs", { name: `/aws/apigateway/${name}`, retentionDays: accessLogRetentionDays });
    this.stage = new Apigatewayv2Stage(this, "stage", {
      apiId: this.api.id,
      name: STAGE,
      autoDeploy: true,
      defaultRouteSettings: { throttlingRateLimit: throttle.rateLimit, throttlingBurstLimit: throttle.burstLimit },
      routeSettings: this.routes
        .filter((route) => route.throttle)
        .map((route) => ({
          routeKey: routeKey(route),
          throttlingRateLimit: route.throttle!.rateLimit,
          throttlingBurstLimit: route.throttle!.burstLimit,
        })),
      accessLogSettings: { destinationArn: this.accessLogs.arn, format: JSON.stringify(ACCESS_LOG_FORMAT) },
      // Route settings name routes that must exist first.
      dependsOn: routes,
    });
  }

  get apiId(): string {
    return this.api.id;
  }

  /** The URL callers sign requests to. */
  get endpoint(): string {
    return this.api.apiEndpoint;
  }

  /** `execute-api:Invoke` on every route (`reads`: the GET routes only), as a statement of an IAM policy. */
  invokeStatement(reads = false): DataAwsIamPolicyDocumentStatement {
    return routeInvokeStatement(this.api.executionArn, this.routes, reads);
  }

  /** Lets `role` call every route of this API, and nothing else of it or of any other API. */
  grantInvoke(role: IamRole): IamRolePolicy {
    return this.grant(role, "invoke", false);
  }

  /** Lets `role` call the GET routes of this API only. */
  grantRead(role: IamRole): IamRolePolicy {
    return this.grant(role, "read", true);
  }

  private grant(role: IamRole, access: string, reads: boolean): IamRolePolicy {
    const name = `${this.name}-${access}`;
    const document = new DataAwsIamPolicyDocument(role, `${name}-document`, { statement: [this.invokeStatement(reads)] });
    return new IamRolePolicy(role, name, { name, role: role.name, policy: document.json });
  }
}
