/**
 * The picture of a service stack, read from its synthesized JSON: the VPC with its subnet tiers per
 * zone, gateways and endpoints, the functions, the database and RDS Proxy, who may reach whom (an edge
 * only where the source's egress and the target's ingress rules both allow it), what the IAM
 * policies let functions and the proxy do to resources of the stack, and the HTTP APIs: their routes,
 * the functions they invoke and who may call them.
 */
import { cidrContains, cidrProblem } from "../../src/config/cidr";
import type { Json } from "../stacks/terraform-plan";
import {
  type Block,
  type Element,
  type SecurityGroupRule,
  type Statement,
  type SynthesizedStack,
  list,
  singleBlock,
} from "../stacks/synthesized-stack";

export type NodeKind =
  | "internet"
  | "internet-gateway"
  | "nat-gateway"
  | "subnet"
  | "gateway-endpoint"
  | "interface-endpoint"
  | "function"
  | "database"
  | "proxy"
  | "secret"
  | "key"
  | "bucket"
  | "queue"
  | "api"
  | "api-caller"
  | "schedule";

export interface DiagramNode {
  id: string;
  kind: NodeKind;
  /** Lines of the label, the first one the name. */
  label: string[];
  /** The group it is drawn in; none: outside every group. */
  group?: string;
}

export interface DiagramGroup {
  id: string;
  label: string;
  parent?: string;
}

export interface DiagramEdge {
  from: string;
  to: string;
  /**
   * "network": security groups allow it (label: protocol and ports); "iam": a policy allows it (label:
   * actions); "route": where a subnet's default route goes; "event": what invokes or receives what
   * (a bucket's notification, a function's failed invocations).
   */
  kind: "network" | "iam" | "route" | "event";
  label: string;
}

export interface Diagram {
  stack: string;
  groups: DiagramGroup[];
  nodes: DiagramNode[];
  edges: DiagramEdge[];
}

const ZONE_LETTERS = "abcdefghij";
export const INTERNET = "internet";
const VPC = "vpc";
const AWS = "aws";

const idOf = (element: Element) => element.path.replace(/[^A-Za-z0-9]/g, "_");

/** "zone a" for the Nth zone of aws_availability_zones (`element(...names, N)`), else the zone name as written. */
function zoneOf(value: Json | undefined): string {
  const index = /element\(.*,\s*(\d+)\)/.exec(String(value));
  return index ? `zone ${ZONE_LETTERS[Number(index[1])]}` : String(value);
}

/** The service a VPC endpoint reaches: "s3" of "com.amazonaws.eu-west-1.s3". */
const serviceOf = (endpoint: Element) => String(endpoint.block.service_name).split(".").at(-1)!;

interface Member {
  node: DiagramNode;
  element: Element;
  groups: Element[];
  /** CIDR blocks of the subnets it is placed in, for rules that name blocks rather than groups. */
  cidrs: string[];
}

interface PortRange {
  protocol: string;
  from: number;
  to: number;
}

const rangeOf = (rule: SecurityGroupRule): PortRange =>
  rule.protocol === "all" || rule.fromPort === undefined
    ? { protocol: rule.protocol, from: 0, to: 65535 }
    : { protocol: rule.protocol, from: rule.fromPort, to: rule.toPort ?? rule.fromPort };

/** What both ranges allow, or undefined when nothing. */
function overlap(a: PortRange, b: PortRange): PortRange | undefined {
  if (a.protocol !== "all" && b.protocol !== "all" && a.protocol !== b.protocol) return undefined;
  const range = { protocol: a.protocol === "all" ? b.protocol : a.protocol, from: Math.max(a.from, b.from), to: Math.min(a.to, b.to) };
  return range.from <= range.to ? range : undefined;
}

const rangeText = ({ protocol, from, to }: PortRange) =>
  protocol === "all"
    ? "all traffic"
    : from === 0 && to === 65535
      ? `${protocol} all ports`
      : `${protocol} ${from === to ? from : `${from}-${to}`}`;

