import type { Construct } from "constructs";
import type { SecurityGroup } from "@cdktf/provider-aws/lib/security-group";
import { VpcSecurityGroupEgressRule } from "@cdktf/provider-aws/lib/vpc-security-group-egress-rule";
import { VpcSecurityGroupIngressRule } from "@cdktf/provider-aws/lib/vpc-security-group-ingress-rule";

/** Addresses outside any security group of the stack: a CIDR block or a managed prefix list (a gateway endpoint's). */
export interface AddressPeer {
  /** Names the egress rule's construct (`egress-<id>`). */
  readonly id: string;
  /** What the rule's description says it reaches, e.g. "S3 through the gateway endpoint only". */
  readonly name: string;
  readonly cidrIpv4?: string;
  readonly prefixListId?: string;
}

/** Peers that are not security groups. */
export const Peer = {
  /** Any IPv4 address: through the NAT gateway to the internet and AWS's public endpoints. */
  anyIpv4: (name: string): AddressPeer => ({ id: "internet", name, cidrIpv4: "0.0.0.0/0" }),
  /** The addresses of a managed prefix list, such as a gateway endpoint's: traffic to them takes the endpoint's route. */
  prefixList: (id: string, prefixListId: string, name: string): AddressPeer => ({ id, name, prefixListId }),
};

/** Both halves of one network path: the egress rule of the source and, when the target is a group, its ingress rule. */
export interface NetworkPath {
  readonly egress: VpcSecurityGroupEgressRule;
  readonly ingress?: VpcSecurityGroupIngressRule;
  /** Both rules, for `dependsOn`: traffic flows only once both exist. */
  readonly rules: (VpcSecurityGroupEgressRule | VpcSecurityGroupIngressRule)[];
}

/**
 * The network end of something with a security group, like aws-cdk-lib's `ec2.Connections`: one call,
 * `allowTo`, opens a path from its members to a peer, making the egress rule here and the peer's
 * ingress rule there. Security groups start with no rules, so a path exists only where it was opened.
 */
export class Connections {
  /**
   * @param scope the construct the rules of this end are made in (their Terraform addresses follow it)
   * @param name how rule descriptions name this end, e.g. "Lambda lambda-rds-iam-dev-api", "the database"
   */
  constructor(
    private readonly scope: Construct,
    readonly securityGroup: SecurityGroup,
    readonly name: string,
  ) {}

  /**
   * Lets members of this group open TCP connections on `port` to `peer`. `protocol` names the traffic
   * in the descriptions ("MySQL to the database", "MySQL from Lambda ...").
   */
  allowTo(peer: Connections | AddressPeer, port: number, protocol: string): NetworkPath {
    const tcp = { ipProtocol: "tcp", fromPort: port, toPort: port };
    if (!(peer instanceof Connections)) {
      const egress = new VpcSecurityGroupEgressRule(this.scope, `egress-${peer.id}`, {
        securityGroupId: this.securityGroup.id,
        cidrIpv4: peer.cidrIpv4,
        prefixListId: peer.prefixListId,
        ...tcp,
        description: `${protocol} to ${peer.name}`,
      });
      return { egress, rules: [egress] };
    }
    const ingressId = `ingress-from-${this.securityGroup.friendlyUniqueId}`;
    if (peer.scope.node.tryFindChild(ingressId)) {
      throw new Error(`Connections.allowTo: ${this.name} already reaches ${peer.name}; open one port per pair of groups`);
    }
    const egress = new VpcSecurityGroupEgressRule(this.scope, `egress-${peer.securityGroup.friendlyUniqueId}-${port}`, {
      securityGroupId: this.securityGroup.id,
      referencedSecurityGroupId: peer.securityGroup.id,
      ...tcp,
      description: `${protocol} to ${peer.name}`,
    });
    const ingress = new VpcSecurityGroupIngressRule(peer.scope, ingressId, {
      securityGroupId: peer.securityGroup.id,
      referencedSecurityGroupId: this.securityGroup.id,
      ...tcp,
      description: `${protocol} from ${this.name}`,
    });
    return { egress, ingress, rules: [egress, ingress] };
  }
}
