import { describe, it, expect } from '@jest/globals';
import type { networkInterfaces } from 'node:os';
import { NetworkWatch, externalAddresses } from '../../../src/sip/network-watch.js';
import { FakeClock } from '../../support/fake-clock.js';

describe('NetworkWatch', () => {
  it('reports a change of addresses once, on the clock, and nothing while they stay the same', () => {
    const clock = new FakeClock();
    let addresses = ['eth0/192.168.1.20'];
    const changes: Array<[string[], string[]]> = [];
    const watch = new NetworkWatch({ clock, intervalMs: 5000, read: () => addresses, onChange: (now, before) => void changes.push([now, before]) });
    watch.start();
    clock.advance(20_000);
    expect(changes).toEqual([]);
    addresses = ['eth0/10.0.0.7'];
    clock.advance(4999);
    expect(changes).toEqual([]);
    clock.advance(1);
    expect(changes).toEqual([[['eth0/10.0.0.7'], ['eth0/192.168.1.20']]]);
    clock.advance(20_000);
    expect(changes).toHaveLength(1);
    // losing the uplink is a change too, and so is getting it back
    addresses = [];
    clock.advance(5000);
    addresses = ['eth0/10.0.0.7'];
    clock.advance(5000);
    expect(changes.slice(1)).toEqual([[[], ['eth0/10.0.0.7']], [['eth0/10.0.0.7'], []]]);
    watch.stop();
    addresses = ['wlan0/172.16.0.2'];
    clock.advance(20_000);
    expect(changes).toHaveLength(3);
  });

  it('counts external addresses only, in a stable order', () => {
    const read = (() => ({
      lo: [{ address: '127.0.0.1', internal: true }],
      wlan0: [{ address: '172.16.0.2', internal: false }],
      eth0: [{ address: '192.168.1.20', internal: false }, { address: 'fe80::1', internal: false }],
    })) as unknown as typeof networkInterfaces;
    expect(externalAddresses(read)).toEqual(['eth0/192.168.1.20', 'eth0/fe80::1', 'wlan0/172.16.0.2']);
  });
});
