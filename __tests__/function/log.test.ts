import type * as LogModule from "../../functions/shared/log";

/** The shared log module as a function loads it with `format` in AWS_LAMBDA_LOG_FORMAT, as Lambda sets it from the logging config. */
function logUnder(format: string | undefined): typeof LogModule.log {
  const previous = process.env.AWS_LAMBDA_LOG_FORMAT;
  if (format === undefined) delete process.env.AWS_LAMBDA_LOG_FORMAT;
  else process.env.AWS_LAMBDA_LOG_FORMAT = format;
  try {
    let log!: typeof LogModule.log;
    jest.isolateModules(() => {
      log = (require("../../functions/shared/log") as typeof LogModule).log;
    });
    return log;
  } finally {
    if (previous === undefined) delete process.env.AWS_LAMBDA_LOG_FORMAT;
    else process.env.AWS_LAMBDA_LOG_FORMAT = previous;
  }
}

const fields = { requestId: "req-1", op: "get", statusCode: 200, durationMs: 3 };
const record = { level: "info", message: "request served", ...fields };

describe("log lines", () => {
  let consoleInfo: jest.SpyInstance;
  beforeEach(() => {
    consoleInfo = jest.spyOn(console, "info").mockImplementation(() => undefined);
  });
  afterEach(() => jest.restoreAllMocks());

  it("hands Lambda's JSON-format console the record itself, so its fields stay fields of the runtime's record", () => {
    logUnder("JSON")("info", "request served", fields);
    expect(consoleInfo.mock.calls).toEqual([[record]]);
  });

  it("writes one line of JSON where the console prints text (Lambda's Text format, a terminal, the tests)", () => {
    for (const format of ["Text", undefined]) {
      consoleInfo.mockClear();
      logUnder(format)("info", "request served", fields);
      expect(consoleInfo.mock.calls).toEqual([[JSON.stringify(record)]]);
    }
  });
});
