import { TYPE_PERMISSIONS } from "../../../src/ci/ci-permissions";
import { ENVIRONMENTS } from "../../../src/config/environments";
import { AWS, type Decision, type Request, decide, managedPoliciesOf, resolve, roleOf } from "../iam-simulation";
import { type Synthesized, synthApp, synthStateStack } from "../synth";

/**
 * A state stack that keeps its state in its bucket (state.selfHosted) is planned in pull requests with the
 * plan role: what IAM would decide for the plan and deploy roles, once applied, about that stack's state
 * and every resource it holds.
 */
const CI = { repository: "acme/lambda-rds-iam" };
const SELF_HOSTED = Object.fromEntries(Object.keys(ENVIRONMENTS).map((name) => [name, { ci: CI, state: { selfHosted: true } }]));
const S3_VIA = { "kms:ViaService": `s3.${AWS.region}.${AWS.dnsSuffix}` };

type Block = Record<string, any>;

/** The ARN a read of this block's type acts on: its own (or its bucket's, its role's) where IAM scopes the read, "*" otherwise. */
function readTarget(state: Synthesized<any>, kind: "resource" | "data", type: string, id: string, block: Block): string {
  if (kind === "data") return "*";
  const arnOf = (reference: string) => resolve(state.json, reference.replace(/\.(id|name)\}$/, ".arn}"));
  if (["aws_iam_role", "aws_iam_policy", "aws_iam_openid_connect_provider", "aws_s3_bucket", "aws_kms_key"].includes(type)) {
    return resolve(state.json, `\${${type}.${id}.arn}`);
  }
  if (type.startsWith("aws_s3_bucket_")) return arnOf(block.bucket);
  if (type === "aws_iam_role_policy_attachment") return arnOf(block.role);
  return "*";
}

describe.each(Object.keys(ENVIRONMENTS))("%s-state kept in its bucket, planned by the plan role", (name) => {
  const { state, service } = synthApp({ overrides: SELF_HOSTED }).find((environment) => environment.name === name)!;
  const planRole = roleOf(state.json, state.resource("aws_iam_role", "ci/plan-role"));
  const deployRole = roleOf(state.json, state.resource("aws_iam_role", "ci/deploy-role"));
  const asPlanRole = (request: Omit<Request, "principal">) =>
    decide({ principal: planRole.arn, ...request }, managedPoliciesOf(state.json, planRole));
  const asDeployRole = (request: Omit<Request, "principal">) =>
    decide({ principal: deployRole.arn, ...request }, managedPoliciesOf(state.json, deployRole));
  const bucketArn = resolve(state.json, state.ref("aws_s3_bucket", "bucket", "arn"));
  const keyArn = resolve(state.json, state.ref("aws_kms_key", "key", "arn"));
  const ownState = `${bucketArn}/${state.json.terraform.backend.s3.key}`;
  const serviceState = `${bucketArn}/${service.json.terraform.backend.s3.key}`;

  it("keeps the stack's state under a key of its own beside the service stack's, in the same bucket, with the same key and locking", () => {
    const { key, ...backend } = state.json.terraform.backend.s3;
    const { key: serviceKey, ...serviceBackend } = service.json.terraform.backend.s3;
    expect(key).toBe(serviceKey.replace(/[^/]+\.tfstate$/, `${name}-state.tfstate`));
    expect(backend).toEqual(serviceBackend);
    expect(backend).toMatchObject({ encrypt: true, use_lockfile: true });
  });

  it("lets the plan role refresh every resource and data source of the stack: each read of its type, on it", async () => {
    const refused: { address: string; action: string; resource: string; decision: Decision }[] = [];
    for (const kind of ["resource", "data"] as const) {
      for (const [type, blocks] of Object.entries(state.json[kind])) {
        const reads = TYPE_PERMISSIONS[kind === "data" ? `data.${type}` : type].read;
        for (const [id, block] of Object.entries(blocks)) {
          const resource = readTarget(state, kind, type, id, block);
          for (const action of reads) {
            const decision = await asPlanRole({ action, resource });
            if (decision !== "Allowed") refused.push({ address: `${kind}.${type}.${id}`, action, resource, decision });
          }
        }
      }
    }
    expect(refused).toEqual([]);
  });

  it("lets the plan role read the stack's state, take its lock and decrypt it through S3, but not write the state", async () => {
    expect(await asPlanRole({ action: "s3:GetObject", resource: ownState })).toBe("Allowed");
    for (const action of ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]) {
      expect({ action, decision: await asPlanRole({ action, resource: `${ownState}.tflock` }) }).toEqual({ action, decision: "Allowed" });
    }
    expect(await asPlanRole({ action: "kms:Decrypt", resource: keyArn, context: S3_VIA })).toBe("Allowed");
    for (const action of ["s3:PutObject", "s3:DeleteObject"]) {
      expect({ action, decision: await asPlanRole({ action, resource: ownState }) }).toEqual({ action, decision: "ImplicitlyDenied" });
    }
  });

  it("never lets the deploy role write or delete the stack's state or its lock, while it still writes the service's", async () => {
    for (const resource of [ownState, `${ownState}.tflock`]) {
      for (const action of ["s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion"]) {
        expect({ action, resource, decision: await asDeployRole({ action, resource }) }).toEqual({
          action,
          resource,
          decision: "ExplicitlyDenied",
        });
      }
    }
    expect(await asDeployRole({ action: "s3:PutObject", resource: serviceState })).toBe("Allowed");
  });

  it("gives the plan role no IAM or bucket read beyond the stack's own roles, policies, provider and buckets", async () => {
    const elsewhere = [
      `arn:${AWS.partition}:iam::${AWS.accountId}:role/github-actions/someone-else`,
      `arn:${AWS.partition}:s3:::other-bucket`,
    ];
    expect(await asPlanRole({ action: "iam:GetRole", resource: elsewhere[0] })).toBe("ImplicitlyDenied");
    expect(await asPlanRole({ action: "s3:GetBucketPolicy", resource: elsewhere[1] })).toBe("ImplicitlyDenied");
  });
});

describe("a state stack with its state in a local file (state.selfHosted off, the default)", () => {
  const s = synthStateStack({ ci: CI });

  it("grants the CI roles nothing about it: no policy to plan it, no statement naming its state", () => {
    const documents = JSON.stringify(s.json.data.aws_iam_policy_document);
    expect(documents).not.toContain("dev-state.tfstate");
    expect(Object.keys(s.all("aws_iam_policy")).filter((path) => path.includes("state-stack"))).toEqual([]);
  });
});
