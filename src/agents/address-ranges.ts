/**
 * Address ranges a trunk's inbound calls may come from (`inbound_addresses`): single addresses or
 * CIDR blocks, IPv4 or IPv6 (a carrier signals from a few published ranges, not from the one host
 * we dial). Matching uses node:net's BlockList, which also matches IPv4-mapped IPv6 sources.
 */
import { BlockList, isIP } from 'node:net';

/** The most ranges one trunk lists (carriers publish a handful to a few dozen). */
export const MAX_INBOUND_RANGES = 64;

export interface AddressRange {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

/** "198.51.100.0/24", "2001:db8::/32" or a bare address; undefined when it is neither. */
export function parseRange(text: string): AddressRange | undefined {
  const m = /^([^/\s]+)(?:\/(\d{1,3}))?$/.exec(text.trim());
  if (!m) return undefined;
  const address = m[1] as string;
  const v = isIP(address);
  if (v === 0) return undefined;
  const max = v === 4 ? 32 : 128;
  const prefix = m[2] === undefined ? max : Number(m[2]);
  if (!(prefix >= 0 && prefix <= max)) return undefined;
  return { address, prefix, family: v === 4 ? 'ipv4' : 'ipv6' };
}

/** Whether `address` (a packet's source) lies in any of the ranges; unparsable ranges match nothing. */
export function inRanges(ranges: readonly string[], address: string): boolean {
  if (ranges.length === 0 || isIP(address.replace(/^::ffff:(?=\d+\.)/i, '')) === 0) return false;
  const list = new BlockList();
  for (const r of ranges) {
    const p = parseRange(r);
    if (p) list.addSubnet(p.address, p.prefix, p.family);
  }
  const plain = address.replace(/^::ffff:(?=\d+\.)/i, '');
  return list.check(plain, isIP(plain) === 4 ? 'ipv4' : 'ipv6');
}
