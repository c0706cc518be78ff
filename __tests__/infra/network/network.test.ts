import { cidrContains, cidrsOverlap } from "../../../src/config/cidr";
import { synthStack } from "../synth";

const tiers = ["public", "private", "isolated"] as const;

describe("Network, default configuration (2 zones, single NAT)", () => {
  const s = synthStack();
  const vpcId = s.ref("aws_vpc", "network/vpc", "id");
  const zoneNames = s.dataRef("aws_availability_zones", "network/zones", "names");

  it("creates a DNS-enabled VPC with the configured block", () => {
    expect(s.resource("aws_vpc", "network/vpc")).toMatchObject({
      cidr_block: "10.0.0.0/16",
      enable_dns_support: true,
      enable_dns_hostnames: true,
    });
  });

  it("takes zone names from the region's zones that need no opt-in, never a hard-coded region", () => {
    expect(s.data("aws_availability_zones", "network/zones")).toMatchObject({
      state: "available",
      filter: [{ name: "opt-in-status", values: ["opt-in-not-required"] }],
    });
    for (const tier of tiers) {
      expect(s.resource("aws_subnet", `network/${tier}-subnet-0`).availability_zone).toBe(`\${element(${zoneNames.slice(2, -1)}, 0)}`);
      expect(s.resource("aws_subnet", `network/${tier}-subnet-1`).availability_zone).toBe(`\${element(${zoneNames.slice(2, -1)}, 1)}`);
    }
  });

  it("puts one subnet per tier in each zone, in disjoint blocks inside the VPC, none mapping public IPs", () => {
    const subnets = s.all("aws_subnet");
    expect(Object.keys(subnets).sort()).toEqual(tiers.flatMap((tier) => [`network/${tier}-subnet-0`, `network/${tier}-subnet-1`]).sort());
    const blocks = Object.values(subnets).map((subnet) => subnet.cidr_block as string);
    for (const subnet of Object.values(subnets)) {
      expect(subnet.vpc_id).toBe(vpcId);
      expect(subnet.map_public_ip_on_launch).toBe(false);
      expect(cidrContains("10.0.0.0/16", subnet.cidr_block)).toBe(true);
    }
    blocks.forEach((a, i) => {
      for (const b of blocks.slice(i + 1)) expect(cidrsOverlap(a, b)).toBe(false);
    });
    expect(s.resource("aws_subnet", "network/public-subnet-0").cidr_block).toBe("10.0.0.0/19");
    expect(s.resource("aws_subnet", "network/isolated-subnet-1").cidr_block).toBe("10.0.160.0/19");
  });

  it("routes the public tier to the internet gateway", () => {
    expect(s.resource("aws_internet_gateway", "network/internet-gateway").vpc_id).toBe(vpcId);
    expect(s.resource("aws_route", "network/public-default-route")).toMatchObject({
      route_table_id: s.ref("aws_route_table", "network/public-routes", "id"),
      destination_cidr_block: "0.0.0.0/0",
      gateway_id: s.ref("aws_internet_gateway", "network/internet-gateway", "id"),
    });
    for (const zone of [0, 1]) {
      expect(s.resource("aws_route_table_association", `network/public-association-${zone}`)).toEqual(
        expect.objectContaining({
          subnet_id: s.ref("aws_subnet", `network/public-subnet-${zone}`, "id"),
          route_table_id: s.ref("aws_route_table", "network/public-routes", "id"),
        }),
      );
    }
  });

  it("has one NAT gateway, in a public subnet, with an Elastic IP, created after the internet gateway", () => {
    expect(Object.keys(s.all("aws_nat_gateway"))).toEqual(["network/nat-gateway-0"]);
    expect(s.resource("aws_nat_gateway", "network/nat-gateway-0")).toMatchObject({
      subnet_id: s.ref("aws_subnet", "network/public-subnet-0", "id"),
      allocation_id: s.ref("aws_eip", "network/nat-address-0", "allocation_id"),
      depends_on: [s.ref("aws_internet_gateway", "network/internet-gateway", "id").replace(/^\$\{(.*)\.id\}$/, "$1")],
    });
    expect(s.resource("aws_eip", "network/nat-address-0").domain).toBe("vpc");
  });

  it("sends each private subnet's internet traffic through the NAT gateway, never the internet gateway", () => {
    for (const zone of [0, 1]) {
      const table = s.ref("aws_route_table", `network/private-routes-${zone}`, "id");
      expect(s.resource("aws_route", `network/private-default-route-${zone}`)).toEqual(
        expect.objectContaining({
          route_table_id: table,
          destination_cidr_block: "0.0.0.0/0",
          nat_gateway_id: s.ref("aws_nat_gateway", "network/nat-gateway-0", "id"),
        }),
      );
      expect(s.resource("aws_route", `network/private-default-route-${zone}`).gateway_id).toBeUndefined();
      expect(s.resource("aws_route_table_association", `network/private-association-${zone}`)).toMatchObject({
        subnet_id: s.ref("aws_subnet", `network/private-subnet-${zone}`, "id"),
        route_table_id: table,
      });
    }
  });

  it("gives the isolated tier a route table with no route at all, so nothing reaches 0.0.0.0/0", () => {
    const isolatedTable = s.ref("aws_route_table", "network/isolated-routes", "id");
    expect(s.resource("aws_route_table", "network/isolated-routes").route).toBeUndefined();
    const routesOfIsolated = Object.values(s.all("aws_route")).filter((route) => route.route_table_id === isolatedTable);
    expect(routesOfIsolated).toEqual([]);
    for (const zone of [0, 1]) {
      expect(s.resource("aws_route_table_association", `network/isolated-association-${zone}`)).toMatchObject({
        subnet_id: s.ref("aws_subnet", `network/isolated-subnet-${zone}`, "id"),
        route_table_id: isolatedTable,
      });
    }
  });

  it.each(["s3", "dynamodb"])("attaches the %s gateway endpoint to the private and isolated route tables only", (service) => {
    expect(s.resource("aws_vpc_endpoint", `network/${service}-endpoint`)).toMatchObject({
      vpc_id: vpcId,
      service_name: `com.amazonaws.eu-west-1.${service}`,
      vpc_endpoint_type: "Gateway",
      route_table_ids: [
        s.ref("aws_route_table", "network/private-routes-0", "id"),
        s.ref("aws_route_table", "network/private-routes-1", "id"),
        s.ref("aws_route_table", "network/isolated-routes", "id"),
      ],
    });
  });

  it("strips every rule from the VPC's default security group", () => {
    const defaultGroup = s.resource("aws_default_security_group", "network/default-security-group");
    expect(defaultGroup.vpc_id).toBe(vpcId);
    expect(defaultGroup.ingress).toBeUndefined();
    expect(defaultGroup.egress).toBeUndefined();
  });

  it("logs all VPC traffic to a CloudWatch group with retention, through a role only this account's flow logs can assume", () => {
    const logGroup = s.resource("aws_cloudwatch_log_group", "network/flow-log-group");
    expect(logGroup).toMatchObject({ name: "/vpc/lambda-rds-iam-dev/flow-logs", retention_in_days: 30 });
    expect(s.resource("aws_flow_log", "network/flow-log")).toMatchObject({
      vpc_id: vpcId,
      traffic_type: "ALL",
      log_destination_type: "cloud-watch-logs",
      log_destination: s.ref("aws_cloudwatch_log_group", "network/flow-log-group", "arn"),
      iam_role_arn: s.ref("aws_iam_role", "network/flow-log-role", "arn"),
    });
    const [trust] = s.data("aws_iam_policy_document", "network/flow-log-trust").statement;
    expect(trust.principals).toEqual([{ type: "Service", identifiers: ["vpc-flow-logs.amazonaws.com"] }]);
    expect(trust.condition).toContainEqual({
      test: "StringEquals",
      variable: "aws:SourceAccount",
      values: [s.dataRef("aws_caller_identity", "aws-context/caller", "account_id")],
    });
    const [write] = s.data("aws_iam_policy_document", "network/flow-log-write").statement;
    expect(write.resources).toEqual([`${s.ref("aws_cloudwatch_log_group", "network/flow-log-group", "arn")}:*`]);
  });
});

