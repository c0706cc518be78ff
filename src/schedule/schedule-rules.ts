/** What EventBridge Scheduler takes, for the schedule construct's checks and the configuration schema's alike. */

/** `rate(<n> minutes|hours|days)` or `cron(<6 fields>)`; a one-time `at()` is no job's schedule. */
export const SCHEDULE_EXPRESSION = /^(rate\(\d+ (minute|minutes|hour|hours|day|days)\)|cron\(\S+ \S+ \S+ \S+ \S+ \S+\))$/;
export const SCHEDULE_EXPRESSION_TAKES = "rate(<n> minutes|hours|days) or cron(<6 fields>), e.g. rate(1 hour) or cron(0 3 * * ? *)";

/** Inclusive ranges of the schedule's numbers. */
export const SCHEDULE_RANGES = {
  flexibleWindowMinutes: [0, 1440],
  retryAttempts: [0, 185],
  maxEventAgeSeconds: [60, 86_400],
} as const;

const RATE = /^rate\((\d+) (minute|hour|day)s?\)$/;
const UNIT_SECONDS = { minute: 60, hour: 3600, day: 86_400 } as const;

/** Seconds between two runs of a rate() expression; undefined for cron(), whose runs need not be evenly spaced. */
export function rateSeconds(expression: string): number | undefined {
  const match = RATE.exec(expression);
  return match ? Number(match[1]) * UNIT_SECONDS[match[2] as keyof typeof UNIT_SECONDS] : undefined;
}

/** An IANA time zone name this runtime knows (Node's list leaves out "UTC" itself). */
export const isTimeZone = (zone: string): boolean => zone === "UTC" || Intl.supportedValuesOf("timeZone").includes(zone);

/** CloudWatch evaluates at most a day of periods shorter than an hour, and at most 7 days of longer ones. */
export function evaluationLimitSeconds(periodSeconds: number): number {
  return periodSeconds < 3600 ? 86_400 : 7 * 86_400;
}

/** The role of the schedule that invokes `functionName` (FunctionSchedule); the permissions boundary names it. */
export const scheduleRoleName = (functionName: string) => `${functionName}-scheduler`;
