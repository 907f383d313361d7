import { describe, expect, it } from '@jest/globals';
import { decodeEscPos, EscPosDecoder } from '../../../../../drivers/printer/virtual/decoder.js';
import type { PaperItem } from '../../../../../drivers/printer/virtual/types.js';

/** bytes from numbers and ASCII strings */
const b = (...parts: Array<number | string | number[]>): Uint8Array =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === 'string' ? Array.from(Buffer.from(p, 'latin1')) : typeof p === 'number' ? [p] : p)));

const ESC = 0x1b;
const GS = 0x1d;
const FS = 0x1c;
const DLE = 0x10;
const LF = 0x0a;

const texts = (items: PaperItem[]): string[] => items.flatMap((i) => (i.kind === 'text' ? [i.text] : []));
const textItem = (items: PaperItem[], text: string) => {
  const item = items.find((i) => i.kind === 'text' && i.text === text);
  if (!item || item.kind !== 'text') throw new Error(`no line ${JSON.stringify(text)} in ${JSON.stringify(texts(items))}`);
  return item;
};

/** GS ( k pL pH cn fn ... */
const gsk = (fn: number, ...params: number[]): number[] => [GS, 0x28, 0x6b, (params.length + 2) & 0xff, (params.length + 2) >> 8, 49, fn, ...params];

describe('decodeEscPos: text and styles', () => {
  it('ESC @, plain lines ended by LF, CR ignored, empty lines kept', () => {
    const paper = decodeEscPos(b(ESC, 0x40, 'Hello', 0x0d, LF, LF, 'World', LF));
    expect(texts(paper.items)).toEqual(['Hello', '', 'World']);
    expect(paper.unknown).toEqual([]);
  });

  it('ESC ! n: emphasized, double height/width, underline, font B', () => {
    const paper = decodeEscPos(b(ESC, 0x21, 0x08 | 0x10 | 0x20 | 0x80, 'BIG', LF, ESC, 0x21, 0x01, 'small', LF, ESC, 0x21, 0, 'plain', LF));
    expect(textItem(paper.items, 'BIG').style).toMatchObject({ bold: true, width: 2, height: 2, underline: 1 });
    expect(textItem(paper.items, 'small').style).toMatchObject({ bold: false, width: 1, height: 1, font: 'B' });
    expect(textItem(paper.items, 'plain').style).toEqual({ bold: false, underline: 0, invert: false, width: 1, height: 1, align: 'left' });
  });

  it('ESC E, ESC G, ESC - (n and ASCII digit forms), GS B, GS !', () => {
    const paper = decodeEscPos(
      b(ESC, 0x45, 1, 'bold', LF, ESC, 0x45, 0, ESC, 0x47, 1, 'strike', LF, ESC, 0x47, 0, ESC, 0x2d, 0x32, 'u2', LF, ESC, 0x2d, 0x30,
        GS, 0x42, 1, 'inv', LF, GS, 0x42, 0, GS, 0x21, 0x21, 'x3w2h', LF, GS, 0x21, 0x00, 'n', LF),
    );
    expect(textItem(paper.items, 'bold').style.bold).toBe(true);
    expect(textItem(paper.items, 'strike').style.bold).toBe(true);
    expect(textItem(paper.items, 'u2').style.underline).toBe(2);
    expect(textItem(paper.items, 'inv').style).toMatchObject({ invert: true, underline: 0, bold: false });
    expect(textItem(paper.items, 'x3w2h').style).toMatchObject({ width: 3, height: 2 });
    expect(textItem(paper.items, 'n').style).toMatchObject({ width: 1, height: 1, invert: false });
  });

  it('ESC a: justification is taken at the beginning of the line', () => {
    const paper = decodeEscPos(b(ESC, 0x61, 1, 'mid', LF, ESC, 0x61, 0x32, 'right', ESC, 0x61, 0, LF, 'left', LF));
    expect(textItem(paper.items, 'mid').style.align).toBe('center');
    expect(textItem(paper.items, 'right').style.align).toBe('right');
    expect(textItem(paper.items, 'left').style.align).toBe('left');
  });

  it('mixed styles in one line become spans with dot positions', () => {
    const paper = decodeEscPos(b('ab', ESC, 0x45, 1, 'CD', ESC, 0x45, 0, GS, 0x21, 0x10, 'e', LF));
    const line = textItem(paper.items, 'abCDe');
    expect(line.spans?.map((s) => [s.text, s.x, s.style.bold, s.style.width])).toEqual([
      ['ab', 0, false, 1],
      ['CD', 24, true, 1],
      ['e', 48, false, 2],
    ]);
  });

  it('ESC 2 / ESC 3 line spacing, ESC SP, GS L / GS W, ESC $ / ESC \\ positions are recorded', () => {
    const paper = decodeEscPos(b(ESC, 0x33, 40, GS, 0x4c, 8, 0, GS, 0x57, 0x80, 1, ESC, 0x20, 2, 'a', ESC, 0x24, 100, 0, 'b', ESC, 0x5c, 0xfe, 0xff, 'c', LF, ESC, 0x32, 'd', LF));
    const abc = textItem(paper.items, 'abc');
    expect(abc.lineSpacing).toBe(40);
    expect(abc.leftMargin).toBe(8);
    expect(abc.areaWidth).toBe(384);
    // 'a' is 12 + 2 dots wide; ESC $ 100 puts 'b' at 100; ESC \ -2 moves back 2 from 114
    expect(abc.spans?.map((s) => s.x)).toEqual([0, 100, 112]);
    expect(textItem(paper.items, 'd').lineSpacing).toBe(30);
  });

  it('HT moves to the next tab stop (default every 8 characters), ESC D sets tab stops', () => {
    const paper = decodeEscPos(b('ab', 0x09, 'c', LF, ESC, 0x44, 4, 10, 0, 0x09, 'x', 0x09, 'y', LF));
    expect(texts(paper.items)).toEqual(['ab      c', '    x     y']);
  });

  it('ESC t selects the code table; page 1 is half-width katakana and box drawing', () => {
    const paper = decodeEscPos(b(0x9c, LF, ESC, 0x74, 16, 0x80, 0xe9, LF, ESC, 0x74, 17, 0x8f, 0xe0, LF, ESC, 0x74, 1, 0xb1, 0x95, 0x95, LF));
    expect(texts(paper.items)).toEqual(['£', '€é', 'Пр', 'ｱ──']);
  });

  it('ESC t with an unsupported table is reported and keeps the current one', () => {
    const paper = decodeEscPos(b(ESC, 0x74, 99, 0x9c, LF));
    expect(texts(paper.items)).toEqual(['£']);
    expect(paper.unknown).toEqual([{ offset: 0, bytes: '1b 74 63', note: expect.stringContaining('ESC t 99') }]);
  });
});

