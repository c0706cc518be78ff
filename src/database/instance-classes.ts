/**
 * Connection capacity of RDS MySQL classes, for sizing the API function on the direct path (without
 * RDS Proxy): every execution environment holds one connection until the server reaps it.
 */

/** The API function's connections per execution environment (functions/shared/database-client.ts CONNECTIONS_PER_ENVIRONMENT). */
export const CONNECTIONS_PER_ENVIRONMENT = 1;
/** Share of max_connections the function may take: the rest is for the migrate function, operators, monitoring, and environments Lambda retired whose connections the server has not reaped yet. */
const FUNCTION_SHARE = 0.8;
/** The migrate function's connection. */
const BOOTSTRAP_CONNECTIONS = 1;

const BURSTABLE_GIB: Record<string, number> = { micro: 1, small: 2, medium: 4, large: 8, xlarge: 16, "2xlarge": 32 };
const VCPUS: Record<string, number> = {
  large: 2,
  xlarge: 4,
  "2xlarge": 8,
  "4xlarge": 16,
  "8xlarge": 32,
  "12xlarge": 48,
  "16xlarge": 64,
  "24xlarge": 96,
};
/** GiB of memory per vCPU of the general-purpose (m) and memory-optimized (r) families. */
const GIB_PER_VCPU: Record<string, number> = { m: 4, r: 8 };

/** The class's memory in GiB, for the classes whose shape is known; undefined for others. */
export function classMemoryGib(instanceClass: string): number | undefined {
  const match = /^db\.([tmr])(\d+)[a-z]*\.([a-z0-9]+)$/.exec(instanceClass);
  if (!match) return undefined;
  const [, family, , size] = match;
  if (family === "t") return BURSTABLE_GIB[size];
  return VCPUS[size] === undefined ? undefined : VCPUS[size] * GIB_PER_VCPU[family];
}

/** RDS MySQL's default max_connections, {DBInstanceClassMemory/12582880}, from the class's memory (RDS keeps a little for itself, so this is an upper bound). */
export function maxConnections(instanceClass: string): number | undefined {
  const gib = classMemoryGib(instanceClass);
  return gib === undefined ? undefined : Math.floor((gib * 1024 ** 3) / 12582880);
}

/** The highest reserved concurrency of the API function the class can serve on the direct path. */
export function directPathConcurrency(instanceClass: string): number | undefined {
  const connections = maxConnections(instanceClass);
  return connections === undefined
    ? undefined
    : Math.floor((Math.floor(connections * FUNCTION_SHARE) - BOOTSTRAP_CONNECTIONS) / CONNECTIONS_PER_ENVIRONMENT);
}
