import { describe, expect, it } from '@jest/globals';
import { parseReportDescriptor } from '../../../drivers/hid/descriptor.js';
import {
  BOOT_KEYBOARD_REPORT_DESCRIPTOR,
  bootKeyboardLayout,
  findKeyboardLayout,
  keyAction,
  KeyboardDecoder,
  keyChar,
  Modifier,
  type KeyboardLayout,
  type KeyPress,
} from '../../../drivers/scanner/keyboard.js';
import { ScanAssembler, scansOf } from '../../../drivers/scanner/scan.js';
import { MAX_SCAN_LENGTH } from '../../../drivers/scanner/types.js';
import { hex, toHex } from '../hid/fixtures.js';
import { BOOT_KEYBOARD, DATALOGIC_GD4400, KEYBOARD_REPORT_ID_1, typeReports, VENDOR_INTERFACE } from './fixtures.js';

function layoutOf(descriptor: Uint8Array): KeyboardLayout {
  const layout = findKeyboardLayout(parseReportDescriptor(descriptor));
  if (!layout) throw new Error('no keyboard layout');
  return layout;
}

/** Decode reports and type the presses as text (Enter as ⏎, Tab as ⇥, other keys as <usage>). */
function typed(layout: KeyboardLayout, reports: readonly string[]): string {
  const decoder = new KeyboardDecoder(layout);
  let out = '';
  for (const report of reports) {
    for (const press of decoder.decode(hex(report))) {
      const action = keyAction(press);
      out += action.kind === 'char' ? action.char : action.kind === 'end' ? (action.key === 'enter' ? '⏎' : '⇥') : `<${action.usage.toString(16)}>`;
    }
  }
  return out;
}

describe('keyboard layout from the report descriptor', () => {
  it('finds the modifier bits and key array of the HID 1.11 E.6 boot keyboard (no report ID)', () => {
    expect(BOOT_KEYBOARD.length).toBe(63);
    const layout = layoutOf(BOOT_KEYBOARD);
    expect(layout.source).toBe('descriptor');
    expect(layout.usesReportIds).toBe(false);
    expect(layout.reports).toHaveLength(1);
    const [report] = layout.reports;
    expect(report).toMatchObject({ id: 0, byteLength: 8 });
    // the reserved byte (Input Constant) is padding, not a field to read
    expect(report.fields.map((f) => ({ bitOffset: f.bitOffset, size: f.size, count: f.count, variable: f.flags.variable }))).toEqual([
      { bitOffset: 0, size: 1, count: 8, variable: true },
      { bitOffset: 16, size: 8, count: 6, variable: false },
    ]);
  });

  it('the boot layout is the E.6 descriptor, byte for byte', () => {
    expect(toHex(BOOT_KEYBOARD_REPORT_DESCRIPTOR)).toBe(toHex(BOOT_KEYBOARD));
    expect(bootKeyboardLayout()).toMatchObject({ source: 'boot', usesReportIds: false, reports: [{ id: 0, byteLength: 8 }] });
  });

  it('finds the keyboard report behind report ID 1 and leaves the consumer report (ID 4) out', () => {
    const layout = layoutOf(KEYBOARD_REPORT_ID_1);
    expect(layout.usesReportIds).toBe(true);
    expect(layout.reports.map((r) => [r.id, r.byteLength])).toEqual([[1, 8]]);
    expect(layoutOf(DATALOGIC_GD4400).reports.map((r) => [r.id, r.byteLength])).toEqual([[0, 8]]);
  });

  it('finds none in a vendor interface, nor in a keyboard collection without key usages', () => {
    expect(findKeyboardLayout(parseReportDescriptor(VENDOR_INTERFACE))).toBeNull();
    // modifiers only: not a keyboard's key input
    expect(findKeyboardLayout(parseReportDescriptor(hex('05 01 09 06 A1 01 05 07 19 E0 29 E7 15 00 25 01 75 01 95 08 81 02 C0'))))
      .toBeNull();
  });

  it('reads an N-key-rollover bitmap (one Variable bit per usage) as well as an array', () => {
    // Generic Desktop Keyboard with modifiers and a bitmap of usages 0x00-0x67, report ID 6 (QMK's NKRO report shape)
    const nkro = layoutOf(hex('05 01 09 06 A1 01 85 06 05 07 19 E0 29 E7 15 00 25 01 75 01 95 08 81 02 19 00 29 67 95 68 81 02 C0'));
    const press = (usages: number[], modifiers = 0): string => {
      const bytes = new Uint8Array(1 + 1 + 13);
      bytes[0] = 6;
      bytes[1] = modifiers;
      for (const u of usages) bytes[2 + (u >> 3)] |= 1 << (u & 7);
      return toHex(bytes);
    };
    expect(typed(nkro, [press([0x0b], 0x02), press([]), press([0x0c, 0x1e]), press([0x0c]), press([0x28])])).toBe('Hi1⏎');
  });
});

