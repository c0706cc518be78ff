import { TerraformStack } from "cdktf";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { PermissionsBoundary } from "../../../src/iam/permissions-boundary";
import { synthesize, testApp } from "../synth";

const BOUNDARY = "arn:aws:iam::111111111111:policy/boundary";

describe("PermissionsBoundary.of(scope).apply", () => {
  it("bounds every role under the scope, those made after the call included, and no role outside it", () => {
    const app = testApp();
    const stack = new TerraformStack(app, "bounded");
    new IamRole(stack, "before", { assumeRolePolicy: "{}" });
    PermissionsBoundary.of(stack).apply(BOUNDARY);
    new IamRole(stack, "after", { assumeRolePolicy: "{}" });
    const other = new TerraformStack(app, "other");
    new IamRole(other, "unbounded", { assumeRolePolicy: "{}" });

    const roles = synthesize(stack).all("aws_iam_role");
    expect(Object.fromEntries(Object.entries(roles).map(([path, role]) => [path, role.permissions_boundary]))).toEqual({
      before: BOUNDARY,
      after: BOUNDARY,
    });
    expect(synthesize(other).resource("aws_iam_role", "unbounded").permissions_boundary).toBeUndefined();
  });

  it("bounds a role made by another copy of cdktf and the provider (an npm alias, a provider with its own) the same", () => {
    const stack = new TerraformStack(testApp(), "bounded");
    PermissionsBoundary.of(stack).apply(BOUNDARY);
    jest.isolateModules(() => {
      const second = require("@cdktf/provider-aws/lib/iam-role") as typeof import("@cdktf/provider-aws/lib/iam-role");
      expect(second.IamRole).not.toBe(IamRole);
      new second.IamRole(stack, "other-copy", { assumeRolePolicy: "{}" });
    });
    const [role] = Object.values(synthesize(stack).json.resource.aws_iam_role);
    expect(role).toMatchObject({ assume_role_policy: "{}", permissions_boundary: BOUNDARY });
  });

  it("refuses a role that names a boundary of its own, naming the role", () => {
    const stack = new TerraformStack(testApp(), "bounded");
    new IamRole(stack, "own", { assumeRolePolicy: "{}", permissionsBoundary: "arn:aws:iam::aws:policy/AdministratorAccess" });
    PermissionsBoundary.of(stack).apply(BOUNDARY);
    expect(() => synthesize(stack)).toThrow(
      `bounded/own: has the permissions boundary arn:aws:iam::aws:policy/AdministratorAccess, but ${BOUNDARY} bounds every role here; remove the role's own`,
    );
  });
});
