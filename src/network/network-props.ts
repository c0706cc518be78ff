import type { LogEncryption } from "../storage/log-encryption";
import type { SubnetTier } from "./subnet-layout";

/** The network's defaults: the configuration schema takes them from here. */
export const NETWORK_DEFAULTS = {
  vpcCidr: "10.0.0.0/16",
  azCount: 2,
  natGateways: "single",
  flowLogRetentionDays: 30,
} as const;

export interface NetworkProps {
  /** Prefix of resource names, e.g. "lambda-rds-iam-dev". */
  readonly namePrefix: string;
  /** Region the stack deploys to; gateway endpoint service names are built from it. */
  readonly region: string;
  /** Makes the flow log group, encrypted with the environment's log key. */
  readonly logs: LogEncryption;
  /**
   * The VPC's IPv4 block.
   * @default "10.0.0.0/16"
   */
  readonly vpcCidr?: string;
  /**
   * Availability zones the subnets span; each tier gets one subnet per zone.
   * @default 2
   */
  readonly azCount?: number;
  /**
   * Zone names, exactly `azCount` of them.
   * @default the region's zones that need no opt-in, from the aws_availability_zones data source
   */
  readonly availabilityZones?: string[];
  /**
   * "single" shares one NAT gateway (cheap); "per-az" gives each zone its own (no cross-zone dependency).
   * @default "single"
   */
  readonly natGateways?: "single" | "per-az";
  /**
   * Subnet blocks per tier, one per zone.
   * @default vpcCidr split evenly: public, then private, then isolated
   */
  readonly subnetCidrs?: Record<SubnetTier, string[]>;
  /**
   * Retention of the VPC flow log group, in days.
   * @default 30
   */
  readonly flowLogRetentionDays?: number;
}
