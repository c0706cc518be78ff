/**
 * npm run -s ci:environments
 *
 * The checked-in environments in their deploy order, as the workflows' job matrix: each with the names
 * of the repository variables that hold its plan and deploy roles. The workflows plan and deploy what
 * this prints, so an environment added to src/config/environments.ts is planned and deployed with no
 * workflow edited. With GITHUB_OUTPUT set (in a workflow step), it is written there as `matrix=...`.
 */
import { appendFileSync } from "node:fs";
import { runCli } from "../cli/cli-args";
import { ENVIRONMENTS } from "../../src/config/environments";
import type { StackConfigInput } from "../../src/config/stack-config";

export interface EnvironmentJob {
  readonly environment: string;
  readonly plan_role_variable: string;
  readonly deploy_role_variable: string;
}

/** `prod-eu` -> `PROD_EU`: a repository variable name GitHub accepts. */
const variablePrefix = (environment: string) => environment.toUpperCase().replaceAll("-", "_");

export function environmentMatrix(environments: Readonly<Record<string, StackConfigInput>> = ENVIRONMENTS): {
  include: EnvironmentJob[];
} {
  return {
    include: Object.keys(environments).map((environment) => ({
      environment,
      plan_role_variable: `${variablePrefix(environment)}_PLAN_ROLE_ARN`,
      deploy_role_variable: `${variablePrefix(environment)}_DEPLOY_ROLE_ARN`,
    })),
  };
}

runCli(module, () => {
  const matrix = JSON.stringify(environmentMatrix());
  if (process.env.GITHUB_OUTPUT) appendFileSync(process.env.GITHUB_OUTPUT, `matrix=${matrix}\n`);
  else console.log(matrix);
});