describe('decodeEscPos: CJK (FS &)', () => {
  it('GB18030 Chinese after FS &, double width cells, and FS . back to single bytes', () => {
    const paper = decodeEscPos(b(FS, 0x26, 'A', 0xb2, 0xe2, 0xca, 0xd4, LF, FS, 0x2e, 0x9c, LF), { cjkEncoding: 'gb18030' });
    expect(texts(paper.items)).toEqual(['A测试', '£']);
    const line = textItem(paper.items, 'A测试');
    expect(line.spans?.map((s) => [s.text, s.x, s.cjk])).toEqual([['A', 0, false], ['测试', 12, true]]);
  });

  it('GB18030 is the default, including four-byte sequences', () => {
    const paper = decodeEscPos(b(FS, 0x26, 0xb2, 0xe2, 0x81, 0x30, 0x81, 0x30, LF));
    expect(texts(paper.items)).toEqual(['测\u0080']);
  });

  it('EUC-KR Korean: the Korean printer sequence FS & ESC R 13 selects EUC-KR without an option', () => {
    const paper = decodeEscPos(b(FS, 0x26, ESC, 0x52, 0x0d, 0xc7, 0xd1, 0xb1, 0xb9, LF));
    expect(texts(paper.items)).toEqual(['한국']);
    const explicit = decodeEscPos(b(FS, 0x26, 0xc7, 0xd1, 0xb1, 0xb9, LF), { cjkEncoding: 'euc-kr' });
    expect(texts(explicit.items)).toEqual(['한국']);
  });

  it('FS ! / FS W / FS - style Kanji characters only', () => {
    const paper = decodeEscPos(b(FS, 0x26, FS, 0x21, 0x04, 'a', 0xb2, 0xe2, LF, FS, 0x21, 0, FS, 0x57, 1, FS, 0x2d, 1, 0xca, 0xd4, LF));
    const first = textItem(paper.items, 'a测');
    expect(first.spans?.map((s) => [s.text, s.style.width, s.style.height])).toEqual([['a', 1, 1], ['测', 2, 1]]);
    expect(textItem(paper.items, '试').style).toMatchObject({ width: 2, height: 2, underline: 1 });
  });

  it('a multi-byte character split across pushes is decoded whole', () => {
    const d = new EscPosDecoder();
    d.push(b(FS, 0x26, 0xb2));
    d.push(b(0xe2, LF));
    expect(texts(d.end().items)).toEqual(['测']);
  });
});

