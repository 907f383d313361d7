import { afterEach, describe, expect, it } from '@jest/globals';
import { McuFirmwareError, McuFirmwareUpdater, type FirmwareUpdateProgress } from '../../../drivers/mcu/firmware.js';
import { crc32, decodeFrame, toHex } from '../../../drivers/mcu/frame.js';
import { McuLink, streamTransport } from '../../../drivers/mcu/link.js';
import { MSG } from '../../../drivers/mcu/protocol.js';
import { SimMcuFirmware } from '../../../drivers/mcu/sim-firmware.js';
import { mcuRig, memoryStreamPair, patternBits, seededRandom, waitFor, type McuRig } from '../../support/mcu.js';

let rig: McuRig | null = null;
afterEach(async () => {
  await rig?.stop();
  rig = null;
});

/** A firmware image in the sim's convention: "DLFW", name length, name, then random bytes. */
function image(name: string, size: number, seed = 1): Uint8Array {
  const rnd = seededRandom(seed);
  const out = Uint8Array.from({ length: size }, () => Math.floor(rnd() * 256));
  out.set([0x44, 0x4c, 0x46, 0x57, name.length], 0);
  out.set(new TextEncoder().encode(name), 5);
  return out;
}

describe('McuFirmwareUpdater through SerialMcu', () => {
  it('updates the firmware: bootloader, blocks, verify, reboot; the phone works afterwards', async () => {
    rig = await mcuRig();
    const { mcu, fw, links } = rig;
    await mcu.open();
    const bits = patternBits(240, 128, 3);
    await mcu.display.blit({ x: 0, y: 0, width: 240, height: 128, bits });
    await mcu.indicators.setLed('message', 'on');
    const modes: string[] = [];
    fw.on('rebooted', ({ mode, reason }) => modes.push(`${mode}/${reason}`));
    const img = image('dp-mcu 2.0.0', 10_000);
    const phases: FirmwareUpdateProgress[] = [];

    const result = await new McuFirmwareUpdater(mcu, { pollMs: 10 }).update(img, { onProgress: (p) => phases.push(p) });

    expect(result).toMatchObject({ previous: 'deskline-mcu-sim 1.0.0', imageCrc32: crc32(img), blocks: Math.ceil(10_000 / 256) });
    expect(result.info).toMatchObject({ firmware: 'dp-mcu 2.0.0', mode: 'application' });
    expect(toHex(fw.image!)).toBe(toHex(img));
    expect(modes).toEqual(['bootloader/commanded', 'application/firmware-update']);
    expect([...new Set(phases.map((p) => p.phase))]).toEqual(['bootloader', 'begin', 'transfer', 'verify', 'reboot', 'done']);
    const transfer = phases.filter((p) => p.phase === 'transfer').map((p) => p.sentBytes);
    expect(transfer[transfer.length - 1]).toBe(10_000);
    expect(transfer).toEqual([...transfer].sort((a, b) => a - b));
    // the link was reported down for the update and up afterwards, with the state restored
    expect(links).toEqual([true, false, true]);
    expect(mcu.linkUp).toBe(true);
    expect(mcu.info?.firmware).toBe('dp-mcu 2.0.0');
    expect(toHex(fw.pixels)).toBe(toHex(bits));
    expect(fw.leds.message).toBe('on');
    const keys: string[] = [];
    mcu.keypad.on('keyPressed', ({ key }) => keys.push(key));
    await fw.pressKey('1');
    expect(keys).toEqual(['1']);
  });

  it('resends a block whose flash read-back fails, and succeeds', async () => {
    rig = await mcuRig();
    await rig.mcu.open();
    rig.fw.faults.corruptBlockWrites = 2;
    const naks: number[] = [];
    rig.wire.on('data', () => undefined);
    const img = image('dp-mcu 2.0.1', 3000, 2);
    const blocksSent: number[] = [];
    rig.host.dropIf = (chunk) => {
      const f = decodeFrame(chunk);
      if (f.type === MSG.FW_BLOCK) blocksSent.push(f.payload[0] | (f.payload[1] << 8));
      return false;
    };
    rig.wire.dropIf = (chunk) => {
      const f = decodeFrame(chunk);
      if (f.type === MSG.NAK) naks.push(f.payload[1]);
      return false;
    };
    const result = await new McuFirmwareUpdater(rig.mcu, { pollMs: 10 }).update(img);
    expect(result.info.firmware).toBe('dp-mcu 2.0.1');
    expect(toHex(rig.fw.image!)).toBe(toHex(img));
    expect(naks).toEqual([0x08, 0x08]); // BLOCK_CRC twice
    expect(blocksSent.slice(0, 3)).toEqual([0, 0, 0]); // block 0 sent three times
    expect(blocksSent.length).toBe(Math.ceil(3000 / 256) + 2);
  });

  it('gives up on a block that never programs correctly', async () => {
    rig = await mcuRig();
    await rig.mcu.open();
    rig.fw.faults.corruptBlockWrites = 100;
    const error = await new McuFirmwareUpdater(rig.mcu, { pollMs: 10, blockRetries: 2 }).update(image('x', 1000)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(McuFirmwareError);
    expect(error).toMatchObject({ code: 'DRIVER_IO', phase: 'transfer', mcuCode: 'BLOCK_CRC' });
    expect(rig.fw.mode).toBe('bootloader');
  });

  it('fails on a whole-image CRC mismatch; the MCU stays in its bootloader and a second run succeeds', async () => {
    rig = await mcuRig({ mcu: { heartbeatMs: 30 } });
    const { mcu, fw, links } = rig;
    await mcu.open();
    fw.faults.corruptImageSilently = true;
    const img = image('dp-mcu 3.0.0', 5000, 3);
    const error = await new McuFirmwareUpdater(mcu, { pollMs: 10 }).update(img).catch((e: unknown) => e);
    expect(error).toMatchObject({ phase: 'verify', mcuCode: 'IMAGE_CRC' });
    expect(String((error as Error).message)).toMatch(/MCU computed 0x[0-9a-f]{8}.*stays in its bootloader/);
    expect(fw.mode).toBe('bootloader');
    expect(fw.image).toBeNull();
    // no usable application: the link stays down (the heartbeat keeps trying)
    expect(links).toEqual([true, false]);
    expect(mcu.linkUp).toBe(false);
    await expect(mcu.indicators.setLed('line', 'on')).rejects.toMatchObject({ code: 'DRIVER_IO' });

    const result = await new McuFirmwareUpdater(mcu, { pollMs: 10 }).update(img);
    expect(result.previous).toBe('deskline-boot-sim 1.0');
    expect(result.info.firmware).toBe('dp-mcu 3.0.0');
    await waitFor(() => mcu.linkUp, 'the link to come up');
    expect(links).toEqual([true, false, true]);
    await mcu.indicators.setLed('line', 'on');
    expect(fw.leds.line).toBe('on');
  });

  it('refuses to run twice at once and refuses an empty image', async () => {
    rig = await mcuRig();
    await rig.mcu.open();
    const updater = new McuFirmwareUpdater(rig.mcu, { pollMs: 10 });
    await expect(updater.update(new Uint8Array(0))).rejects.toMatchObject({ code: 'DRIVER_INVALID_ARGUMENT' });
    const first = updater.update(image('dp-mcu 4', 600));
    await expect(updater.update(image('dp-mcu 5', 600))).rejects.toMatchObject({ code: 'DRIVER_IO', message: expect.stringMatching(/exclusive use/) });
    await expect(first).resolves.toMatchObject({ info: { firmware: 'dp-mcu 4' } });
  });

  it('refuses an image too large for the MCU flash', async () => {
    rig = await mcuRig({ fw: { flashSize: 4096 } });
    await rig.mcu.open();
    const error = await new McuFirmwareUpdater(rig.mcu, { pollMs: 10 }).update(image('big', 5000)).catch((e: unknown) => e);
    expect(error).toMatchObject({ phase: 'begin', mcuCode: 'TOO_LARGE' });
  });
});

describe('McuFirmwareUpdater on a bare link', () => {
  it('recovers an MCU stuck in its bootloader (SerialMcu cannot open it)', async () => {
    const { host, mcu: wire } = memoryStreamPair();
    const fw = new SimMcuFirmware(wire, { mode: 'bootloader', timeScale: 0.05 });
    await fw.start();
    const link = new McuLink({ transport: streamTransport(host), role: 'host' });
    await link.open();
    try {
      const img = image('dp-mcu 1.1.0', 2048, 4);
      const result = await new McuFirmwareUpdater(link, { pollMs: 10 }).update(img);
      expect(result.info).toMatchObject({ firmware: 'dp-mcu 1.1.0', mode: 'application' });
      expect(fw.mode).toBe('application');
      expect(toHex(fw.image!)).toBe(toHex(img));
    } finally {
      await link.close();
      await fw.stop();
    }
  });

  it('the bootloader refuses phone requests and FW_REBOOT without a verified image', async () => {
    const { host, mcu: wire } = memoryStreamPair();
    const fw = new SimMcuFirmware(wire, { mode: 'bootloader' });
    await fw.start();
    const link = new McuLink({ transport: streamTransport(host), role: 'host' });
    await link.open();
    try {
      await expect(link.request(MSG.LED, Uint8Array.of(0, 1, 0, 0, 0, 0))).rejects.toMatchObject({ mcuCode: 'WRONG_MODE' });
      await expect(link.request(MSG.FW_REBOOT)).rejects.toMatchObject({ mcuCode: 'BAD_STATE' });
      await expect(link.request(MSG.FW_BLOCK, Uint8Array.of(0, 0, 0, 0, 0, 0, 1))).rejects.toMatchObject({ mcuCode: 'BAD_STATE' });
      await expect(link.request(MSG.FW_ENTER_BOOTLOADER, Uint8Array.of(1, 2, 3, 4))).rejects.toMatchObject({ mcuCode: 'BAD_ARGUMENT' });
    } finally {
      await link.close();
      await fw.stop();
    }
  });
});
