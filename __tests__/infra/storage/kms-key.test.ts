import { KEY_ADMINISTRATION_ACTIONS } from "../../../src/storage/kms-key";
import { synthApp } from "../synth";
import { describeKeyRules } from "./key-rules";

/** Calls that use a key rather than administer it. */
const USE = /^kms:(Encrypt|Decrypt|ReEncrypt|GenerateDataKey|CreateGrant|Sign|Verify|GenerateMac|VerifyMac|DeriveSharedSecret|\*)/;

describe("every KMS key of every checked-in environment's stacks", () => {
  describeKeyRules(synthApp());
});

describe("key administration", () => {
  it("is free of any way to use a key", () => {
    expect(KEY_ADMINISTRATION_ACTIONS.filter((action) => USE.test(action))).toEqual([]);
  });
});