describe('decodeEscPos: feeds, cuts, drawer', () => {
  it('ESC d n and ESC J n print the buffer and feed', () => {
    const paper = decodeEscPos(b('x', ESC, 0x64, 3, ESC, 0x4a, 40));
    expect(paper.items).toEqual([
      expect.objectContaining({ kind: 'text', text: 'x' }),
      { kind: 'feed', lines: 3, dots: 0 },
      { kind: 'feed', lines: 0, dots: 40 },
    ]);
  });

  it.each([
    [[0x00], false, undefined],
    [[0x01], true, undefined],
    [[0x30], false, undefined],
    [[0x31], true, undefined],
    [[0x41, 0x10], false, 16],
    [[0x42, 0x00], true, 0],
  ])('GS V %j', (args, partial, feedDots) => {
    const paper = decodeEscPos(b('slip', GS, 0x56, args, 'next', LF));
    const cut = paper.items[1];
    expect(cut).toEqual(feedDots === undefined ? { kind: 'cut', partial } : { kind: 'cut', partial, feedDots });
    expect(texts(paper.items)).toEqual(['slip', 'next']);
    expect(paper.unknown).toEqual([]);
  });

  it('GS V with no such mode (0x48) is reported', () => {
    const paper = decodeEscPos(b(GS, 0x56, 0x48, 'a', LF));
    expect(paper.items.some((i) => i.kind === 'cut')).toBe(false);
    expect(paper.unknown[0]).toMatchObject({ offset: 0, bytes: '1d 56 48' });
    expect(texts(paper.items)).toEqual(['a']);
  });

  it('ESC p m t1 t2 (all five bytes) kicks the drawer', () => {
    const paper = decodeEscPos(b(ESC, 0x70, 0, 25, 250, ESC, 0x70, 0x31, 50, 50));
    expect(paper.items).toEqual([
      { kind: 'drawer', pin: 2, onMs: 50, offMs: 500 },
      { kind: 'drawer', pin: 5, onMs: 100, offMs: 100 },
    ]);
  });

  it('the incomplete 3-byte ESC p of escpos@2.5.2 is flagged, not taken as a kick, and what follows still decodes', () => {
    const paper = decodeEscPos(b(ESC, 0x70, 0, ESC, 0x40, 'after', LF));
    expect(paper.items.filter((i) => i.kind === 'drawer')).toEqual([]);
    expect(paper.unknown).toEqual([{ offset: 0, bytes: '1b 70 00', note: expect.stringContaining('ESC p incomplete') }]);
    expect(texts(paper.items)).toEqual(['after']);
    const atEnd = decodeEscPos(b(ESC, 0x70, 0));
    expect(atEnd.items).toEqual([]);
    expect(atEnd.unknown).toEqual([{ offset: 0, bytes: '1b 70 00', note: expect.stringContaining('ESC p incomplete') }]);
  });

  it('DLE DC4 1 m t is a real-time drawer pulse', () => {
    expect(decodeEscPos(b(DLE, 0x14, 1, 0, 2)).items).toEqual([{ kind: 'drawer', pin: 2, onMs: 200, offMs: 200 }]);
  });
});