/** Builds one stack's diagram part by part: the VPC's tiers, gateways and routes, the members, what lies outside. */
class DiagramBuilder {
  readonly groups: DiagramGroup[];
  readonly nodes: DiagramNode[] = [{ id: INTERNET, kind: "internet", label: ["Internet"] }];
  readonly edges: DiagramEdge[] = [];
  readonly members: Member[] = [];
  private readonly nodeOf = new Map<string, DiagramNode>();
  private readonly tierOf = new Map<string, string>();

  constructor(
    private readonly stack: SynthesizedStack,
    vpc: Element,
  ) {
    this.groups = [{ id: VPC, label: `VPC ${vpc.block.cidr_block}` }];
  }

  private add(element: Element | undefined, node: DiagramNode): DiagramNode {
    this.nodes.push(node);
    if (element) this.nodeOf.set(element.address, node);
    return node;
  }

  private referenced = (value: Json | undefined) => this.stack.referenced(value)?.element;
  private all = (values: Json | undefined) => list(values).flatMap((value) => this.referenced(value) ?? []);

  /** The tier group of the first of these subnets. */
  private placedIn(subnets: Element[]): string {
    const tier = subnets[0] && this.tierOf.get(subnets[0].address);
    return tier ? `tier_${tier}` : VPC;
  }

  private subnetsOfTable = (table: Element | undefined) =>
    this.stack
      .ofType("aws_route_table_association")
      .filter((association) => this.referenced(association.block.route_table_id) === table)
      .flatMap((association) => this.referenced(association.block.subnet_id) ?? []);

  /** Subnets, one group per tier, each with its zones. */
  subnets(): void {
    for (const subnet of this.stack.ofType("aws_subnet")) {
      const tier = String((subnet.block.tags as Block | undefined)?.Tier ?? "subnets");
      this.tierOf.set(subnet.address, tier);
      if (!this.groups.some((group) => group.id === `tier_${tier}`))
        this.groups.push({ id: `tier_${tier}`, label: `${tier} tier`, parent: VPC });
      this.add(subnet, {
        id: idOf(subnet),
        kind: "subnet",
        label: [`${tier} subnet, ${zoneOf(subnet.block.availability_zone)}`, String(subnet.block.cidr_block)],
        group: `tier_${tier}`,
      });
    }
  }

  /** Gateways and the default routes through them. */
  gatewaysAndRoutes(): void {
    for (const gateway of this.stack.ofType("aws_internet_gateway")) {
      this.add(gateway, { id: idOf(gateway), kind: "internet-gateway", label: ["Internet gateway"], group: VPC });
      this.edges.push({ from: idOf(gateway), to: INTERNET, kind: "route", label: "" });
    }
    const nats = this.stack.ofType("aws_nat_gateway");
    for (const nat of nats) {
      const subnet = this.referenced(nat.block.subnet_id);
      const zone = subnet ? zoneOf(subnet.block.availability_zone) : "";
      this.add(nat, { id: idOf(nat), kind: "nat-gateway", label: ["NAT gateway", zone], group: this.placedIn(subnet ? [subnet] : []) });
    }
    for (const route of this.stack.ofType("aws_route")) {
      const subnets = this.subnetsOfTable(this.referenced(route.block.route_table_id));
      const label = String(route.block.destination_cidr_block ?? route.block.destination_ipv6_cidr_block ?? "");
      const nat = this.referenced(route.block.nat_gateway_id);
      const gateway = this.referenced(route.block.gateway_id);
      if (nat) this.edges.push(...subnets.map((subnet) => ({ from: idOf(subnet), to: idOf(nat), kind: "route" as const, label })));
      // A public route table carries the NAT gateways' traffic out: drawn from the NAT gateways in its subnets.
      if (gateway) {
        const inSubnets = nats.filter((candidate) => subnets.includes(this.referenced(candidate.block.subnet_id)!));
        this.edges.push(...inSubnets.map((candidate) => ({ from: idOf(candidate), to: idOf(gateway), kind: "route" as const, label })));
      }
    }
  }