describe('KeyboardDecoder', () => {
  const boot = layoutOf(BOOT_KEYBOARD);

  it('reports a key once when it goes down, not while held nor when released', () => {
    const decoder = new KeyboardDecoder(boot);
    expect(decoder.decode(hex('00 00 04 00 00 00 00 00'))).toEqual([{ usage: 0x04, modifiers: 0 }]);
    expect(decoder.decode(hex('00 00 04 00 00 00 00 00'))).toEqual([]);
    expect(decoder.decode(hex('00 00 04 05 00 00 00 00'))).toEqual([{ usage: 0x05, modifiers: 0 }]);
    expect(decoder.decode(hex('00 00 00 05 00 00 00 00'))).toEqual([]);
    expect(decoder.decode(hex('00 00 00 00 00 00 00 00'))).toEqual([]);
    expect(decoder.decode(hex('00 00 04 00 00 00 00 00'))).toEqual([{ usage: 0x04, modifiers: 0 }]);
  });

  it('reports modifiers with the keys they accompany, never as presses', () => {
    const decoder = new KeyboardDecoder(boot);
    expect(decoder.decode(hex('02 00 00 00 00 00 00 00'))).toEqual([]);
    expect(decoder.decode(hex('02 00 04 00 00 00 00 00'))).toEqual([{ usage: 0x04, modifiers: Modifier.leftShift }]);
    expect(decoder.decode(hex('20 00 04 05 00 00 00 00'))).toEqual([{ usage: 0x05, modifiers: Modifier.rightShift }]);
  });

  it('keeps the key state through the phantom state (ErrorRollOver in every slot), POSTFail and ErrorUndefined', () => {
    expect(typed(boot, ['00 00 04 00 00 00 00 00', '00 00 01 01 01 01 01 01', '00 00 04 05 00 00 00 00', '00 00 02 02 02 02 02 02', '00 00 00 00 00 00 00 00'])).toBe(
      'ab',
    );
    expect(typed(boot, ['00 00 03 00 00 00 00 00', '00 00 04 00 00 00 00 00'])).toBe('a');
  });

  it('ignores short reports, unknown report IDs and values outside the logical range; reads padded reports', () => {
    expect(typed(boot, ['00 00 04', '', '00 00 66 00 00 00 00 00', '00 00 ff 00 00 00 00 00'])).toBe('');
    // padded to a 64-byte endpoint: the described 8 bytes are read
    expect(typed(boot, [`00 00 05 ${'00 '.repeat(61)}`.trim()])).toBe('b');
    const withId = layoutOf(KEYBOARD_REPORT_ID_1);
    expect(typed(withId, ['02 00 00 04 00 00 00 00 00', '04 e9 00', '01 00 00 04 00 00 00 00', '01 00 00 04 00 00 00 00 00'])).toBe('a');
  });

  it('types "11" from press / release / press / release, and several keys in one report in array order', () => {
    expect(typed(boot, typeReports('11'))).toBe('11');
    expect(typed(boot, ['00 00 05 04 00 00 00 00'])).toBe('ba');
  });
});

