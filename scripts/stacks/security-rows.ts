/**
 * IAM statements and security-group rules of two versions of a stack compared as rows: each statement
 * or rule one side has and the other lacks, with construct paths for references, and whether it widens
 * access. `npm run review` compares two synthesized apps this way, the plan comment a plan's before and
 * after.
 */
import { UNKNOWN } from "./attribute-diff";
import { ruleWidens, statementWidens } from "./security-rules";
import type { Statement, SynthesizedStack } from "./synthesized-stack";
import type { Json } from "./terraform-plan";

export type Rename = (path: string) => string;
export const samePath: Rename = (path) => path;

export interface IamRow {
  stack: string;
  change: "added" | "removed";
  /** The role, policy or resource the statement applies to (its construct path). */
  owner: string;
  /** Where the statement is written: the policy, attachment, permission or trust policy. */
  source: string;
  statement: Statement;
  /** An Allow added that nothing removed allowed, or a Deny removed (see statementWidens); never for a policy known only after apply. */
  widens: boolean;
  /** Read from the synthesized JSON: the plan knows this policy only after apply. */
  synthesized?: boolean;
}

export interface RouteRow {
  stack: string;
  change: "added" | "removed";
  /** The API (its construct path) and the route as API Gateway keys it, e.g. "GET /items/{id}". */
  api: string;
  route: string;
  /** AWS_IAM, or NONE (anyone may call). */
  authorization: string;
  /** The roles and policies of the stack whose statements allow execute-api:Invoke on the route. */
  callers: string[];
  /** Open to anyone, where the route was not before. */
  widens: boolean;
}

export interface RuleRow {
  stack: string;
  change: "added" | "removed";
  group: string;
  direction: "ingress" | "egress";
  protocol: string;
  ports: string;
  peer: string;
  widens: boolean;
}

/** JSON with object keys sorted, so that equal values give equal text. */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object") {
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonical((value as Record<string, unknown>)[key])}`)
      .join(",")}}`;
  }
  return JSON.stringify(value);
}

/** A statement with every reference written as the construct path it names (renamed), each list sorted. */
export function readableStatement(stack: SynthesizedStack, statement: Statement, rename: Rename): Statement {
  const text = (values: string[]) => values.map((value) => stack.readable(value, rename)).sort();
  return {
    ...statement,
    actions: text(statement.actions),
    notActions: text(statement.notActions),
    resources: text(statement.resources),
    notResources: text(statement.notResources),
    principals: text(statement.principals),
    notPrincipals: text(statement.notPrincipals),
    conditions: text(statement.conditions),
  };
}

/** A whole-value reference as the construct path it names; anything else as readable text. */
function named(stack: SynthesizedStack, value: Json | undefined, rename: Rename): string {
  const target = stack.referenced(value);
  return target ? rename(target.element.path) : stack.readable(String(value), rename);
}

type IamSide = Omit<IamRow, "stack" | "change" | "widens">;
type RouteSide = Omit<RouteRow, "stack" | "change" | "widens">;
type RuleSide = Omit<RuleRow, "stack" | "change" | "widens">;

function iamStatements(stack: SynthesizedStack, rename: Rename, synthesized: ReadonlySet<string>): IamSide[] {
  return stack.iamStatements().map(({ owner, source, part, statement }) => ({
    owner: typeof owner === "string" ? stack.readable(owner, rename) : rename(owner.path),
    source: `${rename(source.path)}${part ? ` (${part})` : ""}`,
    statement: readableStatement(stack, statement, rename),
    ...(synthesized.has(source.address) ? { synthesized: true } : {}),
  }));
}

function ruleRows(stack: SynthesizedStack, rename: Rename): RuleSide[] {
  return stack.securityGroupRules().map((rule) => ({
    group: named(stack, rule.group, rename),
    direction: rule.direction,
    protocol: rule.protocol,
    ports: rule.ports,
    peer: named(stack, rule.peer, rename),
  }));
}

/** An IAM resource pattern (`*` any run of characters) as a test of a concrete text. */
const glob = (pattern: string) => new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*")}$`);

/** Each route of each HTTP API, with its authorization and the statements' owners that may invoke it. */
function routeRows(stack: SynthesizedStack, rename: Rename): RouteSide[] {
  const invokers = stack
    .iamStatements()
    .filter(
      ({ statement }) =>
        statement.effect === "Allow" && statement.actions.some((action) => glob(action.toLowerCase()).test("execute-api:invoke")),
    );
  return stack.ofType("aws_apigatewayv2_route").flatMap((route) => {
    const api = stack.referenced(route.block.api_id)?.element;
    if (!api) return [];
    const stages = stack.ofType("aws_apigatewayv2_stage").filter((stage) => stack.referenced(stage.block.api_id)?.element === api);
    const [method, path] = String(route.block.route_key).split(" ");
    // The ARN IAM checks, after the API's execution ARN: /<stage>/<METHOD>/<path>, a path parameter any one value.
    const requested = stages.map((stage) => `/${stage.block.name}/${method}${path}`);
    const callers = invokers.flatMap(({ owner, statement }) => {
      const allows = statement.resources.some((resource) => {
        if (!stack.mentions(resource).includes(api)) return false;
        const pattern = glob(resource.slice(resource.indexOf("}") + 1));
        return requested.some((arn) => pattern.test(arn));
      });
      return allows ? [typeof owner === "string" ? stack.readable(owner, rename) : rename(owner.path)] : [];
    });
    return [
      {
        api: rename(api.path),
        route: String(route.block.route_key),
        authorization: String(route.block.authorization_type ?? "NONE"),
        callers: [...new Set(callers)].sort(),
      },
    ];
  });
}