  private member(element: Element, kind: NodeKind, label: string[], subnets: Element[]): void {
    const node = this.add(element, { id: idOf(element), kind, label, group: this.placedIn(subnets) });
    this.members.push({
      node,
      element,
      groups: this.stack.securityGroupsOf(element),
      cidrs: subnets.map((subnet) => String(subnet.block.cidr_block)),
    });
  }

  /** Endpoints, functions, databases and proxies: what security groups admit and IAM grants are drawn between. */
  membersOfTheVpc(): void {
    for (const endpoint of this.stack.ofType("aws_vpc_endpoint")) {
      if (endpoint.block.vpc_endpoint_type === "Gateway") {
        const tables = this.all(endpoint.block.route_table_ids).flatMap(this.subnetsOfTable);
        const tiers = [...new Set(tables.map((subnet) => this.tierOf.get(subnet.address)))];
        const label = [`${serviceOf(endpoint)} gateway endpoint`, `routes of: ${tiers.join(", ")}`];
        this.add(endpoint, { id: idOf(endpoint), kind: "gateway-endpoint", label, group: VPC });
      } else {
        const dns = endpoint.block.private_dns_enabled ? "interface, private DNS" : "interface";
        this.member(endpoint, "interface-endpoint", [`${serviceOf(endpoint)} endpoint`, dns], this.all(endpoint.block.subnet_ids));
      }
    }
    for (const fn of this.stack.ofType("aws_lambda_function")) {
      const { vpc_config: vpcConfig } = fn.block as { vpc_config?: Block };
      const label = [`λ ${fn.block.function_name}`, `${fn.block.runtime}, ${fn.block.memory_size ?? 128} MB`];
      this.member(fn, "function", label, this.all(vpcConfig?.subnet_ids));
    }
    for (const db of this.stack.ofType("aws_db_instance")) {
      const subnetGroup = this.referenced(db.block.db_subnet_group_name);
      const shape = [
        db.block.instance_class,
        db.block.multi_az ? "multi-AZ" : "single-AZ",
        db.block.iam_database_authentication_enabled ? "IAM auth" : "",
      ];
      const label = [
        `RDS ${db.block.engine} ${db.block.engine_version ?? ""}`.trim(),
        String(db.block.identifier),
        shape.filter(Boolean).join(", "),
      ];
      this.member(db, "database", label, this.all(subnetGroup?.block.subnet_ids));
    }
    for (const proxy of this.stack.ofType("aws_db_proxy")) {
      const auth = [proxy.block.default_auth_scheme === "IAM_AUTH" ? "IAM auth" : "", proxy.block.require_tls ? "TLS" : ""]
        .filter(Boolean)
        .join(", ");
      this.member(proxy, "proxy", ["RDS Proxy", String(proxy.block.name), auth], this.all(proxy.block.vpc_subnet_ids));
    }
  }

  private outside(id: string, kind: NodeKind, label: string[], element?: Element): DiagramNode {
    if (!this.groups.some((group) => group.id === AWS)) this.groups.push({ id: AWS, label: "AWS services, outside the VPC" });
    return this.nodes.find((node) => node.id === id) ?? this.add(element, { id, kind, label, group: AWS });
  }

