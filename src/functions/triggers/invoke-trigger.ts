import type { FunctionTrigger } from "./function-trigger";

/**
 * Direct invocation by callers holding the function's invoke policy, which the `<env>-state` stack makes
 * (src/functions/invoke-policy.ts): nothing to wire in the service stack, no resource policy on the function.
 */
export class InvokeTrigger implements FunctionTrigger {
  readonly httpsEgress = [];
  readonly environment = {};

  grant(): [] {
    return [];
  }

  bind(): void {}
}
