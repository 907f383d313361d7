import { describe, expect, it } from '@jest/globals';
import { DeviceCollector, formatDevicesTable } from '../../../../src/cli/admin/devices.js';
import { formatWatchLine, watchFilters, watchLine } from '../../../../src/cli/admin/watch.js';

const json = (v: unknown) => Buffer.from(JSON.stringify(v));
const T = Date.UTC(2026, 10, 2, 9, 30, 0);

describe('admin devices: table', () => {
  it('joins presence and reports per device, sorted, with padded columns', () => {
    const c = new DeviceCollector();
    c.add('dl/v1/shop-2/presence', json({ state: 'offline', at: null }));
    c.add('dl/v1/shop-1/config/reported', json({ rev: 12, groups: { north: 3 }, status: 'rejected', errors: [{ path: 'a', message: 'b' }, { path: 'c', message: 'd' }], appliedAt: null, localEdits: [] }));
    c.add('dl/v1/shop-1/presence', json({ state: 'online', at: T, version: '0.1.0' }));
    c.add('dl/v1/shop-3/presence', Buffer.from('garbage'));
    c.add('dl/v1/shop-1/cmd/ping', json({})); // not ours to show
    c.add('elsewhere/x', json({}));
    const rows = c.list();
    expect(rows.map((r) => [r.device, r.state, r.rev, r.status])).toEqual([
      ['shop-1', 'online', 12, 'rejected'],
      ['shop-2', 'offline', null, null],
      ['shop-3', 'unknown', null, null],
    ]);
    expect(formatDevicesTable(rows).split('\n')).toEqual([
      'DEVICE  STATE    SINCE                 REV  GROUPS   STATUS               VERSION',
      'shop-1  online   2026-11-02T09:30:00Z  12   north@3  rejected (2 errors)  0.1.0',
      'shop-2  offline  -                     -    -        -                    -',
      'shop-3  unknown  -                     -    -        -                    -',
      expect.stringMatching(/^shop-3: ignored presence: not JSON/),
    ]);
    expect(formatDevicesTable([])).toBe('no devices have published presence or a config report');
  });
});

describe('admin watch: lines', () => {
  it('subscribes to events, presence and reports of every device or one', () => {
    expect(watchFilters()).toEqual(['dl/v1/+/events/#', 'dl/v1/+/presence', 'dl/v1/+/config/reported']);
    expect(watchFilters('d1')).toEqual(['dl/v1/d1/events/#', 'dl/v1/d1/presence', 'dl/v1/d1/config/reported']);
    expect(() => watchFilters('#')).toThrow(expect.objectContaining({ code: 'CLOUD_BAD_TOPIC_LEVEL' }));
  });

  it('prints one line per message, JSON-ready, with device text made safe', () => {
    const event = watchLine('dl/v1/d1/events/calls', json({ id: 'e1', stream: 'calls', seq: 3, at: T, type: 'call.ended', data: { number: '555\u001b[31m' } }), false, T);
    expect(event).toEqual({ receivedAt: T, device: 'd1', kind: 'event', retained: false, topic: 'dl/v1/d1/events/calls', payload: { id: 'e1', stream: 'calls', seq: 3, at: T, type: 'call.ended', data: { number: '555\u001b[31m' } } });
    expect(formatWatchLine(event!)).toBe('09:30:00.000 d1 event calls#3 call.ended {"number":"555\\u001b[31m"}');

    const presence = watchLine('dl/v1/d1/presence', json({ state: 'online', at: T, version: '1.0' }), true, T);
    expect(formatWatchLine(presence!)).toBe('09:30:00.000 d1 presence online since 2026-11-02T09:30:00Z v1.0 (retained)');

    const reported = watchLine('dl/v1/d1/config/reported', json({ rev: 2, groups: { north: 1 }, status: 'reverted', errors: [], appliedAt: null, localEdits: [], reason: 'SIP did not register' }), false, T);
    expect(formatWatchLine(reported!)).toBe('09:30:00.000 d1 config rev 2 north@1 reverted (SIP did not register)');

    const broken = watchLine('dl/v1/d1/events/calls', Buffer.from('{'), false, T);
    expect(broken).toMatchObject({ payload: null, invalid: expect.stringMatching(/^not JSON/) });
    expect(formatWatchLine(broken!)).toMatch(/^09:30:00.000 d1 event unreadable: not JSON/);
    expect(watchLine('dl/v1/d1/cmd/ping', json({}), false)).toBeUndefined();
    expect(watchLine('dl/v1/d1/events/a/b', json({}), false)).toBeUndefined();
  });
});
