import { Netmask } from "netmask";

const CIDR_PATTERN = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

/** Why `cidr` is not a usable IPv4 network in canonical form, or undefined when it is. */
export function cidrProblem(cidr: string): string | undefined {
  const match = CIDR_PATTERN.exec(cidr);
  if (!match || match.slice(1, 5).some((octet) => Number(octet) > 255) || Number(match[5]) > 32) {
    return `"${cidr}" is not an IPv4 CIDR block like 10.0.0.0/16`;
  }
  const block = new Netmask(cidr);
  if (`${block.base}/${block.bitmask}` !== cidr) {
    return `"${cidr}" has host bits set; use ${block.base}/${block.bitmask}`;
  }
  return undefined;
}

export function cidrContains(outer: string, inner: string): boolean {
  const outerBlock = new Netmask(outer);
  const innerBlock = new Netmask(inner);
  return innerBlock.bitmask >= outerBlock.bitmask && outerBlock.contains(innerBlock.base);
}

export function cidrsOverlap(a: string, b: string): boolean {
  return cidrContains(a, b) || cidrContains(b, a);
}

export function cidrPrefix(cidr: string): number {
  return new Netmask(cidr).bitmask;
}

/** The first `count` equal blocks of `cidr`, each as large as `count` blocks allow. */
export function splitCidr(cidr: string, count: number): string[] {
  const block = new Netmask(cidr);
  const prefix = block.bitmask + Math.ceil(Math.log2(count));
  const blocks = [new Netmask(`${block.base}/${prefix}`)];
  while (blocks.length < count) blocks.push(blocks[blocks.length - 1].next());
  return blocks.map((b) => `${b.base}/${b.bitmask}`);
}
