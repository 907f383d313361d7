import { describe, expect, it } from '@jest/globals';
import { concatBytes } from '../../../drivers/common/bytes.js';
import {
  brightness,
  checkGeometry,
  cursorDisplay,
  encodeInit,
  encodePc437,
  encodeRow,
  encodeScreen,
  fitLines,
  moveCursor,
  selectCodeTable,
} from '../../../drivers/pole-display/commands.js';
import { DriverError } from '../../../drivers/common/errors.js';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex').replace(/(..)(?!$)/g, '$1 ');
const ascii = (s: string) => hex(new TextEncoder().encode(s));
const spaces = (n: number) => Array(n).fill('20').join(' ');

describe('Epson customer-display commands', () => {
  it('encodes the single commands as the command reference gives them', () => {
    expect(hex(moveCursor(1, 2))).toBe('1f 24 01 02');
    expect(hex(moveCursor(20, 1))).toBe('1f 24 14 01');
    expect(hex(selectCodeTable(0))).toBe('1b 74 00');
    expect(hex(cursorDisplay(false))).toBe('1f 43 00');
    expect(hex(cursorDisplay(true))).toBe('1f 43 01');
    expect(hex(brightness(1))).toBe('1f 58 01');
    expect(hex(brightness(4))).toBe('1f 58 04');
  });

  it('initialises: ESC @, overwrite mode, PC437, cursor off, and brightness only when asked', () => {
    expect(hex(encodeInit())).toBe('1b 40 1f 01 1b 74 00 1f 43 00');
    expect(hex(encodeInit({ brightness: 2 }))).toBe('1b 40 1f 01 1b 74 00 1f 43 00 1f 58 02');
  });

  it('golden bytes: "TOTAL 36.00" / "THANK YOU" on a 2 x 20 display', () => {
    const bytes = encodeScreen(['TOTAL 36.00', 'THANK YOU'], { columns: 20, rows: 2 });
    expect(hex(bytes)).toBe(
      ['1f 24 01 01', ascii('TOTAL 36.00'), spaces(9), '1f 24 01 02', ascii('THANK YOU'), spaces(11)].join(' '),
    );
    expect(bytes).toHaveLength(2 * (4 + 20));
  });

  it('cuts long lines, pads short ones, blanks missing rows and drops extra ones (no CLR)', () => {
    const bytes = encodeScreen(['0123456789ABCDEFGHIJKLMNOP'], { columns: 20, rows: 2 });
    expect(hex(bytes)).toBe(['1f 24 01 01', ascii('0123456789ABCDEFGHIJ'), '1f 24 01 02', spaces(20)].join(' '));
    expect(bytes.includes(0x0c)).toBe(false);
    expect(fitLines(['a', 'b', 'c'], { columns: 3, rows: 2 })).toEqual(['a  ', 'b  ']);
    expect(hex(encodeScreen(['x', 'y', 'z'], { columns: 1, rows: 2 }))).toBe('1f 24 01 01 78 1f 24 01 02 79');
  });

  it('encodes PC437 one byte per character: é £ ü ß ½ ° and NFD input', () => {
    expect(hex(encodePc437('é£üß½°'))).toBe('82 9c 81 e1 ab f8');
    expect(hex(encodePc437('Cafe\u0301'))).toBe(ascii('Caf') + ' 82'); // e + combining acute = é
    expect(fitLines(['Café £3.50'], { columns: 12, rows: 1 })).toEqual(['Café £3.50  ']);
  });

  it('turns what PC437 lacks into one "?" per character: CJK, emoji, €', () => {
    expect(hex(encodePc437('王丽'))).toBe('3f 3f');
    expect(hex(encodePc437('a😀b'))).toBe('61 3f 62'); // a surrogate pair is one character
    expect(hex(encodePc437('€5'))).toBe('3f 35');
    expect(fitLines(['王丽 3 orders'], { columns: 12, rows: 1 })).toEqual(['?? 3 orders ']);
  });

  it('neutralises control characters so text cannot inject commands', () => {
    const evil = 'A\x1b@\x0c\x1f$\x01\x02\x7f\x1bt\x05\r\n\u0085\u009bZ';
    const bytes = encodePc437(evil);
    expect(bytes).toHaveLength(Array.from(evil).length);
    for (const b of bytes) expect(b >= 0x20 && b !== 0x7f).toBe(true);
    expect(Buffer.from(bytes).toString('latin1')).toBe('A?@??$????t?????Z');
    // a whole screen holds no command bytes but its own cursor moves
    const screen = encodeScreen([evil, '\x1b@'], { columns: 20, rows: 2 });
    expect(hex(screen.subarray(0, 4))).toBe('1f 24 01 01');
    expect([...screen.subarray(4, 24)].every((b) => b >= 0x20 && b !== 0x7f)).toBe(true);
  });

  it('row encoding never exceeds the width, whatever the text', () => {
    expect(encodeRow('x'.repeat(100_000), 20)).toHaveLength(20);
    expect(encodeRow('😀'.repeat(50), 20)).toEqual(new Uint8Array(20).fill(0x3f));
    expect(encodeRow('', 4)).toEqual(new Uint8Array(4).fill(0x20));
  });

  it('rejects sizes and parameters the command set cannot address', () => {
    expect(() => checkGeometry({ columns: 0, rows: 2 })).toThrow(DriverError);
    expect(() => checkGeometry({ columns: 20, rows: 5 })).toThrow(/rows/);
    expect(() => moveCursor(0, 1)).toThrow(DriverError);
    expect(() => brightness(5 as 4)).toThrow(/brightness/);
    try {
      encodeScreen([], { columns: 41, rows: 2 });
      throw new Error('no throw');
    } catch (error) {
      expect((error as DriverError).code).toBe('DRIVER_INVALID_ARGUMENT');
    }
  });

  it('concatBytes joins parts in order', () => {
    expect(hex(concatBytes(Uint8Array.of(1), Uint8Array.of(), Uint8Array.of(2, 3)))).toBe('01 02 03');
  });
});
