import { compareStacks, isExpected, renderComparison } from "../../../../scripts/terrain/compare-stacks";
import type { TerraformJson } from "../../../../scripts/stacks/synthesized-stack";
import { serviceStack, synthesizedJson } from "../../synth";

/** A real service stack as cdktf 0.21 writes it (construct paths in the `//` metadata), whichever library the tests run on. */
function asCdktf(): any {
  const json: any = synthesizedJson(serviceStack());
  json.terraform.required_providers.aws = { source: "aws", version: "6.25.0" };
  json["//"].metadata.version = "0.21.0";
  return json;
}
const dev = asCdktf() as TerraformJson;
const copy = (): any => structuredClone(dev);
/** What CDK Terrain writes for the same stack: the provider pinned anew and its own version in the metadata. */
function asCdktn(json: any = copy()): any {
  json.terraform.required_providers.aws = { source: "hashicorp/aws", version: "6.66.0" };
  json["//"].metadata.version = "0.24.0";
  return json;
}
const vpcName = Object.keys((dev.resource as any).aws_vpc)[0];

describe("npm run terrain:compare", () => {
  it("finds nothing between a stack and itself", () => {
    expect(compareStacks({ dev }, { dev: copy() })).toEqual([]);
    expect(renderComparison({ dev }, { dev: copy() })).toEqual({
      ok: true,
      text: "Compared the stacks dev: 0 expected differences (provider pins, library version).\nNo other difference: the same infrastructure.",
    });
  });

  it("accepts the provider pin and the library version, one line each naming the stacks", () => {
    const { text, ok } = renderComparison({ dev, prod: dev }, { dev: asCdktn(), prod: asCdktn() });
    expect(ok).toBe(true);
    expect(text).toBe(
      [
        "Compared the stacks dev, prod: 6 expected differences (provider pins, library version).",
        "No other difference: the same infrastructure.",
        `  //.metadata.version: "0.21.0" -> "0.24.0" (dev, prod)`,
        `  terraform.required_providers.aws.source: "aws" -> "hashicorp/aws" (dev, prod)`,
        `  terraform.required_providers.aws.version: "6.25.0" -> "6.66.0" (dev, prod)`,
      ].join("\n"),
    );
  });

  it("fails on any other difference, naming its path, its construct and both values", () => {
    const changed = asCdktn();
    changed.resource.aws_vpc[vpcName].cidr_block = "10.9.0.0/16";
    changed.resource.aws_vpc[vpcName].tags_all = {};
    const { text, ok } = renderComparison({ dev }, { dev: changed });
    expect(ok).toBe(false);
    expect(text.split("\n").slice(1)).toEqual([
      "2 unexpected differences: CDK Terrain would change what Terraform applies.",
      `  dev: resource.aws_vpc.${vpcName}.cidr_block (dev/network/vpc)`,
      `    cdktf: "${(dev.resource as any).aws_vpc[vpcName].cidr_block}"`,
      `    cdktn: "10.9.0.0/16"`,
      `  dev: resource.aws_vpc.${vpcName}.tags_all (dev/network/vpc)`,
      "    cdktf: (absent)",
      "    cdktn: {}",
    ]);
  });

  it("fails on a stack, a block or a list only one side has", () => {
    const shorter = asCdktn();
    const [firstRule] = Object.keys(shorter.resource.aws_vpc_security_group_egress_rule);
    shorter.moved = [{ from: "a.b", to: "a.c" }];
    delete shorter.resource.aws_vpc_security_group_egress_rule[firstRule];
    const found = compareStacks({ dev, "dev-state": dev }, { dev: shorter });
    expect(found.filter((difference) => !isExpected(difference)).map(({ stack, path }) => `${stack}: ${path.join(".")}`)).toEqual([
      "dev: moved",
      `dev: resource.aws_vpc_security_group_egress_rule.${firstRule}`,
      "dev-state: ",
    ]);
    expect(renderComparison({ "dev-state": dev }, {}).text).toContain("  dev-state: (the whole stack)\n    cdktf: {");
  });

  it.each([
    [["terraform", "required_providers", "aws", "version"], true],
    [["terraform", "required_providers", "random", "source"], true],
    [["//", "metadata", "version"], true],
    [["terraform", "required_providers", "aws", "configuration_aliases"], false],
    [["terraform", "required_version"], false],
    [["terraform", "backend", "s3", "version"], false],
    [["//", "metadata", "stackName"], false],
    [["provider", "aws", 0, "region"], false],
  ])("counts %j as expected: %s", (path, expected) => {
    expect(isExpected({ path })).toBe(expected);
  });
});
