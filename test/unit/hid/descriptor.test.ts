import { describe, expect, it } from '@jest/globals';
import { DriverError } from '../../../drivers/common/errors.js';
import {
  findReport,
  HID_DESCRIPTOR_LIMITS,
  HidDescriptorError,
  parseReportDescriptor,
  readBits,
  readElement,
  usageAt,
  variableUsage,
  writeBits,
  type HidField,
  type HidReportDescriptor,
  type ReportKind,
} from '../../../drivers/hid/descriptor.js';
import { hex, loadDescriptor, REFERENCE_FROM_PROTOCOLS_MD } from './fixtures.js';

/** The parts of a field worth comparing in a table. */
function summary(field: HidField) {
  return {
    bitOffset: field.bitOffset,
    size: field.size,
    count: field.count,
    constant: field.flags.constant,
    variable: field.flags.variable,
    relative: field.flags.relative,
    usages: field.usages.map((u) => (u.min === u.max ? `${u.page.toString(16)}:${u.min.toString(16)}` : `${u.page.toString(16)}:${u.min.toString(16)}-${u.max.toString(16)}`)),
    logical: [field.logicalMinimum, field.logicalMaximum],
  };
}

function report(d: HidReportDescriptor, kind: ReportKind, id: number) {
  const r = findReport(d, kind, id);
  if (!r) throw new Error(`no ${kind} report ${id}`);
  return r;
}

function parseError(bytes: Uint8Array | number[]): HidDescriptorError {
  try {
    parseReportDescriptor(Uint8Array.from(bytes));
  } catch (error) {
    if (error instanceof HidDescriptorError) return error;
    throw error;
  }
  throw new Error('parsed without error');
}

describe('parseReportDescriptor: the reference speakerphone (protocols.md)', () => {
  const bytes = loadDescriptor('speakerphone');
  const d = parseReportDescriptor(bytes);

  it('reads the annotated fixture as exactly the bytes protocols.md prints', () => {
    expect(bytes).toEqual(hex(REFERENCE_FROM_PROTOCOLS_MD));
    expect(bytes.length).toBe(120);
  });

  it('finds one input and one output report with ID 2, each two data bytes', () => {
    expect(d.usesReportIds).toBe(true);
    expect(d.reports.map((r) => `${r.kind} ${r.id} ${r.bitLength} bits ${r.byteLength}+id=${r.wireLength}`)).toEqual(['input 2 16 bits 2+id=3', 'output 2 16 bits 2+id=3']);
  });

  it('lays out input report 2 as the reference says: hook bit 0, relative bits 2-5, keypad 6-9, a button at 10', () => {
    expect(report(d, 'input', 2).fields.map(summary)).toEqual([
      { bitOffset: 0, size: 1, count: 2, constant: false, variable: true, relative: false, usages: ['b:20', 'b:97'], logical: [0, 1] },
      { bitOffset: 2, size: 1, count: 4, constant: false, variable: true, relative: true, usages: ['b:2f', 'b:21', 'b:70', 'b:50'], logical: [0, 1] },
      { bitOffset: 6, size: 4, count: 1, constant: false, variable: false, relative: false, usages: ['b:b0-bb'], logical: [0, 12] },
      { bitOffset: 10, size: 1, count: 1, constant: false, variable: true, relative: false, usages: ['9:7'], logical: [0, 1] },
      { bitOffset: 11, size: 1, count: 5, constant: true, variable: false, relative: false, usages: [], logical: [0, 1] },
    ]);
    const keypad = report(d, 'input', 2).fields[2];
    expect(keypad.flags.nullState).toBe(true);
    expect(keypad.flags.bits).toBe(0x40);
    expect(report(d, 'input', 2).fields[0].flags.noPreferredState).toBe(true);
  });

  it('lays out output report 2: five LEDs in bits 0-4, the ringer at bit 5, padding to 16 bits', () => {
    expect(report(d, 'output', 2).fields.map(summary)).toEqual([
      { bitOffset: 0, size: 1, count: 5, constant: false, variable: true, relative: false, usages: ['8:17', '8:9', '8:18', '8:20', '8:21'], logical: [0, 1] },
      { bitOffset: 5, size: 1, count: 1, constant: false, variable: true, relative: false, usages: ['b:9e'], logical: [0, 1] },
      { bitOffset: 6, size: 1, count: 10, constant: true, variable: false, relative: false, usages: [], logical: [0, 1] },
    ]);
  });

  it('records the application and the nested keypad collection, and which fields sit in which', () => {
    expect(d.collections).toEqual([
      { type: 'application', typeCode: 1, usage: { page: 0x0b, id: 0x05 }, parent: null, depth: 0 },
      { type: 'logical', typeCode: 2, usage: { page: 0x0b, id: 0x06 }, parent: 0, depth: 1 },
    ]);
    expect(report(d, 'input', 2).fields.map((f) => f.collections)).toEqual([[0], [0], [0, 1], [0], [0]]);
  });

  it('reads the reference reports at those offsets, little-endian across bytes', () => {
    const keypad = report(d, 'input', 2).fields[2];
    expect(readElement(hex('01 03'), keypad, 0)).toBe(12);
    expect(readElement(hex('01 00'), keypad, 0)).toBe(0);
    expect(readElement(hex('41 01'), keypad, 0)).toBe(5);
    expect(readElement(hex('41'), keypad, 0)).toBeUndefined();
    expect(usageAt(keypad, 5)).toEqual({ page: 0x0b, id: 0xb5 });
    expect(usageAt(keypad, 12)).toBeUndefined();
  });
});

