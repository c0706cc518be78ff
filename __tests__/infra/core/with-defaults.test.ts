import { Testing, TerraformStack } from "cdktf";
import { withDefaults } from "../../../src/core/with-defaults";
import { stackConfigSchema } from "../../../src/config/stack-config";
import { DATABASE_INSTANCE_DEFAULTS } from "../../../src/database/database-instance-props";
import { ALARM_DEFAULTS } from "../../../src/monitoring/alarm-props";
import { Network } from "../../../src/network/network";
import { NETWORK_DEFAULTS } from "../../../src/network/network-props";
import { LogEncryption } from "../../../src/storage/log-encryption";
import { MINIMAL, testApp } from "../synth";

describe("withDefaults", () => {
  it("takes a prop that is given, and the default for one left out or given as undefined", () => {
    const merged = withDefaults({ azCount: 2, natGateways: "single" }, { azCount: 3, natGateways: undefined, extra: "kept" });
    expect(merged).toEqual({ azCount: 3, natGateways: "single", extra: "kept" });
  });

  it("keeps false and 0, which are values, not absences", () => {
    expect(withDefaults({ multiAz: true, monitoring: 60 }, { multiAz: false, monitoring: 0 })).toEqual({ multiAz: false, monitoring: 0 });
  });
});

describe("construct defaults", () => {
  it("are the configuration schema's defaults: an empty configuration gets exactly what a construct does with no props", () => {
    const config = stackConfigSchema.parse(MINIMAL);
    expect(config.network).toEqual(NETWORK_DEFAULTS);
    const { proxy, ...instance } = config.database;
    expect({ proxy, instance }).toEqual({ proxy: false, instance: DATABASE_INSTANCE_DEFAULTS });
    const { subscriptions, ...thresholds } = config.alarms;
    expect({ subscriptions, thresholds }).toEqual({ subscriptions: [], thresholds: ALARM_DEFAULTS });
  });

  it("apply when a construct is used on its own: a Network with only its required props spans two zones of 10.0.0.0/16 behind one NAT", () => {
    const stack = new TerraformStack(testApp(), "network-only");
    const logs = new LogEncryption(stack, "logs", { namePrefix: "solo" });
    new Network(stack, "network", { namePrefix: "solo", region: "eu-west-1", logs });
    const json = JSON.parse(Testing.synth(stack));
    const vpcs = Object.values(json.resource.aws_vpc) as { cidr_block: string }[];
    expect(vpcs.map((vpc) => vpc.cidr_block)).toEqual(["10.0.0.0/16"]);
    expect(Object.keys(json.resource.aws_subnet)).toHaveLength(3 * 2);
    expect(Object.keys(json.resource.aws_nat_gateway)).toHaveLength(1);
  });
});
