import { describe, expect, it } from '@jest/globals';
import { parseReportDescriptor, type UsagePageRule } from '../../../drivers/hid/descriptor.js';
import { buildTelephonyModel, encodeLedReports, TelephonyDecoder, type TelephonyInputEvent } from '../../../drivers/hid/telephony.js';
import type { TelephonyLeds } from '../../../drivers/hid/types.js';
import { hex, loadDescriptor, toHex } from './fixtures.js';

function modelOf(name: 'speakerphone' | 'headset' | 'keypad', usagePageRule: UsagePageRule = 'main') {
  return buildTelephonyModel(parseReportDescriptor(loadDescriptor(name), { usagePageRule }));
}

/** Feed reports (hex strings) through one decoder; one event list per report, as short strings. */
function run(decoder: TelephonyDecoder, reports: string[]): string[][] {
  return reports.map((r) => decoder.decode(hex(r)).map(show));
}

function show(e: TelephonyInputEvent): string {
  if (e.type === 'hookChanged') return e.offHook ? 'off-hook' : 'on-hook';
  if (e.type === 'keyPressed') return `key ${e.key}`;
  return `button ${e.button}`;
}

const leds = (on: Partial<TelephonyLeds>) => ({ offHook: false, ring: false, mute: false, hold: false, microphone: false, ...on });

describe('buildTelephonyModel', () => {
  it('finds hook switch, keypad, the relative buttons it knows, and all LEDs plus the ringer on the reference', () => {
    const model = modelOf('speakerphone');
    expect(model.isTelephony).toBe(true);
    expect(model.capabilities).toEqual({ hookSwitch: true, keypad: true, buttons: ['mute', 'flash'], leds: ['offHook', 'mute', 'ring', 'hold', 'microphone', 'ringer'] });
    expect(model.inputs.map((c) => [c.field.bitOffset + c.element, c.role.kind, c.field.flags.relative])).toEqual([
      [0, 'hook', false],
      [2, 'button', true],
      [3, 'button', true],
    ]);
    expect(model.inputArrays.map((f) => [f.bitOffset, f.size])).toEqual([[6, 4]]);
    expect(model.leds.map((l) => [l.role, l.field.bitOffset + l.element])).toEqual([
      ['offHook', 0],
      ['mute', 1],
      ['ring', 2],
      ['hold', 3],
      ['microphone', 4],
      ['ringer', 5],
    ]);
  });

  it('models the headset (extended Speaker Phone usage) and the keypad', () => {
    expect(modelOf('headset').capabilities).toEqual({ hookSwitch: true, keypad: false, buttons: ['mute', 'flash', 'redial', 'speakerPhone'], leds: ['offHook', 'mute', 'ring', 'hold', 'ringer'] });
    expect(modelOf('keypad').capabilities).toEqual({ hookSwitch: true, keypad: true, buttons: [], leds: ['offHook', 'ring'] });
  });

  it('says a device without telephony usages is not one (a keyboard)', () => {
    const keyboard = hex('05 01 09 06 A1 01 05 07 19 E0 29 E7 15 00 25 01 75 01 95 08 81 02 05 08 19 01 29 05 95 05 91 02 95 03 91 01 C0');
    const model = buildTelephonyModel(parseReportDescriptor(keyboard));
    expect(model.isTelephony).toBe(false);
    expect(model.capabilities).toEqual({ hookSwitch: false, keypad: false, buttons: [], leds: [] });
  });
});