describe("Network, three zones with a NAT gateway per zone", () => {
  const s = synthStack({ network: { azCount: 3, natGateways: "per-az" } });

  it("spans three zones in every tier", () => {
    expect(Object.keys(s.all("aws_subnet"))).toHaveLength(9);
    expect(s.resource("aws_subnet", "network/isolated-subnet-2").cidr_block).toBe("10.0.128.0/20");
  });

  it("gives each zone its own NAT gateway in its own public subnet, and each private table its zone's NAT", () => {
    expect(Object.keys(s.all("aws_nat_gateway")).sort()).toEqual([
      "network/nat-gateway-0",
      "network/nat-gateway-1",
      "network/nat-gateway-2",
    ]);
    for (const zone of [0, 1, 2]) {
      expect(s.resource("aws_nat_gateway", `network/nat-gateway-${zone}`).subnet_id).toBe(
        s.ref("aws_subnet", `network/public-subnet-${zone}`, "id"),
      );
      expect(s.resource("aws_route", `network/private-default-route-${zone}`).nat_gateway_id).toBe(
        s.ref("aws_nat_gateway", `network/nat-gateway-${zone}`, "id"),
      );
    }
  });
});

describe("Network, explicit zones and subnet blocks", () => {
  const s = synthStack({
    region: "us-west-2",
    network: {
      vpcCidr: "172.16.0.0/20",
      availabilityZones: ["us-west-2a", "us-west-2c"],
      subnetCidrs: {
        public: ["172.16.0.0/26", "172.16.0.64/26"],
        private: ["172.16.4.0/22", "172.16.8.0/22"],
        isolated: ["172.16.1.0/27", "172.16.1.32/27"],
      },
    },
  });

  it("uses the configured zone names and blocks verbatim, without an availability-zone lookup", () => {
    expect(s.json.data.aws_availability_zones).toBeUndefined();
    expect(s.resource("aws_subnet", "network/private-subnet-1")).toMatchObject({
      availability_zone: "us-west-2c",
      cidr_block: "172.16.8.0/22",
    });
    expect(s.resource("aws_subnet", "network/isolated-subnet-0")).toMatchObject({
      availability_zone: "us-west-2a",
      cidr_block: "172.16.1.0/27",
    });
  });

  it("builds endpoint service names from the configured region", () => {
    expect(s.resource("aws_vpc_endpoint", "network/dynamodb-endpoint").service_name).toBe("com.amazonaws.us-west-2.dynamodb");
  });
});
