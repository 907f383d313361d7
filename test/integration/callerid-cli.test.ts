import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { projectRoot } from '../../src/core/paths.js';
import { VECTORS } from '../unit/callerid/vectors.js';

/** The built CLI (npm test builds before running the suites; by hand: npx tsc -p tsconfig.build.json). */
const MAIN = join(projectRoot(), 'dist', 'src', 'main.js');

function decode(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, 'callerid', 'decode', ...args], { encoding: 'utf8', env: { ...process.env, DESKLINE_CONFIG: '' }, timeout: 20_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr });
    });
  });
}

describe('deskline callerid decode', () => {
  it('SDMF hex (with seizure bytes): one JSON object, exit 0', async () => {
    const r = await decode(`55 55 55 55 55 ${VECTORS.sdmf}`);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ valid: true, format: 'sdmf', number: '2125551234', name: null, numberAbsent: null, nameAbsent: null, month: 3, day: 21, hour: 14, minute: 5 });
  });

  it('MDMF hex: number and name; private number and name', async () => {
    const [named, withheld] = await Promise.all([decode(VECTORS.mdmf), decode(VECTORS.mdmfPrivate)]);
    expect(named.code).toBe(0);
    expect(JSON.parse(named.stdout)).toEqual({ valid: true, format: 'mdmf', number: '2125551234', name: 'ACME HARDWARE', numberAbsent: null, nameAbsent: null, month: 3, day: 21, hour: 14, minute: 5 });
    expect(withheld.code).toBe(0);
    expect(JSON.parse(withheld.stdout)).toEqual({ valid: true, format: 'mdmf', number: null, name: null, numberAbsent: 'private', nameAbsent: 'private', month: 12, day: 25, hour: 9, minute: 30 });
  });

  it('message waiting', async () => {
    const r = await decode('82 03 0B 01 FF 70');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ valid: true, format: 'mdmf', number: null, name: null, numberAbsent: null, nameAbsent: null, messageWaiting: true });
  });

  it('text lines (literal \\n) and a caller-ID box line', async () => {
    const [modem, box] = await Promise.all([
      decode('RING\\nDATE = 1015\\nTIME = 2038\\nNMBR = 8475550001\\nNAME = U.S.ROBOTICS\\nRING'),
      decode('01 I S 0000 G A1 09/26 11:28 AM 800-555-1212   ACME HARDWARE'),
    ]);
    expect(modem.code).toBe(0);
    expect(JSON.parse(modem.stdout)).toEqual({ valid: true, format: 'text', number: '8475550001', name: 'U.S.ROBOTICS', numberAbsent: null, nameAbsent: null, month: 10, day: 15, hour: 20, minute: 38 });
    expect(box.code).toBe(0);
    expect(JSON.parse(box.stdout)).toMatchObject({ valid: true, format: 'text', number: '8005551212', name: 'ACME HARDWARE', hour: 11 });
  });

  it('DTMF caller ID', async () => {
    const [number, withheld] = await Promise.all([decode('A2125551234C'), decode('D1#')]);
    expect(number.code).toBe(0);
    expect(JSON.parse(number.stdout)).toEqual({ valid: true, format: 'dtmf', number: '2125551234', name: null, numberAbsent: null, nameAbsent: null });
    expect(JSON.parse(withheld.stdout)).toEqual({ valid: true, format: 'dtmf', number: null, name: null, numberAbsent: 'private', nameAbsent: null });
  });

  it('invalid input: {"valid": false, "error": ...} and exit 1', async () => {
    const cases = await Promise.all([decode(VECTORS.bad), decode('04 12 30'), decode('not caller id'), decode('01 I S 0000 B A1 09/26 11:28 AM 800-555-1212 ACME'), decode('zz 12')]);
    for (const r of cases) {
      expect(r.code).toBe(1);
      const out = JSON.parse(r.stdout);
      expect(out.valid).toBe(false);
      expect(typeof out.error).toBe('string');
      expect(out.error.length).toBeGreaterThan(5);
    }
    expect(JSON.parse(cases[0].stdout).error).toMatch(/bad checksum/);
    expect(JSON.parse(cases[1].stdout).error).toMatch(/message length says 21 bytes, got 3/);
    expect(JSON.parse(cases[3].stdout).error).toMatch(/bad checksum/);
  });

  it('--help describes the input forms; a missing argument is a usage error', async () => {
    const help = await decode('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: deskline callerid decode');
    expect(help.stdout).toMatch(/DTMF/);
    const missing = await decode();
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/missing required argument/);
  });
});
