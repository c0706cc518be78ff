import { TerraformOutput, TerraformStack } from "cdktf";
import { Construct } from "constructs";
import { DataAwsRegion } from "@cdktf/provider-aws/lib/data-aws-region";
import { SqsQueue } from "@cdktf/provider-aws/lib/sqs-queue";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { resourcesOfType, terraformTypeOf } from "../../../src/core/terraform-type";
import { testApp } from "../synth";

describe("terraformTypeOf", () => {
  const stack = new TerraformStack(testApp(), "types");
  const provider = new AwsProvider(stack, "aws", { region: "eu-west-1" });
  const queue = new SqsQueue(stack, "queue");
  const region = new DataAwsRegion(stack, "region");

  it("reads resources as their type, data sources as data.<type>, and nothing else as a type", () => {
    expect(terraformTypeOf(queue)).toBe("aws_sqs_queue");
    expect(terraformTypeOf(region)).toBe("data.aws_region");
    // A provider declares a terraformResourceType too, but is no resource.
    expect(provider.terraformResourceType).toBe("aws");
    expect(terraformTypeOf(provider)).toBeUndefined();
    expect(terraformTypeOf(new TerraformOutput(stack, "out", { value: "x" }))).toBeUndefined();
    expect(terraformTypeOf(new Construct(stack, "plain"))).toBeUndefined();
  });

  it("knows constructs of a second copy of cdktf and the provider, which instanceof does not", () => {
    jest.isolateModules(() => {
      const second = require("@cdktf/provider-aws/lib/sqs-queue") as typeof import("@cdktf/provider-aws/lib/sqs-queue");
      const other = new second.SqsQueue(stack, "other-copy");
      expect(other instanceof SqsQueue).toBe(false);
      expect(terraformTypeOf(other)).toBe("aws_sqs_queue");
    });
    expect(resourcesOfType(stack, "aws_sqs_queue").map((construct) => construct.node.id)).toEqual(["queue", "other-copy"]);
  });
});
