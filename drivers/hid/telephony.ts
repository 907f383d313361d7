/**
 * Telephony device model on top of a parsed report descriptor: which input fields carry the hook
 * switch, phone buttons and keypad, which output fields drive the LEDs and ringer; a decoder from
 * input reports to events and an encoder from LED states to output reports.
 *
 * Usages: HID Usage Tables, Telephony Device Page (0x0B) and LED Page (0x08).
 * Report bytes: HID 1.11 8.4 (report format; little-endian bit order, Appendix D) and 6.2.2.5
 * (Variable vs Array fields, Relative vs Absolute).
 */
import {
  findReport,
  readElement,
  writeBits,
  type HidField,
  type HidReportDescriptor,
  type Usage,
  type UsageSpan,
} from './descriptor.js';
import type { HidPhoneButton, HidPhoneKey, HidTelephonyCapabilities, TelephonyLeds } from './types.js';

export const TELEPHONY_PAGE = 0x0b;
export const LED_PAGE = 0x08;

/** Telephony Device Page (0x0B) usages the driver understands. */
export const TelephonyUsage = {
  keypadCollection: 0x06,
  hookSwitch: 0x20,
  flash: 0x21,
  hold: 0x23,
  redial: 0x24,
  transfer: 0x25,
  drop: 0x26,
  line: 0x2a,
  speakerPhone: 0x2b,
  phoneMute: 0x2f,
  ringer: 0x9e,
  /** Phone Key 0..9 are 0xB0..0xB9, then Star 0xBA and Pound 0xBB. */
  key0: 0xb0,
  keyStar: 0xba,
  keyPound: 0xbb,
} as const;

/** LED Page (0x08) usages of a phone. */
export const LedUsage = { mute: 0x09, offHook: 0x17, ring: 0x18, hold: 0x20, microphone: 0x21 } as const;

export type TelephonyLedName = keyof TelephonyLeds;

/** What an input usage means to a phone. */
export type InputRole = { kind: 'hook' } | { kind: 'key'; key: HidPhoneKey } | { kind: 'button'; button: HidPhoneButton };

const BUTTONS: ReadonlyMap<number, HidPhoneButton> = new Map<number, HidPhoneButton>([
  [TelephonyUsage.flash, 'flash'],
  [TelephonyUsage.hold, 'hold'],
  [TelephonyUsage.redial, 'redial'],
  [TelephonyUsage.transfer, 'transfer'],
  [TelephonyUsage.drop, 'drop'],
  [TelephonyUsage.line, 'line'],
  [TelephonyUsage.speakerPhone, 'speakerPhone'],
  [TelephonyUsage.phoneMute, 'mute'],
]);

const KEYS: readonly HidPhoneKey[] = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '#'];

/** Output usages that `setLeds` drives. */
const LEDS: readonly { page: number; id: number; led: TelephonyLedName }[] = [
  { page: LED_PAGE, id: LedUsage.offHook, led: 'offHook' },
  { page: LED_PAGE, id: LedUsage.ring, led: 'ring' },
  { page: LED_PAGE, id: LedUsage.mute, led: 'mute' },
  { page: LED_PAGE, id: LedUsage.hold, led: 'hold' },
  { page: LED_PAGE, id: LedUsage.microphone, led: 'microphone' },
  { page: TELEPHONY_PAGE, id: TelephonyUsage.ringer, led: 'ringer' },
];

export function inputRole(usage: Usage | undefined): InputRole | undefined {
  if (!usage || usage.page !== TELEPHONY_PAGE) return undefined;
  if (usage.id === TelephonyUsage.hookSwitch) return { kind: 'hook' };
  if (usage.id >= TelephonyUsage.key0 && usage.id <= TelephonyUsage.keyPound) return { kind: 'key', key: KEYS[usage.id - TelephonyUsage.key0] };
  const button = BUTTONS.get(usage.id);
  return button ? { kind: 'button', button } : undefined;
}

function ledOf(usage: Usage | undefined): TelephonyLedName | undefined {
  if (!usage) return undefined;
  return LEDS.find((l) => l.page === usage.page && l.id === usage.id)?.led;
}

/** Usage id ranges on the telephony page that hold every input role. */
const ROLE_RANGES: readonly (readonly [number, number])[] = [
  [TelephonyUsage.hookSwitch, TelephonyUsage.phoneMute],
  [TelephonyUsage.key0, TelephonyUsage.keyPound],
];
const spanHasInputRole = (s: UsageSpan): boolean => s.page === TELEPHONY_PAGE && ROLE_RANGES.some(([lo, hi]) => s.min <= hi && s.max >= lo);
const spanHasLed = (s: UsageSpan): boolean => LEDS.some((l) => l.page === s.page && s.min <= l.id && s.max >= l.id);

/** One element of a Variable field. */
export interface VariableControl<R> {
  reportId: number;
  field: HidField;
  element: number;
  role: R;
}

