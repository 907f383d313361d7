// Helpers of the slip template tests: decode a rendered slip with the virtual printer into what a golden file holds.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeEscPos } from '../../../../drivers/printer/virtual/decoder.js';
import type { DecodedPaper } from '../../../../drivers/printer/virtual/types.js';
import { projectRoot } from '../../../../src/core/paths.js';
import type { SlipEncoding, SlipInputs, SlipTemplateName } from '../../../../src/printing/templates/index.js';

export const SLIP_FIXTURES = join(projectRoot(), 'test', 'fixtures', 'slips');

export interface LanguageFixture {
  encoding: SlipEncoding;
  timeZone: string;
}
export type Fixtures = Record<'zh' | 'ko', LanguageFixture & SlipInputs>;

export function loadInputs(): Fixtures {
  return JSON.parse(readFileSync(join(SLIP_FIXTURES, 'inputs.json'), 'utf8')) as Fixtures;
}

/** One item of the paper as a golden file keeps it: a text line as it reads, or a QR / cut / feed / image. */
export type GoldenItem =
  | string
  | { qr: string; size: number; errorCorrection: string; align: string }
  | { cut: 'partial' | 'full' }
  | { feed: { lines: number; dots: number } }
  | { image: { width: number; height: number } };

export interface Golden {
  template: SlipTemplateName;
  paperWidthMm: 58 | 80;
  encoding: SlipEncoding;
  /** the paper from top to bottom */
  paper: GoldenItem[];
}

export function decode(escpos: Uint8Array, encoding: SlipEncoding, paperWidthMm: 58 | 80): DecodedPaper {
  const cjkEncoding = encoding === 'gb18030' || encoding === 'euc-kr' || encoding === 'big5' || encoding === 'shift_jis' ? encoding : undefined;
  return decodeEscPos(escpos, { cjkEncoding, paperWidthMm, ...(cjkEncoding ? {} : { codePage: encoding }) });
}

export function goldenItems(paper: DecodedPaper): GoldenItem[] {
  return paper.items.map((item): GoldenItem => {
    switch (item.kind) {
      case 'text':
        return item.text;
      case 'qr':
        return { qr: item.payload, size: item.size, errorCorrection: item.errorCorrection, align: item.align };
      case 'cut':
        return { cut: item.partial ? 'partial' : 'full' };
      case 'feed':
        return { feed: { lines: item.lines, dots: item.dots } };
      case 'image':
        return { image: { width: item.width, height: item.height } };
      case 'drawer':
        throw new Error('a slip never kicks the cash drawer');
    }
  });
}

/** Columns a line takes on the printer: in Kanji/Chinese mode a multi-byte character is two. */
export function columns(text: string, multiByte: boolean): number {
  let width = 0;
  for (const c of text) width += multiByte && c.codePointAt(0)! >= 0x80 ? 2 : 1;
  return width;
}