  /**
   * The stack's buckets, queues and schedules, outside the VPC; a function's failed invocations to its queue, a
   * bucket's notifications and a schedule to the function they invoke; the gateway endpoint's route to the buckets of its service.
   */
  bucketsAndQueues(): void {
    for (const bucket of this.stack.ofType("aws_s3_bucket"))
      this.outside(idOf(bucket), "bucket", ["S3 bucket", String(bucket.block.bucket)], bucket);
    for (const queue of this.stack.ofType("aws_sqs_queue"))
      this.outside(idOf(queue), "queue", ["SQS queue", String(queue.block.name)], queue);
    for (const config of this.stack.ofType("aws_lambda_function_event_invoke_config")) {
      const fn = this.referenced(config.block.function_name);
      const destinations = (config.block.destination_config ?? {}) as Record<string, Block | undefined>;
      for (const [when, destination] of Object.entries(destinations)) {
        const target = this.referenced(destination?.destination);
        if (fn && target && this.nodeOf.has(target.address))
          this.edges.push({ from: idOf(fn), to: idOf(target), kind: "event", label: when.replace("_", " ") });
      }
    }
    for (const notification of this.stack.ofType("aws_s3_bucket_notification")) {
      const bucket = this.referenced(notification.block.bucket);
      for (const target of (notification.block.lambda_function ?? []) as Block[]) {
        const fn = this.referenced(target.lambda_function_arn);
        const label = [list(target.events).join(", "), target.filter_prefix ? `${target.filter_prefix}*` : ""].filter(Boolean).join(" ");
        if (bucket && fn) this.edges.push({ from: idOf(bucket), to: idOf(fn), kind: "event", label });
      }
    }
    // A schedule invokes its function, and leaves what it could not deliver in its dead-letter queue.
    for (const schedule of this.stack.ofType("aws_scheduler_schedule")) {
      const expression = String(schedule.block.schedule_expression);
      const target = singleBlock(schedule.block.target);
      const deadLetter = singleBlock(target?.dead_letter_config);
      this.outside(idOf(schedule), "schedule", ["EventBridge schedule", String(schedule.block.name)], schedule);
      const fn = this.referenced(target?.arn);
      if (fn) this.edges.push({ from: idOf(schedule), to: idOf(fn), kind: "event", label: expression });
      const deadLetters = this.referenced(deadLetter?.arn);
      if (deadLetters) this.edges.push({ from: idOf(schedule), to: idOf(deadLetters), kind: "event", label: "undelivered" });
    }
    for (const endpoint of this.stack.ofType("aws_vpc_endpoint").filter((candidate) => candidate.block.vpc_endpoint_type === "Gateway")) {
      const reached = serviceOf(endpoint) === "s3" ? this.stack.ofType("aws_s3_bucket") : [];
      this.edges.push(...reached.map((bucket) => ({ from: idOf(endpoint), to: idOf(bucket), kind: "route" as const, label: "" })));
    }
  }

