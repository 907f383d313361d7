// `deskline print` through the built CLI (npm test builds before running the suites): the virtual printer's JSON and
// paper image for every template, input errors, a direct network printer, and printing through the running daemon.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { projectRoot } from '../../src/core/paths.js';
import { SLIP_TEMPLATE_NAMES, type SlipInputs } from '../../src/printing/templates/index.js';
import { freeTcpPort, stopAllPeers } from '../support/index.js';
import { runDeskline, startSimDaemon } from '../support/deskline.js';

const FIXTURES = join(projectRoot(), 'test', 'fixtures', 'slips');


const deskline = runDeskline;

interface Paper {
  template: string;
  paperWidthMm: number;
  encoding: string;
  source: string;
  lines: Array<{ text: string; bold: boolean; width: number; height: number; align: string }>;
  qr: string[];
  images: number;
  cuts: Array<{ partial: boolean }>;
  drawer: number;
  unknown: unknown[];
  paper: Array<Record<string, unknown>>;
}

type Fixtures = Record<'zh' | 'ko', { encoding: string; timeZone: string } & SlipInputs>;
const fixtures = JSON.parse(readFileSync(join(FIXTURES, 'inputs.json'), 'utf8')) as Fixtures;
const dir = mkdtempSync(join(tmpdir(), 'cli-print-'));