export interface TelephonyModel {
  descriptor: HidReportDescriptor;
  /** Variable input elements with a telephony meaning. */
  inputs: readonly VariableControl<InputRole>[];
  /** Array input fields whose usage list has telephony meanings (typically the keypad). */
  inputArrays: readonly HidField[];
  /** Variable output elements that are LEDs (or the ringer). */
  leds: readonly VariableControl<TelephonyLedName>[];
  capabilities: HidTelephonyCapabilities;
  /** True when the device has anything a phone can use. */
  isTelephony: boolean;
}

/**
 * Visit the elements of a Variable field with their usages, walking the spans once. Elements past
 * the end of the usage list share the last usage (HID 1.11 6.2.2.8); they add nothing new, so the
 * walk stops at the usage list's end.
 */
function forEachVariableElement(field: HidField, visit: (element: number, usage: Usage) => void): void {
  let element = 0;
  for (const span of field.usages) {
    for (let id = span.min; id <= span.max; id++) {
      if (element >= field.count) return;
      visit(element++, { page: span.page, id });
    }
  }
}

/** Find the telephony controls and LEDs in a parsed descriptor. */
export function buildTelephonyModel(descriptor: HidReportDescriptor): TelephonyModel {
  const inputs: VariableControl<InputRole>[] = [];
  const inputArrays: HidField[] = [];
  const leds: VariableControl<TelephonyLedName>[] = [];
  const roles: InputRole[] = [];

  for (const report of descriptor.reports) {
    for (const field of report.fields) {
      // Constant fields are padding or fixed values (6.2.2.5 bit 0): nothing to read or drive.
      if (field.flags.constant || field.size > 32) continue;
      if (report.kind === 'input' && field.usages.some(spanHasInputRole)) {
        if (field.flags.variable) {
          forEachVariableElement(field, (element, usage) => {
            const role = inputRole(usage);
            if (role) {
              inputs.push({ reportId: report.id, field, element, role });
              roles.push(role);
            }
          });
        } else {
          inputArrays.push(field);
          for (const role of arrayRoles(field).values()) roles.push(role);
        }
      } else if (report.kind === 'output' && field.flags.variable && field.usages.some(spanHasLed)) {
        // LED arrays (selectors) are not supported: no phone seen uses them.
        forEachVariableElement(field, (element, usage) => {
          const led = ledOf(usage);
          if (led) leds.push({ reportId: report.id, field, element, role: led });
        });
      }
    }
  }

  const buttons = [...new Set(roles.flatMap((r) => (r.kind === 'button' ? [r.button] : [])))];
  const capabilities: HidTelephonyCapabilities = {
    hookSwitch: roles.some((r) => r.kind === 'hook'),
    keypad: roles.some((r) => r.kind === 'key'),
    buttons,
    leds: [...new Set(leds.map((l) => l.role))],
  };
  const isTelephony = capabilities.hookSwitch || capabilities.keypad || buttons.length > 0 || capabilities.leds.length > 0;
  return { descriptor, inputs, inputArrays, leds, capabilities, isTelephony };
}

/** The usage indices of an Array field that carry a telephony role (ranges walked, not expanded). */
function arrayRoles(field: HidField): Map<number, InputRole> {
  const roles = new Map<number, InputRole>();
  let index = 0;
  for (const span of field.usages) {
    if (span.page === TELEPHONY_PAGE) {
      for (const [lo, hi] of ROLE_RANGES) {
        for (let id = Math.max(lo, span.min); id <= Math.min(hi, span.max); id++) {
          const role = inputRole({ page: span.page, id });
          if (role) roles.set(index + id - span.min, role);
        }
      }
    }
    index += span.max - span.min + 1;
  }
  return roles;
}

export type TelephonyInputEvent =
  | { type: 'hookChanged'; offHook: boolean }
  | { type: 'keyPressed'; key: HidPhoneKey }
  | { type: 'buttonPressed'; button: HidPhoneButton };

const roleKey = (r: InputRole): string => (r.kind === 'hook' ? 'hook' : r.kind === 'key' ? `key:${r.key}` : `button:${r.button}`);

/**
 * Input reports -> events, with edge detection:
 * - hook switch: absolute fields report the state; `hookChanged` only when it changes (the device
 *   starts on-hook). A relative hook switch toggles on its rising edge.
 * - keys: `keyPressed` on key-down (a key appearing in the keypad array, or a key bit going 0 -> 1);
 *   holding a key or releasing it reports nothing.
 * - buttons: `buttonPressed` on the rising edge. Relative ones such as Phone Mute send 1 then 0
 *   (6.2.2.5 Relative: a change, not a state), so repeated 1s while held are one press.
 *
 * Bounded: a report longer than the descriptor says (plus the ID byte) is ignored; a shorter one
 * updates only the fields it fully contains.
 */
