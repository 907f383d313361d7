import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from '@jest/globals';
import { decodeEscPos } from '../../../drivers/printer/virtual/decoder.js';
import { CliExit, EXIT } from '../../../src/cli/context.js';
import {
  MAX_INPUT_BYTES, checkTemplate, decoderOptions, jsonSyntaxError, lineColumn, outFormat, paperResult, paperText, parseCopies,
  parseInputJson, parsePaperWidth, parsePrinter, parseTimeout, readInput, renderOptions, waitForJobs, type PrintJob,
} from '../../../src/cli/print.js';
import { buildProgram } from '../../../src/cli/program.js';
import { validateConfig } from '../../../src/config/load.js';
import type { Config } from '../../../src/config/schema.js';
import { renderSlip, type OrderSlipInput } from '../../../src/printing/templates/index.js';

const badArgs = (message: RegExp) => expect.objectContaining({ exitCode: EXIT.badConfig, message: expect.stringMatching(message) });

function config(printing: Record<string, unknown> = {}): Config {
  const result = validateConfig({ printing });
  if (!result.config) throw new Error(JSON.stringify(result.issues));
  return result.config;
}

const order: OrderSlipInput = {
  shop: { name: 'Garden Cafe', phone: '555-0100' },
  orderId: 'A-1',
  at: null,
  customer: { name: 'Ann Lee', phone: '555-0101', address: '12 Garden Rd' },
  items: [{ name: 'Noodles', qty: 2, unitPrice: 650 }],
  currency: 'USD',
  total: 1300,
};

describe('deskline print: arguments', () => {
  it('knows the printers: board, virtual, lp:PATH, tcp:HOST[:PORT]; anything else is exit 2 listing them', () => {
    expect(parsePrinter('virtual')).toEqual({ kind: 'virtual' });
    expect(parsePrinter('board')).toEqual({ kind: 'board' });
    expect(parsePrinter('lp:/dev/usb/lp0')).toEqual({ kind: 'lp', path: '/dev/usb/lp0' });
    expect(parsePrinter('tcp:10.0.0.5')).toEqual({ kind: 'network', host: '10.0.0.5', port: 9100 });
    expect(parsePrinter('tcp:printer.lan:9101')).toEqual({ kind: 'network', host: 'printer.lan', port: 9101 });
    expect(parsePrinter('tcp:[::1]:9100')).toEqual({ kind: 'network', host: '::1', port: 9100 });
    expect(() => parsePrinter('tcp:host:70000')).toThrow(badArgs(/port must be 1\.\.65535/));
    for (const bad of ['epson', 'lp:', 'tcp:', '']) expect(() => parsePrinter(bad)).toThrow(badArgs(/'board'.*'virtual'.*lp:.*tcp:/));
  });

  it('checks --paper, --copies, --timeout, the template and the --out extension', () => {
    expect(parsePaperWidth('58')).toBe(58);
    expect(parsePaperWidth('80')).toBe(80);
    for (const bad of ['57', '80mm', '']) expect(() => parsePaperWidth(bad)).toThrow(badArgs(/--paper must be 58 or 80/));
    expect(parseCopies('3')).toBe(3);
    for (const bad of ['0', '11', '1.5', '-1', 'two']) expect(() => parseCopies(bad)).toThrow(badArgs(/--copies must be 1\.\.10/));
    expect(parseTimeout('0.5')).toBe(0.5);
    for (const bad of ['0', '-1', 'soon', '', '99999']) expect(() => parseTimeout(bad)).toThrow(badArgs(/--timeout/));
    expect(checkTemplate('customer-card')).toBe('customer-card');
    expect(() => checkTemplate('receipt')).toThrow(badArgs(/unknown template 'receipt'; templates: order, customer-card, call-list, day-summary/));
    expect(outFormat('paper.PNG')).toBe('png');
    expect(outFormat('/tmp/a.svg')).toBe('svg');
    for (const bad of ['a.gif', 'a', 'png']) expect(() => outFormat(bad)).toThrow(badArgs(/must end in \.png or \.svg/));
  });

  it('refuses bad arguments through the program with exit 2 before reading anything', async () => {
    const run = (...args: string[]) => buildProgram().parseAsync(['node', 'deskline', 'print', ...args]);
    await expect(run('order', '--input', '/nonexistent.json', '--paper', '57')).rejects.toThrow(badArgs(/--paper must be 58 or 80/));
    await expect(run('order', '--input', '/nonexistent.json', '--printer', 'laser')).rejects.toThrow(badArgs(/unknown printer 'laser'/));
    await expect(run('receipt', '--input', '/nonexistent.json')).rejects.toThrow(badArgs(/unknown template 'receipt'/));
    await expect(run('order', '--input', '/nonexistent.json', '--out', 'x.png')).rejects.toThrow(badArgs(/--out works with --printer virtual only/));
    await expect(run('order', '--input', '/nonexistent.json', '--printer', 'virtual', '--out', 'x.bmp')).rejects.toThrow(badArgs(/\.png or \.svg/));
  });
});