  /**
   * HTTP APIs, outside the VPC: each with its routes and their authorization, called from the internet
   * (signed where the routes say AWS_IAM), invoking the functions whose permissions admit its routes,
   * and the policies of this stack that let callers invoke its routes.
   */
  httpApis(): void {
    const routes = this.stack.ofType("aws_apigatewayv2_route");
    const permissions = this.stack.ofType("aws_lambda_permission");
    const grants = this.stack
      .iamStatements()
      .filter(({ statement }) => statement.effect === "Allow" && statement.actions.includes("execute-api:Invoke"));
    for (const api of this.stack.ofType("aws_apigatewayv2_api")) {
      const own = routes.filter((route) => this.referenced(route.block.api_id) === api);
      const authorization = (route: Element) => String(route.block.authorization_type ?? "NONE");
      const label = [
        `${api.block.protocol_type} API ${api.block.name}`,
        ...own.map((route) => `${route.block.route_key} (${authorization(route)})`),
      ];
      const node = this.outside(idOf(api), "api", label, api);
      const open = own.filter((route) => authorization(route) === "NONE").map((route) => String(route.block.route_key));
      const callers = open.length > 0 ? `HTTPS, open to anyone: ${open.join(", ")}` : "HTTPS, SigV4-signed";
      this.edges.push({ from: INTERNET, to: node.id, kind: "network", label: callers });
      // A permission admits the API's route by its source ARN (`<execution_arn>/<stage>/<METHOD>/<path>`).
      const admitted = new Map<string, string[]>();
      for (const permission of permissions.filter((candidate) => this.stack.mentions(String(candidate.block.source_arn)).includes(api))) {
        const fn = this.referenced(permission.block.function_name);
        const route = String(permission.block.source_arn)
          .replace(/^\$\{[^}]+\}\/[^/]+\//, "")
          .replace("/", " /");
        if (fn) admitted.set(idOf(fn), [...(admitted.get(idOf(fn)) ?? []), route]);
      }
      for (const [fn, admittedRoutes] of admitted)
        this.edges.push({ from: node.id, to: fn, kind: "event", label: `invokes on ${admittedRoutes.join(", ")}` });
      const callerLabels = new Map<string, string[]>();
      for (const { owner, statement } of grants) {
        const onThisApi = statement.resources.filter((resource) => this.stack.mentions(resource).includes(api));
        if (onThisApi.length === 0 || typeof owner === "string") continue;
        const routesGranted = onThisApi.map((resource) => resource.replace(/^\$\{[^}]+\}\/[^/]+\//, "").replace("/", " /"));
        callerLabels.set(owner.path, [...(callerLabels.get(owner.path) ?? []), ...routesGranted]);
      }
      for (const [owner, granted] of callerLabels) {
        const caller = this.outside(`${owner.replace(/[^A-Za-z0-9]/g, "_")}_caller`, "api-caller", ["may call", owner]);
        this.edges.push({ from: caller.id, to: node.id, kind: "iam", label: `execute-api:Invoke ${granted.join(", ")}` });
      }
    }
  }

  /** The node a grant's resource names: a member, bucket or queue, a KMS key, or the master secret RDS keeps. */
  grantTarget = (resource: string): DiagramNode[] =>
    this.stack.mentions(resource).flatMap((element) => {
      if (element.type === "aws_db_instance" && resource.includes(`${element.address}.master_user_secret`)) {
        const label = ["Secrets Manager secret", `master password of ${element.block.identifier}`, "kept by RDS"];
        return [this.outside(`${idOf(element)}_secret`, "secret", label)];
      }
      if (element.type === "aws_kms_key")
        return [this.outside(idOf(element), "key", ["KMS key", String(element.block.description ?? element.path)])];
      return this.nodeOf.get(element.address) ?? [];
    });

  /** Egress to a gateway endpoint's prefix list: the member's path to that service, drawn to the endpoint. */
  prefixListEdges(): void {
    for (const rule of this.stack.securityGroupRules().filter((candidate) => candidate.direction === "egress")) {
      const endpoint = this.stack.referenced(rule.peer);
      if (endpoint?.element.type !== "aws_vpc_endpoint" || endpoint.attribute !== "prefix_list_id") continue;
      const group = this.stack.referenced(rule.group)?.element.address;
      for (const source of this.members.filter((member) => member.groups.some((candidate) => candidate.address === group))) {
        this.edges.push({
          from: source.node.id,
          to: idOf(endpoint.element),
          kind: "network",
          label: `${rangeText(rangeOf(rule))} (prefix list)`,
        });
      }
    }
  }

  diagram(): Diagram {
    // Tiers in the order traffic meets them.
    const tierRank = (id: string) => ["vpc", "tier_public", "tier_private", "tier_isolated"].indexOf(id) + 1 || 99;
    const groups = [...this.groups].sort((a, b) => tierRank(a.id) - tierRank(b.id));
    return { stack: this.stack.name, groups, nodes: this.nodes, edges: this.edges };
  }
}

export function diagramOf(stack: SynthesizedStack): Diagram | undefined {
  const [vpc] = stack.ofType("aws_vpc");
  if (!vpc) return undefined;
  const builder = new DiagramBuilder(stack, vpc);
  builder.subnets();
  builder.gatewaysAndRoutes();
  builder.membersOfTheVpc();
  builder.edges.push(...networkEdges(stack, builder.members, String(vpc.block.cidr_block)));
  builder.prefixListEdges();
  builder.bucketsAndQueues();
  builder.httpApis();
  builder.edges.push(...grantEdges(stack, builder.members, builder.grantTarget));
  return builder.diagram();
}

/** An IPv4 CIDR block, as opposed to a group reference or prefix list. */
const isBlock = (peer: string) => cidrProblem(peer) === undefined;

/** A member reaches another where one of its egress rules and one of the other's ingress rules both let the same traffic through. */
function networkEdges(stack: SynthesizedStack, members: Member[], vpcCidr: string): DiagramEdge[] {
  const rules = stack.securityGroupRules();
  const groupAddress = (text: string) => stack.referenced(text)?.element.address;
  const admits = (peer: string, other: Member) => {
    const group = groupAddress(peer);
    if (group) return other.groups.some((candidate) => candidate.address === group);
    return isBlock(peer) && other.cidrs.length > 0 && other.cidrs.every((cidr) => cidrContains(peer, cidr));
  };
  const rulesOf = (subject: Member, direction: SecurityGroupRule["direction"]) =>
    rules.filter((rule) => rule.direction === direction && subject.groups.some((group) => group.address === groupAddress(rule.group)));
  const edges: DiagramEdge[] = [];
  for (const source of members) {
    const egress = rulesOf(source, "egress");
    for (const target of members.filter((other) => other !== source)) {
      const ingress = rulesOf(target, "ingress").filter((rule) => admits(rule.peer, source));
      const allowed = egress
        .filter((rule) => admits(rule.peer, target))
        .flatMap((out) => ingress.flatMap((into) => overlap(rangeOf(out), rangeOf(into)) ?? []))
        .map(rangeText);
      if (allowed.length > 0)
        edges.push({ from: source.node.id, to: target.node.id, kind: "network", label: [...new Set(allowed)].join(", ") });
    }
    // Egress to blocks outside the VPC leaves through the NAT gateway: drawn to the internet.
    const out = egress.filter((rule) => isBlock(rule.peer) && !cidrContains(vpcCidr, rule.peer));
    if (out.length > 0)
      edges.push({
        from: source.node.id,
        to: INTERNET,
        kind: "network",
        label: [...new Set(out.map((rule) => `${rangeText(rangeOf(rule))} to ${rule.peer}`))].join(", "),
      });
  }
  return edges;
}

/** "rds-db:connect as app_user": the actions of an Allow statement, with the database user it names. */
function grantLabel(statement: Statement, resource: string): string {
  const user = /:dbuser:.*\/([^/}]+)$/.exec(resource)?.[1];
  return `${statement.actions.join(", ")}${user ? ` as ${user}` : ""}${statement.conditions.length > 0 ? " (conditional)" : ""}`;
}

