import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { unmigratedStateProblem } from "../../../../scripts/state/unmigrated-state";
import { CONFIG_OVERRIDE_VARIABLE, loadStackConfigs } from "../../../../src/config/environments";
import { localStateFile } from "../../../../src/state/local-state-file";
import { tempDir } from "../../temp";

const configs = (overrides: object) => loadStackConfigs({ [CONFIG_OVERRIDE_VARIABLE]: JSON.stringify(overrides) });
const SELF_HOSTED = configs({ dev: { state: { selfHosted: true } } });
const REFUSAL =
  "dev-state keeps its state in the bucket (state.selfHosted), but terraform.dev-state.tfstate is still here: " +
  "cdktf deploy would start from an empty state and create everything again. Move it into the bucket first: npm run state:migrate -- dev";

/** A checkout after dev-state's first deploy: its local state file beside cdktf.json. */
function deployedRoot(): string {
  const root = tempDir("checkout-");
  writeFileSync(join(root, localStateFile("dev-state")), "{}");
  return root;
}

describe("deploy, diff and destroy of a state stack whose state moved to its bucket", () => {
  it("refuse it, in one line naming the fix, while its local state file is still here: by name or by a pattern", () => {
    const root = deployedRoot();
    expect(unmigratedStateProblem("deploy", ["dev-state"], SELF_HOSTED, root)).toBe(REFUSAL);
    expect(unmigratedStateProblem("deploy", ["--auto-approve", "*"], SELF_HOSTED, root)).toBe(REFUSAL);
    expect(unmigratedStateProblem("diff", ["dev-*"], SELF_HOSTED, root)).toBe(REFUSAL.replace("cdktf deploy", "cdktf diff"));
  });

  it("let it run once the file is moved aside, and never stand in the way of other stacks or of a local state that is still in use", () => {
    const root = deployedRoot();
    expect(unmigratedStateProblem("deploy", ["dev-state"], SELF_HOSTED, tempDir("migrated-"))).toBeUndefined();
    expect(unmigratedStateProblem("deploy", ["dev", "prod-state"], SELF_HOSTED, root)).toBeUndefined();
    expect(unmigratedStateProblem("deploy", ["dev-state"], configs({}), root)).toBeUndefined();
  });
});