describe('the Usage Page of a short Usage (HID 1.11 6.2.2.8)', () => {
  const bytes = loadDescriptor('speakerphone');

  it("by default takes the page in effect at the Main item: the reference's Usage 0x07 is Button 7", () => {
    const d = parseReportDescriptor(bytes);
    expect(d.usagePageRule).toBe('main');
    expect(report(d, 'input', 2).fields[3].usages).toEqual([{ page: 0x09, min: 7, max: 7 }]);
  });

  it("under the 'local' reading takes the page at the Usage item: Telephony 0x07; the rest is identical", () => {
    const main = parseReportDescriptor(bytes, { usagePageRule: 'main' });
    const local = parseReportDescriptor(bytes, { usagePageRule: 'local' });
    expect(report(local, 'input', 2).fields[3].usages).toEqual([{ page: 0x0b, min: 7, max: 7 }]);
    const strip = (x: HidReportDescriptor) => x.reports.map((r) => ({ ...r, fields: r.fields.filter((f) => f.bitOffset !== 10 || r.kind !== 'input') }));
    expect(strip(local)).toEqual(strip(main));
  });

  it('decides differently for a usage declared before a page switch, and never for extended usages', () => {
    // Usage Page (Button), Usage 0x20, Usage Page (Telephony), extended Usage 0x000B002F, Input (2 bits)
    const bytes2 = hex('05 09 09 20 05 0B 0B 2F 00 0B 00 15 00 25 01 75 01 95 02 81 02');
    expect(parseReportDescriptor(bytes2, { usagePageRule: 'main' }).reports[0].fields[0].usages).toEqual([
      { page: 0x0b, min: 0x20, max: 0x20 },
      { page: 0x0b, min: 0x2f, max: 0x2f },
    ]);
    expect(parseReportDescriptor(bytes2, { usagePageRule: 'local' }).reports[0].fields[0].usages).toEqual([
      { page: 0x09, min: 0x20, max: 0x20 },
      { page: 0x0b, min: 0x2f, max: 0x2f },
    ]);
  });
});

describe('parseReportDescriptor: a headset with report IDs, Push/Pop and extended usages', () => {
  const d = parseReportDescriptor(loadDescriptor('headset'));

  it('lays out each report ID separately', () => {
    expect(d.usesReportIds).toBe(true);
    expect(d.reports.map((r) => `${r.kind} ${r.id} ${r.bitLength}/${r.wireLength}`)).toEqual(['input 1 8/2', 'output 2 8/2', 'feature 5 16/3', 'input 3 8/2']);
  });

  it('applies an extended usage on its own page, and Pop restores page, report ID and count', () => {
    expect(report(d, 'input', 1).fields.map(summary)).toEqual([
      { bitOffset: 0, size: 1, count: 2, constant: false, variable: true, relative: false, usages: ['b:20', 'b:97'], logical: [0, 1] },
      { bitOffset: 2, size: 1, count: 3, constant: false, variable: true, relative: true, usages: ['b:2f', 'b:21', 'b:24'], logical: [0, 1] },
      { bitOffset: 5, size: 1, count: 1, constant: false, variable: true, relative: true, usages: ['b:2b'], logical: [0, 1] },
      { bitOffset: 6, size: 1, count: 2, constant: true, variable: false, relative: false, usages: [], logical: [0, 1] },
    ]);
    expect(report(d, 'output', 2).fields.map(summary)).toEqual([
      { bitOffset: 0, size: 1, count: 4, constant: false, variable: true, relative: false, usages: ['8:17', '8:9', '8:18', '8:20'], logical: [0, 1] },
      { bitOffset: 4, size: 1, count: 1, constant: false, variable: true, relative: false, usages: ['b:9e'], logical: [0, 1] },
      { bitOffset: 5, size: 1, count: 3, constant: true, variable: false, relative: false, usages: [], logical: [0, 1] },
    ]);
  });

  it('reads a one-byte logical maximum 0xFF as 255 when the minimum is 0, and signed ranges as signed', () => {
    expect(report(d, 'feature', 5).fields[0].logicalMaximum).toBe(255);
    const volume = report(d, 'input', 3).fields[0];
    expect([volume.logicalMinimum, volume.logicalMaximum]).toEqual([-1, 1]);
    expect(readElement(hex('03'), volume, 0)).toBe(-1);
    expect(readElement(hex('01'), volume, 0)).toBe(1);
  });

  it('records two top-level application collections on different pages', () => {
    expect(d.collections.filter((c) => c.parent === null).map((c) => [c.type, c.usage])).toEqual([
      ['application', { page: 0x0b, id: 0x05 }],
      ['application', { page: 0x0c, id: 0x01 }],
    ]);
  });
});

