/**
 * HID keyboard input reports -> key presses -> characters, for scanners in keyboard-wedge mode.
 *
 * Specs: USB Device Class Definition for HID 1.11 ("HID 1.11"): 6.2.2.5 (Array vs Variable
 * fields), 8.4 / Appendix D (report layout), Appendix B.1 (boot keyboard report), Appendix C
 * (keyboard implementation, the phantom state), Appendix E.6 (keyboard report descriptor);
 * HID Usage Tables 1.4 ("HUT"), section 10, Keyboard/Keypad Page (0x07).
 *
 * The report layout comes from the device's own report descriptor (parsed by drivers/hid): the
 * modifier bits and key array are whatever Input fields carry page 0x07 usages, with or without a
 * report ID. Only a keyboard whose descriptor has no such input falls back to the boot layout.
 */
import {
  parseReportDescriptor,
  readElement,
  usageAt,
  variableUsage,
  type HidField,
  type HidReportDescriptor,
} from '../hid/descriptor.js';

/** HUT 1.4 section 10: Keyboard/Keypad Page. */
export const KEYBOARD_PAGE = 0x07;
/** HUT 1.4 section 4: Generic Desktop Page, usage 0x06 Keyboard (an Application collection). */
export const GENERIC_DESKTOP_PAGE = 0x01;
export const GENERIC_DESKTOP_KEYBOARD = 0x06;

/** Keyboard/Keypad Page (0x07) usages the decoder treats specially. */
export const KeyUsage = {
  /** 0x00 Reserved: "no event indicated" (an empty array slot). */
  none: 0x00,
  /** 0x01 ErrorRollOver, 0x02 POSTFail, 0x03 ErrorUndefined: status codes, not keys. */
  errorRollOver: 0x01,
  errorUndefined: 0x03,
  /** First and last usages that are keys (0x04 Keyboard a and A ... 0xDD Keypad Hexadecimal). */
  firstKey: 0x04,
  lastKey: 0xdd,
  enter: 0x28,
  tab: 0x2b,
  keypadEnter: 0x58,
  /** 0xE0 LeftControl ... 0xE7 Right GUI: one modifier bit each, bit n = usage 0xE0 + n. */
  leftControl: 0xe0,
  rightGui: 0xe7,
} as const;

/** Modifier bits of `KeyPress.modifiers` (bit n = usage 0xE0 + n, as in the boot report, HID 1.11 Appendix B.1). */
export const Modifier = {
  leftControl: 1 << 0,
  leftShift: 1 << 1,
  leftAlt: 1 << 2,
  leftGui: 1 << 3,
  rightControl: 1 << 4,
  rightShift: 1 << 5,
  rightAlt: 1 << 6,
  rightGui: 1 << 7,
} as const;

const SHIFT = Modifier.leftShift | Modifier.rightShift;

/** One input report of a keyboard: its ID (0 without IDs), its data length and its page 0x07 fields. */
export interface KeyboardInputReport {
  id: number;
  /** Data bytes, without the report ID byte. */
  byteLength: number;
  fields: readonly HidField[];
}

export interface KeyboardLayout {
  /** 'descriptor' when read from the device's report descriptor, 'boot' for the fallback. */
  source: 'descriptor' | 'boot';
  /** Reports are preceded by their ID byte (HID 1.11 6.2.2.7). */
  usesReportIds: boolean;
  reports: readonly KeyboardInputReport[];
}

const isModifier = (usage: number): boolean => usage >= KeyUsage.leftControl && usage <= KeyUsage.rightGui;
const isStatus = (usage: number): boolean => usage >= KeyUsage.errorRollOver && usage <= KeyUsage.errorUndefined;

/** Whether a field carries keys (not only modifiers) on the keyboard page. */
const hasKeys = (field: HidField): boolean => field.usages.some((s) => s.page === KEYBOARD_PAGE && s.min <= KeyUsage.lastKey && s.max >= KeyUsage.firstKey);

/**
 * The keyboard input reports of a parsed descriptor: every Input report with a key field on page
 * 0x07 (the key array, or an N-key bitmap), with its page 0x07 fields (modifier bits included).
 * Constant fields are padding (HID 1.11 6.2.2.5 bit 0) and are left out. Null when there is none.
 */
export function findKeyboardLayout(descriptor: HidReportDescriptor): KeyboardLayout | null {
  const reports: KeyboardInputReport[] = [];
  for (const report of descriptor.reports) {
    if (report.kind !== 'input') continue;
    const fields = report.fields.filter((f) => !f.flags.constant && f.size <= 32 && f.usages.some((s) => s.page === KEYBOARD_PAGE));
    if (fields.some(hasKeys)) reports.push({ id: report.id, byteLength: report.byteLength, fields });
  }
  return reports.length > 0 ? { source: 'descriptor', usesReportIds: descriptor.usesReportIds, reports } : null;
}

