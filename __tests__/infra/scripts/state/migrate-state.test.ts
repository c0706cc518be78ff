import { randomUUID } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stubAccessKey } from "../../../../scripts/review/plans/aws-stub";
import { findProvider } from "../../../../scripts/review/plans/record-plans";
import { migrateState, movedAsideFile } from "../../../../scripts/state/migrate-state";
import { CONFIG_OVERRIDE_VARIABLE, ENVIRONMENTS } from "../../../../src/config/environments";
import { localStateFile } from "../../../../src/state/local-state-file";
import { projectRoot, synthApp } from "../../synth";
import { tempDir } from "../../temp";
import { type FakeAws, startFakeAws } from "./fake-aws";

/**
 * The migration for real: this checkout's app synthesized with dev's switch on, the Terraform on PATH
 * (>= 1.10), and for the bucket s3rver (a fake S3 in Node) with STS answered by the plan stub, so that
 * the backend's allowed_account_ids is checked as AWS would. The backend's own settings (its key,
 * encryption with the state key's alias, S3-native locking) are the synthesized ones; the endpoints
 * come in through --backend-config, as a profile or credentials would.
 */
const ACCOUNT = "111111111111";
const SELF_HOSTED = { dev: { state: { selfHosted: true } } };
const [dev] = synthApp({ overrides: SELF_HOSTED });
const { bucket, key } = dev.state.json.terraform.backend.s3 as { bucket: string; key: string };
const STACK = "dev-state";

/** Every address `terraform state list` prints for a state of the stack: its resources and data sources. */
const addresses = [
  ...Object.entries(dev.state.json.resource).flatMap(([type, blocks]) => Object.keys(blocks).map((name) => `${type}.${name}`)),
  ...Object.entries(dev.state.json.data).flatMap(([type, blocks]) => Object.keys(blocks).map((name) => `data.${type}.${name}`)),
].sort();

/** A state file as the stack's first apply leaves it: every resource and data source of the stack (made-up ids). */
function localState(): string {
  const provider = 'provider["registry.terraform.io/hashicorp/aws"]';
  const resources = addresses.map((address) => {
    const [mode, type, name] = address.startsWith("data.") ? address.split(".") : ["managed", ...address.split(".")];
    return { mode, type, name, provider, instances: [{ schema_version: 0, attributes: { id: `${name}-id` }, sensitive_attributes: [] }] };
  });
  return `${JSON.stringify({ version: 4, terraform_version: "1.11.0", serial: 3, lineage: randomUUID(), outputs: {}, resources, check_results: null }, null, 2)}\n`;
}

/** The filesystem mirror `npm run plans:record` uses, or undefined (then Terraform's registry) where there is none. */
function mirrorOrRegistry(): string | undefined {
  try {
    return findProvider().mirror;
  } catch {
    return undefined;
  }
}