describe('deskline print: the input file', () => {
  it('says where JSON goes wrong, as line and column', () => {
    expect(lineColumn('ab\ncd', 4)).toEqual({ line: 2, column: 2 });
    expect(jsonSyntaxError('{"a": [1, 2,]}')).toEqual({ offset: 12, reason: "unexpected ']'" });
    expect(jsonSyntaxError('{"a": 1')).toEqual({ offset: 7, reason: "expected ',' or '}' after a property value" });
    expect(jsonSyntaxError('{a: 1}')?.reason).toMatch(/property name in double quotes/);
    expect(jsonSyntaxError('"x\ny"')?.reason).toMatch(/control character/);
    expect(jsonSyntaxError('{"a": 1} x')?.reason).toMatch(/after the JSON value/);
    for (const good of ['{}', '[]', '{"a":[1,-2.5e3,true,false,null,"\\u00e9\\n"]}', ' 0 ']) expect(jsonSyntaxError(good)).toBeNull();
    expect(() => parseInputJson('{\n  "orderId": "x",\n  "at": ,\n}', 'in.json')).toThrow(badArgs(/in\.json: not valid JSON at line 3, column 9: unexpected ','/));
    expect(() => parseInputJson('', 'in.json')).toThrow(badArgs(/line 1, column 1: unexpected end of the input/));
    expect(parseInputJson('\ufeff{"a":1}', 'bom.json')).toEqual({ a: 1 });
  });

  it(`reads at most ${MAX_INPUT_BYTES / 1024} KiB, from a file or standard input ('-'), and must be UTF-8`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'print-input-'));
    const file = join(dir, 'order.json');
    writeFileSync(file, JSON.stringify(order));
    await expect(readInput(file)).resolves.toEqual(order);
    const big = join(dir, 'big.json');
    writeFileSync(big, JSON.stringify({ note: 'x'.repeat(MAX_INPUT_BYTES) }));
    await expect(readInput(big)).rejects.toThrow(badArgs(/larger than 256 KiB/));
    await expect(readInput('-', Readable.from([Buffer.from('{"a":'), Buffer.from('1}')]))).resolves.toEqual({ a: 1 });
    await expect(readInput('-', Readable.from([Buffer.alloc(600, 0x20), Buffer.from('1')]), 512)).rejects.toThrow(badArgs(/standard input is larger/));
    const latin1 = join(dir, 'latin1.json');
    writeFileSync(latin1, Buffer.from([0x7b, 0x22, 0xe9, 0x22, 0x3a, 0x31, 0x7d]));
    await expect(readInput(latin1)).rejects.toThrow(badArgs(/not UTF-8/));
    await expect(readInput(join(dir, 'missing.json'))).rejects.toThrow(badArgs(/cannot read the input file .*missing\.json: ENOENT/));
    await expect(readInput(dir)).rejects.toThrow(CliExit);
  });
});

