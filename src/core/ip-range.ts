// IP addresses and CIDR ranges as admins write them in allow-lists ('192.168.1.20', '10.0.0.0/8',
// 'fd00::/8'): one parser for the config check and for the list the runtime matches against.

import { BlockList, isIP } from 'node:net';

export interface IpRange {
  address: string;
  family: 'ipv4' | 'ipv6';
  /** prefix length, or null for a single address */
  prefix: number | null;
}

/** Parses one entry; null when it is neither an IP address nor a CIDR range. */
export function parseIpRange(entry: string): IpRange | null {
  const [address, prefixText, extra] = entry.trim().split('/');
  const version = isIP(address);
  if (!version || extra !== undefined) return null;
  const family = version === 6 ? 'ipv6' : 'ipv4';
  if (prefixText === undefined) return { address, family, prefix: null };
  if (!/^\d{1,3}$/.test(prefixText)) return null;
  const prefix = Number(prefixText);
  return prefix <= (version === 6 ? 128 : 32) ? { address, family, prefix } : null;
}

/** A matcher for entries already checked with parseIpRange (a bad one throws a TypeError naming it). */
export function ipRangeList(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const range = parseIpRange(entry);
    if (!range) throw new TypeError(`${JSON.stringify(entry)} is not an IP address or CIDR range`);
    if (range.prefix === null) list.addAddress(range.address, range.family);
    else list.addSubnet(range.address, range.prefix, range.family);
  }
  return list;
}
