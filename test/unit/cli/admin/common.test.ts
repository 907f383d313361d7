import { describe, expect, it } from '@jest/globals';
import { AdminError, MAX_PAYLOAD_BYTES, checkCmdResult, checkDesired, checkPresence, checkReported, formatTime, parsePayload, positiveNumber, readPayload, safeText } from '../../../../src/cli/admin/common.js';
import { CliExit, EXIT } from '../../../../src/cli/context.js';

const json = (v: unknown) => Buffer.from(JSON.stringify(v));

describe('admin: payloads from the network', () => {
  it('parses JSON and refuses oversized, empty and malformed payloads with the reason', () => {
    expect(parsePayload(json({ a: 1 }))).toEqual({ ok: true, value: { a: 1 } });
    expect(parsePayload(Buffer.alloc(0))).toEqual({ ok: false, reason: 'empty payload' });
    expect(parsePayload(Buffer.from('{nope'))).toMatchObject({ ok: false, reason: expect.stringMatching(/^not JSON/) });
    const big = Buffer.from(`"${'x'.repeat(MAX_PAYLOAD_BYTES)}"`);
    expect(parsePayload(big)).toEqual({ ok: false, reason: `payload of ${big.length} bytes (limit ${MAX_PAYLOAD_BYTES})` });
  });

  it('checks presence, reports, desired documents and command results field by field', () => {
    expect(readPayload(json({ state: 'online', at: 5, version: '1.2' }), checkPresence)).toEqual({ ok: true, value: { state: 'online', at: 5, version: '1.2' } });
    expect(readPayload(json({ state: 'offline' }), checkPresence)).toEqual({ ok: true, value: { state: 'offline', at: null } });
    expect(checkPresence({ state: 'asleep', at: 1 }).ok).toBe(false);
    expect(checkPresence({ state: 'online', at: 'yesterday' }).ok).toBe(false);

    const report = { rev: 4, groups: { north: 2 }, status: 'rejected', errors: [{ path: 'web.port', message: 'too big' }], appliedAt: null, localEdits: ['phone.volume', 7], reason: 'x' };
    expect(checkReported(report)).toEqual({ ok: true, value: { rev: 4, groups: { north: 2 }, status: 'rejected', errors: [{ path: 'web.port', message: 'too big' }], appliedAt: null, localEdits: ['phone.volume'], reason: 'x' } });
    expect(checkReported({ rev: 1, status: 'applied' })).toEqual({ ok: true, value: { rev: 1, groups: {}, status: 'applied', errors: [], appliedAt: null, localEdits: [] } });
    expect(checkReported({ ...report, status: 'done' })).toMatchObject({ ok: false, reason: expect.stringMatching(/status/) });
    expect(checkReported({ ...report, rev: 1.5 })).toMatchObject({ ok: false, reason: expect.stringMatching(/rev/) });
    expect(checkReported({ ...report, errors: [{ path: 1 }] })).toMatchObject({ ok: false, reason: expect.stringMatching(/errors/) });
    expect(checkReported({ ...report, groups: JSON.parse('{"__proto__": 3, "north": 1}') })).toMatchObject({ ok: true, value: { groups: { north: 1 } } });
    expect(Object.keys((checkReported({ ...report, groups: JSON.parse('{"__proto__": 3}') }) as { value: { groups: object } }).value.groups)).toEqual([]);
    expect(checkReported({ ...report, groups: { north: 'two' } })).toMatchObject({ ok: false, reason: expect.stringMatching(/group "north"/) });

    expect(checkDesired({ rev: 3, config: { web: {} }, by: 'x' })).toEqual({ ok: true, value: { rev: 3, config: { web: {} } } });
    expect(checkDesired({ rev: 3, config: [] }).ok).toBe(false);

    expect(checkCmdResult({ id: 'a', status: 'ok', data: { n: 1 } })).toEqual({ ok: true, value: { id: 'a', status: 'ok', data: { n: 1 } } });
    expect(checkCmdResult({ id: 'a', status: 'error', error: { code: 'X', message: 'm' } })).toEqual({ ok: true, value: { id: 'a', status: 'error', error: { code: 'X', message: 'm' } } });
    expect(checkCmdResult({ id: 'a', status: 'maybe' }).ok).toBe(false);
  });

  it('makes device text safe for a terminal and cuts it', () => {
    expect(safeText('ok\u001b[2Jwiped\nline')).toBe('ok\\u001b[2Jwiped\\u000aline');
    expect(safeText('\u009b31m')).toBe('\\u009b31m');
    expect(safeText('abcdef', 4)).toBe('abc…');
    expect(formatTime(Date.UTC(2026, 10, 2, 9, 30))).toBe('2026-11-02T09:30:00Z');
    expect(formatTime(null)).toBe('-');
  });

  it('parses number options and refuses the rest with exit 2', () => {
    expect(positiveNumber('--timeout')('2.5')).toBe(2.5);
    expect(positiveNumber('--wait', true, true)('0')).toBe(0);
    for (const bad of ['0', '-1', 'x', '', '1.5']) {
      const parse = positiveNumber('--rev', true);
      expect(() => parse(bad)).toThrow(AdminError);
    }
    expect(() => positiveNumber('--rev', true)('1.5')).toThrow(
      expect.objectContaining({ code: 'ADMIN_BAD_OPTION', exitCode: EXIT.badConfig, message: "deskline admin: --rev must be a positive integer, got '1.5'" }),
    );
    expect(new AdminError('X', 'y')).toBeInstanceOf(CliExit);
  });
});
