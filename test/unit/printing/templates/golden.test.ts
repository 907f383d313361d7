// Golden tests of the slip templates: every template on 58 and 80 mm paper, in Chinese (GB18030) and Korean
// (EUC-KR), rendered to ESC/POS, decoded by the virtual printer, and compared with test/fixtures/slips/*.json:
// the text lines in order, the QR payloads and the cut. UPDATE_GOLDEN=1 writes the files (then review them).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from '@jest/globals';
import { renderSlip, SLIP_TEMPLATE_NAMES, type SlipTemplateName } from '../../../../src/printing/templates/index.js';
import { SLIP_FIXTURES, columns, decode, goldenItems, loadInputs, type Golden } from './paper.js';

const inputs = loadInputs();
const UPDATE = process.env.UPDATE_GOLDEN === '1';

const cases = (['zh', 'ko'] as const).flatMap((lang) =>
  SLIP_TEMPLATE_NAMES.flatMap((template) => ([58, 80] as const).map((paperWidthMm) => ({ lang, template, paperWidthMm }))),
);

function render(lang: 'zh' | 'ko', template: SlipTemplateName, paperWidthMm: 58 | 80) {
  const fixture = inputs[lang];
  const result = renderSlip(template, fixture[template] as never, { paperWidthMm, encoding: fixture.encoding, timeZone: fixture.timeZone });
  return { result, paper: decode(result.escpos, fixture.encoding, paperWidthMm) };
}

describe('slip goldens', () => {
  test.each(cases)('$template, $lang, $paperWidthMm mm', ({ lang, template, paperWidthMm }) => {
    const { result, paper } = render(lang, template, paperWidthMm);
    expect(result.source).toBe('builtin');
    expect(paper.unknown).toEqual([]);
    const actual: Golden = { template, paperWidthMm, encoding: inputs[lang].encoding, paper: goldenItems(paper) };
    const file = join(SLIP_FIXTURES, `${template}.${lang}.${paperWidthMm}.json`);
    if (UPDATE) writeFileSync(file, JSON.stringify(actual, null, 2) + '\n');
    if (!existsSync(file)) throw new Error(`no golden file ${file}: run with UPDATE_GOLDEN=1 and review it`);
    expect(actual).toEqual(JSON.parse(readFileSync(file, 'utf8')));
  });

  test.each(cases)('$template, $lang, $paperWidthMm mm: lines fit the paper, one cut at the end', ({ lang, template, paperWidthMm }) => {
    const { paper } = render(lang, template, paperWidthMm);
    const limit = paperWidthMm === 58 ? 32 : 48;
    const texts = paper.items.filter((item) => item.kind === 'text');
    expect(texts.length).toBeGreaterThan(5);
    for (const line of texts) {
      // double-width runs (^ in the markup) take twice the columns
      const spans = line.spans ?? [{ text: line.text, style: line.style }];
      const width = spans.reduce((sum, span) => sum + columns(span.text, true) * span.style.width, 0);
      if (width > limit) throw new Error(`'${line.text}' takes ${width} columns, more than ${limit}`);
    }
    const cuts = paper.items.map((item, i) => (item.kind === 'cut' ? i : -1)).filter((i) => i >= 0);
    expect(cuts).toEqual([paper.items.length - 1]);
  });
});

describe('what the clerk reads (independent of the golden files)', () => {
  const lines = (lang: 'zh' | 'ko', template: SlipTemplateName, paperWidthMm: 58 | 80) =>
    render(lang, template, paperWidthMm).paper.items.flatMap((item) => (item.kind === 'text' ? [item.text] : []));

  test('Chinese order slip: customer, address, items with right-aligned totals, total, map QR of the address', () => {
    for (const paperWidthMm of [58, 80] as const) {
      const { paper } = render('zh', 'order', paperWidthMm);
      const text = paper.items.flatMap((item) => (item.kind === 'text' ? [item.text] : []));
      const width = paperWidthMm === 58 ? 32 : 48;
      expect(text).toContain('王丽');
      expect(text).toContain('上海市徐汇区花园路 12 号 3 楼');
      expect(text).toContain('客户备注: 门铃坏了，请打电话');
      const item = text.find((line) => line.startsWith('宫保鸡丁'))!;
      expect(item).toMatch(/^宫保鸡丁 +x2 +76\.00$/);
      expect(columns(item, true)).toBe(width);
      const total = text.find((line) => line.startsWith('合计'))!;
      expect(total).toMatch(/ ￥100\.00$/);
      expect(columns(total, true)).toBe(width);
      const name = paper.items.find((item) => item.kind === 'text' && item.text === '王丽');
      expect(name).toMatchObject({ style: { bold: true, width: 2 } });
      const qrs = paper.items.filter((item) => item.kind === 'qr');
      expect(qrs.map((qr) => qr.payload)).toEqual([`https://maps.google.com/?q=${encodeURIComponent('上海市徐汇区花园路 12 号 3 楼')}`]);
      expect(paper.items.at(-1)).toEqual(expect.objectContaining({ kind: 'cut' }));
    }
  });

  test('Korean order slip: the caller given map link is the QR payload, won amounts without decimals', () => {
    const { paper } = render('ko', 'order', 58);
    const text = paper.items.flatMap((item) => (item.kind === 'text' ? [item.text] : []));
    expect(text).toContain('김민수');
    expect(text).toContain('서울시 강남구 역삼동 123-4 101호');
    expect(text.find((line) => line.startsWith('양념치킨'))).toMatch(/^양념치킨 +x2 +38,000$/);
    expect(text.find((line) => line.startsWith('합계'))).toMatch(/ 63,000원$/);
    expect(paper.items.filter((item) => item.kind === 'qr').map((qr) => qr.payload)).toEqual([inputs.ko.order.mapUrl]);
  });

  test('call list, customer card and day summary carry their data', () => {
    expect(lines('zh', 'call-list', 58)).toEqual(expect.arrayContaining(['1. 张伟', '   139 1234 5678', '   车险续保到期 (2026-12-01)', '2. 李娜']));
    expect(lines('ko', 'customer-card', 80)).toEqual(expect.arrayContaining(['김민수', '한국보험']));
    expect(lines('zh', 'day-summary', 58).find((line) => line.startsWith('营业额'))).toMatch(/ ￥3,286\.50$/);
    expect(lines('ko', 'day-summary', 80).find((line) => line.startsWith('매출'))).toMatch(/ 1,234,000원$/);
  });
});
