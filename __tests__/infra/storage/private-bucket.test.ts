import { TerraformStack } from "cdktf";
import { privateBucket } from "../../../src/storage/private-bucket";
import { testApp } from "../synth";

describe("privateBucket", () => {
  it("refuses forceDestroy on a bucket kept from destroy, naming the fix", () => {
    const stack = new TerraformStack(testApp(), "buckets");
    const props = {
      name: "b",
      encryption: { applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } },
      lifecycleRule: { id: "r", status: "Enabled" },
    };
    expect(() => privateBucket(stack, { ...props, forceDestroy: true })).toThrow(
      "privateBucket b: forceDestroy deletes the objects of a bucket that is destroyed; set preventDestroy: false with it, or leave it out",
    );
  });
});
