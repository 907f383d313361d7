import { describe, expect, it } from '@jest/globals';
import { HidDescriptorError, parseReportDescriptor, type HidReportDescriptor, type UsagePageRule } from '../../../drivers/hid/descriptor.js';
import { buildTelephonyModel, encodeLedReports, TelephonyDecoder } from '../../../drivers/hid/telephony.js';
import { seededRandom as prng } from '../../support/random.js';
import { loadDescriptor } from './fixtures.js';


const SEEDS = loadDescriptor('speakerphone');
const CORPUS = [SEEDS, loadDescriptor('headset'), loadDescriptor('keypad')];

/** Prefixes of real items, so structured cases reach deep into the parser. */
const ITEM_PREFIXES = [
  0x05, 0x06, 0x09, 0x0b, 0x15, 0x16, 0x25, 0x26, 0x27, 0x19, 0x29, 0x1b, 0x2b, 0x75, 0x76, 0x95, 0x96, 0x85, 0x81, 0x91, 0xb1, 0xa1, 0xc0, 0xa4, 0xb4, 0xa9,
  0x55, 0x65, 0x35, 0x45, 0xfe, 0x0c, 0x00,
];

function randomBytes(rnd: () => number, n: number): Uint8Array {
  return Uint8Array.from({ length: n }, () => Math.floor(rnd() * 256));
}

/** A random item stream: mostly well-formed items with random (often small) data. */
function randomItems(rnd: () => number): Uint8Array {
  const out: number[] = [];
  const items = Math.floor(rnd() * 60);
  for (let i = 0; i < items; i++) {
    const prefix = ITEM_PREFIXES[Math.floor(rnd() * ITEM_PREFIXES.length)];
    if (prefix === 0xfe) {
      const n = Math.floor(rnd() * 4);
      out.push(0xfe, n, Math.floor(rnd() * 256), ...randomBytes(rnd, n));
      continue;
    }
    out.push(prefix);
    const size = [0, 1, 2, 4][prefix & 3];
    for (let b = 0; b < size; b++) out.push(rnd() < 0.7 ? Math.floor(rnd() * 16) : Math.floor(rnd() * 256));
  }
  return Uint8Array.from(out);
}

/** A fixture with a few bytes flipped, cut, duplicated or inserted. */
function mutate(rnd: () => number): Uint8Array {
  const bytes = [...CORPUS[Math.floor(rnd() * CORPUS.length)]];
  const edits = 1 + Math.floor(rnd() * 4);
  for (let e = 0; e < edits; e++) {
    const at = Math.floor(rnd() * (bytes.length + 1));
    switch (Math.floor(rnd() * 5)) {
      case 0:
        if (at < bytes.length) bytes[at] = Math.floor(rnd() * 256);
        break;
      case 1:
        bytes.length = at;
        break;
      case 2:
        bytes.splice(at, 0, ...randomBytes(rnd, 1 + Math.floor(rnd() * 4)));
        break;
      case 3:
        bytes.splice(at, 1 + Math.floor(rnd() * 3));
        break;
      default:
        bytes.splice(at, 0, ...bytes.slice(Math.max(0, at - 8), at));
        break;
    }
  }
  return Uint8Array.from(bytes.slice(0, 5000));
}

/** Exercise everything built on a parsed descriptor with random reports and LED states. */
function exercise(rnd: () => number, descriptor: HidReportDescriptor): void {
  const model = buildTelephonyModel(descriptor);
  const decoder = new TelephonyDecoder(model);
  const inputs = descriptor.reports.filter((r) => r.kind === 'input');
  for (let i = 0; i < 8; i++) {
    const report = inputs[Math.floor(rnd() * inputs.length)];
    const length = report ? Math.max(0, report.wireLength + Math.floor(rnd() * 4) - 2) : Math.floor(rnd() * 8);
    const bytes = randomBytes(rnd, length);
    if (report && descriptor.usesReportIds && length > 0) bytes[0] = report.id;
    for (const event of decoder.decode(bytes)) {
      if (!['hookChanged', 'keyPressed', 'buttonPressed'].includes(event.type)) throw new Error(`odd event ${JSON.stringify(event)}`);
    }
  }
  const written = encodeLedReports(model, { offHook: rnd() < 0.5, ring: rnd() < 0.5, mute: rnd() < 0.5, hold: rnd() < 0.5, microphone: rnd() < 0.5, ringer: rnd() < 0.5 });
  for (const bytes of written) {
    const layout = descriptor.reports.find((r) => r.kind === 'output' && r.id === bytes[0]);
    if (!layout || bytes.length !== layout.byteLength + 1) throw new Error('LED report of the wrong length');
  }
}

describe('parseReportDescriptor under fuzzing (seeded)', () => {
  it('throws nothing but HidDescriptorError on 4500 random, mutated and item-structured descriptors; what parses decodes and encodes', () => {
    const rnd = prng(0x0b0b_2026);
    const unexpected: string[] = [];
    const outcomes = { parsed: 0, refused: 0, telephony: 0 };
    const reasons = new Set<string>();
    const generators: ((r: () => number) => Uint8Array)[] = [(r) => randomBytes(r, Math.floor(r() * 300)), mutate, randomItems];
    for (let i = 0; i < 4500; i++) {
      const bytes = generators[i % 3](rnd);
      const usagePageRule: UsagePageRule = rnd() < 0.5 ? 'main' : 'local';
      try {
        const descriptor = parseReportDescriptor(bytes, { usagePageRule });
        outcomes.parsed++;
        if (buildTelephonyModel(descriptor).isTelephony) outcomes.telephony++;
        exercise(rnd, descriptor);
      } catch (error) {
        if (error instanceof HidDescriptorError) {
          outcomes.refused++;
          reasons.add(error.reason);
        } else if (unexpected.length < 5) {
          unexpected.push(`case ${i} [${Buffer.from(bytes).toString('hex')}]: ${String(error)}`);
        }
      }
    }
    expect(unexpected).toEqual([]);
    // the fuzz reaches both sides: real parses (some of them telephony devices) and refusals of many kinds
    expect(outcomes.parsed).toBeGreaterThan(400);
    expect(outcomes.telephony).toBeGreaterThan(100);
    expect(outcomes.refused).toBeGreaterThan(500);
    expect(reasons.size).toBeGreaterThanOrEqual(6);
  });

  it('refuses every strict prefix of the reference once its collection is open (cut item or unclosed collection)', () => {
    // bytes 0-5: Usage Page, Usage, Collection (Application); everything after is inside it
    expect(parseReportDescriptor(SEEDS.subarray(0, 4)).reports).toEqual([]);
    const kinds = new Set<string>();
    for (let n = 5; n < SEEDS.length; n++) {
      try {
        parseReportDescriptor(SEEDS.subarray(0, n));
        throw new Error(`prefix of ${n} bytes parsed`);
      } catch (error) {
        if (!(error instanceof HidDescriptorError)) throw error;
        kinds.add(error.reason);
      }
    }
    expect([...kinds].sort()).toEqual(['truncated', 'unbalanced-collection']);
  });
});
