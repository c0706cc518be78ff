/**
 * The picture of a service stack, read from its synthesized JSON: the VPC with its subnet tiers per
 * zone, gateways and endpoints, the functions, the database and RDS Proxy, who may reach whom (an edge
 * only where the source's egress and the target's ingress rules both allow it) and what the IAM
 * policies let functions and the proxy do to resources of the stack.
 */
import { cidrContains, cidrProblem } from "../../src/config/cidr";
import type { Json } from "../stacks/terraform-plan";
import { type Block, type Element, type SecurityGroupRule, type Statement, type SynthesizedStack, list } from "../stacks/synthesized-stack";

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
  | "key";

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
  /** "network": security groups allow it (label: protocol and ports); "iam": a policy allows it (label: actions); "route": where a subnet's default route goes. */
  kind: "network" | "iam" | "route";
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

export function diagramOf(stack: SynthesizedStack): Diagram | undefined {
  const [vpc] = stack.ofType("aws_vpc");
  if (!vpc) return undefined;
  const groups: DiagramGroup[] = [{ id: VPC, label: `VPC ${vpc.block.cidr_block}` }];
  const nodes: DiagramNode[] = [{ id: INTERNET, kind: "internet", label: ["Internet"] }];
  const edges: DiagramEdge[] = [];
  const nodeOf = new Map<string, DiagramNode>();
  const add = (element: Element | undefined, node: DiagramNode) => {
    nodes.push(node);
    if (element) nodeOf.set(element.address, node);
    return node;
  };
  const referenced = (value: Json | undefined) => stack.referenced(value)?.element;
  const all = (values: Json | undefined) => list(values).flatMap((value) => referenced(value) ?? []);

  // Subnets, one group per tier, each with its zones.
  const tierOf = new Map<string, string>();
  for (const subnet of stack.ofType("aws_subnet")) {
    const tier = String((subnet.block.tags as Block | undefined)?.Tier ?? "subnets");
    tierOf.set(subnet.address, tier);
    if (!groups.some((group) => group.id === `tier_${tier}`)) groups.push({ id: `tier_${tier}`, label: `${tier} tier`, parent: VPC });
    add(subnet, {
      id: idOf(subnet),
      kind: "subnet",
      label: [`${tier} subnet, ${zoneOf(subnet.block.availability_zone)}`, String(subnet.block.cidr_block)],
      group: `tier_${tier}`,
    });
  }
  /** The tier group of the first of these subnets. */
  const placedIn = (subnets: Element[]) => (subnets[0] && tierOf.has(subnets[0].address) ? `tier_${tierOf.get(subnets[0].address)}` : VPC);
  const cidrsOf = (subnets: Element[]) => subnets.map((subnet) => String(subnet.block.cidr_block));

  // Gateways and the default routes through them.
  for (const gateway of stack.ofType("aws_internet_gateway")) {
    add(gateway, { id: idOf(gateway), kind: "internet-gateway", label: ["Internet gateway"], group: VPC });
    edges.push({ from: idOf(gateway), to: INTERNET, kind: "route", label: "" });
  }
  for (const nat of stack.ofType("aws_nat_gateway")) {
    const subnet = referenced(nat.block.subnet_id);
    add(nat, {
      id: idOf(nat),
      kind: "nat-gateway",
      label: ["NAT gateway", subnet ? zoneOf(subnet.block.availability_zone) : ""],
      group: placedIn(subnet ? [subnet] : []),
    });
  }
  const subnetsOfTable = (table: Element | undefined) =>
    stack
      .ofType("aws_route_table_association")
      .filter((association) => referenced(association.block.route_table_id) === table)
      .flatMap((association) => referenced(association.block.subnet_id) ?? []);
  for (const route of stack.ofType("aws_route")) {
    const subnets = subnetsOfTable(referenced(route.block.route_table_id));
    const label = String(route.block.destination_cidr_block ?? route.block.destination_ipv6_cidr_block ?? "");
    const nat = referenced(route.block.nat_gateway_id);
    const gateway = referenced(route.block.gateway_id);
    if (nat) edges.push(...subnets.map((subnet) => ({ from: idOf(subnet), to: idOf(nat), kind: "route" as const, label })));
    // A public route table carries the NAT gateways' traffic out: drawn from the NAT gateways in its subnets.
    if (gateway) {
      const nats = stack.ofType("aws_nat_gateway").filter((candidate) => subnets.includes(referenced(candidate.block.subnet_id)!));
      edges.push(...nats.map((candidate) => ({ from: idOf(candidate), to: idOf(gateway), kind: "route" as const, label })));
    }
  }

  // Endpoints, functions, databases and proxies: what security groups admit and IAM grants are drawn between.
  const members: Member[] = [];
  const member = (element: Element, kind: NodeKind, label: string[], subnets: Element[]) =>
    members.push({
      node: add(element, { id: idOf(element), kind, label, group: placedIn(subnets) }),
      element,
      groups: stack.securityGroupsOf(element),
      cidrs: cidrsOf(subnets),
    });
  for (const endpoint of stack.ofType("aws_vpc_endpoint")) {
    if (endpoint.block.vpc_endpoint_type === "Gateway") {
      const tiers = [
        ...new Set(
          all(endpoint.block.route_table_ids)
            .flatMap(subnetsOfTable)
            .map((subnet) => tierOf.get(subnet.address)),
        ),
      ];
      add(endpoint, {
        id: idOf(endpoint),
        kind: "gateway-endpoint",
        label: [`${serviceOf(endpoint)} gateway endpoint`, `routes of: ${tiers.join(", ")}`],
        group: VPC,
      });
    } else {
      member(
        endpoint,
        "interface-endpoint",
        [`${serviceOf(endpoint)} endpoint`, endpoint.block.private_dns_enabled ? "interface, private DNS" : "interface"],
        all(endpoint.block.subnet_ids),
      );
    }
  }
  for (const fn of stack.ofType("aws_lambda_function")) {
    const { vpc_config: vpcConfig } = fn.block as { vpc_config?: Block };
    member(
      fn,
      "function",
      [`λ ${fn.block.function_name}`, `${fn.block.runtime}, ${fn.block.memory_size ?? 128} MB`],
      all(vpcConfig?.subnet_ids),
    );
  }
  for (const db of stack.ofType("aws_db_instance")) {
    const subnetGroup = referenced(db.block.db_subnet_group_name);
    const shape = [
      `${db.block.instance_class}`,
      db.block.multi_az ? "multi-AZ" : "single-AZ",
      db.block.iam_database_authentication_enabled ? "IAM auth" : "",
    ]
      .filter(Boolean)
      .join(", ");
    member(
      db,
      "database",
      [`RDS ${db.block.engine} ${db.block.engine_version ?? ""}`.trim(), String(db.block.identifier), shape],
      all(subnetGroup?.block.subnet_ids),
    );
  }
  for (const proxy of stack.ofType("aws_db_proxy")) {
    const auth = [proxy.block.default_auth_scheme === "IAM_AUTH" ? "IAM auth" : "", proxy.block.require_tls ? "TLS" : ""]
      .filter(Boolean)
      .join(", ");
    member(proxy, "proxy", ["RDS Proxy", String(proxy.block.name), auth], all(proxy.block.vpc_subnet_ids));
  }
  edges.push(...networkEdges(stack, members, String(vpc.block.cidr_block)));

  // Resources outside the VPC are drawn when a grant names them.
  const outside = (id: string, kind: NodeKind, label: string[]) => {
    if (!groups.some((group) => group.id === AWS)) groups.push({ id: AWS, label: "AWS services, outside the VPC" });
    return nodes.find((node) => node.id === id) ?? add(undefined, { id, kind, label, group: AWS });
  };
  const grantTarget = (resource: string): DiagramNode[] =>
    stack.mentions(resource).flatMap((element) => {
      if (element.type === "aws_db_instance" && resource.includes(`${element.address}.master_user_secret`)) {
        return [
          outside(`${idOf(element)}_secret`, "secret", [
            "Secrets Manager secret",
            `master password of ${element.block.identifier}`,
            "kept by RDS",
          ]),
        ];
      }
      if (element.type === "aws_kms_key")
        return [outside(idOf(element), "key", ["KMS key", String(element.block.description ?? element.path)])];
      return nodeOf.get(element.address) ?? [];
    });
  edges.push(...grantEdges(stack, members, grantTarget));
  // Tiers in the order traffic meets them.
  const tierRank = (id: string) => ["vpc", "tier_public", "tier_private", "tier_isolated"].indexOf(id) + 1 || 99;
  groups.sort((a, b) => tierRank(a.id) - tierRank(b.id));
  return { stack: stack.name, groups, nodes, edges };
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