describe("npm run state:migrate", () => {
  let aws: FakeAws;
  let env: NodeJS.ProcessEnv;
  let backendConfig: string;

  beforeAll(async () => {
    const credentials = { accessKeyId: stubAccessKey(ACCOUNT), secretAccessKey: "state-migrate-test" };
    aws = await startFakeAws(credentials, bucket);
    backendConfig = join(tempDir("backend-"), "local.s3.tfbackend");
    writeFileSync(
      backendConfig,
      [
        `endpoints = { s3 = "${aws.endpoints.s3}", sts = "${aws.endpoints.sts}" }`,
        "use_path_style = true",
        "skip_credentials_validation = true",
        "skip_metadata_api_check = true",
      ].join("\n"),
    );
    // Terraform installs the provider a state names to initialize a backend that holds one: from this machine's mirror,
    // offline; where there is none (a GitHub runner, after setup-terraform), from Terraform's registry.
    const cliConfig = join(tempDir("cli-config-"), "terraform.rc");
    const mirror = mirrorOrRegistry();
    writeFileSync(
      cliConfig,
      mirror === undefined
        ? "provider_installation {\n  direct {}\n}\n"
        : `provider_installation {\n  filesystem_mirror {\n    path = "${mirror}"\n  }\n  direct {\n    exclude = ["*/*/*"]\n  }\n}\n`,
    );
    env = {
      ...process.env,
      TF_CLI_CONFIG_FILE: cliConfig,
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      AWS_PROFILE: "",
      [CONFIG_OVERRIDE_VARIABLE]: JSON.stringify(SELF_HOSTED),
    };
  });
  afterAll(() => aws.close());
  beforeEach(() => jest.spyOn(console, "log").mockImplementation(() => undefined));
  afterEach(() => jest.restoreAllMocks());

  /** A directory as a checkout holds it after dev-state's first apply: its local state, and cdktf.out beside it. */
  function deployedDir(state = localState()) {
    const dir = tempDir("checkout-");
    writeFileSync(join(dir, localStateFile(STACK)), state);
    return { dir, outDir: join(dir, "cdktf.out"), state };
  }

  const objectText = (objectKey: string) => aws.objectText(objectKey);

  describe("an environment deployed with a local state", () => {
    let migrated: Awaited<ReturnType<typeof migrateState>>;
    let checkout: ReturnType<typeof deployedDir>;

    beforeAll(async () => {
      checkout = deployedDir();
      // What an earlier `npm run deploy -- dev-state` left in the stack's directory: Terraform's memory of the local backend.
      mkdirSync(join(checkout.outDir, "stacks", STACK, ".terraform"), { recursive: true });
      writeFileSync(join(checkout.outDir, "stacks", STACK, ".terraform", "terraform.tfstate"), '{"backend":{"type":"local"}}');
      jest.spyOn(console, "log").mockImplementation(() => undefined);
      migrated = await migrateState({ environment: "dev", projectRoot, outDir: checkout.outDir, backendConfig, env });
      jest.restoreAllMocks();
    });

    it("moves it into the bucket under the stack's own key, every resource with its attributes, listing the same resources before and after", async () => {
      expect(key).toBe("lambda-rds-iam/dev-state.tfstate");
      expect(migrated.location).toBe(`s3://${bucket}/${key}`);
      expect(migrated.resources).toEqual(addresses);
      const copied = JSON.parse(await objectText(key));
      const original = JSON.parse(checkout.state);
      const byAddress = (resources: { mode: string; type: string; name: string }[]) =>
        [...resources].sort((a, b) => `${a.mode}.${a.type}.${a.name}`.localeCompare(`${b.mode}.${b.type}.${b.name}`));
      expect(byAddress(copied.resources)).toEqual(byAddress(original.resources));
    });

    it("renames the local file aside, never deleting it, and leaves no lock behind", async () => {
      expect(existsSync(join(checkout.dir, localStateFile(STACK)))).toBe(false);
      expect(migrated.movedAside).toBe(join(checkout.dir, movedAsideFile(STACK)));
      expect(readFileSync(migrated.movedAside, "utf8")).toBe(checkout.state);
      await expect(objectText(`${key}.tflock`)).rejects.toThrow(/does not exist/);
    });

    it("makes the stack's directory forget the local backend of earlier deploys, so the next one takes the bucket", () => {
      expect(existsSync(join(checkout.outDir, "stacks", STACK, "cdk.tf.json"))).toBe(true);
      expect(existsSync(join(checkout.outDir, "stacks", STACK, ".terraform", "terraform.tfstate"))).toBe(false);
    });

    it("says so when run again, and changes nothing", async () => {
      await expect(migrateState({ environment: "dev", projectRoot, outDir: checkout.outDir, backendConfig, env })).rejects.toThrow(
        "dev-state is migrated already: its local state was moved aside to terraform.dev-state.tfstate.migrated and its state is in the bucket; nothing to do (npm run deploy -- dev-state uses the bucket).",
      );
      expect(readFileSync(migrated.movedAside, "utf8")).toBe(checkout.state);
    });

    it("refuses to copy a local file over a state the bucket holds already, changing neither", async () => {
      const other = deployedDir();
      const before = await objectText(key);
      await expect(migrateState({ environment: "dev", projectRoot, outDir: other.outDir, backendConfig, env })).rejects.toThrow(
        `s3://${bucket}/${key} holds dev-state's state already (${addresses.length} resources), and terraform.dev-state.tfstate is still here; nothing was changed.`,
      );
      expect(await objectText(key)).toBe(before);
      expect(readFileSync(join(other.dir, localStateFile(STACK)), "utf8")).toBe(other.state);
      expect(existsSync(join(other.dir, movedAsideFile(STACK)))).toBe(false);
    });
  });

  it("refuses while the environment's switch is off, before synthesizing anything", async () => {
    const checkout = deployedDir();
    const off = { ...env, [CONFIG_OVERRIDE_VARIABLE]: "{}" };
    await expect(migrateState({ environment: "dev", projectRoot, outDir: checkout.outDir, env: off })).rejects.toThrow(
      `state.selfHosted is off for dev, so dev-state keeps its state in terraform.dev-state.tfstate: turn it on (src/config/environments.ts, or ${CONFIG_OVERRIDE_VARIABLE}='{"dev":{"state":{"selfHosted":true}}}'), then run this again.`,
    );
    expect(existsSync(checkout.outDir)).toBe(false);
    expect(readFileSync(join(checkout.dir, localStateFile(STACK)), "utf8")).toBe(checkout.state);
  });

  it("refuses without a local state file, saying where it looked and what a new environment does instead", async () => {
    const dir = tempDir("empty-");
    await expect(migrateState({ environment: "dev", projectRoot, outDir: join(dir, "cdktf.out"), env })).rejects.toThrow(
      `no terraform.dev-state.tfstate in ${dir}, so nothing to migrate: run this in the checkout that deployed dev-state (the file is there); a new environment deploys dev-state first with state.selfHosted off.`,
    );
  });

  it("refuses without Terraform, naming what to install, and leaves the local file", async () => {
    const checkout = deployedDir();
    const missing = join(tempDir("no-terraform-"), "terraform");
    await expect(
      migrateState({ environment: "dev", projectRoot, outDir: checkout.outDir, env: { ...env, TERRAFORM_BINARY_NAME: missing } }),
    ).rejects.toThrow(
      `npm run state:migrate needs Terraform >= 1.10, and there is no ${missing} (TERRAFORM_BINARY_NAME=${missing}): install it from https://developer.hashicorp.com/terraform/install, then run again (synth needs none).`,
    );
    expect(readFileSync(join(checkout.dir, localStateFile(STACK)), "utf8")).toBe(checkout.state);
  });

  it("names the environments there are when given another", async () => {
    await expect(migrateState({ environment: "staging", projectRoot, env })).rejects.toThrow(
      `no environment "staging"; use one of ${Object.keys(ENVIRONMENTS).join(", ")}`,
    );
  });
});
