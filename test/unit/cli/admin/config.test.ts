import { describe, expect, it } from '@jest/globals';
import { ReportWaiter, desiredPayload, documentIssues, formatPushOutcome, knownMembers, nextRevision, resolvePushTarget, secretFieldsIn, type PushOutcome } from '../../../../src/cli/admin/config.js';
import { EXIT } from '../../../../src/cli/context.js';
import type { CloudPayloads } from '../../../../src/cloud/topics.js';

type Report = CloudPayloads['config/reported'];
const report = (o: Partial<Report>): Report => ({ rev: 0, groups: {}, status: 'applied', errors: [], appliedAt: null, localEdits: [], ...o });

describe('admin config push: building the push', () => {
  it('takes <deviceId> <file> or --group g <file>, and says what it wants otherwise', () => {
    expect(resolvePushTarget(['shop-1', 'c.json'], undefined)).toEqual({ kind: 'device', deviceId: 'shop-1', file: 'c.json' });
    expect(resolvePushTarget(['c.json'], 'north')).toEqual({ kind: 'group', group: 'north', file: 'c.json' });
    expect(() => resolvePushTarget(['c.json'], undefined)).toThrow(expect.objectContaining({ code: 'ADMIN_BAD_ARGS', exitCode: EXIT.badConfig, message: expect.stringMatching(/device id and a file/) }));
    expect(() => resolvePushTarget(['d1', 'c.json'], 'north')).toThrow(expect.objectContaining({ code: 'ADMIN_BAD_ARGS', message: expect.stringMatching(/only the file/) }));
    expect(() => resolvePushTarget(['d/1', 'c.json'], undefined)).toThrow(expect.objectContaining({ code: 'ADMIN_BAD_ARGS', message: expect.stringMatching(/can't be a topic level/) }));
    expect(() => resolvePushTarget(['c.json'], '#')).toThrow(expect.objectContaining({ code: 'ADMIN_BAD_ARGS' }));
  });

  it('finds every secret field a document sets, through arrays, from the schema marks', () => {
    const doc = { sip: { accounts: [{ id: 'a', password: 'x' }, { id: 'b' }, { id: 'c', password: '' }] }, cloud: { password: 'p', url: '' } };
    expect(secretFieldsIn(doc).sort()).toEqual(['cloud.password', 'sip.accounts.0.password', 'sip.accounts.2.password']);
    expect(secretFieldsIn({ sip: { accounts: 'not-an-array' } })).toEqual([]);
    expect(secretFieldsIn({ a: { b: [{ c: 1 }] } }, ['a.b[].c'])).toEqual(['a.b.0.c']);
  });

  it('refuses a group document with secrets or device.id, and validates documents merged over the defaults', () => {
    const withSecret = { sip: { accounts: [{ id: 'main', uri: 'sip:1@pbx.example.com', password: 'hunter2' }] } };
    expect(documentIssues(withSecret, 'group')).toEqual([{ path: 'sip.accounts.0.password', message: expect.stringMatching(/secrets go only in per-device documents/) }]);
    expect(documentIssues(withSecret, 'device')).toEqual([]);
    expect(documentIssues({ device: { id: 'x' } }, 'group')).toEqual([{ path: 'device.id', message: expect.stringMatching(/per device/) }]);
    expect(documentIssues({ device: { name: 'Front desk' } }, 'group')).toEqual([]);
    const issues = documentIssues({ web: { port: 99999 }, phone: { dialTimeoutMs: 'soon' }, displayy: {} }, 'device');
    expect(issues.map((i) => i.path).sort()).toEqual(['displayy', 'phone.dialTimeoutMs', 'web.port']);
    expect(issues.find((i) => i.path === 'web.port')?.message).toMatch(/65535/);
  });

  it('picks the retained revision + 1 unless one is given, and carries the admin identity', () => {
    expect(nextRevision(null, undefined)).toBe(1);
    expect(nextRevision({ rev: 7, config: {} }, undefined)).toBe(8);
    expect(nextRevision({ rev: 7, config: {} }, 20)).toBe(20);
    expect(JSON.parse(desiredPayload(8, { web: { port: 8081 } }, 'ops'))).toEqual({ rev: 8, config: { web: { port: 8081 } }, by: 'ops' });
  });
});

describe('admin config push: waiting for reports', () => {
  it('a device push is answered by the report with its rev; older reports are not answers', () => {
    const waiter = new ReportWaiter(8, null, { devices: ['d1'] });
    expect(waiter.add('d1', report({ rev: 7 }))).toBe(false);
    expect(waiter.done).toBe(false);
    expect(waiter.missing()).toEqual(['d1']);
    expect(waiter.add('d2', report({ rev: 8 }))).toBe(false); // not waited for
    expect(waiter.add('d1', report({ rev: 8, status: 'rejected', errors: [{ path: 'board', message: 'no' }] }))).toBe(true);
    expect(waiter.done).toBe(true);
    expect(waiter.results()).toEqual([{ device: 'd1', ...report({ rev: 8, status: 'rejected', errors: [{ path: 'board', message: 'no' }] }) }]);
    expect(waiter.missing()).toEqual([]);
  });

  it('a group push is answered by groups[group]; a later revision counts as superseded', () => {
    const waiter = new ReportWaiter(3, 'north', { devices: ['a', 'b', 'c'] });
    expect(waiter.add('a', report({ rev: 9, groups: { north: 3 } }))).toBe(true);
    expect(waiter.add('b', report({ rev: 3, groups: { south: 3 } }))).toBe(false);
    expect(waiter.add('c', report({ groups: { north: 4 } }))).toBe(false);
    expect(waiter.done).toBe(false);
    expect(waiter.missing()).toEqual(['b']);
    expect(waiter.superseded).toEqual(new Map([['c', 4]]));
    expect(waiter.add('b', report({ groups: { north: 3, south: 3 } }))).toBe(true);
    expect(waiter.done).toBe(true);

    const count = new ReportWaiter(3, 'north', { count: 2 });
    count.add('x', report({ groups: { north: 3 } }));
    expect(count.done).toBe(false);
    count.add('x', report({ groups: { north: 3 } }));
    expect(count.done).toBe(false);
    count.add('y', report({ groups: { north: 3 } }));
    expect(count.done).toBe(true);

    const open = new ReportWaiter(3, 'north', null);
    open.add('x', report({ groups: { north: 3 } }));
    expect(open.done).toBe(false); // waits the whole timeout
    expect(open.results().map((r) => r.device)).toEqual(['x']);
  });

  it('knows the members of a group from the reports that list it', () => {
    const reports = new Map([
      ['b', report({ groups: { north: 1, south: 2 } })],
      ['a', report({ groups: { north: 0 } })],
      ['c', report({ groups: { south: 2 } })],
      ['d', report({})],
    ]);
    expect(knownMembers(reports, 'north')).toEqual(['a', 'b']);
    expect(knownMembers(reports, 'east')).toEqual([]);
    expect(knownMembers(new Map([['x', report({ groups: JSON.parse('{"__proto__": 1}') })]]), '__proto__')).toEqual(['x']);
  });

  it('prints each report with its errors, and who did not answer', () => {
    const outcome: PushOutcome = {
      target: { group: 'north' },
      topic: 'dl/v1/groups/north/config/desired',
      rev: 3,
      waited: true,
      results: [
        { device: 'a', ...report({ rev: 2, groups: { north: 3 }, status: 'applied', appliedAt: Date.UTC(2026, 0, 2, 3, 4, 5), localEdits: ['phone.volume'] }) },
        { device: 'b', ...report({ rev: 1, groups: { north: 3 }, status: 'rejected', errors: [{ path: 'sip.accounts.0.uri', message: 'unreachable\u001b[2J' }] }) },
      ],
      missing: ['c', 'd'],
      superseded: [],
      expected: null,
      waitedFor: ['a', 'b', 'c', 'd'],
      membersFrom: 'option',
    };
    const presence = new Map([['c', { state: 'offline' as const, at: Date.UTC(2026, 0, 1) }]]);
    expect(formatPushOutcome(outcome, presence).split('\n')).toEqual([
      'published rev 3 for group north (dl/v1/groups/north/config/desired)',
      'a: applied rev 3 of group north at 2026-01-02T03:04:05Z',
      '  local edits kept: phone.volume',
      'b: rejected rev 3 of group north',
      '  sip.accounts.0.uri: unreachable\\u001b[2J',
      'c: no report of rev 3 (offline since 2026-01-01T00:00:00Z)',
      'd: no report of rev 3 (no presence known)',
    ]);
    expect(formatPushOutcome({ ...outcome, target: { device: 'a' }, results: [], missing: [], expected: null })).toBe('published rev 3 for device a (dl/v1/groups/north/config/desired)\nno device reported rev 3');
    expect(formatPushOutcome({ ...outcome, results: outcome.results.slice(0, 1), missing: [], expected: 2 })).toMatch(/1 of 2 expected reports arrived$/);
  });
});