describe('TelephonyDecoder on the reference speakerphone', () => {
  it('decodes the protocols.md vectors from a fresh decoder each', () => {
    expect(run(new TelephonyDecoder(modelOf('speakerphone')), ['02 01 03'])).toEqual([['off-hook']]);
    expect(run(new TelephonyDecoder(modelOf('speakerphone')), ['02 01 00'])).toEqual([['off-hook', 'key 0']]);
    expect(run(new TelephonyDecoder(modelOf('speakerphone')), ['02 41 01'])).toEqual([['off-hook', 'key 5']]);
  });

  it('reports the hook on change only and keys on key-down only', () => {
    const decoder = new TelephonyDecoder(modelOf('speakerphone'));
    expect(run(decoder, ['02 00 03', '02 01 03', '02 01 03', '02 01 00', '02 01 00', '02 01 03', '02 41 01', '02 41 01', '02 01 03', '02 00 03'])).toEqual([
      [],
      ['off-hook'],
      [],
      ['key 0'],
      [],
      [],
      ['key 5'],
      [],
      [],
      ['on-hook'],
    ]);
    expect(decoder.offHook).toBe(false);
  });

  it('maps every keypad value: 0..11 to 0-9 * #, 12 (no key) and 13..15 (outside the logical range) to nothing', () => {
    const pressed: string[] = [];
    for (let v = 0; v < 16; v++) {
      const decoder = new TelephonyDecoder(modelOf('speakerphone'));
      decoder.decode(hex('02 00 03'));
      const bytes = Uint8Array.from([2, (v & 3) << 6, v >> 2]);
      pressed.push(decoder.decode(bytes).map(show).join(',') || '-');
    }
    expect(pressed).toEqual(['key 0', 'key 1', 'key 2', 'key 3', 'key 4', 'key 5', 'key 6', 'key 7', 'key 8', 'key 9', 'key *', 'key #', '-', '-', '-', '-']);
  });

  it('reports a key pressed again after a release, and a new key while another was held', () => {
    const decoder = new TelephonyDecoder(modelOf('speakerphone'));
    expect(run(decoder, ['02 00 03', '02 40 01', '02 00 03', '02 40 01', '02 80 01'])).toEqual([[], ['key 5'], [], ['key 5'], ['key 6']]);
  });

  it('reports relative Phone Mute (1 then 0) and Flash once per rising edge', () => {
    const decoder = new TelephonyDecoder(modelOf('speakerphone'));
    // bit 2 mute, bit 3 flash; keypad stays 12 (none)
    expect(run(decoder, ['02 04 03', '02 04 03', '02 00 03', '02 04 03', '02 08 03', '02 0c 03', '02 00 03'])).toEqual([
      ['button mute'],
      [],
      [],
      ['button mute'],
      ['button flash'],
      ['button mute'],
      [],
    ]);
  });

  it('ignores Voice Mail, Speed Dial, Line Busy and the bit-10 button, which it has no events for', () => {
    const decoder = new TelephonyDecoder(modelOf('speakerphone'));
    // bit 1 line busy, bit 4 voice mail, bit 5 speed dial, bit 10
    expect(run(decoder, ['02 32 07', '02 00 03'])).toEqual([[], []]);
  });

  it('ignores reports longer than the descriptor says, unknown report IDs and empty reads; reads what a short report holds', () => {
    const decoder = new TelephonyDecoder(modelOf('speakerphone'));
    expect(run(decoder, ['02 01 03 00', '05 01 03', '', '01 01 03'])).toEqual([[], [], [], []]);
    expect(decoder.decode(new Uint8Array(5000))).toEqual([]);
    // one data byte: the hook bit is there, the keypad's bits 8-9 are not
    expect(run(decoder, ['02 41'])).toEqual([['off-hook']]);
  });
});

describe('the Usage Page ambiguity through the decoder', () => {
  it("decodes the reference identically under both readings, with bit 10 set or not", () => {
    const reports = ['02 01 03', '02 01 07', '02 41 05', '02 45 05', '02 05 07', '02 00 07', '02 00 03'];
    const main = run(new TelephonyDecoder(modelOf('speakerphone', 'main')), reports);
    const local = run(new TelephonyDecoder(modelOf('speakerphone', 'local')), reports);
    expect(main).toEqual([['off-hook'], [], ['key 5'], ['button mute'], [], ['on-hook'], []]);
    expect(local).toEqual(main);
  });

  it('finds a hook switch declared before the page switch only under one reading, and the other reading yields no events without failing', () => {
    // Usage Page (Button), Usage 0x20, Usage Page (Telephony), Input 1 bit; 7 bits padding
    const before = hex('05 0B 09 05 A1 01 05 09 09 20 05 0B 15 00 25 01 75 01 95 01 81 02 75 07 81 03 C0');
    // Usage Page (Telephony), Usage 0x20, Usage Page (Button), Input 1 bit; 7 bits padding
    const after = hex('05 0B 09 05 A1 01 05 0B 09 20 05 09 15 00 25 01 75 01 95 01 81 02 75 07 81 03 C0');
    const decode = (bytes: Uint8Array, usagePageRule: UsagePageRule) => {
      const model = buildTelephonyModel(parseReportDescriptor(bytes, { usagePageRule }));
      return { hook: model.capabilities.hookSwitch, events: run(new TelephonyDecoder(model), ['01', '00', 'ff']) };
    };
    expect(decode(before, 'main')).toEqual({ hook: true, events: [['off-hook'], ['on-hook'], ['off-hook']] });
    expect(decode(before, 'local')).toEqual({ hook: false, events: [[], [], []] });
    expect(decode(after, 'main')).toEqual({ hook: false, events: [[], [], []] });
    expect(decode(after, 'local')).toEqual({ hook: true, events: [['off-hook'], ['on-hook'], ['off-hook']] });
  });
});