/**
 * HID 1.11 Appendix E.6, "Report Descriptor (Keyboard)": the descriptor the spec gives for the
 * boot keyboard report of Appendix B.1 (byte 0 modifier bits, byte 1 reserved, bytes 2-7 the key
 * array, usages 0-101; no report ID).
 */
export const BOOT_KEYBOARD_REPORT_DESCRIPTOR = Uint8Array.from([
  0x05, 0x01, 0x09, 0x06, 0xa1, 0x01, 0x05, 0x07, 0x19, 0xe0, 0x29, 0xe7, 0x15, 0x00, 0x25, 0x01,
  0x75, 0x01, 0x95, 0x08, 0x81, 0x02, 0x95, 0x01, 0x75, 0x08, 0x81, 0x01, 0x95, 0x05, 0x75, 0x01,
  0x05, 0x08, 0x19, 0x01, 0x29, 0x05, 0x91, 0x02, 0x95, 0x01, 0x75, 0x03, 0x91, 0x01, 0x95, 0x06,
  0x75, 0x08, 0x15, 0x00, 0x25, 0x65, 0x05, 0x07, 0x19, 0x00, 0x29, 0x65, 0x81, 0x00, 0xc0,
]);

/** The boot-protocol layout (HID 1.11 Appendix B.1), for keyboards whose descriptor shows no keyboard input. */
export function bootKeyboardLayout(): KeyboardLayout {
  const layout = findKeyboardLayout(parseReportDescriptor(BOOT_KEYBOARD_REPORT_DESCRIPTOR));
  if (!layout) throw new Error('the boot keyboard descriptor has no keyboard input'); // unreachable: the constant above has one
  return { ...layout, source: 'boot' };
}

/** A key going down: its Keyboard/Keypad Page usage and the modifier bits held with it. */
export interface KeyPress {
  usage: number;
  /** Bit n set when usage 0xE0 + n (LeftControl ... Right GUI) is down; see `Modifier`. */
  modifiers: number;
}

/**
 * Input reports -> key presses. Keyboards report state, not events: a report lists the keys down
 * now, so a press is a usage present in this report and not in the previous one of the same ID
 * (a scanner typing "11" sends 1-down, all-up, 1-down, all-up). Held keys and releases report
 * nothing; modifiers are reported with the keys they accompany, never as presses of their own.
 *
 * Bounded: a report shorter than its layout is ignored (its key array cannot be trusted); extra
 * bytes past the layout are ignored, as Linux hid-core does (some scanners pad to the endpoint
 * size). Unknown report IDs are ignored. The caller bounds the overall length.
 */
export class KeyboardDecoder {
  readonly #layout: KeyboardLayout;
  readonly #reports = new Map<number, KeyboardInputReport>();
  /** Per report ID: the usages each field had down in the last report. */
  readonly #down = new Map<number, Set<number>[]>();

  constructor(layout: KeyboardLayout) {
    this.#layout = layout;
    for (const report of layout.reports) this.#reports.set(report.id, report);
  }

  /** Decode one input report as hidraw delivers it (ID byte first when the device uses IDs). */
  decode(report: Uint8Array): KeyPress[] {
    let id = 0;
    let data = report;
    if (this.#layout.usesReportIds) {
      if (report.length < 1) return [];
      id = report[0];
      data = report.subarray(1);
    }
    const layout = this.#reports.get(id);
    if (!layout || data.length < layout.byteLength) return [];

    const before = this.#down.get(id) ?? layout.fields.map(() => new Set<number>());
    const now = layout.fields.map((field, i) => readField(data, field) ?? before[i]);
    this.#down.set(id, now);

    const wasDown = new Set<number>();
    for (const set of before) for (const usage of set) wasDown.add(usage);
    let modifiers = 0;
    for (const set of now) for (const usage of set) if (isModifier(usage)) modifiers |= 1 << (usage - KeyUsage.leftControl);
    const presses: KeyPress[] = [];
    const seen = new Set<number>();
    for (const set of now) {
      for (const usage of set) {
        if (isModifier(usage) || wasDown.has(usage) || seen.has(usage)) continue;
        seen.add(usage);
        presses.push({ usage, modifiers });
      }
    }
    return presses;
  }

  /** Forget the keys down (e.g. after a detach). */
  reset(): void {
    this.#down.clear();
  }
}

/**
 * The page 0x07 usages a field reports down, in element order. Undefined when the field's state is
 * unknown and the previous state must stand: the phantom state (HID 1.11 Appendix C: with more keys
 * down than the array holds, every array element reports ErrorRollOver), or POSTFail /
 * ErrorUndefined in the array. Linux hid-core ignores such an array the same way.
 */
