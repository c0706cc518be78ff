import { ENVIRONMENTS } from "../../../src/config/environments";
import { environmentMatrix } from "../../../scripts/ci/environments";
import { synthApp } from "../synth";
import { describeEnvironmentRules } from "./environment-rules";
import { describeKeyRules } from "../storage/key-rules";

/**
 * What a team does to add an environment (README: "Add an environment"): one more entry in
 * src/config/environments.ts, here "staging" shaped like prod in an account of its own. The rules the
 * checked-in environments are held to hold for it, with no test edited.
 */
const staging = {
  ...ENVIRONMENTS.prod,
  environment: "staging",
  accountId: "333333333333",
  deployRoleArn: "arn:aws:iam::333333333333:role/lambda-rds-iam-deploy",
};
const environments = { ...ENVIRONMENTS, staging };

describe("an environment added to the configuration, shaped like prod", () => {
  const app = synthApp({ environments });

  it("is synthesized beside the others, with its state stack", () => {
    expect(app.map(({ name }) => name)).toEqual(Object.keys(environments));
    expect(app.at(-1)?.state.json.terraform.backend).toBeDefined();
  });

  it("is planned in pull requests and deployed after the others by the workflows, with no workflow edited", () => {
    expect(environmentMatrix(environments).include.map(({ environment }) => environment)).toEqual([
      ...Object.keys(ENVIRONMENTS),
      "staging",
    ]);
  });

  describe("and every environment still keeps the environment rules", () => {
    describeEnvironmentRules(app);
  });

  describe("and every KMS key of its stacks keeps the key rules", () => {
    describeKeyRules(app);
  });
});