export class TelephonyDecoder {
  #offHook = false;
  readonly #values = new Map<VariableControl<InputRole>, boolean>();
  readonly #arrays = new Map<HidField, Map<string, InputRole>>();
  readonly #inputsByReport = new Map<number, VariableControl<InputRole>[]>();
  readonly #arraysByReport = new Map<number, HidField[]>();
  /** Per Array field: usage index -> role, for the indices that have one (lookups stay O(1) per element). */
  readonly #arrayRoles = new Map<HidField, Map<number, InputRole>>();

  constructor(readonly model: TelephonyModel) {
    for (const c of model.inputs) {
      const list = this.#inputsByReport.get(c.reportId) ?? [];
      list.push(c);
      this.#inputsByReport.set(c.reportId, list);
    }
    for (const f of model.inputArrays) {
      const list = this.#arraysByReport.get(f.reportId) ?? [];
      list.push(f);
      this.#arraysByReport.set(f.reportId, list);
      this.#arrayRoles.set(f, arrayRoles(f));
    }
  }

  get offHook(): boolean {
    return this.#offHook;
  }

  /** Decode one input report as hidraw delivers it (ID byte first when the device uses IDs). */
  decode(report: Uint8Array): TelephonyInputEvent[] {
    const descriptor = this.model.descriptor;
    let id = 0;
    let data = report;
    if (descriptor.usesReportIds) {
      if (report.length < 1) return [];
      id = report[0];
      data = report.subarray(1);
    }
    const layout = findReport(descriptor, 'input', id);
    if (!layout || report.length > layout.wireLength) return [];

    const events: TelephonyInputEvent[] = [];
    for (const control of this.#inputsByReport.get(id) ?? []) {
      const value = readElement(data, control.field, control.element);
      if (value === undefined) continue;
      const active = value !== 0;
      const was = this.#values.get(control) ?? false;
      this.#values.set(control, active);
      this.#apply(control.role, was, active, control.field.flags.relative, events);
    }
    for (const field of this.#arraysByReport.get(id) ?? []) {
      const now = this.#readArray(data, field);
      if (!now) continue;
      const before = this.#arrays.get(field) ?? new Map<string, InputRole>();
      this.#arrays.set(field, now);
      for (const [key, role] of now) if (!before.has(key)) this.#apply(role, false, true, field.flags.relative, events);
      for (const [key, role] of before) if (!now.has(key)) this.#apply(role, true, false, field.flags.relative, events);
    }
    return events;
  }

  /**
   * The telephony usages an Array field's elements select. Each element holds an index: value v
   * selects usage number v - Logical Minimum; values outside the logical range (the null state,
   * 6.2.2.5 bit 6) or past the usage list (e.g. 12 in a 12-key pad) select nothing.
   */
  #readArray(data: Uint8Array, field: HidField): Map<string, InputRole> | undefined {
    const selected = new Map<string, InputRole>();
    for (let element = 0; element < field.count; element++) {
      const value = readElement(data, field, element);
      if (value === undefined) return element === 0 ? undefined : selected;
      if (value < field.logicalMinimum || value > field.logicalMaximum) continue;
      const role = this.#arrayRoles.get(field)?.get(value - field.logicalMinimum);
      if (role) selected.set(roleKey(role), role);
    }
    return selected;
  }

  #apply(role: InputRole, was: boolean, active: boolean, relative: boolean, events: TelephonyInputEvent[]): void {
    const rising = active && !was;
    if (role.kind === 'hook') {
      const offHook = relative ? (rising ? !this.#offHook : this.#offHook) : active;
      if (offHook !== this.#offHook) {
        this.#offHook = offHook;
        events.push({ type: 'hookChanged', offHook });
      }
    } else if (rising) {
      events.push(role.kind === 'key' ? { type: 'keyPressed', key: role.key } : { type: 'buttonPressed', button: role.button });
    }
  }
}

/**
 * Compose the output reports that carry LEDs, one per report ID, as hidraw / hidapi write them:
 * the first byte is the report ID, or 0 for a device without IDs, then the report data.
 * LEDs the device lacks are ignored; LEDs not given are off; other output bits are 0.
 * An LED element is written 1 when on and 0 when off (LED usages are On/Off Controls), clamped
 * into the field's logical range.
 */
export function encodeLedReports(model: TelephonyModel, leds: Partial<TelephonyLeds>): Uint8Array[] {
  const byReport = new Map<number, VariableControl<TelephonyLedName>[]>();
  for (const control of model.leds) {
    const list = byReport.get(control.reportId) ?? [];
    list.push(control);
    byReport.set(control.reportId, list);
  }
  const out: Uint8Array[] = [];
  for (const [id, controls] of byReport) {
    const layout = findReport(model.descriptor, 'output', id);
    if (!layout) continue;
    const bytes = new Uint8Array(1 + layout.byteLength);
    bytes[0] = id;
    const data = bytes.subarray(1);
    for (const { field, element, role } of controls) {
      const wanted = leds[role] === true ? 1 : 0;
      const value = Math.min(Math.max(wanted, field.logicalMinimum), field.logicalMaximum);
      writeBits(data, field.bitOffset + element * field.size, field.size, value);
    }
    out.push(bytes);
  }
  return out;
}
