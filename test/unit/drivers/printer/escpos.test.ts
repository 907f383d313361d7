import { describe, expect, it } from '@jest/globals';
import { concatBytes } from '../../../../drivers/common/bytes.js';
import { DriverError } from '../../../../drivers/common/errors.js';
import {
  cjkLine, cjkModeOff, cjkModeOn, cut, drawerKick, encodeText, feedLines, initialize, realtimeStatusRequest, selectCodeTable, toHex,
} from '../../../../drivers/printer/escpos.js';

const hex = (b: Uint8Array): string => toHex(b);

describe('ESC/POS command builder', () => {
  it('ESC @ initialises, ESC d feeds, ESC t selects the code table', () => {
    expect(hex(initialize())).toBe('1b 40');
    expect(hex(feedLines(3))).toBe('1b 64 03');
    expect(hex(selectCodeTable(16))).toBe('1b 74 10');
  });

  it('GS V cuts: function A full/partial, function B with feed', () => {
    expect(hex(cut())).toBe('1d 56 00');
    expect(hex(cut({ partial: true }))).toBe('1d 56 01');
    expect(hex(cut({ feed: 3 }))).toBe('1d 56 41 03');
    expect(hex(cut({ partial: true, feed: 0 }))).toBe('1d 56 42 00');
  });

  it('ESC p sends all five bytes of the drawer kick (times in 2 ms units)', () => {
    expect(hex(drawerKick())).toBe('1b 70 00 32 64');
    expect(hex(drawerKick({ pin: 5, onMs: 50, offMs: 500 }))).toBe('1b 70 01 19 fa');
    expect(drawerKick()).toHaveLength(5);
    expect(() => drawerKick({ onMs: 600 })).toThrow(DriverError);
    expect(() => drawerKick({ pin: 3 as 2 })).toThrow(/pin is 2 or 5/);
  });

  it('DLE EOT n asks for real-time status', () => {
    expect(hex(realtimeStatusRequest(1))).toBe('10 04 01');
    expect(hex(realtimeStatusRequest(2))).toBe('10 04 02');
    expect(hex(realtimeStatusRequest(4))).toBe('10 04 04');
    expect(() => realtimeStatusRequest(5 as 1)).toThrow(expect.objectContaining({ code: 'DRIVER_INVALID_ARGUMENT' }));
  });

  it('FS & / FS . switch CJK mode; Korean printers also get ESC R 13', () => {
    expect(hex(cjkModeOn())).toBe('1c 26');
    expect(hex(cjkModeOn('gb18030'))).toBe('1c 26');
    expect(hex(cjkModeOn('euc-kr'))).toBe('1c 26 1b 52 0d');
    expect(hex(cjkModeOff())).toBe('1c 2e');
  });

  it('encodes GB18030 and EUC-KR text (reference vectors)', () => {
    expect(hex(encodeText('测试', 'gb18030'))).toBe('b2 e2 ca d4');
    expect(hex(encodeText('한국', 'euc-kr'))).toBe('c7 d1 b1 b9');
    expect(hex(encodeText('Aé', 'cp437'))).toBe('41 82');
    expect(() => encodeText('x', 'no-such-encoding')).toThrow(expect.objectContaining({ code: 'DRIVER_UNSUPPORTED' }));
  });

  it('a CJK line is mode on, text, LF, mode off', () => {
    expect(hex(cjkLine('测试'))).toBe('1c 26 b2 e2 ca d4 0a 1c 2e');
    expect(hex(cjkLine('한국', 'euc-kr'))).toBe('1c 26 1b 52 0d c7 d1 b1 b9 0a 1c 2e');
    expect(hex(concatBytes(initialize(), cut()))).toBe('1b 40 1d 56 00');
  });
});