describe('TelephonyDecoder on other devices', () => {
  it('decodes the headset: report 1 hook and relative buttons, the consumer report is not telephony', () => {
    const decoder = new TelephonyDecoder(modelOf('headset'));
    expect(run(decoder, ['01 01', '01 05', '01 01', '01 09', '01 11', '01 21', '03 01', '01 00'])).toEqual([
      ['off-hook'],
      ['button mute'],
      [],
      ['button flash'],
      ['button redial'],
      ['button speakerPhone'],
      [],
      ['on-hook'],
    ]);
  });

  it('decodes the keypad without report IDs: a two-key array with 0 as no key', () => {
    const decoder = new TelephonyDecoder(modelOf('keypad'));
    expect(run(decoder, ['01 00 00', '01 06 00', '01 06 0c', '01 0c 06', '01 00 0c', '01 00 00', '00 0b 00', '00 00 00', '00 0d 00'])).toEqual([
      ['off-hook'],
      ['key 5'],
      ['key #'],
      [],
      [],
      [],
      ['on-hook', 'key *'],
      [],
      [],
    ]);
    // four bytes is one too many for a three-byte report without an ID
    expect(run(decoder, ['01 01 00 00'])).toEqual([[]]);
  });

  it('toggles a relative hook switch on its rising edges', () => {
    const bytes = hex('05 0B 09 05 A1 01 09 20 15 00 25 01 75 01 95 01 81 06 75 07 81 03 C0');
    const decoder = new TelephonyDecoder(buildTelephonyModel(parseReportDescriptor(bytes)));
    expect(run(decoder, ['01', '00', '01', '01', '00', '01'])).toEqual([['off-hook'], [], ['on-hook'], [], [], ['off-hook']]);
  });
});

describe('encodeLedReports', () => {
  const reference = modelOf('speakerphone');
  const encode = (model: ReturnType<typeof modelOf>, on: Partial<TelephonyLeds>) => encodeLedReports(model, on).map(toHex);

  it.each([
    [{}, '02 00 00'],
    [{ offHook: true }, '02 01 00'],
    [{ mute: true }, '02 02 00'],
    [{ offHook: true, mute: true }, '02 03 00'],
    [{ ring: true }, '02 04 00'],
    [{ hold: true }, '02 08 00'],
    [{ microphone: true }, '02 10 00'],
    [{ ringer: true }, '02 20 00'],
    [{ ring: true, ringer: true }, '02 24 00'],
    [{ offHook: true, mute: true, microphone: true }, '02 13 00'],
    [{ offHook: true, ring: true, mute: true, hold: true, microphone: true, ringer: true }, '02 3f 00'],
  ] as [Partial<TelephonyLeds>, string][])('composes reference output report 2 for %j as %s', (on, bytes) => {
    expect(encode(reference, on)).toEqual([bytes]);
  });

  it('turns LEDs off that are given as false', () => {
    expect(encode(reference, leds({ offHook: true, mute: false }))).toEqual(['02 01 00']);
  });

  it('ignores LEDs the device does not have', () => {
    expect(encode(modelOf('headset'), { microphone: true })).toEqual(['02 00']);
    expect(encode(modelOf('headset'), { offHook: true, mute: true, microphone: true })).toEqual(['02 03']);
    expect(encode(modelOf('headset'), { ring: true, ringer: true })).toEqual(['02 14']);
    expect(encode(modelOf('keypad'), leds({ mute: true, hold: true, ringer: true }))).toEqual(['00 00']);
  });

  it('prefixes 0 for a device without report IDs', () => {
    expect(encode(modelOf('keypad'), { offHook: true })).toEqual(['00 01']);
    expect(encode(modelOf('keypad'), { offHook: true, ring: true })).toEqual(['00 03']);
  });

  it('composes nothing for a device without LEDs', () => {
    const bytes = hex('05 0B 09 05 A1 01 09 20 15 00 25 01 75 01 95 01 81 02 75 07 81 03 C0');
    expect(encodeLedReports(buildTelephonyModel(parseReportDescriptor(bytes)), { offHook: true })).toEqual([]);
  });
});
