// swc strips types only; `npm test` runs tsc for type checking first.
const shared = {
  testEnvironment: "node",
  transform: { "^.+\\.ts$": ["@swc/jest", { jsc: { target: "es2022" } }] },
};

/** @type {import('jest').Config} */
module.exports = {
  // A MariaDB harness starts in 1-3 s, but can take longer than jest's default 5 s on a busy 2-core machine.
  testTimeout: 60_000,
  projects: [
    {
      ...shared,
      displayName: "infra",
      testMatch: ["<rootDir>/__tests__/infra/**/*.test.ts"],
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
    ...(process.env.LAMBDA_RDS_IAM_FRESH_CLONE
      ? []
      : [{ ...shared, displayName: "fresh-clone", testMatch: ["<rootDir>/__tests__/fresh-clone/**/*.test.ts"] }]),
  ],
};