describe('parseReportDescriptor: a keypad without report IDs', () => {
  it('lays out unnumbered reports with no ID byte on the wire', () => {
    const d = parseReportDescriptor(loadDescriptor('keypad'));
    expect(d.usesReportIds).toBe(false);
    expect(d.reports.map((r) => `${r.kind} ${r.id} ${r.byteLength}/${r.wireLength}`)).toEqual(['input 0 3/3', 'output 0 1/1']);
    const keys = report(d, 'input', 0).fields[2];
    expect(summary(keys)).toEqual({ bitOffset: 8, size: 8, count: 2, constant: false, variable: false, relative: false, usages: ['b:b0-bb'], logical: [1, 12] });
    expect(readElement(hex('00 06 0c'), keys, 1)).toBe(12);
  });
});

describe('parseReportDescriptor: items', () => {
  it('skips long items, whatever they hold', () => {
    const d = parseReportDescriptor(hex('FE 03 10 AA BB CC 05 0B 09 20 FE 00 11 75 01 95 01 81 02'));
    expect(d.reports[0].fields[0].usages).toEqual([{ page: 0x0b, min: 0x20, max: 0x20 }]);
  });

  it('reads extended Usage Minimum/Maximum with their own page, and pairs them in either order', () => {
    const d = parseReportDescriptor(hex('05 01 1B B0 00 0B 00 2B BB 00 0B 00 75 04 95 01 81 00 05 0B 29 05 19 01 75 01 95 01 81 02'));
    expect(d.reports[0].fields.map((f) => f.usages)).toEqual([[{ page: 0x0b, min: 0xb0, max: 0xbb }], [{ page: 0x0b, min: 1, max: 5 }]]);
  });

  it('adds no usages for a range that runs backwards or spans pages', () => {
    const d = parseReportDescriptor(hex('05 0B 19 20 29 10 75 01 95 01 81 02 1B 01 00 0B 00 2B 02 00 09 00 81 02'));
    expect(d.reports[0].fields.map((f) => f.usages)).toEqual([[], []]);
  });

  it('gives the last usage to the remaining elements of a Variable field', () => {
    const d = parseReportDescriptor(hex('05 0B 09 20 09 2F 75 01 95 04 81 02'));
    const f = d.reports[0].fields[0];
    expect([0, 1, 2, 3].map((i) => variableUsage(f, i)?.id)).toEqual([0x20, 0x2f, 0x2f, 0x2f]);
  });

  it('keeps only the first usage of a delimited set', () => {
    const d = parseReportDescriptor(hex('05 0B A9 01 09 20 09 21 A9 00 09 2F 75 01 95 02 81 02'));
    expect(d.reports[0].fields[0].usages.map((u) => u.min)).toEqual([0x20, 0x2f]);
  });

  it('clears local items after every Main item, including Collection', () => {
    const d = parseReportDescriptor(hex('05 0B 09 05 A1 01 75 01 95 01 81 02 09 20 81 02 C0'));
    expect(d.reports[0].fields.map((f) => f.usages.length)).toEqual([0, 1]);
  });

  it('reads Unit Exponent as a 4-bit two\'s complement nibble and Unit as given', () => {
    const d = parseReportDescriptor(hex('55 0E 65 11 75 08 95 01 81 02 55 02 81 02'));
    expect(d.reports[0].fields.map((f) => [f.unitExponent, f.unit])).toEqual([
      [-2, 0x11],
      [2, 0x11],
    ]);
  });

  it('accepts an empty descriptor and one of exactly the size limit', () => {
    expect(parseReportDescriptor(new Uint8Array(0)).reports).toEqual([]);
    // 0x00 is a reserved Main tag with no data: skipped.
    expect(parseReportDescriptor(new Uint8Array(HID_DESCRIPTOR_LIMITS.maxDescriptorBytes)).reports).toEqual([]);
  });

  it('ignores zero-sized fields and does not count them as unnumbered data', () => {
    const d = parseReportDescriptor(hex('81 02 85 01 75 08 95 01 81 02'));
    expect(d.reports.map((r) => [r.kind, r.id, r.byteLength])).toEqual([['input', 1, 1]]);
  });
});