describe('US layout (HID Usage Tables 1.4, keyboard page 0x07)', () => {
  const char = (usage: number, modifiers = 0): string | null => keyChar({ usage, modifiers });

  it('maps letters, digits, space and punctuation, shifted or not (left or right Shift)', () => {
    const plain = Array.from({ length: 0x38 - 0x04 + 1 }, (_, i) => char(0x04 + i) ?? '·').join('');
    const shifted = Array.from({ length: 0x38 - 0x04 + 1 }, (_, i) => char(0x04 + i, Modifier.leftShift) ?? '·').join('');
    expect(plain).toBe("abcdefghijklmnopqrstuvwxyz1234567890···· -=[]\\\\;'`,./");
    expect(shifted).toBe('ABCDEFGHIJKLMNOPQRSTUVWXYZ!@#$%^&*()···· _+{}||:"~<>?');
    expect(char(0x04, Modifier.rightShift)).toBe('A');
    expect(char(0x04, Modifier.leftShift | Modifier.rightShift)).toBe('A');
  });

  it('maps the keypad digits and / * - + . whether shifted or not', () => {
    const keypad = Array.from({ length: 0x63 - 0x54 + 1 }, (_, i) => char(0x54 + i) ?? '·').join('');
    expect(keypad).toBe('/*-+·1234567890.');
    expect(char(0x59, Modifier.rightShift)).toBe('1');
  });

  it('types nothing for keys without a character, or with Control, Alt or GUI held', () => {
    for (const usage of [0x29, 0x2a, 0x39, 0x3a, 0x4f, 0x64, 0x67, 0xe1]) expect(char(usage)).toBeNull();
    for (const modifier of [Modifier.leftControl, Modifier.rightControl, Modifier.leftAlt, Modifier.rightAlt, Modifier.leftGui, Modifier.rightGui]) {
      expect(char(0x04, modifier)).toBeNull();
      expect(char(0x04, modifier | Modifier.leftShift)).toBeNull();
    }
  });

  it('ends a code with Enter, keypad Enter or Tab', () => {
    const action = (usage: number, modifiers = 0): ReturnType<typeof keyAction> => keyAction({ usage, modifiers } satisfies KeyPress);
    expect([action(0x28), action(0x58), action(0x2b), action(0x2b, Modifier.leftShift)]).toEqual([
      { kind: 'end', key: 'enter' },
      { kind: 'end', key: 'enter' },
      { kind: 'end', key: 'tab' },
      { kind: 'end', key: 'tab' },
    ]);
    expect(action(0x3a)).toEqual({ kind: 'other', usage: 0x3a });
  });
});

describe('ScanAssembler and scansOf', () => {
  const feed = (assembler: ScanAssembler, text: string): unknown[] => {
    const out: unknown[] = [];
    for (const c of text) {
      const outcome = assembler.push(c === '\r' ? { kind: 'end', key: 'enter' } : c === '?' ? { kind: 'other', usage: 0x3a } : { kind: 'char', char: c });
      if (outcome) out.push(outcome);
    }
    return out;
  };

  it('emits a code on its terminator, ignores a bare Enter and keys before a code starts', () => {
    const assembler = new ScanAssembler();
    expect(feed(assembler, '\r??12\r\r')).toEqual([{ type: 'scanned', code: '12' }]);
    expect(feed(assembler, '1?2\r')).toEqual([{ type: 'rejected', reason: 'unprintable', length: 3 }]);
    expect(feed(assembler, '34')).toEqual([]);
    expect(assembler.inProgress).toBe(true);
    expect(assembler.timeout()).toEqual({ type: 'rejected', reason: 'unterminated', length: 2 });
    expect(assembler.timeout()).toBeNull();
  });

  it('counts past MAX_SCAN_LENGTH but keeps no more than it', () => {
    const assembler = new ScanAssembler();
    expect(feed(assembler, `${'7'.repeat(MAX_SCAN_LENGTH * 4)}\r`)).toEqual([{ type: 'rejected', reason: 'too-long', length: MAX_SCAN_LENGTH * 4 }]);
    expect(feed(assembler, `${'7'.repeat(MAX_SCAN_LENGTH)}\r`)).toEqual([{ type: 'scanned', code: '7'.repeat(MAX_SCAN_LENGTH) }]);
  });

  it('scansOf applies the same rules to typed text', () => {
    expect(scansOf('')).toEqual([]);
    expect(scansOf('ABC-123')).toEqual([{ type: 'scanned', code: 'ABC-123' }]);
    expect(scansOf('A\u001dB')).toEqual([{ type: 'rejected', reason: 'unprintable', length: 3 }]);
    expect(scansOf('Grüße')).toEqual([{ type: 'rejected', reason: 'unprintable', length: 5 }]);
    expect(scansOf(`A${'\u0001'.repeat(MAX_SCAN_LENGTH)}`)).toEqual([{ type: 'rejected', reason: 'too-long', length: MAX_SCAN_LENGTH + 1 }]);
    // as typed: keys that type nothing before the first character are no part of the code
    expect(scansOf('\u0002ABC')).toEqual([{ type: 'scanned', code: 'ABC' }]);
    expect(scansOf('\u0002\u0003')).toEqual([]);
    // CR and Tab end a code where they are typed
    expect(scansOf('12\r\r34\t5')).toEqual([
      { type: 'scanned', code: '12' },
      { type: 'scanned', code: '34' },
      { type: 'scanned', code: '5' },
    ]);
  });
});
