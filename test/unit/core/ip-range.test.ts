import { describe, it, expect } from '@jest/globals';
import { ipRangeList, parseIpRange } from '../../../src/core/ip-range.js';

describe('IP ranges', () => {
  it('parses addresses and CIDR ranges of both families', () => {
    expect(parseIpRange('192.168.1.20')).toEqual({ address: '192.168.1.20', family: 'ipv4', prefix: null });
    expect(parseIpRange(' 10.0.0.0/8 ')).toEqual({ address: '10.0.0.0', family: 'ipv4', prefix: 8 });
    expect(parseIpRange('fd00::/8')).toEqual({ address: 'fd00::', family: 'ipv6', prefix: 8 });
    expect(parseIpRange('::1/128')).toEqual({ address: '::1', family: 'ipv6', prefix: 128 });
  });

  it('refuses names, bad prefixes and bad addresses', () => {
    for (const bad of ['pbx.example.com', '10.0.0.0/33', '::/129', '10.0.0.0/', '10.0.0.0/8/1', '10.0.0.0/-1', '999.1.1.1', '']) {
      expect(parseIpRange(bad)).toBeNull();
    }
  });

  it('matches addresses against the list', () => {
    const list = ipRangeList(['192.168.1.20', '10.0.0.0/8', 'fd00::/8']);
    expect(list.check('192.168.1.20', 'ipv4')).toBe(true);
    expect(list.check('192.168.1.21', 'ipv4')).toBe(false);
    expect(list.check('10.200.3.4', 'ipv4')).toBe(true);
    expect(list.check('fd12::1', 'ipv6')).toBe(true);
    expect(list.check('2001:db8::1', 'ipv6')).toBe(false);
    expect(() => ipRangeList(['pbx.example.com'])).toThrow(/"pbx\.example\.com" is not an IP address or CIDR range/);
  });
});
