import type { TerraformStack } from "cdktf";
import { loadStackConfigs } from "../../../src/config/environments";
import { KEY_ADMINISTRATION_ACTIONS } from "../../../src/storage/kms-key";
import { ServiceStack } from "../../../src/service-stack";
import { StateStack } from "../../../src/state/state-stack";
import { projectRoot, synthesize, testApp } from "../synth";

/** Every stack the app synthesizes for the checked-in environments. */
const stacks = loadStackConfigs({}).flatMap((config) => {
  const app = testApp();
  const service = new ServiceStack(app, config.environment, { config, projectRoot });
  return [service, new StateStack(app, `${config.environment}-state`, { config, service })] as TerraformStack[];
});
const keys = stacks.flatMap((stack) => {
  const s = synthesize(stack);
  return Object.entries(s.all("aws_kms_key")).map(([path, key]) => {
    const document = /^\$\{data\.aws_iam_policy_document\.([^.]+)\.json\}$/.exec(key.policy ?? "")?.[1];
    const statements = document ? s.json.data.aws_iam_policy_document[document].statement : undefined;
    return [`${stack.node.id}/${path}`, { key, statements, accountRoot: `arn:${s.aws.partition}:iam::${s.aws.accountId}:root` }] as const;
  });
});
/** Calls that use a key rather than administer it. */
const USE = /^kms:(Encrypt|Decrypt|ReEncrypt|GenerateDataKey|CreateGrant|Sign|Verify|GenerateMac|VerifyMac|DeriveSharedSecret|\*)/;

describe("every KMS key", () => {
  it("is found in the service and state stacks of both environments", () => {
    expect(keys.map(([path]) => path).sort()).toEqual([
      "dev-state/key",
      "dev/alarms/topic/key",
      "dev/api/failures/key",
      "dev/data-bucket/key",
      "dev/database/key",
      "dev/ingest/failures/key",
      "dev/logs/key",
      "prod-state/key",
      "prod/alarms/topic/key",
      "prod/api/failures/key",
      "prod/data-bucket/key",
      "prod/database/key",
      "prod/ingest/failures/key",
      "prod/logs/key",
    ]);
  });

  // Every key of prod's stacks, whatever made it: a new key without them fails here.
  it.each(keys.filter(([path]) => path.startsWith("prod")))(
    "%s (prod) is kept from destroy and waits the longest deletion window, 30 days",
    (_, { key }) => {
      expect(key.lifecycle).toEqual({ prevent_destroy: true });
      expect(key.deletion_window_in_days).toBe(30);
    },
  );

  it.each(keys.filter(([path]) => path.startsWith("dev/")))("%s (dev) goes with the environment when it is destroyed", (_, { key }) => {
    expect(key.lifecycle?.prevent_destroy).toBeUndefined();
  });

  it("keeps the account's administration free of any way to use a key", () => {
    expect(KEY_ADMINISTRATION_ACTIONS.filter((action) => USE.test(action))).toEqual([]);
  });

  it.each(keys)("%s rotates, waits 30 days before deletion and has an explicit key policy", (_, { key, statements }) => {
    expect(key).toMatchObject({ enable_key_rotation: true, deletion_window_in_days: 30 });
    expect(statements).toBeDefined();
  });

  it.each(keys)("%s is administered by the account, which may not use it through that statement", (_, { statements, accountRoot }) => {
    expect(statements[0]).toEqual({
      sid: "AccountAdministersKey",
      principals: [{ type: "AWS", identifiers: [accountRoot] }],
      actions: [...KEY_ADMINISTRATION_ACTIONS],
      resources: ["*"],
    });
  });

  it.each(keys)("%s may be used only under conditions, by no wildcard principal", (_, { statements }) => {
    for (const statement of statements.slice(1)) {
      expect(statement.condition?.length).toBeGreaterThan(0);
      expect(statement.principals.flatMap((principal: { identifiers: string[] }) => principal.identifiers)).not.toContain("*");
    }
  });
});
