import { z } from "zod";

/** Retention periods CloudWatch Logs accepts. */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

export const logRetention = z.number().refine((days) => (LOG_RETENTION_DAYS as readonly number[]).includes(days), {
  error: `must be one of CloudWatch's retention periods: ${LOG_RETENTION_DAYS.join(", ")}`,
});

export const intInRange = (min: number, max: number, unit = "") =>
  z
    .number()
    .int()
    .min(min, { error: `must be between ${min} and ${max}${unit}` })
    .max(max, { error: `must be between ${min} and ${max}${unit}` });

/** MySQL account names as RDS IAM authentication accepts them. */
export const DB_USER_PATTERN = /^[A-Za-z][A-Za-z0-9_]{0,31}$/;
export const mysqlAccount = z
  .string()
  .regex(DB_USER_PATTERN, { error: "must start with a letter and hold at most 32 letters, digits or _" });
