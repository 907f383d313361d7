// SerialMcu on one end of a socat pty pair (through serialport, the real UART code path) and the
// simulated MCU firmware on the other end (also through serialport).

import { afterAll, describe, expect, it } from '@jest/globals';
import { McuFirmwareUpdater } from '../../drivers/mcu/firmware.js';
import { toHex } from '../../drivers/mcu/frame.js';
import { SerialMcu } from '../../drivers/mcu/serial.js';
import { SimMcuFirmware } from '../../drivers/mcu/sim-firmware.js';
import { patternBits, seededRandom, waitFor } from '../support/mcu.js';
import { startSocatPtyPair } from '../support/peers/socat.js';
import { pidExists, stopAllPeers } from '../support/process.js';
import { openPort, closePort } from '../support/serial.js';

afterAll(stopAllPeers);



async function rig(): Promise<{ mcu: SerialMcu; fw: SimMcuFirmware; stop(): Promise<void>; socatPid: number }> {
  const pair = await startSocatPtyPair();
  const mcuSide = await openPort(pair.b);
  const fw = new SimMcuFirmware(mcuSide, { timeScale: 0.1 });
  await fw.start();
  const mcu = new SerialMcu({ path: pair.a, baudRate: 115200, displayWidth: 240, displayHeight: 128, heartbeatMs: 250 });
  return {
    mcu,
    fw,
    socatPid: pair.pid,
    stop: async () => {
      await mcu.close();
      await fw.stop();
      await closePort(mcuSide);
      await pair.stop();
    },
  };
}

describe('SerialMcu over a socat pty pair', () => {
  it('opens, gets hook and key events, blits a whole screen intact, seizes the line and dials', async () => {
    const { mcu, fw, stop, socatPid } = await rig();
    try {
      fw.offHook = true;
      const info = await mcu.open();
      expect(info).toMatchObject({ firmware: 'deskline-mcu-sim 1.0.0', protocol: 1 });
      expect(mcu.keypad.offHook).toBe(true);

      const seen: string[] = [];
      mcu.keypad.on('hookChanged', ({ offHook }) => seen.push(`hook ${offHook}`));
      mcu.keypad.on('keyPressed', ({ key, long }) => seen.push(`key ${key}${long ? ' long' : ''}`));
      await fw.setHook(false);
      await fw.pressKey('3');
      await fw.pressKey('menu', { long: true });
      await fw.setHook(true);
      expect(seen).toEqual(['hook false', 'key 3', 'key menu long', 'hook true']);

      const bits = patternBits(240, 128, 21);
      await mcu.display.blit({ x: 0, y: 0, width: 240, height: 128, bits });
      expect(toHex(fw.pixels)).toBe(toHex(bits));
      expect(fw.blitCount).toBe(8);

      await mcu.line.seize();
      await mcu.line.dialDtmf('0213456789*#', { toneMs: 80, gapMs: 80 });
      expect(fw.seized).toBe(true);
      expect(fw.dialed).toEqual([{ digits: '0213456789*#', toneMs: 80, gapMs: 80, status: 'complete', played: 12 }]);
      const dtmf: string[] = [];
      mcu.line.on('dtmfDetected', ({ digit }) => dtmf.push(digit));
      await fw.detectDtmf('5');
      expect(dtmf).toEqual(['5']);
      await mcu.line.release();
      expect(fw.lineActions).toEqual(['seize', 'release']);

      // a few heartbeats go by without trouble
      await new Promise((r) => setTimeout(r, 700));
      expect(mcu.linkUp).toBe(true);
      expect(mcu.stats.parser.crcErrors).toBe(0);
      expect(mcu.stats.waitress.timeouts).toBe(0);
    } finally {
      await stop();
    }
    expect(pidExists(socatPid)).toBe(false);
  }, 30_000);

  it('updates the MCU firmware over the pty', async () => {
    const { mcu, fw, stop } = await rig();
    try {
      await mcu.open();
      const rnd = seededRandom(8);
      const img = Uint8Array.from({ length: 24 * 1024 }, () => Math.floor(rnd() * 256));
      img.set([0x44, 0x4c, 0x46, 0x57, 9, ...new TextEncoder().encode('pty 9.9.9')], 0);
      const result = await new McuFirmwareUpdater(mcu).update(img);
      expect(result.info.firmware).toBe('pty 9.9.9');
      expect(toHex(fw.image!)).toBe(toHex(img));
      await waitFor(() => mcu.linkUp, 'the link after the update');
      await mcu.indicators.setLed('hold', 'on');
      expect(fw.leds.hold).toBe('on');
    } finally {
      await stop();
    }
  }, 30_000);
});
