import type { Construct } from "constructs";
import type { SecurityGroup } from "@cdktf/provider-aws/lib/security-group";
import { VpcSecurityGroupEgressRule } from "@cdktf/provider-aws/lib/vpc-security-group-egress-rule";
import { VpcSecurityGroupIngressRule } from "@cdktf/provider-aws/lib/vpc-security-group-ingress-rule";

interface TcpRule {
  /** The group the rule belongs to. */
  readonly group: SecurityGroup;
  /** The group on the other end: the source of an ingress rule, the target of an egress rule. */
  readonly peer: SecurityGroup;
  readonly port: number;
  readonly description: string;
}

const ruleProps = ({ group, peer, port, description }: TcpRule) => ({
  securityGroupId: group.id,
  referencedSecurityGroupId: peer.id,
  ipProtocol: "tcp",
  fromPort: port,
  toPort: port,
  description,
});

/** Admits TCP on one port from members of the peer group only. */
export function tcpIngress(scope: Construct, rule: TcpRule): VpcSecurityGroupIngressRule {
  return new VpcSecurityGroupIngressRule(scope, `ingress-from-${rule.peer.friendlyUniqueId}`, ruleProps(rule));
}

/** Lets members of the group open TCP connections on one port to members of the peer group only. */
export function tcpEgress(scope: Construct, rule: TcpRule): VpcSecurityGroupEgressRule {
  return new VpcSecurityGroupEgressRule(scope, `egress-${rule.peer.friendlyUniqueId}-${rule.port}`, ruleProps(rule));
}
