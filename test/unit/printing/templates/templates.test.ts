// Slip templates: caller data prints literally (no markup injection), input checks, money, custom templates
// from the cloud (and their fall-back), options, the SVG preview.
import { describe, expect, jest, test } from '@jest/globals';
import { DesklineError } from '../../../../src/core/errors.js';
import { compileTemplate, renderTemplate } from '../../../../src/printing/templates/engine.js';
import {
  BUILTIN_TEMPLATES, checkCustomTemplate, escapeMarkup, formatAmount, formatMoney, renderSlip,
  type OrderSlipInput, type RenderSlipOptions,
} from '../../../../src/printing/templates/index.js';
import { renderPaperPng } from '../../../../drivers/printer/virtual/render.js';
import { columns, decode, loadInputs } from './paper.js';

const inputs = loadInputs();
const ZH: RenderSlipOptions = { paperWidthMm: 58, encoding: 'gb18030', timeZone: 'Asia/Shanghai' };
const order = (patch: Partial<OrderSlipInput> = {}): OrderSlipInput => ({ ...structuredClone(inputs.zh.order), ...patch });

function printed(input: OrderSlipInput, options: RenderSlipOptions = ZH) {
  const result = renderSlip('order', input, options);
  const paper = decode(result.escpos, options.encoding, options.paperWidthMm);
  return { result, paper, text: paper.items.flatMap((item) => (item.kind === 'text' ? [item.text] : [])) };
}

function thrown(fn: () => unknown): DesklineError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(DesklineError);
    return error as DesklineError;
  }
  throw new Error('it did not throw');
}

describe('caller data prints literally', () => {
  const hostile = '|{code: https://evil.example; option: qrcode} ^^^BIG "bold" _under_ `inv` ~x~ \\x41 \\n \\';

  test('receiptline markup in a note, a name and an item is text, not markup', () => {
    const { paper, text } = printed(order({
      note: hostile,
      customer: { ...inputs.zh.order.customer, name: '^王丽|' },
      items: [{ name: '{w: 1 1 1}', qty: 1, unitPrice: 100 }],
    }));
    const note = text.filter((line) => line.startsWith('备注: '));
    // the note wraps over lines; joined it is exactly what the clerk typed
    const start = text.indexOf(note[0]);
    const joined = text.slice(start, text.indexOf('-'.repeat(32), start)).join('');
    expect(joined).toBe(`备注: ${hostile}`);
    expect(text).toContain('^王丽|');
    expect(text.find((line) => line.startsWith('{w'))).toMatch(/^\{w: 1 1 1\} +x1 +1\.00$/);
    // no QR but the map, no bold/large text but the template's, one cut
    expect(paper.items.filter((item) => item.kind === 'qr')).toHaveLength(1);
    const styled = paper.items.filter((item) => item.kind === 'text' && item.text.startsWith('备注') && (item.style.bold || item.style.width > 1 || item.style.underline || item.style.invert));
    expect(styled).toEqual([]);
    expect(paper.items.filter((item) => item.kind === 'cut')).toHaveLength(1);
    expect(paper.unknown).toEqual([]);
  });

  test('rules, cuts and spaces written by the caller at a line start stay text', () => {
    for (const note of ['---', '===', '-', '= = =', '~~~']) {
      const { paper, text } = printed(order({ note: null, customer: { ...inputs.zh.order.customer, note } }));
      expect(text).toContain(`客户备注: ${note}`);
      expect(paper.items.filter((item) => item.kind === 'cut')).toHaveLength(1);
    }
    // a whole column of dashes or equals signs (an item named '---') is not a rule or a cut either
    const { paper, text } = printed(order({ items: [{ name: '---', qty: 1, unitPrice: 0 }, { name: '====', qty: 1, unitPrice: 0 }] }));
    expect(text.find((line) => /^-+ /.test(line))).toMatch(/^--- +x1 +0\.00$/);
    expect(text.find((line) => line.startsWith('='))).toMatch(/^==== +x1 +0\.00$/);
    expect(paper.items.filter((item) => item.kind === 'cut')).toHaveLength(1);
  });

  test('line breaks and control bytes (ESC @, GS V) in caller data become spaces, never commands', () => {
    const { paper, text } = printed(order({ note: 'a\nb\r\n---\n\x1b@\x1dV\x00c\td' }));
    expect(text).toContain('备注: a b --- @ V c d');
    expect(paper.items.filter((item) => item.kind === 'cut')).toHaveLength(1);
    expect(paper.unknown).toEqual([]);
  });

  test('escapeMarkup turns every special character into a hex escape', () => {
    expect(escapeMarkup('a|b{c}d-e=f~g_h"i`j^k\\l;m')).toBe('a\\x7cb\\x7bc\\x7dd\\x2de\\x3df\\x7eg\\x5fh\\x22i\\x60j\\x5ek\\x5cl\\x3bm');
    expect(escapeMarkup('  王丽 \n 李娜  ')).toBe('王丽 李娜');
  });

  test('long text is cut to its printed length and wraps inside the paper width', () => {
    const { text } = printed(order({ note: '很'.repeat(1000) }), { ...ZH, paperWidthMm: 58 });
    const noteLines = text.slice(text.findIndex((line) => line.startsWith('备注')));
    const joined = noteLines.slice(0, noteLines.findIndex((line) => line.startsWith('---'))).join('');
    expect(joined).toBe(`备注: ${'很'.repeat(297)}...`);
    for (const line of text) expect(columns(line, true)).toBeLessThanOrEqual(32);
  });

  test('the SVG preview escapes caller text (it is shown in a browser)', () => {
    const { result } = printed(order({ note: '<script>alert(1)</script> & "x"' }));
    expect(result.svg.startsWith('<svg')).toBe(true);
    expect(result.svg).not.toContain('<script');
    expect(result.svg).toContain('&lt;');
    expect(result.svg).toContain('&amp;');
  });
});

