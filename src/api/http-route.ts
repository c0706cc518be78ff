import { z } from "zod";
import { HTTP_METHODS, type HttpMethod, routeKey } from "../../functions/shared/http-event";

/** Requests per second API Gateway lets through, and the burst above it, before it answers 429. */
export interface Throttle {
  readonly rateLimit: number;
  readonly burstLimit: number;
}

/** One route of an HTTP API. */
export interface HttpRoute {
  readonly method: HttpMethod;
  /** As API Gateway declares it, e.g. "/items/{id}": a `{name}` segment is a path parameter. */
  readonly path: string;
  /**
   * Callers sign requests with SigV4 and IAM decides (`execute-api:Invoke` on the route's ARN). The only
   * value there is: a route without authorization cannot be declared.
   */
  readonly authorization: "AWS_IAM";
  /** This route's own throttling. @default the API's */
  readonly throttle?: Throttle;
}

/** Reads change nothing: GET routes, the ones `grantRead` gives. */
export const isRead = (route: Pick<HttpRoute, "method">) => route.method === "GET";

/** Literal segments, or `{name}` path parameters; no greedy `{name+}`: every route is admitted and granted by its exact path. */
const ROUTE_PATH = /^(\/([A-Za-z0-9._~-]+|\{[A-Za-z_][A-Za-z0-9_]*\}))+$/;

const limit = (max: number) =>
  z
    .number()
    .int()
    .min(1, { error: `must be between 1 and ${max}` })
    .max(max, { error: `must be between 1 and ${max}` });

/** API Gateway's account quota per region is 10,000 requests per second with a 5,000 burst: no stage may exceed it. */
export const throttleSchema = z.object({ rateLimit: limit(10_000), burstLimit: limit(5_000) }).strict();

export const httpRouteSchema = z
  .object({
    method: z.enum(HTTP_METHODS, { error: `must be one of ${HTTP_METHODS.join(", ")}` }),
    path: z.string().regex(ROUTE_PATH, {
      error: 'must be a path like "/items/{id}": "/"-separated segments of letters, digits, ._~- or one {parameter}',
    }),
    authorization: z.literal("AWS_IAM", {
      error: 'must be "AWS_IAM": every route is called with SigV4 and allowed by IAM; a route open to anyone cannot be declared',
    }),
    throttle: throttleSchema.optional(),
  })
  .strict();

/** An HTTP API's routes: at least one, each method and path once. */
export const httpRoutesSchema = z
  .array(httpRouteSchema)
  .min(1, { error: "must declare at least one route" })
  .superRefine((routes, ctx) => {
    const seen = new Set<string>();
    routes.forEach((route, index) => {
      const key = routeKey(route);
      if (seen.has(key)) ctx.addIssue({ code: "custom", path: [index], message: `declares ${key} twice; declare each route once` });
      seen.add(key);
    });
  });