/** What the roles of functions and proxies may do to the nodes their Allow statements name. */
function grantEdges(stack: SynthesizedStack, members: Member[], targetsOf: (resource: string) => DiagramNode[]): DiagramEdge[] {
  const placed = stack.iamStatements();
  const statementsOf = (owner: Element): Statement[] =>
    placed.flatMap(({ owner: to, statement, part }) => {
      if (to !== owner || part === "trust") return [];
      if (statement.effect !== "Attach") return [statement];
      const policy = stack.referenced(statement.resources[0])?.element;
      return policy ? placed.filter((other) => other.owner === policy).map((other) => other.statement) : [];
    });
  const labels = new Map<string, string[]>();
  for (const { node, element } of members) {
    const role = stack.referenced(element.block.role ?? element.block.role_arn)?.element;
    if (role?.type !== "aws_iam_role") continue;
    for (const statement of statementsOf(role).filter((candidate) => candidate.effect === "Allow")) {
      for (const resource of statement.resources) {
        for (const target of targetsOf(resource)) {
          const key = `${node.id} ${target.id}`;
          labels.set(key, [...new Set([...(labels.get(key) ?? []), grantLabel(statement, resource)])]);
        }
      }
    }
  }
  return [...labels].map(([key, names]) => {
    const [from, to] = key.split(" ");
    return { from, to, kind: "iam" as const, label: names.join("; ") };
  });
}
