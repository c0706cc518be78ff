// swc strips types only; `npm test` runs tsc for type checking first.
const shared = {
  testEnvironment: "node",
  transform: { "^.+\\.ts$": ["@swc/jest", { jsc: { target: "es2022" } }] },
};

/** @type {import('jest').Config} */
module.exports = {
  projects: [
    {
      ...shared,
      displayName: "infra",
      testMatch: ["<rootDir>/__tests__/infra/**/*.test.ts"],
      setupFilesAfterEnv: ["<rootDir>/__tests__/infra/setup.ts"],
    },
    {
      ...shared,
      displayName: "function",
      // Every test outside infra/ runs the handler against a real MariaDB started by the harness.
      testMatch: ["<rootDir>/__tests__/**/*.test.ts"],
      testPathIgnorePatterns: ["/node_modules/", "<rootDir>/__tests__/infra/"],
      // Installs MariaDB once where it may, or stops in one line before any test runs.
      globalSetup: "<rootDir>/__tests__/function/global-setup.ts",
    },
  ],
};
