import { splitCidr } from "../config/cidr";

export const SUBNET_TIERS = ["public", "private", "isolated"] as const;
export type SubnetTier = (typeof SUBNET_TIERS)[number];

/** Subnet blocks per tier: the given ones, or the VPC block split evenly (public, then private, then isolated). */
export function subnetLayout(network: {
  readonly vpcCidr: string;
  readonly azCount: number;
  readonly subnetCidrs?: Record<SubnetTier, string[]>;
}): Record<SubnetTier, string[]> {
  if (network.subnetCidrs) return network.subnetCidrs;
  const blocks = splitCidr(network.vpcCidr, SUBNET_TIERS.length * network.azCount);
  const tierBlocks = (tierIndex: number) => blocks.slice(tierIndex * network.azCount, (tierIndex + 1) * network.azCount);
  return { public: tierBlocks(0), private: tierBlocks(1), isolated: tierBlocks(2) };
}