describe('SVG preview', () => {
  test.each([58, 80] as const)('shows the customer, the total and the map QR at %i mm', (paperWidthMm) => {
    const { svg } = renderSlip('order', inputs.zh.order, { ...ZH, paperWidthMm });
    // receiptline draws each character in its own <tspan>
    const chars = Array.from(svg.matchAll(/<tspan[^>]*>([^<]*)<\/tspan>/g), (m) => m[1].replace(/&#xa0;/g, ' ')).join('');
    expect(chars).toContain('王丽');
    expect(chars).toContain('上海市徐汇区花园路 12 号 3 楼');
    expect(chars).toContain('￥100.00');
    expect(svg).toMatch(new RegExp(`width="${paperWidthMm === 58 ? 384 : 576}px"`));
    // the QR code is drawn as a path of modules
    expect(svg).toMatch(/<path d="[^"]{200,}"/);
  });
});

describe('input checks', () => {
  test.each([
    [{ items: [{ name: '饭', qty: 1.5, unitPrice: 200 }] }, 'items[0].qty', /whole number from 1 to 9999/],
    [{ items: [{ name: '饭', qty: 1, unitPrice: 2.5 }] }, 'items[0].unitPrice', /integer in minor units/],
    [{ total: 100.5 }, 'total', /integer in minor units/],
    [{ items: [] }, 'items', /at least 1/],
    [{ currency: 'RMB' }, 'currency', /ISO 4217/],
    [{ currency: 'cny' }, 'currency', /ISO 4217/],
    [{ mapUrl: 'javascript:alert(1)' }, 'mapUrl', /http/],
    [{ customer: { name: '  ', phone: '1' } }, 'customer.name', /non-empty/],
    [{ customer: { name: 'x' } as OrderSlipInput['customer'] }, 'customer.phone', /missing/],
    [{ orderId: 'A'.repeat(41) }, 'orderId', /at most 40/],
    [{ at: -5 }, 'at', /ms since the epoch/],
  ] as Array<[Partial<OrderSlipInput>, string, RegExp]>)('%j is refused at %s', (patch, path, hint) => {
    const error = thrown(() => renderSlip('order', order(patch), ZH));
    expect(error.code).toBe('SLIP_INVALID_INPUT');
    expect(error.message.startsWith(`order slip: ${path} `)).toBe(true);
    expect(error.message).toMatch(hint);
    expect(error.details).toMatchObject({ template: 'order', path });
  });

  test('the other templates check their input too', () => {
    const card = thrown(() => renderSlip('customer-card', { ...inputs.zh['customer-card'], recent: [{ kind: 'fax' as never, at: null, summary: '' }] }, ZH));
    expect(card.message).toMatch(/^customer card: recent\[0\]\.kind .*call, sms, order, call-list/);
    const list = thrown(() => renderSlip('call-list', { ...inputs.zh['call-list'], items: [{ name: 'a', number: '1', reason: 'r', due: '2026-13-45' }] }, ZH));
    expect(list.message).toMatch(/^call-list slip: items\[0\]\.due .*YYYY-MM-DD/);
    const day = thrown(() => renderSlip('day-summary', { ...inputs.zh['day-summary'], calls: { ...inputs.zh['day-summary'].calls, missed: -1 } }, ZH));
    expect(day.message).toMatch(/^end-of-day summary: calls\.missed is -1/);
  });

  test('options are checked', () => {
    expect(thrown(() => renderSlip('order', inputs.zh.order, { ...ZH, paperWidthMm: 76 as 58 })).code).toBe('SLIP_BAD_OPTIONS');
    expect(thrown(() => renderSlip('order', inputs.zh.order, { ...ZH, encoding: 'utf8' as 'cp437' })).code).toBe('SLIP_BAD_OPTIONS');
    expect(thrown(() => renderSlip('order', inputs.zh.order, { ...ZH, timeZone: 'Mars/Olympus' })).code).toBe('SLIP_BAD_OPTIONS');
    expect(thrown(() => renderSlip('order', inputs.zh.order, { ...ZH, mapUrlBase: 'ftp://x/' })).code).toBe('SLIP_BAD_OPTIONS');
    expect(thrown(() => renderSlip('receipt' as 'order', inputs.zh.order, ZH)).code).toBe('SLIP_UNKNOWN_TEMPLATE');
  });
});

describe('order slip details', () => {
  test('the map provider is an option; without an address and a link there is no QR', () => {
    const amap = printed(order(), { ...ZH, mapUrlBase: 'https://uri.amap.com/search?keyword=' });
    expect(amap.paper.items.filter((item) => item.kind === 'qr').map((qr) => qr.payload)).toEqual([
      `https://uri.amap.com/search?keyword=${encodeURIComponent('上海市徐汇区花园路 12 号 3 楼')}`,
    ]);
    const none = printed(order({ customer: { name: '王丽', phone: '138' } }));
    expect(none.paper.items.filter((item) => item.kind === 'qr')).toEqual([]);
    expect(none.text).not.toContain('扫码导航');
  });

  test('no time line while the clock is not trusted', () => {
    expect(printed(order()).text.some((line) => line.startsWith('时间'))).toBe(true);
    expect(printed(order({ at: null })).text.some((line) => line.startsWith('时间'))).toBe(false);
  });

  test('a single-byte printer (cp437) gets English labels', () => {
    const input = order({
      shop: { name: 'Garden Deli' }, customer: { name: 'Ann Lee', phone: '555-0100', address: '12 Garden Rd' },
      items: [{ name: 'Soup', qty: 3, unitPrice: 1990 }], currency: 'USD', total: 5970, note: null,
    });
    const { text, paper } = printed(input, { paperWidthMm: 80, encoding: 'cp437', timeZone: 'UTC' });
    expect(text).toContain('Ann Lee');
    expect(text.find((line) => line.startsWith('Soup'))).toMatch(/^Soup +x3 +59\.70$/);
    expect(text.find((line) => line.startsWith('TOTAL'))).toMatch(/^TOTAL +USD 59\.70$/);
    expect(text.find((line) => line.startsWith('TOTAL'))).toHaveLength(48);
    expect(paper.items.filter((item) => item.kind === 'qr').map((qr) => qr.payload)).toEqual(['https://maps.google.com/?q=12%20Garden%20Rd']);
  });
});

describe("the shop's logo", () => {
  /** A PNG of a black frame, drawn by resvg (the virtual printer's renderer). */
  const logo = (width: number, height: number) =>
    renderPaperPng(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="${width}" height="${height}" fill="white"/><rect x="2" y="2" width="${width - 4}" height="${height - 4}" fill="none" stroke="black" stroke-width="4"/></svg>`).toString('base64');

  test('prints as a raster image centered above the shop name, on 58 and 80 mm paper', () => {
    for (const paperWidthMm of [58, 80] as const) {
      const { paper, text } = printed(order(), { ...ZH, paperWidthMm, logo: logo(128, 48) });
      const first = paper.items[0];
      expect(first).toMatchObject({ kind: 'image', width: 128, height: 48 });
      // the frame's dark dots are there: the top row is all black
      if (first.kind !== 'image') throw new Error('no image');
      expect([...first.bits.subarray(0, 128 / 8)].every((b) => b === 0xff)).toBe(true);
      expect(text[0]).toContain(inputs.zh.order.shop.name);
    }
  });

  test('a logo wider than the paper, too tall or not a PNG is left out with the reason, and the slip still prints', () => {
    const warnings: string[] = [];
    const log = { warn: (_obj: object, msg: string) => void warnings.push(msg) };
    const wide = printed(order(), { ...ZH, paperWidthMm: 58, logo: logo(500, 40), log });
    expect(wide.paper.items.some((item) => item.kind === 'image')).toBe(false);
    expect(wide.text[0]).toContain(inputs.zh.order.shop.name);
    // the same logo fits 80 mm paper
    expect(printed(order(), { ...ZH, paperWidthMm: 80, logo: logo(500, 40) }).paper.items[0]).toMatchObject({ kind: 'image', width: 504 });
    printed(order(), { ...ZH, logo: logo(100, 450), log });
    printed(order(), { ...ZH, logo: Buffer.from('GIF89a not a png at all, really').toString('base64'), log });
    expect(warnings).toEqual([
      'the logo is left out of the slip: it is 500 dots wide; 58 mm paper takes 384',
      'the logo is left out of the slip: it is 450 dots tall; at most 400',
      'the logo is left out of the slip: printing.logo is not a base64 PNG',
    ]);
  });
});

describe('money', () => {
  test('minor units are formatted with integer arithmetic', () => {
    expect(formatMoney(12800, 'CNY')).toBe('128.00');
    expect(formatMoney(5, 'CNY')).toBe('0.05');
    expect(formatMoney(-250, 'USD')).toBe('-2.50');
    expect(formatMoney(1234567, 'KRW')).toBe('1,234,567');
    expect(formatMoney(1000, 'JPY')).toBe('1,000');
    expect(formatMoney(123456789012, 'CNY')).toBe('1,234,567,890.12');
    // 0.1 + 0.2 never happens: 3 x 0.10 is 30 minor units
    expect(formatMoney(3 * 10, 'CNY')).toBe('0.30');
    expect(formatAmount(10000, 'CNY', 'zh')).toBe('￥100.00');
    expect(formatAmount(63000, 'KRW', 'ko')).toBe('63,000원');
    expect(formatAmount(63000, 'KRW', 'en')).toBe('KRW 63,000');
  });

  test('line totals are qty x unit price in minor units', () => {
    const { text } = printed(order({ items: [{ name: '茶', qty: 3, unitPrice: 10 }, { name: '饭', qty: 7, unitPrice: 1990 }], total: 13960 }));
    expect(text.find((line) => line.startsWith('茶'))).toMatch(/ 0\.30$/);
    expect(text.find((line) => line.startsWith('饭'))).toMatch(/ 139\.30$/);
    expect(text.find((line) => line.startsWith('合计'))).toMatch(/ ￥139\.60$/);
  });
});

describe('custom templates (pushed from the cloud)', () => {
  const CUSTOM = `"{{shop.name}}
|{{txt.orderId}} {{orderId}}
|{{customer.name}} {{customer.phone}}
{{#items}}
{{name}} | {{qty}}
{{/items}}
{code: {{mapUrl}}; option: qrcode, 4, l}
`;

  test('a custom template replaces the built-in one by name', () => {
    const log = { warn: jest.fn() };
    const result = renderSlip('order', inputs.zh.order, { ...ZH, customTemplates: { order: CUSTOM }, log });
    expect(result.source).toBe('custom');
    expect(result.fallbackReason).toBeNull();
    const paper = decode(result.escpos, 'gb18030', 58);
    const text = paper.items.flatMap((item) => (item.kind === 'text' ? [item.text] : []));
    expect(text).toEqual(['            王记小馆', '订单号 A-1024', '王丽 138 0013 8000', '宫保鸡丁                       2', '酸辣汤                         1', '米饭                           3']);
    expect(paper.items.filter((item) => item.kind === 'qr')).toEqual([expect.objectContaining({ errorCorrection: 'L', size: 4 })]);
    expect(log.warn).not.toHaveBeenCalled();
    // the other templates stay built-in
    expect(renderSlip('call-list', inputs.zh['call-list'], { ...ZH, customTemplates: { order: CUSTOM } }).source).toBe('builtin');
  });

  test.each([
    ['an unclosed section', '{{#items}}\n{{name}}\n', /line 1: '\{\{#items\}\}' is never closed/],
    ['an unknown field', '{{custmer.name}}\n', /'\{\{custmer\.name\}\}' is not a field of this slip/],
    ['a list used as a value', '{{items}}\n', /is a list or a group/],
    ['a mismatched close', '{{#items}}\n{{/note}}\n', /closes '\{\{#items\}\}'/],
    ['ruled borders', '{border: line}\n{{orderId}} | x\n', /border: line/],
    ['an empty text', '   \n', /empty/],
    ['more than 16 KiB', 'x'.repeat(17 * 1024), /limit is 16384/],
  ])('%s falls back to the built-in template, with the reason logged', (_what, source, reason) => {
    const log = { warn: jest.fn() };
    const result = renderSlip('order', inputs.zh.order, { ...ZH, customTemplates: { order: source }, log });
    expect(result.source).toBe('builtin');
    expect(result.fallbackReason).toMatch(reason);
    expect(log.warn).toHaveBeenCalledWith(expect.objectContaining({ template: 'order', reason: result.fallbackReason }), expect.stringContaining('built-in'));
    expect(result.markup).toContain('外送单');
  });

  test('checkCustomTemplate refuses a broken template and accepts a good one', () => {
    const options = { encoding: 'gb18030' as const, timeZone: 'Asia/Shanghai' };
    expect(() => checkCustomTemplate('order', CUSTOM, inputs.zh.order, options)).not.toThrow();
    const error = thrown(() => checkCustomTemplate('order', '{{#items}}', inputs.zh.order, options));
    expect(error.code).toBe('SLIP_TEMPLATE_INVALID');
    expect(error.message).toMatch(/^custom template 'order': line 1: /);
  });

  test('the built-in templates are the defaults a custom one starts from', () => {
    for (const source of Object.values(BUILTIN_TEMPLATES)) expect(() => compileTemplate(source)).not.toThrow();
  });
});

describe('template engine', () => {
  const render = (source: string, view: Record<string, unknown>) => renderTemplate(compileTemplate(source), view as never, (v) => `<${v}>`);

  test('values, lists, present and absent sections, standalone tags', () => {
    const source = 'A {{x}}\n{{#list}}\n- {{name}} {{x}}\n{{/list}}\n{{#opt}}\nopt {{opt}}\n{{/opt}}\n{{^opt}}\nno opt\n{{/opt}}\n{{! comment }}\nend\n';
    expect(render(source, { x: 1, list: [{ name: 'a' }, { name: 'b' }], opt: null })).toBe('A <1>\n- <a> <1>\n- <b> <1>\nno opt\nend\n');
    expect(render(source, { x: 0, list: [], opt: 'y' })).toBe('A <0>\nopt <y>\nend\n');
  });

  test('an unknown field is an error, a null one prints nothing', () => {
    expect(render('[{{a.b}}]', { a: null })).toBe('[]');
    expect(() => render('{{a.c}}', { a: { b: 1 } })).toThrow(/not a field/);
    expect(() => render('{{nope}}', {})).toThrow(/not a field/);
  });

  test('bad tags are reported with their line', () => {
    expect(() => compileTemplate('x\n{{/a}}')).toThrow(/line 2: .* not opened/);
    expect(() => compileTemplate('x\n\n{{a b}}')).toThrow(/line 3: .* not a field name/);
    expect(() => compileTemplate('{{a')).toThrow(/unfinished/);
  });
});