function readField(data: Uint8Array, field: HidField): Set<number> | undefined {
  const down = new Set<number>();
  for (let element = 0; element < field.count; element++) {
    const value = readElement(data, field, element);
    if (value === undefined) break;
    if (field.flags.variable) {
      // Variable (6.2.2.5 bit 1): one element per usage, non-zero when the key is down.
      if (value === 0) continue;
      const usage = variableUsage(field, element);
      if (usage && usage.page === KEYBOARD_PAGE && usage.id !== KeyUsage.none && !isStatus(usage.id)) down.add(usage.id);
    } else {
      // Array: each element holds an index into the usage list (value - Logical Minimum); values
      // outside the logical range are the null state (6.2.2.5 bit 6) and select nothing.
      if (value < field.logicalMinimum || value > field.logicalMaximum) continue;
      const usage = usageAt(field, value - field.logicalMinimum);
      if (!usage || usage.page !== KEYBOARD_PAGE || usage.id === KeyUsage.none) continue;
      if (isStatus(usage.id)) return undefined;
      down.add(usage.id);
    }
  }
  return down;
}

// US layout, HUT 1.4 section 10 (the "Typical language mappings: US" of each usage).
/** 0x04-0x1D: Keyboard a and A ... z and Z. */
const LETTERS = 'abcdefghijklmnopqrstuvwxyz';
/** 0x1E-0x27: Keyboard 1 and ! ... 0 and ). */
const DIGITS = '1234567890';
const SHIFTED_DIGITS = '!@#$%^&*()';
/** 0x2C-0x38: Spacebar, - and _, = and +, [ and {, ] and }, \ and |, Non-US # and ~, ; and :, ' and ", ` and ~, , and <, . and >, / and ?. */
const PUNCTUATION: readonly (readonly [number, string, string])[] = [
  [0x2c, ' ', ' '],
  [0x2d, '-', '_'],
  [0x2e, '=', '+'],
  [0x2f, '[', '{'],
  [0x30, ']', '}'],
  [0x31, '\\', '|'],
  // Non-US # and ~: absent on a US keyboard; HUT 1.4 note: on US layouts it types \ and |
  // (Linux hid-input maps it to KEY_BACKSLASH too).
  [0x32, '\\', '|'],
  [0x33, ';', ':'],
  [0x34, "'", '"'],
  [0x35, '`', '~'],
  [0x36, ',', '<'],
  [0x37, '.', '>'],
  [0x38, '/', '?'],
];
/**
 * Keypad (0x54-0x63, Enter at 0x58 excepted): / * - + 1-9 0 . as typed with Num Lock on, shift or not;
 * scanners that type digits on the keypad rely on that.
 */
const KEYPAD: ReadonlyMap<number, string> = new Map<number, string>([
  [0x54, '/'],
  [0x55, '*'],
  [0x56, '-'],
  [0x57, '+'],
  [0x59, '1'],
  [0x5a, '2'],
  [0x5b, '3'],
  [0x5c, '4'],
  [0x5d, '5'],
  [0x5e, '6'],
  [0x5f, '7'],
  [0x60, '8'],
  [0x61, '9'],
  [0x62, '0'],
  [0x63, '.'],
]);
const UNSHIFTED = new Map<number, string>();
const SHIFTED = new Map<number, string>();
for (let i = 0; i < LETTERS.length; i++) {
  UNSHIFTED.set(0x04 + i, LETTERS[i]);
  SHIFTED.set(0x04 + i, LETTERS[i].toUpperCase());
}
for (let i = 0; i < DIGITS.length; i++) {
  UNSHIFTED.set(0x1e + i, DIGITS[i]);
  SHIFTED.set(0x1e + i, SHIFTED_DIGITS[i]);
}
for (const [usage, plain, shifted] of PUNCTUATION) {
  UNSHIFTED.set(usage, plain);
  SHIFTED.set(usage, shifted);
}
for (const [usage, char] of KEYPAD) {
  UNSHIFTED.set(usage, char);
  SHIFTED.set(usage, char);
}

/**
 * The printable ASCII character a key press types under a US layout, Shift (left or right)
 * applied; null for anything else: keys with no character (F-keys, arrows, Escape, Backspace, Caps
 * Lock, ...), and any key held with Control, Alt or GUI (Ctrl+letter is a control character, the
 * way scanners type GS or EOT; Alt+keypad digits is the Windows "Alt code" entry).
 */
export function keyChar(press: KeyPress): string | null {
  if ((press.modifiers & ~SHIFT & 0xff) !== 0) return null;
  return ((press.modifiers & SHIFT) !== 0 ? SHIFTED : UNSHIFTED).get(press.usage) ?? null;
}

/** What a key press means to a scan: a character, the end of the code (Enter, keypad Enter or Tab), or neither. */
export type KeyAction = { kind: 'char'; char: string } | { kind: 'end'; key: 'enter' | 'tab' } | { kind: 'other'; usage: number };

export function keyAction(press: KeyPress): KeyAction {
  if (press.usage === KeyUsage.enter || press.usage === KeyUsage.keypadEnter) return { kind: 'end', key: 'enter' };
  if (press.usage === KeyUsage.tab) return { kind: 'end', key: 'tab' };
  const char = keyChar(press);
  return char === null ? { kind: 'other', usage: press.usage } : { kind: 'char', char };
}
