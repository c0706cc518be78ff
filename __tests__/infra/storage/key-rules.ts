import { KEY_ADMINISTRATION_ACTIONS } from "../../../src/storage/kms-key";
import type { Synthesized, SynthesizedEnvironment } from "../synth";

/** Every KMS key of a stack, with its key policy's statements, keyed `<stack>/<construct path>`. */
function keysOf(stackName: string, s: Synthesized<any>) {
  return Object.entries(s.all("aws_kms_key")).map(([path, key]) => {
    const document = /^\$\{data\.aws_iam_policy_document\.([^.]+)\.json\}$/.exec(key.policy ?? "")?.[1];
    const statements = document ? s.json.data.aws_iam_policy_document[document].statement : undefined;
    return [`${stackName}/${path}`, { key, statements, accountRoot: `arn:${s.aws.partition}:iam::${s.aws.accountId}:root` }] as const;
  });
}

/** The Terraform ids of the keys that the stack's other resources name (kms_key_id, kms_master_key_id, ...). */
const keyIdsReferenced = (s: Synthesized<any>): string[] => [
  ...new Set([...JSON.stringify(s.json.resource).matchAll(/\$\{aws_kms_key\.([^.}]+)\./g)].map(([, id]) => id)),
];

/**
 * The rules every KMS key of every stack of an app keeps (both stacks of each environment): rotation,
 * deletion window, an explicit policy the account administers without using, use only under conditions,
 * and kept from destroy wherever the environment keeps its keys.
 */
export function describeKeyRules(environments: SynthesizedEnvironment[]): void {
  const stacks = environments.flatMap(({ name, config, service, state }) => [
    { stackName: name, config, s: service as Synthesized<any> },
    { stackName: `${name}-state`, config, s: state as Synthesized<any> },
  ]);
  const keys = stacks.flatMap(({ stackName, s }) => keysOf(stackName, s));
  const keysOfEnvironment = (environment: string, stack: "service" | "any") =>
    keys.filter(([path]) =>
      stack === "service" ? path.startsWith(`${environment}/`) : path.split("/")[0].replace(/-state$/, "") === environment,
    );

  it.each(stacks.map(({ stackName, s }) => [stackName, s] as const))(
    "%s: every key its resources use is one of the keys these rules cover",
    (_, s) => {
      const covered = Object.keys(s.json.resource.aws_kms_key ?? {});
      expect(covered.length).toBeGreaterThan(0);
      expect(keyIdsReferenced(s).filter((id) => !covered.includes(id))).toEqual([]);
    },
  );

  // Every key of a protected environment's stacks, whatever made it: a new key without them fails here.
  const protectedKeys = environments
    .filter(({ config }) => config.kms.preventDestroy)
    .flatMap(({ name }) => keysOfEnvironment(name, "any"));
  if (protectedKeys.length > 0) {
    it.each(protectedKeys)("%s (kms.preventDestroy) is kept from destroy and waits the longest deletion window, 30 days", (_, { key }) => {
      expect(key.lifecycle).toEqual({ prevent_destroy: true });
      expect(key.deletion_window_in_days).toBe(30);
    });
  }

  const disposable = environments.filter(
    ({ config }) => !config.kms.preventDestroy && !config.database.preventDestroy && !config.dataBucket.preventDestroy,
  );
  const disposableKeys = disposable.flatMap(({ name }) => keysOfEnvironment(name, "service"));
  if (disposableKeys.length > 0) {
    it.each(disposableKeys)("%s (nothing kept from destroy) goes with the environment when it is destroyed", (_, { key }) => {
      expect(key.lifecycle?.prevent_destroy).toBeUndefined();
    });
  }

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
}
