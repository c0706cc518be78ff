import { DataResource, Fn, TerraformOutput, TerraformStack, Testing } from "cdktf";
import { TerraformData } from "../../../src/core/terraform-data";
import { testApp } from "../synth";

describe("TerraformData", () => {
  const stack = new TerraformStack(testApp(), "stack");
  const props = { input: { at: Fn.timestamp() }, lifecycle: { ignoreChanges: ["input"] } };
  const ours = new TerraformData(stack, "ours", props);
  const cdktfs = new DataResource(stack, "cdktfs", props);
  new TerraformOutput(stack, "ours_at", { value: ours.output.lookup("at") });
  new TerraformOutput(stack, "cdktfs_at", { value: cdktfs.output.lookup("at") });
  const json = JSON.parse(Testing.synth(stack));

  it("writes the terraform_data block cdktf's DataResource writes", () => {
    expect(json.resource.terraform_data.ours).toEqual({ input: { at: "${timestamp()}" }, lifecycle: { ignore_changes: ["input"] } });
    expect(json.resource.terraform_data.ours).toEqual(json.resource.terraform_data.cdktfs);
  });

  it("is referred to the way DataResource is", () => {
    expect(json.output.ours_at.value).toBe('${terraform_data.ours.output["at"]}');
    expect(json.output.cdktfs_at.value).toBe('${terraform_data.cdktfs.output["at"]}');
  });
});
