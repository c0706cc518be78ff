// swc strips types only; `npm test` runs tsc for type checking first.
const shared = {
  testEnvironment: "node",
  transform: { "^.+\\.ts$": ["@swc/jest", { jsc: { target: "es2022" } }] },
};

/**
 * In the fresh-clone test's inner run (the README's commands as a new, non-root user) the outer run has
 * proved the tests already: the inner one proves the commands and what depends on who runs them and
 * where: every function test (MariaDB started as that user), and the infra tests that run the project's
 * own commands and bundles in that clone (synth, the cdktf wrapper, the written stack).
 */
const freshClone = process.env.LAMBDA_RDS_IAM_FRESH_CLONE === "1";
const INFRA_IN_FRESH_CLONE = ["<rootDir>/__tests__/infra/stack.test.ts", "<rootDir>/__tests__/infra/scripts/cli/**/*.test.ts"];

/** @type {import('jest').Config} */
module.exports = {
  // A MariaDB harness starts in 1-3 s, but can take longer than jest's default 5 s on a busy 2-core machine.
  testTimeout: 60_000,
  // Two at once on a 2-core machine (jest would take one): the fresh-clone test mostly waits on its inner run.
  maxWorkers: 2,
  projects: [
    {
      ...shared,
      displayName: "infra",
      testMatch: freshClone ? INFRA_IN_FRESH_CLONE : ["<rootDir>/__tests__/infra/**/*.test.ts"],
      setupFilesAfterEnv: ["<rootDir>/__tests__/infra/setup.ts"],
      // One synthesis per configuration per run, shared by every test file (__tests__/infra/synth.ts).
      globalSetup: "<rootDir>/__tests__/infra/global-setup.ts",
      globalTeardown: "<rootDir>/__tests__/infra/global-teardown.ts",
    },
    {
      ...shared,
      displayName: "function",
      // The handler, its connection path and the bootstrap against a real MariaDB started by the harness.
      testMatch: ["<rootDir>/__tests__/function/**/*.test.ts"],
      // Installs MariaDB once where it may, or stops in one line before any test runs.
      globalSetup: "<rootDir>/__tests__/function/global-setup.ts",
    },
    // The README's commands in a fresh clone as a non-root user; that inner run leaves this project out.
    ...(freshClone ? [] : [{ ...shared, displayName: "fresh-clone", testMatch: ["<rootDir>/__tests__/fresh-clone/**/*.test.ts"] }]),
  ],
};