describe('decodeEscPos: requests that print nothing', () => {
  it('DLE EOT, DLE ENQ, GS a, GS r, GS ( H are notes, not paper', () => {
    const paper = decodeEscPos(b('a', DLE, 0x04, 1, DLE, 0x04, 4, DLE, 0x05, 2, GS, 0x61, 0xff, GS, 0x72, 0x31,
      GS, 0x28, 0x48, 6, 0, 0x30, 0x30, 0x41, 0x42, 0x43, 0x44, 'b', LF));
    expect(texts(paper.items)).toEqual(['ab']);
    expect(paper.unknown).toEqual([]);
    expect(paper.notes?.map((n) => n.note)).toEqual([
      expect.stringContaining('DLE EOT 1'),
      expect.stringContaining('DLE EOT 4'),
      expect.stringContaining('DLE ENQ 2'),
      expect.stringContaining('automatic status back enabled'),
      expect.stringContaining('GS r 1'),
      expect.stringContaining('process ID response requested (ABCD)'),
    ]);
    expect(paper.notes?.[1].offset).toBe(4);
  });
});

describe('decodeEscPos: QR codes', () => {
  it('GS ( k functions 165, 167, 169, 180, 181 round-trip the payload and settings', () => {
    const payload = 'https://maps.example.com/?q=12 Garden Rd';
    const data = Array.from(Buffer.from(payload));
    const paper = decodeEscPos(b(ESC, 0x61, 1, gsk(65, 50, 0), gsk(67, 6), gsk(69, 51), gsk(80, 48, ...data), gsk(81, 48)));
    expect(paper.items).toEqual([
      { kind: 'qr', payload, data: Uint8Array.from(data), size: 6, errorCorrection: 'H', align: 'center', model: 2 },
    ]);
    expect(paper.unknown).toEqual([]);
  });

  it('UTF-8 payloads decode as text; defaults are size 3, level L', () => {
    const data = Array.from(Buffer.from('王力 12 号'));
    const paper = decodeEscPos(b(gsk(80, 48, ...data), gsk(81, 48)));
    expect(paper.items[0]).toMatchObject({ kind: 'qr', payload: '王力 12 号', size: 3, errorCorrection: 'L' });
  });

  it('printing with no stored data, and out-of-range settings, are reported', () => {
    const paper = decodeEscPos(b(gsk(81, 48), gsk(67, 17), gsk(69, 60)));
    expect(paper.items).toEqual([]);
    expect(paper.unknown.map((u) => u.note)).toEqual([
      expect.stringContaining('no stored data'),
      expect.stringContaining('module size 17'),
      expect.stringContaining('error correction 60'),
    ]);
  });

  it('a declared QR length past the end of the stream is reported, not trusted', () => {
    const paper = decodeEscPos(b('a', LF, GS, 0x28, 0x6b, 0xff, 0x00, 49, 80, 48, 'abc'));
    expect(texts(paper.items)).toEqual(['a']);
    expect(paper.items.some((i) => i.kind === 'qr')).toBe(false);
    expect(paper.unknown).toEqual([{ offset: 2, bytes: '1d 28 6b ff 00 31 50 30 61 62 63', note: expect.stringContaining('truncated') }]);
  });
});

