/**
 * Draws decoded paper (see decoder.ts) as a paper strip: SVG at one user unit per printer dot (203 dpi: 384 dots
 * across 58 mm paper, 576 across 80 mm), and PNG through @resvg/resvg-js with GNU Unifont (fonts-unifont).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import receiptline from 'receiptline';
import { DriverError } from '../../common/errors.js';
import type { DecodedPaper, PaperItem, TextSpan, TextStyle } from './types.js';

export interface RenderOptions {
  paperWidthMm: 58 | 80;
}

/** printable dots across the paper at 203 dpi */
export const PAPER_DOTS: Record<58 | 80, number> = { 58: 384, 80: 576 };

const MARGIN = 8;
const DEFAULT_LINE = 30;
const INK = '#000';
const PAPER = '#fff';

/** XML-escape; control characters (not allowed in XML 1.0) become U+FFFD */
const esc = (s: string): string =>
  Array.from(s, (ch) => {
    const c = ch.charCodeAt(0);
    if (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return '\ufffd';
    return ch === '&' ? '&amp;' : ch === '<' ? '&lt;' : ch === '>' ? '&gt;' : ch === '"' ? '&quot;' : ch;
  }).join('');

/** cell width of one character of the span, in dots (font A 12, font B 9, Kanji 24; times the width multiplier) */
function cellWidth(span: TextSpan, ch: string): number {
  const base = span.style.font === 'B' ? 9 : 12;
  const wide = span.cjk && (ch.codePointAt(0) ?? 0) >= 0x80 && !(ch >= '\uff61' && ch <= '\uff9f');
  return (wide ? 24 : base) * span.style.width;
}

function spanWidth(span: TextSpan): number {
  let w = 0;
  for (const ch of span.text) w += cellWidth(span, ch);
  return w;
}

function alignOffset(align: TextStyle['align'], area: number, width: number): number {
  if (align === 'center') return Math.max(0, Math.floor((area - width) / 2));
  if (align === 'right') return Math.max(0, area - width);
  return 0;
}

/** The QR matrix for a payload (rows of 0/1), from receiptline's QR encoder (byte mode, UTF-8, smallest version). */
export function qrMatrix(payload: string, errorCorrection: 'L' | 'M' | 'Q' | 'H'): Uint8Array[] {
  const level = errorCorrection.toLowerCase() as 'l' | 'm' | 'q' | 'h';
  return receiptline.qrcode.generate({ data: payload, type: 'qrcode', cell: 1, level });
}

/** Draw the paper as SVG. */
export function renderPaperSvg(paper: DecodedPaper, options: RenderOptions): string {
  const width = PAPER_DOTS[options.paperWidthMm];
  if (!width) throw new DriverError('DRIVER_INVALID_ARGUMENT', `paper width ${String(options.paperWidthMm)} mm: expected 58 or 80`);
  const parts: string[] = [];
  let y = MARGIN;
  for (const item of paper.items) y = drawItem(item, y, width, parts);
  const height = y + MARGIN;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" data-paper-mm="${options.paperWidthMm}">`,
    `<rect width="${width}" height="${height}" fill="${PAPER}"/>`,
    `<g font-family="Unifont, monospace" fill="${INK}">`,
    ...parts,
    '</g></svg>',
  ].join('\n');
}

function drawItem(item: PaperItem, y: number, paperWidth: number, out: string[]): number {
  switch (item.kind) {
    case 'text':
      return drawText(item, y, paperWidth, out);
    case 'qr': {
      const matrix = qrMatrix(item.payload, item.errorCorrection);
      const n = matrix.length;
      const s = item.size;
      const x0 = alignOffset(item.align, paperWidth, n * s);
      let d = '';
      for (let r = 0; r < n; r++) {
        for (let c = 0; c < n; c++) if (matrix[r][c]) d += `M${x0 + c * s} ${y + r * s}h${s}v${s}h-${s}z`;
      }
      out.push(`<g class="qr" data-modules="${n}" data-payload="${esc(item.payload)}"><path d="${d}"/></g>`);
      return y + n * s;
    }
    case 'image': {
      const sx = item.scaleX ?? 1;
      const sy = item.scaleY ?? 1;
      const rowBytes = Math.ceil(item.width / 8);
      const x0 = alignOffset(item.align, paperWidth, item.width * sx);
      let d = '';
      for (let r = 0; r < item.height; r++) {
        let c = 0;
        while (c < item.width) {
          const on = (col: number): boolean => ((item.bits[r * rowBytes + (col >> 3)] ?? 0) & (0x80 >> (col & 7))) !== 0;
          if (!on(c)) {
            c++;
            continue;
          }
          const start = c;
          while (c < item.width && on(c)) c++;
          d += `M${x0 + start * sx} ${y + r * sy}h${(c - start) * sx}v${sy}h-${(c - start) * sx}z`;
        }
      }
      out.push(`<g class="image" data-width="${item.width}" data-height="${item.height}"><path d="${d}"/></g>`);
      return y + item.height * sy;
    }
    case 'feed':
      return y + item.lines * DEFAULT_LINE + item.dots;
    case 'cut': {
      const mid = y + 12 + (item.feedDots ?? 0);
      out.push(
        `<g class="cut" data-partial="${item.partial}"><line x1="0" y1="${mid}" x2="${paperWidth}" y2="${mid}" stroke="${INK}" stroke-width="1" stroke-dasharray="${item.partial ? '2 4' : '6 4'}"/>` +
          `<text x="2" y="${mid + 8}" font-size="16">\u2702</text></g>`,
      );
      return mid + 12;
    }
    case 'drawer':
      out.push(`<text class="drawer" x="${paperWidth - 2}" y="${y + 14}" font-size="16" text-anchor="end" fill="#888">[drawer kick: pin ${item.pin}, ${item.onMs} ms]</text>`);
      return y + 18;
  }
}