describe('deskline print: render options and the virtual printer JSON', () => {
  it('takes the printing config: empty strings mean derived, the system zone, built-in templates', () => {
    expect(renderOptions(config(), 58)).toEqual({ paperWidthMm: 58, encoding: 'gb18030', mapUrlBase: 'https://maps.google.com/?q=' });
    const custom = renderOptions(config({ encoding: 'cp437', locale: 'en', timeZone: 'Europe/Berlin', mapUrlBase: 'https://map.example/?q=', templates: { order: '{orderId}', 'call-list': '' } }), 80);
    expect(custom).toEqual({ paperWidthMm: 80, encoding: 'cp437', locale: 'en', timeZone: 'Europe/Berlin', mapUrlBase: 'https://map.example/?q=', customTemplates: { order: '{orderId}' } });
    expect(decoderOptions('euc-kr', 58)).toEqual({ cjkEncoding: 'euc-kr', paperWidthMm: 58 });
    expect(decoderOptions('cp1252', 80)).toEqual({ codePage: 'cp1252', paperWidthMm: 80 });
  });

  it('has lines with styles, QR payloads, cuts and the paper in order', () => {
    const options = renderOptions(config({ encoding: 'cp437', timeZone: 'UTC' }), 58);
    const slip = renderSlip('order', order, options);
    const result = paperResult('order', 58, 'cp437', slip, decodeEscPos(slip.escpos, decoderOptions('cp437', 58)));
    expect(Object.keys(result)).toEqual(['template', 'paperWidthMm', 'encoding', 'source', 'fallbackReason', 'lines', 'qr', 'images', 'cuts', 'drawer', 'unknown', 'paper']);
    expect(result).toMatchObject({ template: 'order', paperWidthMm: 58, encoding: 'cp437', source: 'builtin', fallbackReason: null, images: 0, drawer: 0, unknown: [] });
    expect(result.lines.find((l) => l.text.includes('Ann Lee'))).toEqual({ text: expect.stringContaining('Ann Lee'), bold: expect.any(Boolean), width: expect.any(Number), height: expect.any(Number), align: expect.stringMatching(/left|center|right/) });
    expect(result.lines.every((l) => l.text.length <= 32)).toBe(true);
    expect(result.qr).toEqual(['https://maps.google.com/?q=12%20Garden%20Rd']);
    expect(result.cuts).toEqual([{ partial: true }]);
    expect(result.paper.at(-1)).toEqual({ cut: 'partial' });
    expect(result.paper.at(-2)).toEqual({ qr: result.qr[0] });
    expect(result.paper.filter((p) => 'text' in p)).toHaveLength(result.lines.length);
    const text = paperText(result);
    expect(text).toMatch(/Ann Lee/);
    expect(text.split('\n').slice(-2)).toEqual(['[QR] https://maps.google.com/?q=12%20Garden%20Rd', '[cut partial]']);
  });
});

describe('deskline print: waiting for the daemon\'s jobs', () => {
  function fakeTime() {
    let t = 0;
    return { now: () => t, sleep: async (ms: number) => { t += ms; } };
  }

  it('polls until every job is printed (or cancelled), and stops at the timeout', async () => {
    const states = [['queued'], ['printing'], ['printed']];
    let calls = 0;
    const list = async (): Promise<PrintJob[]> => [{ id: 'p000001', template: 'order', state: states[Math.min(calls++, 2)][0] }, { id: 'other', template: 'order', state: 'queued' }];
    const time = fakeTime();
    const done = await waitForJobs(list, ['p000001'], { timeoutMs: 60_000, ...time });
    expect(done).toEqual({ jobs: [expect.objectContaining({ id: 'p000001', state: 'printed' })], timedOut: false });
    expect(calls).toBe(3);
    expect(time.now()).toBe(400); // two 200 ms polls

    const stuck = fakeTime();
    const waiting = await waitForJobs(async () => [{ id: 'a', template: 'order', state: 'queued', note: 'the printer is out of paper' }], ['a'], { timeoutMs: 1000, ...stuck });
    expect(waiting).toEqual({ jobs: [expect.objectContaining({ note: 'the printer is out of paper' })], timedOut: true });
    expect(stuck.now()).toBe(1000);

    const mixed = await waitForJobs(async () => [{ id: 'a', template: 'order', state: 'printed' }, { id: 'b', template: 'order', state: 'cancelled' }], ['a', 'b', 'c'], { timeoutMs: 1000, ...fakeTime() });
    expect(mixed).toEqual({ jobs: [expect.objectContaining({ state: 'printed' }), expect.objectContaining({ state: 'cancelled' }), null], timedOut: false });
  });
});
