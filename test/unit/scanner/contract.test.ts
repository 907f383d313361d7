/**
 * The BarcodeScannerDriver contract, run against every implementation (the same `it`s for each, in
 * the manner of MQTT.js's abstract store tests): the sim, and the hidraw driver fed real report
 * bytes through its backend seam.
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { HidrawBarcodeScanner } from '../../../drivers/scanner/hidraw.js';
import { SimBarcodeScanner } from '../../../drivers/scanner/sim.js';
import { MAX_SCAN_LENGTH, type BarcodeScannerDriver, type ScannerInfo } from '../../../drivers/scanner/types.js';
import { FakeClock } from '../../support/fake-clock.js';
import { BOOT_KEYBOARD, FakeBackend, typeReports } from './fixtures.js';

/** What the contract needs from an implementation. */
interface ScannerRig {
  driver: BarcodeScannerDriver;
  /** Plug a scanner in; resolves with its id once it is attached. */
  plug(): Promise<string>;
  /** Unplug it; resolves once it is detached. */
  unplug(id: string): Promise<void>;
  /** The scanner reads a code and types it, then Enter. */
  scan(id: string, code: string): void;
}

const INFO = { vendorId: 0x05f9, productId: 0x4204, product: 'Datalogic Gryphon GD4400' };

function simRig(): ScannerRig {
  const sim = new SimBarcodeScanner();
  let n = 0;
  return {
    driver: sim,
    async plug() {
      const info: ScannerInfo = { id: `sim-${++n}`, ...INFO };
      sim.attach(info);
      return info.id;
    },
    async unplug(id) {
      sim.detach(id);
    },
    scan(id, code) {
      sim.scan(id, code);
    },
  };
}

function hidrawRig(): ScannerRig {
  const backend = new FakeBackend();
  const driver = new HidrawBarcodeScanner({ match: [{ vendorId: INFO.vendorId }], backend, timer: new FakeClock() });
  let n = 1;
  return {
    driver,
    async plug() {
      const path = `/dev/hidraw${++n}`;
      backend.plug({ path, usagePage: 0x01, usage: 0x06, ...INFO }, BOOT_KEYBOARD);
      await driver.rescan();
      return path;
    },
    async unplug(id) {
      backend.unplug(id);
      await driver.rescan();
    },
    scan(id, code) {
      backend.lastHandle(id).reports(typeReports(`${code}\r`));
    },
  };
}

function barcodeScannerContract(name: string, makeRig: () => ScannerRig): void {
  describe(`BarcodeScannerDriver contract: ${name}`, () => {
    let rig: ScannerRig;
    let seen: string[];

    beforeEach(async () => {
      rig = makeRig();
      seen = [];
      rig.driver.on('deviceAttached', (d) => seen.push(`attached ${d.id}`));
      rig.driver.on('deviceDetached', (d) => seen.push(`detached ${d.id}`));
      rig.driver.on('barcodeScanned', (e) => seen.push(`${e.deviceId} scanned ${e.code}`));
      rig.driver.on('scanRejected', (e) => seen.push(`${e.deviceId} rejected ${e.reason} ${e.length}`));
      rig.driver.on('deviceError', (e) => seen.push(`error ${e.path ?? '-'} ${e.error.code}`));
      await rig.driver.open();
    });

    afterEach(async () => {
      await rig.driver.close();
    });

    it('reports scanners plugged in and out, and lists the ones attached', async () => {
      const id = await rig.plug();
      expect(rig.driver.devices()).toEqual([expect.objectContaining({ id, ...INFO })]);
      await rig.unplug(id);
      expect(rig.driver.devices()).toEqual([]);
      expect(seen).toEqual([`attached ${id}`, `detached ${id}`]);
    });

    it('emits each scan once, in order, with the code as typed', async () => {
      const id = await rig.plug();
      rig.scan(id, '4006381333931');
      rig.scan(id, 'ABC-123');
      rig.scan(id, '1122');
      expect(seen.slice(1)).toEqual([`${id} scanned 4006381333931`, `${id} scanned ABC-123`, `${id} scanned 1122`]);
    });

    it('carries every printable ASCII character', async () => {
      const id = await rig.plug();
      const all = Array.from({ length: 0x7e - 0x20 + 1 }, (_, i) => String.fromCharCode(0x20 + i)).join('');
      rig.scan(id, all);
      expect(seen.slice(1)).toEqual([`${id} scanned ${all}`]);
    });

    it('accepts MAX_SCAN_LENGTH characters and rejects one more as too long, then scans again', async () => {
      const id = await rig.plug();
      rig.scan(id, 'x'.repeat(MAX_SCAN_LENGTH));
      rig.scan(id, 'y'.repeat(MAX_SCAN_LENGTH + 1));
      rig.scan(id, 'OK');
      expect(seen.slice(1)).toEqual([`${id} scanned ${'x'.repeat(MAX_SCAN_LENGTH)}`, `${id} rejected too-long ${MAX_SCAN_LENGTH + 1}`, `${id} scanned OK`]);
    });

    it('rejects a code with characters outside printable ASCII, whole', async () => {
      const id = await rig.plug();
      rig.scan(id, '0104\u001d10AB'); // GS1 group separator
      rig.scan(id, 'Grüße');
      rig.scan(id, 'x\u0001');
      expect(seen.slice(1)).toEqual([`${id} rejected unprintable 9`, `${id} rejected unprintable 5`, `${id} rejected unprintable 2`]);
    });

    it('ends a code at a Tab as at Enter', async () => {
      const id = await rig.plug();
      rig.scan(id, 'A\tB');
      expect(seen.slice(1)).toEqual([`${id} scanned A`, `${id} scanned B`]);
    });

    it('ignores a bare Enter and keys that type nothing before a code', async () => {
      const id = await rig.plug();
      rig.scan(id, '');
      rig.scan(id, '\u0002');
      rig.scan(id, '\u0002STX-prefixed');
      expect(seen.slice(1)).toEqual([`${id} scanned STX-prefixed`]);
    });

    it('keeps two scanners apart', async () => {
      const a = await rig.plug();
      const b = await rig.plug();
      rig.scan(a, 'AAA');
      rig.scan(b, 'BBB');
      expect(seen.slice(2)).toEqual([`${a} scanned AAA`, `${b} scanned BBB`]);
    });
  });
}

barcodeScannerContract('SimBarcodeScanner', simRig);
barcodeScannerContract('HidrawBarcodeScanner (fake backend, real report bytes)', hidrawRig);

describe('SimBarcodeScanner', () => {
  it('refuses a scan from a scanner that is not attached, with a typed error', () => {
    const sim = new SimBarcodeScanner();
    expect(() => sim.scan('sim-9', '123')).toThrow(expect.objectContaining({ name: 'DriverError', code: 'DRIVER_NOT_OPEN' }));
    sim.attach({ id: 'sim-1', ...INFO });
    sim.detach('sim-1');
    sim.detach('sim-1');
    expect(() => sim.scan('sim-1', '123')).toThrow(expect.objectContaining({ code: 'DRIVER_NOT_OPEN' }));
  });
});