function drawText(item: Extract<PaperItem, { kind: 'text' }>, y: number, paperWidth: number, out: string[]): number {
  const spans: TextSpan[] = item.spans ?? [{ text: item.text, style: item.style, x: 0, cjk: Array.from(item.text).some((ch) => ch.charCodeAt(0) > 0xff) }];
  const tallest = spans.reduce((h, s) => Math.max(h, (s.style.font === 'B' ? 17 : 24) * s.style.height), 24);
  // Line spacing commands: the line feed amount is the line spacing, but never less than the tallest character
  const lineHeight = Math.max(item.lineSpacing ?? DEFAULT_LINE, tallest);
  const margin = item.leftMargin ?? 0;
  const area = Math.min(item.areaWidth ?? paperWidth, paperWidth - margin);
  const lineWidth = spans.reduce((w, s) => Math.max(w, s.x + spanWidth(s)), 0);
  const x0 = margin + alignOffset(item.style.align, area, lineWidth);
  const baseline = y + tallest;
  for (const span of spans) {
    if (span.text.length === 0) continue;
    const w = spanWidth(span);
    const h = (span.style.font === 'B' ? 17 : 24) * span.style.height;
    const x = x0 + span.x;
    // Unifont: half-width glyphs are 0.5 em wide, so font-size = cell height keeps font A at 12 x 24 dots
    const fontSize = h;
    const fill = span.style.invert ? PAPER : INK;
    if (span.style.invert) out.push(`<rect x="${x}" y="${baseline - h}" width="${w}" height="${h}" fill="${INK}"/>`);
    const bold = span.style.bold ? ` stroke="${fill}" stroke-width="${span.style.width}"` : '';
    out.push(
      `<text x="${x}" y="${baseline - Math.round(h * 0.125)}" font-size="${fontSize}" textLength="${w}" lengthAdjust="spacingAndGlyphs" fill="${fill}"${bold} xml:space="preserve">${esc(span.text)}</text>`,
    );
    if (span.style.underline > 0) {
      out.push(`<rect x="${x}" y="${baseline - span.style.underline}" width="${w}" height="${span.style.underline}" fill="${fill === PAPER && span.style.invert ? PAPER : INK}"/>`);
    }
  }
  return y + lineHeight;
}

/** Unifont files for resvg (fonts-unifont on Debian). */
export function unifontFiles(): string[] {
  const candidates = [
    '/usr/share/fonts/opentype/unifont/unifont.otf',
    '/usr/share/fonts/opentype/unifont/unifont_upper.otf',
    '/usr/share/fonts/truetype/unifont/unifont.ttf',
    '/usr/share/fonts/truetype/unifont/unifont_upper.ttf',
  ];
  return candidates.filter((f) => existsSync(f));
}

interface ResvgModule {
  Resvg: new (svg: string, options: unknown) => { render(): { asPng(): Buffer } };
}

/** Rasterise the SVG to PNG (one pixel per dot). @resvg/resvg-js is loaded on first use. */
export function renderPaperPng(svg: string): Buffer {
  const fontFiles = unifontFiles();
  if (fontFiles.length === 0) throw new DriverError('DRIVER_UNSUPPORTED', 'GNU Unifont not found: install the fonts-unifont package');
  let resvgModule: ResvgModule;
  try {
    // loaded on first use (require caches it): a native binary the rest of the decoder never needs
    resvgModule = createRequire(import.meta.url)('@resvg/resvg-js') as ResvgModule;
  } catch (err) {
    throw new DriverError('DRIVER_UNSUPPORTED', '@resvg/resvg-js could not be loaded on this platform', { cause: err });
  }
  const resvg = new resvgModule.Resvg(svg, {
    font: { fontFiles, loadSystemFonts: false, defaultFontFamily: 'Unifont', monospaceFamily: 'Unifont' },
    background: PAPER,
  });
  return Buffer.from(resvg.render().asPng());
}
