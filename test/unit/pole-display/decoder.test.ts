import { describe, expect, it } from '@jest/globals';
import { concatBytes } from '../../../drivers/common/bytes.js';
import { encodeInit, encodeScreen, fitLines } from '../../../drivers/pole-display/commands.js';
import { PoleDisplayDecoder } from '../../../drivers/pole-display/decoder.js';
import { seededRandom } from '../../support/random.js';

const bytes = (...parts: Array<number | string>) =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === 'number' ? [p] : [...Buffer.from(p, 'latin1')])));
const geometry = { columns: 20, rows: 2 };

describe('PoleDisplayDecoder', () => {
  it('shows what init + screen bytes say, also when fed one byte at a time', () => {
    const wire = concatBytes(encodeInit({ brightness: 3 }), encodeScreen(['TOTAL 36.00', 'Café £2 王'], geometry));
    const whole = new PoleDisplayDecoder(geometry);
    whole.write(wire);
    const trickle = new PoleDisplayDecoder(geometry);
    for (const b of wire) trickle.write(Uint8Array.of(b));
    for (const d of [whole, trickle]) {
      expect(d.screen()).toEqual(['TOTAL 36.00         ', 'Café £2 ?           ']);
      expect(d.brightness).toBe(3);
      expect(d.cursorVisible).toBe(false);
      expect(d.codeTable).toBe(0);
      expect(d.stats).toEqual({ bytes: wire.length, initializations: 1, skipped: 0 });
    }
  });

  it('a later screen overwrites every cell of the earlier one', () => {
    const d = new PoleDisplayDecoder(geometry);
    d.write(concatBytes(encodeInit(), encodeScreen(['A LONG FIRST LINE!!!', 'SECOND LINE TOO'], geometry)));
    d.write(encodeScreen(['short'], geometry));
    expect(d.screen()).toEqual(['short               ', '                    ']);
  });

  it('models CLR, US $ positioning, overwrite-mode wrap and the cursor controls', () => {
    const d = new PoleDisplayDecoder({ columns: 4, rows: 2 });
    d.write(bytes('abcdefghij')); // wraps lower-right -> upper-left in overwrite mode
    expect(d.screen()).toEqual(['ijcd', 'efgh']);
    expect(d.cursor).toEqual({ column: 3, row: 1 });
    d.write(bytes(0x0c));
    expect(d.screen()).toEqual(['    ', '    ']);
    d.write(bytes(0x1f, 0x24, 3, 2, 'XY', 0x0b, 'h', 0x0d, 'H', 0x0a, 'L'));
    expect(d.screen()).toEqual(['H   ', ' LXY']);
    d.write(bytes(0x1f, 0x24, 5, 1, 'Q', 0x1f, 0x24, 1, 3, 'R')); // out of range: ignored
    expect(d.screen()).toEqual(['H   ', ' LQR']);
    d.write(bytes(0x1f, 0x58, 9, 0x1f, 0x58, 2, 0x1f, 0x43, 1));
    expect(d.brightness).toBe(2);
    expect(d.cursorVisible).toBe(true);
    d.write(bytes(0x1b, 0x40));
    expect(d.screen()).toEqual(['    ', '    ']);
    expect(d.brightness).toBe(4);
  });

  it('takes parameter bytes whatever their value (column 27 and 31 on a 40-column display)', () => {
    const d = new PoleDisplayDecoder({ columns: 40, rows: 2 });
    d.write(bytes(0x1f, 0x24, 0x1b, 1, 'E', 0x1f, 0x24, 0x1f, 2, 'U', 0x1b, 0x74, 0x1f));
    expect(d.screen()[0][26]).toBe('E');
    expect(d.screen()[1][30]).toBe('U');
    expect(d.codeTable).toBe(0x1f);
  });

  it('skips unknown ESC and US sequences and stray control bytes', () => {
    const d = new PoleDisplayDecoder(geometry);
    d.write(bytes(0x1b, 0x3d, 'A', 0x1f, 0x7e, 'B', 0x1b, 0x1b, 0x40, 'C', 0x00, 0x07, 0x7f, 'D'));
    expect(d.screen()[0]).toBe('C' + 'D'.padEnd(19));
    expect(d.stats.initializations).toBe(1);
    expect(d.stats.skipped).toBe(2 + 2 + 1 + 3);
  });

  it('resyncs after random garbage: init + screen always shows exactly the text (seeded property)', () => {
    const rnd = seededRandom(0x5eed);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)];
    // bytes that matter to the parser come often, so command prefixes are cut off in every way
    const interesting = [0x1b, 0x1f, 0x24, 0x40, 0x74, 0x43, 0x58, 0x01, 0x0c, 0x0a, 0x0d, 0x0b, 0x00, 0x7f];
    const texts = ['TOTAL 36.00', 'Café £2.50', '王丽 ☎', 'x'.repeat(30), '', '\x1b@\x0c', 'SUB  12.00  TAX 1.2'];
    for (let run = 0; run < 500; run++) {
      const geo = { columns: 1 + Math.floor(rnd() * 40), rows: 1 + Math.floor(rnd() * 4) };
      const d = new PoleDisplayDecoder(geo);
      const garbage = Uint8Array.from({ length: Math.floor(rnd() * 300) }, () => (rnd() < 0.4 ? pick(interesting) : Math.floor(rnd() * 256)));
      d.write(garbage);
      expect(d.screen().map((r) => r.length)).toEqual(Array(geo.rows).fill(geo.columns));
      const lines = Array.from({ length: Math.floor(rnd() * 5) }, () => pick(texts));
      d.write(concatBytes(encodeInit(), encodeScreen(lines, geo)));
      expect(d.screen()).toEqual(fitLines(lines, geo));
    }
  });

  it('stays bounded: a megabyte of garbage leaves a rows x columns screen', () => {
    const rnd = seededRandom(99);
    const d = new PoleDisplayDecoder(geometry);
    const chunk = new Uint8Array(64 * 1024);
    for (let i = 0; i < 16; i++) {
      for (let j = 0; j < chunk.length; j++) chunk[j] = Math.floor(rnd() * 256);
      d.write(chunk);
    }
    expect(d.stats.bytes).toBe(16 * 64 * 1024);
    expect(d.screen()).toHaveLength(2);
    expect(d.screen().every((row) => row.length === 20)).toBe(true);
  });
});
