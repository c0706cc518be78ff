import { type HttpApiEvent, type HttpMethod, jsonBody, routeKey } from "../shared/http-event";
import { ClientError, MAX_DATA_BYTES, fail } from "../shared/request";

/** What a route reads of an HTTP event to build the direct event it stands for. */
interface RouteInput {
  readonly path: Record<string, string>;
  readonly query: Record<string, string>;
  /** The body as JSON (read only by routes that take one). */
  readonly body: () => unknown;
}

export interface ItemRoute {
  readonly method: HttpMethod;
  /** As API Gateway declares it: `{name}` is a path parameter. */
  readonly path: string;
  /** Query parameters it takes; any other is refused. @default none */
  readonly query?: readonly string[];
  /** Whether it takes a body (a JSON object). @default false */
  readonly body?: boolean;
  /** The direct event (`{ op, ... }`) this request stands for, validated by parseRequest like any other. */
  readonly event: (input: RouteInput) => Record<string, unknown>;
  /** Names of the direct event's fields as the HTTP caller knows them, for error messages. @default the same */
  readonly fields?: Readonly<Record<string, string>>;
}

/** `?limit=10` arrives as the string "10": a run of digits becomes the number, anything else stays a string for the limit's own message. */
const queryNumber = (value: string | undefined) => (value !== undefined && /^\d{1,6}$/.test(value) ? Number(value) : value);

const present = (fields: Record<string, unknown>) => Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));

/**
 * The items API over HTTP, one route per operation; the infrastructure declares these routes, and a
 * test holds every one to an answer from the handler.
 */
export const ITEM_ROUTES: readonly ItemRoute[] = [
  { method: "GET", path: "/health", event: () => ({ op: "health" }) },
  {
    method: "GET",
    path: "/items",
    query: ["limit", "cursor"],
    event: ({ query }) => present({ op: "list", limit: queryNumber(query.limit), cursor: query.cursor }),
  },
  { method: "GET", path: "/items/{id}", event: ({ path }) => ({ op: "get", id: path.id }) },
  {
    method: "PUT",
    path: "/items/{id}",
    body: true,
    // The body is the item's data; the id is the path's.
    event: ({ path, body }) => ({ op: "put", item: { id: path.id, data: body() } }),
    fields: { "item.id": "id", "item.data": "body" },
  },
  { method: "DELETE", path: "/items/{id}", event: ({ path }) => ({ op: "delete", id: path.id }) },
];

const ROUTES = new Map(ITEM_ROUTES.map((route) => [routeKey(route), route]));

/** The route an HTTP event matched, or a 404 naming the routes there are. */
export function routeOf(event: HttpApiEvent): ItemRoute {
  const route = ROUTES.get(event.routeKey);
  if (!route)
    throw new ClientError(
      404,
      "not_found",
      `route: ${event.routeKey} is not a route of this API; it has ${[...ROUTES.keys()].join(", ")}`,
      "route",
    );
  return route;
}

/** The direct event an HTTP event stands for; refuses query parameters and bodies the route does not take. */
export function routeEvent(route: ItemRoute, event: HttpApiEvent): Record<string, unknown> {
  const query = event.queryStringParameters ?? {};
  const takes = route.query ?? [];
  const unknown = Object.keys(query).find((name) => !takes.includes(name));
  if (unknown !== undefined) {
    fail(unknown, `is not a query parameter of ${routeKey(route)}; it takes ${takes.length > 0 ? takes.join(", ") : "none"}`);
  }
  if (!route.body && event.body) fail("body", `${routeKey(route)} takes no body`);
  return route.event({ path: event.pathParameters ?? {}, query, body: () => jsonBody(event, MAX_DATA_BYTES) });
}

/** A ClientError of the direct event's validation, its field renamed as the HTTP caller knows it. */
export function asHttpError(route: ItemRoute, error: ClientError): ClientError {
  const field = error.field && route.fields?.[error.field];
  if (!field || !error.field) return error;
  return new ClientError(error.statusCode, error.code, `${field}${error.message.slice(error.field.length)}`, field);
}