/** The fixture input of a template as a file, and the config file of its language. */
function inputFile(lang: 'zh' | 'ko', template: keyof SlipInputs, input: unknown = fixtures[lang][template]): string {
  const file = join(dir, `${template}.${lang}.${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(input, null, 2));
  return file;
}
function configFile(lang: 'zh' | 'ko'): string {
  const file = join(dir, `config.${lang}.json`);
  writeFileSync(file, JSON.stringify({ printing: { encoding: fixtures[lang].encoding, timeZone: fixtures[lang].timeZone } }));
  return file;
}

/** The text lines of a golden file (test/fixtures/slips), to compare the CLI's paper against. */
function goldenLines(template: string, lang: string, width: number): string[] {
  const golden = JSON.parse(readFileSync(join(FIXTURES, `${template}.${lang}.${width}.json`), 'utf8')) as { paper: unknown[] };
  return golden.paper.filter((p): p is string => typeof p === 'string');
}

/** Width and height from a PNG's IHDR chunk. */
function pngSize(file: string): { width: number; height: number } {
  const png = readFileSync(file);
  expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  expect(png.subarray(12, 16).toString('latin1')).toBe('IHDR');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

afterAll(async () => {
  await stopAllPeers();
});

describe('deskline print --printer virtual', () => {
  for (const lang of ['zh', 'ko'] as const) {
    it(`prints every template on 58 and 80 mm paper in ${lang === 'zh' ? 'Chinese (gb18030)' : 'Korean (euc-kr)'}, as the golden files read`, async () => {
      const config = configFile(lang);
      const runs = SLIP_TEMPLATE_NAMES.flatMap((template) => ([58, 80] as const).map(async (width) => ({
        template, width, result: await deskline(['--config', config, 'print', template, '--input', inputFile(lang, template), '--printer', 'virtual', '--paper', String(width)]),
      })));
      for (const { template, width, result } of await Promise.all(runs)) {
        expect({ template, width, code: result.code, stderr: result.stderr }).toEqual({ template, width, code: 0, stderr: '' });
        const paper = JSON.parse(result.stdout) as Paper;
        expect(paper).toMatchObject({ template, paperWidthMm: width, encoding: fixtures[lang].encoding, source: 'builtin', images: 0, drawer: 0, unknown: [] });
        expect(paper.lines.map((l) => l.text)).toEqual(goldenLines(template, lang, width));
        expect(paper.cuts).toEqual([{ partial: true }]);
        expect(paper.paper.at(-1)).toEqual({ cut: 'partial' });
        if (template === 'order') {
          const expected = lang === 'ko' ? fixtures.ko.order.mapUrl : `https://maps.google.com/?q=${encodeURIComponent(fixtures.zh.order.customer.address!)}`;
          expect(paper.qr).toEqual([expected]);
        } else {
          expect(paper.qr).toEqual([]);
        }
        const name = template === 'order' ? fixtures[lang].order.customer.name : template === 'customer-card' ? fixtures[lang]['customer-card'].customer.name : null;
        if (name) expect(paper.lines.find((l) => l.text.includes(name))).toMatchObject({ bold: true });
      }
    });
  }

  it('--out writes the paper as PNG (384 / 576 dots wide) or SVG; --text prints the lines with markers', async () => {
    const config = configFile('zh');
    const input = inputFile('zh', 'order');
    for (const [width, dots] of [[58, 384], [80, 576]] as const) {
      const out = join(dir, `order-${width}.png`);
      const result = await deskline(['--config', config, 'print', 'order', '--input', input, '--printer', 'virtual', '--paper', String(width), '--out', out]);
      expect(result.code).toBe(0);
      expect((JSON.parse(result.stdout) as Paper).paperWidthMm).toBe(width);
      const size = pngSize(out);
      expect(size.width).toBe(dots);
      expect(size.height).toBeGreaterThan(400);
    }
    const svg = join(dir, 'card.svg');
    const card = await deskline(['--config', configFile('ko'), 'print', 'customer-card', '--input', inputFile('ko', 'customer-card'), '--printer', 'virtual', '--paper', '58', '--out', svg]);
    expect(card.code).toBe(0);
    const svgText = readFileSync(svg, 'utf8');
    expect(svgText).toMatch(/^<svg[^>]*width="384"/);
    expect(svgText).toContain('김민수');

    const text = await deskline(['--config', config, 'print', 'order', '--input', input, '--printer', 'virtual', '--text']);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('王丽');
    expect(text.stdout.trimEnd().split('\n').slice(-2)).toEqual([expect.stringMatching(/^\[QR\] https:\/\/maps\.google\.com\/\?q=%E4%B8%8A/), '[cut partial]']);

    const gif = await deskline(['print', 'order', '--input', input, '--printer', 'virtual', '--out', join(dir, 'x.gif')]);
    expect(gif.code).toBe(2);
    expect(gif.stderr).toMatch(/must end in \.png or \.svg/);
  });

  it('bad input: bad JSON with line and column, a missing field with its path, an unknown template listing the templates', async () => {
    const badJson = join(dir, 'bad.json');
    writeFileSync(badJson, '{\n  "orderId": "A-1",\n  "items": [1, 2,]\n}\n');
    const syntax = await deskline(['print', 'order', '--input', badJson, '--printer', 'virtual']);
    expect(syntax.code).toBe(2);
    expect(syntax.stderr).toContain(`${badJson}: not valid JSON at line 3, column 18: unexpected ']'`);
    expect(syntax.stdout).toBe('');

    const { customer: _customer, ...noCustomer } = fixtures.zh.order;
    const missing = await deskline(['print', 'order', '--input', inputFile('zh', 'order', noCustomer), '--printer', 'virtual']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/field customer\b.*order slip: customer is missing/);

    const badQty = await deskline(['print', 'order', '--input', inputFile('zh', 'order', { ...fixtures.zh.order, items: [{ name: 'x', qty: 'two', unitPrice: 1 }] }), '--printer', 'virtual']);
    expect(badQty.code).toBe(2);
    expect(badQty.stderr).toMatch(/items\[0\]\.qty/);

    const unknown = await deskline(['print', 'receipt', '--input', badJson, '--printer', 'virtual']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown template 'receipt'; templates: order, customer-card, call-list, day-summary/);

    const big = join(dir, 'big.json');
    writeFileSync(big, JSON.stringify({ ...fixtures.zh.order, note: 'x'.repeat(300 * 1024) }));
    const tooBig = await deskline(['print', 'order', '--input', big, '--printer', 'virtual']);
    expect(tooBig.code).toBe(2);
    expect(tooBig.stderr).toMatch(/larger than 256 KiB/);
  });

  it('prints hostile text literally: receiptline marks, ESC bytes and line breaks never become commands', async () => {
    const hostile = '{code:https://evil.example}|^^^B|_~`"\u001b@\u001dV\u0000\nok';
    const input = { ...fixtures.zh.order, customer: { ...fixtures.zh.order.customer, name: '|^^B| -' }, note: hostile };
    const result = await deskline(['--config', configFile('zh'), 'print', 'order', '--input', inputFile('zh', 'order', input), '--printer', 'virtual', '--paper', '80']);
    expect(result.code).toBe(0);
    const paper = JSON.parse(result.stdout) as Paper;
    expect(paper.qr).toHaveLength(1);
    expect(paper.qr[0]).not.toContain('evil');
    expect(paper.cuts).toEqual([{ partial: true }]);
    expect(paper.unknown).toEqual([]);
    const text = paper.lines.map((l) => l.text).join('\n');
    expect(paper.lines.map((l) => l.text)).toContain('|^^B| -');
    // controls became spaces; the note wraps at 48 columns, so compare with white space collapsed
    expect(text.replace(/\s+/g, ' ')).toContain('备注: {code:https://evil.example}|^^^B|_~`" @ V ok');
  });
});

