import { Construct } from "constructs";
import { Fn } from "cdktf";
import type { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { DataAwsAvailabilityZones } from "@cdktf/provider-aws/lib/data-aws-availability-zones";
import { DataAwsIamPolicyDocument } from "@cdktf/provider-aws/lib/data-aws-iam-policy-document";
import { DefaultSecurityGroup } from "@cdktf/provider-aws/lib/default-security-group";
import { Eip } from "@cdktf/provider-aws/lib/eip";
import { FlowLog } from "@cdktf/provider-aws/lib/flow-log";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { InternetGateway } from "@cdktf/provider-aws/lib/internet-gateway";
import { NatGateway } from "@cdktf/provider-aws/lib/nat-gateway";
import { Route } from "@cdktf/provider-aws/lib/route";
import { RouteTable } from "@cdktf/provider-aws/lib/route-table";
import { RouteTableAssociation } from "@cdktf/provider-aws/lib/route-table-association";
import { Subnet } from "@cdktf/provider-aws/lib/subnet";
import { SecurityGroup } from "@cdktf/provider-aws/lib/security-group";
import { Vpc } from "@cdktf/provider-aws/lib/vpc";
import { VpcEndpoint } from "@cdktf/provider-aws/lib/vpc-endpoint";
import { AwsContext } from "../core/aws-context";
import { type AddressPeer, Connections, Peer } from "./connections";
import { NETWORK_DEFAULTS, type NetworkProps } from "./network-props";
import { type SubnetTier, subnetLayout } from "./subnet-layout";

/** The VPC's flow log group; the service role boundary names it too. */
export const flowLogGroupName = (namePrefix: string) => `/vpc/${namePrefix}/flow-logs`;

/** The services a VPC reaches through free gateway endpoints on the private and isolated route tables. */
export type GatewayService = "s3" | "dynamodb";
const GATEWAY_SERVICE_TITLES: Record<GatewayService, string> = { s3: "S3", dynamodb: "DynamoDB" };

/**
 * A VPC over `azCount` zones with three tiers: public (NAT gateways), private (functions, egress
 * through NAT) and isolated (databases, no route off the VPC). S3 and DynamoDB traffic from the
 * private and isolated tiers goes through gateway endpoints instead of the NAT.
 */
export class Network extends Construct {
  readonly vpc: Vpc;
  readonly subnets: Record<SubnetTier, Subnet[]>;
  readonly natGateways: NatGateway[];
  readonly routeTables: { public: RouteTable; private: RouteTable[]; isolated: RouteTable };
  readonly gatewayEndpoints: Record<GatewayService, VpcEndpoint>;
  readonly flowLogGroup: CloudwatchLogGroup;

  constructor(
    scope: Construct,
    id: string,
    private readonly props: NetworkProps,
  ) {
    super(scope, id);
    const { namePrefix } = props;
    const vpcCidr = props.vpcCidr ?? NETWORK_DEFAULTS.vpcCidr;
    const azCount = props.azCount ?? NETWORK_DEFAULTS.azCount;
    const name = (suffix: string) => ({ Name: `${namePrefix}-${suffix}` });
    const zones = Array.from({ length: azCount }, (_, index) => index);
    const zoneName = this.zoneNames(props.availabilityZones);

    this.vpc = new Vpc(this, "vpc", {
      cidrBlock: vpcCidr,
      // RDS endpoints and interface endpoints resolve through the VPC resolver.
      enableDnsSupport: true,
      enableDnsHostnames: true,
      tags: name("vpc"),
    });
    new DefaultSecurityGroup(this, "default-security-group", { vpcId: this.vpc.id, tags: name("default-unused") });

    const layout = subnetLayout({ vpcCidr, azCount, subnetCidrs: props.subnetCidrs });
    const subnetsOf = (tier: SubnetTier) =>
      zones.map(
        (zone) =>
          new Subnet(this, `${tier}-subnet-${zone}`, {
            vpcId: this.vpc.id,
            cidrBlock: layout[tier][zone],
            availabilityZone: zoneName(zone),
            // NAT gateways use Elastic IPs and Lambda never gets a public IP, so nothing needs one.
            mapPublicIpOnLaunch: false,
            tags: { ...name(`${tier}-${zone}`), Tier: tier },
          }),
      );
    this.subnets = { public: subnetsOf("public"), private: subnetsOf("private"), isolated: subnetsOf("isolated") };

    const internetGateway = new InternetGateway(this, "internet-gateway", { vpcId: this.vpc.id, tags: name("igw") });
    const publicRouteTable = new RouteTable(this, "public-routes", { vpcId: this.vpc.id, tags: name("public") });
    new Route(this, "public-default-route", {
      routeTableId: publicRouteTable.id,
      destinationCidrBlock: "0.0.0.0/0",
      gatewayId: internetGateway.id,
    });

    const natZones = (props.natGateways ?? NETWORK_DEFAULTS.natGateways) === "per-az" ? zones : [0];
    this.natGateways = natZones.map((zone) => {
      const address = new Eip(this, `nat-address-${zone}`, { domain: "vpc", tags: name(`nat-${zone}`) });
      return new NatGateway(this, `nat-gateway-${zone}`, {
        allocationId: address.allocationId,
        subnetId: this.subnets.public[zone].id,
        tags: name(`nat-${zone}`),
        dependsOn: [internetGateway],
      });
    });

    const privateRouteTables = zones.map((zone) => {
      const table = new RouteTable(this, `private-routes-${zone}`, { vpcId: this.vpc.id, tags: name(`private-${zone}`) });
      new Route(this, `private-default-route-${zone}`, {
        routeTableId: table.id,
        destinationCidrBlock: "0.0.0.0/0",
        natGatewayId: this.natGateways[Math.min(zone, this.natGateways.length - 1)].id,
      });
      return table;
    });
    // Only the VPC's local route: the database tier cannot reach or be reached from the internet.
    const isolatedRouteTable = new RouteTable(this, "isolated-routes", { vpcId: this.vpc.id, tags: name("isolated") });
    this.routeTables = { public: publicRouteTable, private: privateRouteTables, isolated: isolatedRouteTable };

    const associate = (tier: SubnetTier, tableOf: (zone: number) => RouteTable) => {
      for (const zone of zones) {
        new RouteTableAssociation(this, `${tier}-association-${zone}`, {
          subnetId: this.subnets[tier][zone].id,
          routeTableId: tableOf(zone).id,
        });
      }
    };
    associate("public", () => publicRouteTable);
    associate("private", (zone) => privateRouteTables[zone]);
    associate("isolated", () => isolatedRouteTable);

    const gatewayEndpoint = (service: GatewayService) =>
      new VpcEndpoint(this, `${service}-endpoint`, {
        vpcId: this.vpc.id,
        serviceName: `com.amazonaws.${props.region}.${service}`,
        vpcEndpointType: "Gateway",
        routeTableIds: [...privateRouteTables, isolatedRouteTable].map((table) => table.id),
        tags: name(`${service}-endpoint`),
      });
    this.gatewayEndpoints = { s3: gatewayEndpoint("s3"), dynamodb: gatewayEndpoint("dynamodb") };

    this.flowLogGroup = this.flowLogs(namePrefix, props.flowLogRetentionDays ?? NETWORK_DEFAULTS.flowLogRetentionDays);
  }

  /** The addresses of a gateway endpoint's service: a path to them takes the endpoint, never the NAT. */
  gatewayEndpointPeer(service: GatewayService): AddressPeer {
    return Peer.prefixList(
      service,
      this.gatewayEndpoints[service].prefixListId,
      `${GATEWAY_SERVICE_TITLES[service]} through the gateway endpoint only`,
    );
  }

  /**
   * An interface endpoint in the private subnets with private DNS, so the service's usual host name
   * resolves inside the VPC and calls to it need no NAT. Admits only the paths opened to its `connections`.
   * @param title how rule descriptions name the service, e.g. "Secrets Manager"
   */
  addInterfaceEndpoint(service: string, title: string): InterfaceEndpoint {
    return new InterfaceEndpoint(this, `${service}-endpoint`, {
      name: `${this.props.namePrefix}-${service}-endpoint`,
      title,
      serviceName: `com.amazonaws.${this.props.region}.${service}`,
      vpcId: this.vpc.id,
      subnetIds: this.subnets.private.map((subnet) => subnet.id),
    });
  }

  /** Zone names from configuration, or the region's zones that need no opt-in. */
  private zoneNames(names: string[] | undefined): (zone: number) => string {
    if (names) {
      return (zone) => names[zone];
    }
    const available = new DataAwsAvailabilityZones(this, "zones", {
      state: "available",
      filter: [{ name: "opt-in-status", values: ["opt-in-not-required"] }],
    });
    return (zone) => Fn.element(available.names, zone);
  }

  private flowLogs(namePrefix: string, retentionDays: number): CloudwatchLogGroup {
    const context = AwsContext.of(this);
    const logGroup = this.props.logs.logGroup(this, "flow-log-group", { name: flowLogGroupName(namePrefix), retentionDays });
    const flowLogArn = context.arn("ec2", `vpc-flow-log/*`);
    const trust = new DataAwsIamPolicyDocument(this, "flow-log-trust", {
      statement: [
        {
          actions: ["sts:AssumeRole"],
          principals: [{ type: "Service", identifiers: ["vpc-flow-logs.amazonaws.com"] }],
          // Only flow logs of this account may use the role (confused-deputy guard).
          condition: [
            { test: "StringEquals", variable: "aws:SourceAccount", values: [context.accountId] },
            { test: "ArnLike", variable: "aws:SourceArn", values: [flowLogArn] },
          ],
        },
      ],
    });
    const role = new IamRole(this, "flow-log-role", {
      name: `${namePrefix}-flow-logs`,
      assumeRolePolicy: trust.json,
    });
    const write = new DataAwsIamPolicyDocument(this, "flow-log-write", {
      statement: [
        {
          actions: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
          resources: [`${logGroup.arn}:*`],
        },
      ],
    });
    new IamRolePolicy(this, "flow-log-policy", { name: "write-flow-logs", role: role.name, policy: write.json });
    new FlowLog(this, "flow-log", {
      vpcId: this.vpc.id,
      trafficType: "ALL",
      logDestinationType: "cloud-watch-logs",
      logDestination: logGroup.arn,
      iamRoleArn: role.arn,
      maxAggregationInterval: 60,
      tags: { Name: `${namePrefix}-flow-logs` },
    });
    return logGroup;
  }
}

interface InterfaceEndpointProps {
  readonly name: string;
  /** How rule descriptions name the service, e.g. "Secrets Manager". */
  readonly title: string;
  readonly serviceName: string;
  readonly vpcId: string;
  readonly subnetIds: string[];
}

export class InterfaceEndpoint extends Construct {
  readonly endpoint: VpcEndpoint;
  readonly securityGroup: SecurityGroup;
  /** HTTPS from a client: `client.connections.allowTo(endpoint.connections, 443, "HTTPS")`. */
  readonly connections: Connections;

  constructor(scope: Construct, id: string, props: InterfaceEndpointProps) {
    super(scope, id);
    this.securityGroup = new SecurityGroup(this, "security-group", {
      name: props.name,
      description: `${props.serviceName} endpoint: HTTPS in from allowed groups only`,
      vpcId: props.vpcId,
      tags: { Name: props.name },
    });
    this.endpoint = new VpcEndpoint(this, "endpoint", {
      vpcId: props.vpcId,
      serviceName: props.serviceName,
      vpcEndpointType: "Interface",
      privateDnsEnabled: true,
      subnetIds: props.subnetIds,
      securityGroupIds: [this.securityGroup.id],
      tags: { Name: props.name },
    });
    this.connections = new Connections(this, this.securityGroup, `the ${props.title} endpoint`);
  }
}
