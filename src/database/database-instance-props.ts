import type { LogEncryption } from "../storage/log-encryption";
import type { Network } from "../network/network";

/** The instance's defaults (a cheap, throwaway dev database): the configuration schema takes them from here. */
export const DATABASE_INSTANCE_DEFAULTS = {
  engineVersion: "8.4",
  instanceClass: "db.t4g.micro",
  allocatedStorageGb: 20,
  maxAllocatedStorageGb: 100,
  databaseName: "app",
  masterUsername: "dbadmin",
  port: 3306,
  backupRetentionDays: 7,
  logRetentionDays: 30,
  multiAz: false,
  deletionProtection: false,
  preventDestroy: false,
  skipFinalSnapshot: true,
  performanceInsights: false,
  monitoringIntervalSeconds: 0,
} as const;

export interface DatabaseInstanceProps {
  /** Instance identifier and prefix of related names, e.g. "lambda-rds-iam-dev". */
  readonly namePrefix: string;
  readonly network: Network;
  /** Makes the exported logs' groups, encrypted with the environment's log key. */
  readonly logs: LogEncryption;
  /**
   * MySQL major version; RDS picks the newest minor and upgrades it automatically.
   * @default "8.4"
   */
  readonly engineVersion?: "8.0" | "8.4";
  /** @default "db.t4g.micro" */
  readonly instanceClass?: string;
  /**
   * Initial gp3 storage in GiB.
   * @default 20
   */
  readonly allocatedStorageGb?: number;
  /**
   * Storage autoscaling ceiling in GiB.
   * @default 100
   */
  readonly maxAllocatedStorageGb?: number;
  /** @default "app" */
  readonly databaseName?: string;
  /**
   * The master user; RDS generates its password and keeps it in Secrets Manager.
   * @default "dbadmin"
   */
  readonly masterUsername?: string;
  /** @default 3306 */
  readonly port?: number;
  /** @default 7 */
  readonly backupRetentionDays?: number;
  /**
   * Retention of the exported log groups, in days.
   * @default 30
   */
  readonly logRetentionDays?: number;
  /** @default false */
  readonly multiAz?: boolean;
  /** @default false */
  readonly deletionProtection?: boolean;
  /**
   * Terraform refuses any plan that destroys the instance or its key (lifecycle prevent_destroy).
   * @default false
   */
  readonly preventDestroy?: boolean;
  /**
   * Terraform refuses any plan that destroys the key, even where the instance may go (kms.preventDestroy).
   * @default preventDestroy
   */
  readonly keyPreventDestroy?: boolean;
  /**
   * Destroying without a final snapshot loses the data: for a throwaway dev database only.
   * @default true
   */
  readonly skipFinalSnapshot?: boolean;
  /**
   * Performance Insights, 7 days (not offered on micro and small classes).
   * @default false
   */
  readonly performanceInsights?: boolean;
  /**
   * Enhanced monitoring interval in seconds; 0 turns it off.
   * @default 0
   */
  readonly monitoringIntervalSeconds?: 0 | 1 | 5 | 10 | 15 | 30 | 60;
}
