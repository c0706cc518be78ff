import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { startAwsStub, stubAccessKey } from "../../../../scripts/review/plans/aws-stub";
import { findProvider, forPlanning } from "../../../../scripts/review/plans/record-plans";
import type { TerraformJson } from "../../../../scripts/stacks/synthesized-stack";
import { tempDir } from "../../temp";

const stack: TerraformJson = {
  terraform: { backend: { s3: { bucket: "state" } }, required_providers: { aws: { source: "aws", version: "6.25.0" } } },
  provider: {
    aws: [
      { region: "eu-west-1", allowed_account_ids: ["222222222222"], assume_role: [{ role_arn: "arn:aws:iam::222222222222:role/deploy" }] },
    ],
  },
  data: { aws_region: { here: {} } },
  resource: {
    aws_db_proxy: { proxy: { name: "p", default_auth_scheme: "IAM_AUTH" } },
    aws_ssm_parameter: { region: { name: "r", value: "${data.aws_region.here.region}" } },
  },
};

describe("plans:record", () => {
  it("plans a stack with no backend, the mirror's provider pinned, its calls sent to the stub as the stack's own account", () => {
    const planned = forPlanning(stack, "6.25.0", "http://127.0.0.1:1");
    expect(planned.terraform).toEqual({ required_providers: { aws: { source: "hashicorp/aws", version: "6.25.0" } } });
    expect(planned.provider?.aws).toEqual([
      expect.objectContaining({
        region: "eu-west-1",
        allowed_account_ids: ["222222222222"],
        access_key: stubAccessKey("222222222222"),
        skip_credentials_validation: true,
        endpoints: [{ sts: "http://127.0.0.1:1", ec2: "http://127.0.0.1:1", apigatewayv2: "http://127.0.0.1:1" }],
      }),
    ]);
    expect((planned.provider!.aws as object[])[0]).not.toHaveProperty("assume_role");
    // 6.x as synthesized: nothing rewritten.
    expect(planned.resource).toEqual(stack.resource);
  });

  it("writes what provider 5.x lacks the 5.x way: the region's `name`, an auth block for RDS Proxy", () => {
    const planned = forPlanning(stack, "5.100.0", "http://127.0.0.1:1");
    expect(planned.resource?.aws_ssm_parameter.region.value).toBe("${data.aws_region.here.name}");
    expect(planned.resource?.aws_db_proxy.proxy).toEqual({
      name: "p",
      auth: [expect.objectContaining({ iam_auth: "REQUIRED" })],
    });
  });

  it("takes the highest provider version of a filesystem mirror, and names the fix when there is none", () => {
    const mirror = tempDir("mirror-");
    for (const version of ["5.9.0", "5.100.0", "5.31.0"])
      mkdirSync(join(mirror, "registry.terraform.io/hashicorp/aws", version, "linux_amd64"), { recursive: true });
    expect(findProvider({ TF_PLUGIN_MIRROR: mirror })).toEqual({ mirror, version: "5.100.0" });
    expect(() => findProvider({ TF_PLUGIN_MIRROR: tempDir("empty-") })).toThrow(/set TF_PLUGIN_MIRROR/);
  });

  it("answers the provider's two plan-time calls for the account of the access key and the region signed for, and refuses others by name", async () => {
    const { url, server } = await startAwsStub();
    const call = (action: string) =>
      fetch(url, {
        method: "POST",
        headers: { authorization: `AWS4-HMAC-SHA256 Credential=${stubAccessKey("333333333333")}/20260101/eu-central-1/sts/aws4_request` },
        body: `Action=${action}&Version=2011-06-15`,
      }).then(async (response) => [response.status, await response.text()] as const);
    try {
      const [identity, zones, other] = [await call("GetCallerIdentity"), await call("DescribeAvailabilityZones"), await call("ListRoles")];
      expect(identity).toEqual([200, expect.stringContaining("<Account>333333333333</Account>")]);
      expect(zones).toEqual([200, expect.stringContaining("<zoneName>eu-central-1c</zoneName>")]);
      expect(other).toEqual([400, expect.stringContaining("does not answer ListRoles")]);
    } finally {
      server.close();
    }
  });
});