describe('parseReportDescriptor: refusals', () => {
  const cases: [string, number[], string][] = [
    ['a short item cut short', [0x05], 'truncated'],
    ['a 2-byte item cut short', [0x06, 0x0b], 'truncated'],
    ['a 4-byte item cut short', [0x27, 1, 2, 3], 'truncated'],
    ['a long item header cut short', [0xfe, 0x05], 'truncated'],
    ['long item data cut short', [0xfe, 0x05, 0x00, 1, 2], 'truncated'],
    ['a reserved item type', [0x0c], 'reserved-item'],
    ['End Collection without Collection', [0xc0], 'unbalanced-collection'],
    ['an unclosed collection', [0x09, 0x05, 0xa1, 0x01, 0xa1, 0x02, 0xc0], 'unbalanced-collection'],
    ['Pop without Push', [0xb4], 'stack-underflow'],
    ['Pop past the pushes', [0xa4, 0xb4, 0xb4], 'stack-underflow'],
    ['report ID 0', [0x85, 0x00], 'bad-value'],
    ['report ID 256', [0x86, 0x00, 0x01], 'bad-value'],
    ['a usage page wider than 16 bits', [0x07, 0, 0, 1, 0], 'bad-value'],
    ['report size 257', [0x76, 0x01, 0x01], 'limit'],
    ['report count 4097', [0x96, 0x01, 0x10], 'limit'],
    ['a report longer than 4096 bytes', [0x76, 0x00, 0x01, 0x95, 0x81, 0x81, 0x02], 'limit'],
    ['reports longer than 16 KiB together', [0x76, 0x00, 0x01, 0x95, 0x80, ...[1, 2, 3, 4, 5].flatMap((id) => [0x85, id, 0x81, 0x02])], 'limit'],
    ['collections 33 deep', Array.from({ length: 33 }, () => [0xa1, 0x00]).flat(), 'limit'],
    ['17 pushes', Array.from({ length: 17 }, () => 0xa4), 'limit'],
    ['1025 usages on one item', Array.from({ length: 1025 }, () => [0x09, 0x01]).flat(), 'limit'],
    ['data before the first report ID', [0x75, 0x01, 0x95, 0x01, 0x81, 0x02, 0x85, 0x01], 'mixed-report-ids'],
    ['data without an ID after Pop undid the report ID', [0xa4, 0x85, 0x01, 0xb4, 0x75, 0x01, 0x95, 0x01, 0x81, 0x02], 'mixed-report-ids'],
    ['nested delimiters', [0xa9, 0x01, 0xa9, 0x01], 'unbalanced-delimiter'],
    ['a delimiter closed without being opened', [0xa9, 0x00], 'unbalanced-delimiter'],
    ['a delimiter left open', [0xa9, 0x01, 0x09, 0x20], 'unbalanced-delimiter'],
    ['a main item inside a delimiter set', [0xa9, 0x01, 0x09, 0x20, 0x81, 0x02], 'unbalanced-delimiter'],
  ];
  it.each(cases)('refuses %s with a typed error', (_name, bytes, reason) => {
    const error = parseError(bytes);
    expect(error).toBeInstanceOf(DriverError);
    expect(error.code).toBe('DRIVER_INVALID_ARGUMENT');
    expect(error.reason).toBe(reason);
  });

  it('refuses a descriptor over 4096 bytes before reading it, pointing at the offending byte otherwise', () => {
    expect(parseError(new Uint8Array(4097))).toMatchObject({ reason: 'too-large', offset: 0 });
    expect(parseError([0x05, 0x0b, 0x09, 0x05, 0xc0])).toMatchObject({ reason: 'unbalanced-collection', offset: 4 });
    expect(parseError([0x05, 0x0b, 0x09, 0x05, 0xc0]).message).toMatch(/End Collection without Collection \(byte 4\)/);
  });
});

describe('readBits / writeBits', () => {
  it('numbers bits little-endian across bytes and round-trips values up to 32 bits', () => {
    const data = new Uint8Array(6);
    writeBits(data, 6, 4, 0b1101);
    expect([...data.subarray(0, 2)]).toEqual([0b0100_0000, 0b0000_0011]);
    expect(readBits(data, 6, 4)).toBe(0b1101);
    writeBits(data, 10, 32, 0xdeadbeef);
    expect(readBits(data, 10, 32)).toBe(0xdeadbeef);
    expect(readBits(data, 6, 4)).toBe(0b1101);
    writeBits(data, 10, 32, 0);
    expect(readBits(data, 6, 4)).toBe(0b1101);
    writeBits(data, 40, 3, -1);
    expect(readBits(data, 40, 3)).toBe(7);
  });
});
