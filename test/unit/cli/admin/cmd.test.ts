import { describe, expect, it } from '@jest/globals';
import { buildCommand, formatCommandOutcome, parseCommandArgs } from '../../../../src/cli/admin/cmd.js';
import { EXIT } from '../../../../src/cli/context.js';

describe('admin cmd: payload and output', () => {
  it('takes a JSON object as arguments, {} when absent, and refuses anything else with exit 2', () => {
    expect(parseCommandArgs(undefined)).toEqual({});
    expect(parseCommandArgs('  ')).toEqual({});
    expect(parseCommandArgs('{"number":"5551234","repeat":2}')).toEqual({ number: '5551234', repeat: 2 });
    for (const [bad, why] of [['[1]', /JSON object/], ['"x"', /JSON object/], ['null', /JSON object/], ['{number:1}', /not JSON.*quote them/]] as const) {
      expect(() => parseCommandArgs(bad)).toThrow(expect.objectContaining({ code: 'ADMIN_BAD_ARGS', exitCode: EXIT.badConfig, message: expect.stringMatching(why) }));
    }
    expect(() => parseCommandArgs(`{"x":"${'y'.repeat(70_000)}"}`)).toThrow(expect.objectContaining({ message: expect.stringMatching(/limit is 65536/) }));
  });

  it('builds {id, by, args, expiresAt} with a fresh uuid per command', () => {
    const cmd = buildCommand({ by: 'ops', args: { a: 1 }, expiresInS: 60, now: 1_000 });
    expect(cmd).toEqual({ id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/), by: 'ops', args: { a: 1 }, expiresAt: 61_000 });
    expect(buildCommand({ by: 'ops', args: {}, expiresInS: 1 }).id).not.toBe(cmd.id);
  });

  it('prints ok with data, failures with code, unsupported and expired', () => {
    const base = { device: 'd1', command: 'ping', id: 'i' };
    expect(formatCommandOutcome({ ...base, status: 'ok' })).toBe('d1: ping ok');
    expect(formatCommandOutcome({ ...base, status: 'ok', data: { pong: true } })).toBe('d1: ping ok\n{\n  "pong": true\n}');
    expect(formatCommandOutcome({ ...base, status: 'error', error: { code: 'SMS_NO_MODEM', message: 'no modem\u001b]0;x' } })).toBe('d1: ping failed: no modem\\u001b]0;x (SMS_NO_MODEM)');
    expect(formatCommandOutcome({ ...base, status: 'unsupported' })).toBe("d1: does not support the command 'ping'");
    expect(formatCommandOutcome({ ...base, status: 'expired' })).toMatch(/expired before the device ran it/);
  });
});
