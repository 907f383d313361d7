import { describe, expect, it } from '@jest/globals';
import { HidDescriptorError, parseReportDescriptor } from '../../../drivers/hid/descriptor.js';
import { scannerLayout } from '../../../drivers/scanner/hidraw.js';
import { keyAction, KeyboardDecoder } from '../../../drivers/scanner/keyboard.js';
import { ScanAssembler } from '../../../drivers/scanner/scan.js';
import { MAX_SCAN_LENGTH } from '../../../drivers/scanner/types.js';
import { seededRandom } from '../../support/random.js';
import { BOOT_KEYBOARD, DATALOGIC_GD4400, KEYBOARD_REPORT_ID_1 } from './fixtures.js';

const CORPUS = [BOOT_KEYBOARD, DATALOGIC_GD4400, KEYBOARD_REPORT_ID_1];
const KEYBOARD_ENTRY = [{ path: '/dev/hidraw0', vendorId: 1, productId: 2, usagePage: 0x01, usage: 0x06 }];

/** A fixture with a few bytes flipped, cut or inserted. */
function mutate(rnd: () => number): Uint8Array {
  const bytes = [...CORPUS[Math.floor(rnd() * CORPUS.length)]];
  const edits = 1 + Math.floor(rnd() * 4);
  for (let i = 0; i < edits; i++) {
    const at = Math.floor(rnd() * bytes.length);
    const op = rnd();
    if (op < 0.6) bytes[at] = Math.floor(rnd() * 256);
    else if (op < 0.8) bytes.splice(at, 1);
    else bytes.splice(at, 0, Math.floor(rnd() * 256));
  }
  return Uint8Array.from(bytes);
}

describe('keyboard decoding under fuzzed descriptors and reports', () => {
  it('never throws anything but HidDescriptorError, and never keeps more than MAX_SCAN_LENGTH characters', () => {
    const rnd = seededRandom(0x5ca77e12);
    let decoded = 0;
    for (let round = 0; round < 1500; round++) {
      const bytes = mutate(rnd);
      let layout;
      try {
        layout = scannerLayout(parseReportDescriptor(bytes), KEYBOARD_ENTRY);
      } catch (error) {
        expect(error).toBeInstanceOf(HidDescriptorError);
        continue;
      }
      if (!layout) continue;
      const decoder = new KeyboardDecoder(layout);
      const assembler = new ScanAssembler();
      for (let r = 0; r < 40; r++) {
        const report = Uint8Array.from({ length: Math.floor(rnd() * 12) }, () => (rnd() < 0.5 ? Math.floor(rnd() * 0x30) : Math.floor(rnd() * 256)));
        if (layout.usesReportIds && report.length > 0 && rnd() < 0.7) report[0] = layout.reports[0].id;
        for (const press of decoder.decode(report)) {
          decoded++;
          const outcome = assembler.push(keyAction(press));
          if (outcome?.type === 'scanned') expect(outcome.code.length).toBeLessThanOrEqual(MAX_SCAN_LENGTH);
        }
      }
    }
    expect(decoded).toBeGreaterThan(1000);
  });
});
