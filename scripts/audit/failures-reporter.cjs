// @ts-check
/**
 * A jest reporter for the mutation audit (scripts/audit/mutations.ts): one JSON line per test file to
 * $MUTATION_REPORT as each file finishes, which --bail's early exit would otherwise lose (the --json
 * report is written only at the end). Plain JavaScript: jest loads reporters without its transform.
 */
"use strict";
const { appendFileSync } = require("node:fs");

module.exports = class FailuresReporter {
  /**
   * @param {unknown} _test
   * @param {import("@jest/test-result").TestResult} result
   */
  onTestResult(_test, result) {
    const line = {
      file: result.testFilePath,
      failed: result.testResults.filter((test) => test.status === "failed").map((test) => test.fullName),
      failedToRun: Boolean(result.testExecError),
    };
    appendFileSync(String(process.env.MUTATION_REPORT), `${JSON.stringify(line)}\n`);
  }
};