describe('decodeEscPos: images', () => {
  it('GS v 0 raster image round trip (8 x 2 dots, double width)', () => {
    const bits = [0b10100101, 0b11110000];
    const paper = decodeEscPos(b(GS, 0x76, 0x30, 1, 1, 0, 2, 0, ...bits, 'after', LF));
    expect(paper.items[0]).toEqual({ kind: 'image', width: 8, height: 2, bits: Uint8Array.from(bits), align: 'left', scaleX: 2, scaleY: 1, source: 'GS v 0' });
    expect(texts(paper.items)).toEqual(['after']);
  });

  it('GS 8 L / GS ( L function 112 stores graphics, function 50 prints them', () => {
    const data = [0xff, 0x80, 0x81, 0xff]; // 9 x 2 dots: 2 bytes per row
    const body = [48, 112, 48, 1, 1, 49, 9, 0, 2, 0, ...data];
    const n = body.length;
    const paper = decodeEscPos(b(ESC, 0x61, 2, GS, 0x38, 0x4c, n & 0xff, n >> 8, 0, 0, ...body, GS, 0x28, 0x4c, 2, 0, 48, 50));
    expect(paper.items).toEqual([{ kind: 'image', width: 9, height: 2, bits: Uint8Array.from(data), align: 'right', scaleX: 1, scaleY: 1, source: 'GS ( L' }]);
    const viaParen = decodeEscPos(b(GS, 0x28, 0x4c, n & 0xff, n >> 8, ...body, GS, 0x28, 0x4c, 2, 0, 48, 50));
    expect(viaParen.items).toEqual(paper.items.map((i) => ({ ...i, align: 'left' })));
  });

  it('ESC * 24-dot double density becomes a raster image', () => {
    // 2 columns: column 0 has only the top dot, column 1 only the bottom dot
    const paper = decodeEscPos(b(ESC, 0x2a, 33, 2, 0, 0x80, 0, 0, 0, 0, 0x01));
    const img = paper.items[0];
    expect(img).toMatchObject({ kind: 'image', width: 2, height: 24, scaleX: 1, scaleY: 1 });
    if (img.kind !== 'image') throw new Error('not an image');
    expect(img.bits[0]).toBe(0x80);
    expect(img.bits[23]).toBe(0x40);
    expect(img.bits.reduce((n, x) => n + x, 0)).toBe(0xc0);
  });

  it('a raster image longer than maxCommandBytes is reported and its header not trusted', () => {
    const paper = decodeEscPos(b(GS, 0x76, 0x30, 0, 0xff, 0xff, 0xff, 0xff, 'ok', LF), { maxCommandBytes: 1000 });
    expect(paper.items.some((i) => i.kind === 'image')).toBe(false);
    expect(paper.unknown[0]).toMatchObject({ offset: 0, bytes: '1d 76 30 00 ff ff ff ff', note: expect.stringContaining('exceeds') });
    expect(texts(paper.items)).toEqual(['ok']);
  });
});

describe('decodeEscPos: garbage, resync, truncation, streaming', () => {
  it('unknown commands and stray control bytes are reported with offsets; text after them survives', () => {
    const paper = decodeEscPos(b('a', 0x00, 0x07, 'b', ESC, 0xee, 0x01, 0x02, 'c', GS, 0xee, LF, FS, 0xee, 'd', LF));
    expect(texts(paper.items)).toEqual(['abc', 'd']);
    expect(paper.unknown).toEqual([
      { offset: 1, bytes: '00 07', note: 'control byte outside a command' },
      { offset: 4, bytes: '1b ee 01 02', note: expect.stringContaining('ESC 0xee') },
      { offset: 9, bytes: '1d ee', note: expect.stringContaining('GS 0xee') },
      { offset: 12, bytes: '1c ee', note: expect.stringContaining('FS 0xee') },
    ]);
  });

  it('a stream cut inside a command reports it as truncated; the pending line is printed at the end', () => {
    const paper = decodeEscPos(b('tail', GS, 0x76, 0x30, 0, 1, 0));
    expect(texts(paper.items)).toEqual(['tail']);
    expect(paper.unknown).toEqual([{ offset: 4, bytes: '1d 76 30 00 01 00', note: expect.stringContaining('truncated') }]);
  });

  it('byte-by-byte pushes give the same paper as one push', () => {
    const stream = b(ESC, 0x40, ESC, 0x61, 1, 'Hi', LF, FS, 0x26, 0xb2, 0xe2, LF, gsk(80, 48, 0x41), gsk(81, 48), GS, 0x56, 0x42, 0, ESC, 0x70, 0, 1, 2);
    const d = new EscPosDecoder();
    for (const byte of stream) d.push(Uint8Array.of(byte));
    expect(d.end()).toEqual(decodeEscPos(stream));
    expect(decodeEscPos(stream).items.map((i) => i.kind)).toEqual(['text', 'text', 'qr', 'cut', 'drawer']);
  });

  it('paper() shows printed lines before the stream ends; push after end() throws', () => {
    const d = new EscPosDecoder();
    d.push(b('one', LF, 'two'));
    expect(texts(d.paper().items)).toEqual(['one']);
    expect(texts(d.end().items)).toEqual(['one', 'two']);
    expect(() => d.push(b('x'))).toThrow('after end');
  });

  it('ESC @ discards an unprinted line and resets styles', () => {
    const paper = decodeEscPos(b(ESC, 0x45, 1, 'lost', ESC, 0x40, 'kept', LF));
    expect(texts(paper.items)).toEqual(['kept']);
    expect(textItem(paper.items, 'kept').style.bold).toBe(false);
    expect(paper.notes?.[0].note).toContain('discarded');
  });
});