/** The rows of each side that the other side lacks. */
function rowDifference<T>(before: T[], after: T[], key: (row: T) => string): { removed: T[]; added: T[] } {
  const beforeKeys = new Set(before.map(key));
  const afterKeys = new Set(after.map(key));
  return { removed: before.filter((row) => !afterKeys.has(key(row))), added: after.filter((row) => !beforeKeys.has(key(row))) };
}

const by =
  <T>(...keys: ((row: T) => string)[]) =>
  (a: T, b: T) =>
    keys.reduce((order, key) => order || key(a).localeCompare(key(b)), 0);
/** Per subject, what was removed before what was added. */
const wasThenIs = (row: { change: "added" | "removed" }) => (row.change === "removed" ? "0" : "1");

/** A statement, or a rule, a plan knows only after apply: shown so, with no verdict either way. */
export const isDeferred = (row: { statement: Statement } | RuleSide): boolean =>
  "statement" in row ? row.statement.effect === UNKNOWN : [row.protocol, row.ports, row.peer].includes(UNKNOWN);

/**
 * Statements added and removed, per owner and source, each marked whether it widens. A policy the
 * after side knows only after apply (an update the plan defers) is one row saying so, without the
 * before side's statements and without a verdict: it is compared only where both sides are known.
 */
export function iamChanges(
  stack: string,
  before: SynthesizedStack,
  after: SynthesizedStack,
  rename: Rename,
  synthesized: ReadonlySet<string> = new Set(),
): IamRow[] {
  const statementKey = (row: IamSide) => canonical([row.owner, row.source, { ...row.statement, sid: undefined }]);
  const place = (row: IamSide) => `${row.owner} ${row.source}`;
  const afterRows = iamStatements(after, samePath, synthesized);
  const deferred = new Set(afterRows.filter(isDeferred).map(place));
  const { removed, added } = rowDifference(
    iamStatements(before, rename, new Set()).filter((row) => !deferred.has(place(row))),
    afterRows,
    statementKey,
  );
  // A statement is weighed against the other side's statements of the same policy.
  const others = (rows: IamSide[], row: IamSide) => rows.filter((other) => place(other) === place(row)).map((other) => other.statement);
  return [
    ...removed.map((row) => ({
      ...row,
      stack,
      change: "removed" as const,
      widens: statementWidens("removed", row.statement, others(added, row)),
    })),
    ...added.map((row) => ({
      ...row,
      stack,
      change: "added" as const,
      widens: !isDeferred(row) && statementWidens("added", row.statement, others(removed, row)),
    })),
  ].sort(
    by<IamRow>(
      (row) => row.owner,
      (row) => row.source,
      wasThenIs,
    ),
  );
}

/** HTTP API routes added and removed (a changed authorization or set of callers is both), per API and route; an open one added widens. */
export function routeChanges(stack: string, before: SynthesizedStack, after: SynthesizedStack, rename: Rename): RouteRow[] {
  const { removed, added } = rowDifference(routeRows(before, rename), routeRows(after, samePath), canonical);
  const wasOpen = (row: RouteSide) =>
    removed.some((other) => other.api === row.api && other.route === row.route && other.authorization === "NONE");
  return [
    ...removed.map((row) => ({ ...row, stack, change: "removed" as const, widens: false })),
    ...added.map((row) => ({ ...row, stack, change: "added" as const, widens: row.authorization === "NONE" && !wasOpen(row) })),
  ].sort(
    by<RouteRow>(
      (row) => row.api,
      (row) => row.route,
      wasThenIs,
    ),
  );
}

/** Rules added and removed, per group and direction, each marked whether it widens. */
export function ruleChanges(stack: string, before: SynthesizedStack, after: SynthesizedStack, rename: Rename): RuleRow[] {
  const { removed, added } = rowDifference(ruleRows(before, rename), ruleRows(after, samePath), canonical);
  const sameSide = (row: RuleSide) => removed.filter((other) => other.group === row.group && other.direction === row.direction);
  return [
    ...removed.map((row) => ({ ...row, stack, change: "removed" as const, widens: false })),
    ...added.map((row) => ({
      ...row,
      stack,
      change: "added" as const,
      widens: !isDeferred(row) && ruleWidens("added", row, sameSide(row)),
    })),
  ].sort(
    by<RuleRow>(
      (row) => row.group,
      (row) => row.direction,
      wasThenIs,
    ),
  );
}
