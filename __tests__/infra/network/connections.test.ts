import { TerraformStack } from "cdktf";
import { Construct } from "constructs";
import { SecurityGroup } from "@cdktf/provider-aws/lib/security-group";
import { Connections, Peer } from "../../../src/network/connections";
import { synthesize, testApp } from "../synth";

/** Two constructs with a group each, as a function and a database have. */
function twoEnds() {
  const stack = new TerraformStack(testApp(), "connections");
  const end = (id: string, name: string) => {
    const scope = new Construct(stack, id);
    return new Connections(scope, new SecurityGroup(scope, "group", { name: id }), name);
  };
  return { stack, client: end("client", "Lambda client"), server: end("server", "the server") };
}

describe("Connections.allowTo", () => {
  it("opens a path to another group with both halves: egress here, ingress there, each in its own end's scope", () => {
    const { stack, client, server } = twoEnds();
    const path = client.allowTo(server, 3306, "MySQL");
    const s = synthesize(stack);
    const [clientGroup, serverGroup] = ["client", "server"].map((id) => s.ref("aws_security_group", `${id}/group`, "id"));
    const tcp = { ip_protocol: "tcp", from_port: 3306, to_port: 3306 };
    expect(s.all("aws_vpc_security_group_egress_rule")).toEqual({
      [`client/egress-${server.securityGroup.friendlyUniqueId}-3306`]: {
        security_group_id: clientGroup,
        referenced_security_group_id: serverGroup,
        ...tcp,
        description: "MySQL to the server",
      },
    });
    expect(s.all("aws_vpc_security_group_ingress_rule")).toEqual({
      [`server/ingress-from-${client.securityGroup.friendlyUniqueId}`]: {
        security_group_id: serverGroup,
        referenced_security_group_id: clientGroup,
        ...tcp,
        description: "MySQL from Lambda client",
      },
    });
    expect(path.rules).toEqual([path.egress, path.ingress]);
  });

  it("opens a path to addresses with the egress rule alone: there is no group on the other end", () => {
    const { stack, client } = twoEnds();
    client.allowTo(Peer.anyIpv4("the internet"), 443, "HTTPS");
    client.allowTo(Peer.prefixList("s3", "pl-6da54004", "S3 through the gateway endpoint only"), 443, "HTTPS");
    const s = synthesize(stack);
    const group = s.ref("aws_security_group", "client/group", "id");
    const https = { ip_protocol: "tcp", from_port: 443, to_port: 443 };
    expect(s.all("aws_vpc_security_group_egress_rule")).toEqual({
      "client/egress-internet": { security_group_id: group, cidr_ipv4: "0.0.0.0/0", ...https, description: "HTTPS to the internet" },
      "client/egress-s3": {
        security_group_id: group,
        prefix_list_id: "pl-6da54004",
        ...https,
        description: "HTTPS to S3 through the gateway endpoint only",
      },
    });
    expect(s.json.resource.aws_vpc_security_group_ingress_rule).toBeUndefined();
  });

  it("refuses a second path between the same two groups, naming both", () => {
    const { client, server } = twoEnds();
    client.allowTo(server, 3306, "MySQL");
    expect(() => client.allowTo(server, 443, "HTTPS")).toThrow(
      "Connections.allowTo: Lambda client already reaches the server; open one port per pair of groups",
    );
  });
});