describe('deskline print to a printer', () => {
  it('tcp:HOST:PORT opens a network printer directly and writes the slip; a printer that is not there is exit 1', async () => {
    const received: Buffer[] = [];
    let closed!: () => void;
    const gotAll = new Promise<void>((resolve) => { closed = resolve; });
    const server = createServer((socket: Socket) => {
      socket.on('data', (chunk: Buffer) => received.push(chunk));
      socket.on('end', () => closed());
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    try {
      const result = await deskline(['--config', configFile('zh'), 'print', 'call-list', '--input', inputFile('zh', 'call-list'), '--printer', `tcp:127.0.0.1:${port}`, '--paper', '58']);
      expect(result).toMatchObject({ code: 0, stdout: `printed on tcp:127.0.0.1:${port}\n` });
      await gotAll;
      const bytes = Buffer.concat(received);
      expect(bytes.includes(Buffer.from('张伟', 'utf8'))).toBe(false); // sent as GB18030, not UTF-8
      expect(bytes.subarray(-4).includes(0x1d)).toBe(true); // ends with the cut (GS V)
    } finally {
      server.close();
    }
    const gone = await deskline(['print', 'order', '--input', inputFile('zh', 'order'), '--printer', `tcp:127.0.0.1:${await freeTcpPort()}`]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/not connected.*DRIVER_IO/);
  });

  it('without a daemon on the sim board it prints to the virtual printer and says so', async () => {
    const data = mkdtempSync(join(tmpdir(), 'cli-print-nodaemon-'));
    const result = await deskline(['--data', data, 'print', 'day-summary', '--input', inputFile('ko', 'day-summary')], { DESKLINE_CONFIG: configFile('ko') });
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/no daemon runs and board 'sim' has only a simulated printer: printed to the virtual printer instead/);
    expect((JSON.parse(result.stdout) as Paper).lines.map((l) => l.text)).toEqual(goldenLines('day-summary', 'ko', 80));
  });

  it('goes through the running daemon\'s print queue and waits until the job is printed', async () => {
    const data = mkdtempSync(join(tmpdir(), 'cli-print-daemon-'));
    const config = configFile('zh');
    const daemon = await startSimDaemon({ config, data });
    try {
      const printed = await deskline(['--config', config, '--data', data, 'print', 'order', '--input', inputFile('zh', 'order'), '--json']);
      expect(printed.stderr).toBe('');
      expect(printed.code).toBe(0);
      const result = JSON.parse(printed.stdout) as { jobIds: string[]; jobs: Array<{ id: string; state: string; attempts: number }>; timedOut: boolean };
      expect(result.jobIds).toHaveLength(1);
      expect(result).toMatchObject({ timedOut: false, jobs: [{ id: result.jobIds[0], state: 'printed', attempts: 1 }] });

      const human = await deskline(['--config', config, '--data', data, 'print', 'call-list', '--input', inputFile('zh', 'call-list'), '--copies', '2']);
      expect(human.code).toBe(0);
      expect(human.stdout).toMatch(/^job \S+: printed\njob \S+: printed\n$/);

      const queued = await deskline(['--config', config, '--data', data, 'print', 'order', '--input', inputFile('zh', 'order'), '--no-wait', '--json']);
      expect(queued.code).toBe(0);
      expect(JSON.parse(queued.stdout)).toMatchObject({ jobIds: [expect.any(String)], state: 'queued' });

      const { items: _items, ...noItems } = fixtures.zh.order;
      const bad = await deskline(['--config', config, '--data', data, 'print', 'order', '--input', inputFile('zh', 'order', noItems)]);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/field items\b/);
    } finally {
      expect(await daemon.stop()).toBe(0);
    }
  });
});
