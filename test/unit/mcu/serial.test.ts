import { afterEach, describe, expect, it } from '@jest/globals';
import { decodeFrame, toHex } from '../../../drivers/mcu/frame.js';
import { encodeFlag, ERR, MSG, REQUEST_POLICY, type RetryPolicy } from '../../../drivers/mcu/protocol.js';
import { SerialMcu } from '../../../drivers/mcu/serial.js';
import type { LineTone, PhoneKey } from '../../../drivers/mcu/types.js';
import { mcuRig, patternBits, waitFor, type McuRig } from '../../support/mcu.js';

let rig: McuRig | null = null;
afterEach(async () => {
  await rig?.stop();
  rig = null;
});

async function openRig(o: Parameters<typeof mcuRig>[0] = {}): Promise<McuRig> {
  rig = await mcuRig(o);
  await rig.mcu.open();
  return rig;
}

/** Short timeouts so loss tests stay fast; same retry counts as the spec. */
const fastPolicy = (type: number): RetryPolicy => ({ timeoutMs: 80, retries: REQUEST_POLICY[type]?.retries ?? 3 });

/** The message type of a frame the link wrote (each write is one whole frame). */
const typeOf = (chunk: Uint8Array): number => decodeFrame(chunk).type;
const answered = (chunk: Uint8Array): number => decodeFrame(chunk).payload[0];

describe('SerialMcu against the simulated firmware: open', () => {
  it('negotiates with HELLO, reports firmware and capabilities, and the link up', async () => {
    const r = await mcuRig();
    rig = r;
    const requests: number[] = [];
    r.fw.on('command', (f) => requests.push(f.type));
    const [info, again] = await Promise.all([r.mcu.open(), r.mcu.open()]);
    expect(again).toBe(info);
    expect(requests).toEqual([MSG.HELLO, MSG.GET_STATE]);
    expect(info).toMatchObject({ firmware: 'deskline-mcu-sim 1.0.0', protocol: 1, mode: 'application', maxPayload: 512, longPressMs: 800 });
    expect(info.capabilities).toEqual(expect.arrayContaining(['keypad', 'display', 'ringer', 'leds', 'fxo', 'dtmf', 'dtmf-detect', 'tone-detect', 'audio-route']));
    expect(info.bootId).toBe(r.fw.bootId);
    expect(r.links).toEqual([true]);
    expect(r.mcu.linkUp).toBe(true);
    // open() again is harmless
    await expect(r.mcu.open()).resolves.toBe(info);
  });

  it('knows the hook state as soon as it is open, without a hookChanged', async () => {
    const r = await mcuRig();
    rig = r;
    r.fw.offHook = true; // handset already lifted when the runtime starts
    r.fw.loopCurrent = true;
    const hooks: boolean[] = [];
    r.mcu.keypad.on('hookChanged', ({ offHook }) => hooks.push(offHook));
    await r.mcu.open();
    expect(r.mcu.keypad.offHook).toBe(true);
    expect(hooks).toEqual([]);
  });

  it('resets the MCU outputs left over from an earlier session', async () => {
    const r = await mcuRig();
    rig = r;
    r.fw.leds.line = 'on';
    r.fw.ringer = { cadence: [1000, 1000], volume: 50 };
    r.fw.seized = true;
    await r.mcu.open();
    expect(r.fw.leds.line).toBe('off');
    expect(r.fw.ringer.cadence).toEqual([]);
    expect(r.fw.seized).toBe(false);
    expect(r.mcu.line.seized).toBe(false);
  });

  it('refuses firmware that speaks no common protocol version, naming both ranges', async () => {
    const r = await mcuRig({ fw: { protocol: { min: 2, max: 3 } } });
    rig = r;
    const error = await r.mcu.open().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'DRIVER_UNSUPPORTED' });
    expect(String((error as Error).message)).toMatch(/protocol version 2\.\.3, this runtime 1\.\.1/);
    expect(r.mcu.linkState).toBe('closed');
    expect(r.links).toEqual([]);
  });

  it('refuses a reply choosing a version outside the host range', async () => {
    const r = await mcuRig({ fw: { protocol: { min: 1, max: 2 } }, mcu: { protocol: { min: 2, max: 2 } } });
    rig = r;
    // the firmware picks 2, which the host accepts
    await expect(r.mcu.open()).resolves.toMatchObject({ protocol: 2 });
  });

  it('refuses an MCU sitting in its bootloader', async () => {
    const r = await mcuRig({ fw: { mode: 'bootloader' } });
    rig = r;
    await expect(r.mcu.open()).rejects.toMatchObject({ code: 'DRIVER_OPEN_FAILED', message: expect.stringMatching(/bootloader/) });
  });

  it('refuses a display of another size than the board file says', async () => {
    const r = await mcuRig({ fw: { displayWidth: 128, displayHeight: 64 }, mcu: { displayWidth: 240, displayHeight: 128 } });
    rig = r;
    await expect(r.mcu.open()).rejects.toMatchObject({ code: 'DRIVER_OPEN_FAILED', message: expect.stringMatching(/128x64 display but the board file says 240x128/) });
  });

  it('fails to open with a clear error when nothing answers', async () => {
    const r = await mcuRig({ mcu: { policyFor: fastPolicy } });
    rig = r;
    r.fw.unplug(true);
    await expect(r.mcu.open()).rejects.toMatchObject({ code: 'DRIVER_OPEN_FAILED', message: expect.stringMatching(/no answer from the MCU .*HELLO/) });
    expect(r.mcu.linkState).toBe('closed');
  });

  it('rejects commands before open and after close', async () => {
    const r = await mcuRig();
    rig = r;
    await expect(r.mcu.indicators.setLed('line', 'on')).rejects.toMatchObject({ code: 'DRIVER_NOT_OPEN' });
    await r.mcu.open();
    await r.mcu.close();
    expect(r.links).toEqual([true, false]);
    await expect(r.mcu.display.setContrast(10)).rejects.toMatchObject({ code: 'DRIVER_NOT_OPEN' });
  });

  it('needs a path, a transport or a stream', () => {
    expect(() => new SerialMcu({ displayWidth: 240, displayHeight: 128 })).toThrow(expect.objectContaining({ code: 'DRIVER_INVALID_ARGUMENT' }));
  });
});

describe('SerialMcu roles', () => {
  it('keypad: hookChanged once per change, keys on release with the long flag', async () => {
    const r = await openRig();
    const seen: string[] = [];
    r.mcu.keypad.on('hookChanged', ({ offHook }) => seen.push(`hook ${offHook}`));
    r.mcu.keypad.on('keyPressed', ({ key, long }) => seen.push(`key ${key}${long ? ' long' : ''}`));
    await r.fw.setHook(true);
    expect(r.mcu.keypad.offHook).toBe(true);
    // the MCU repeating the same state is not a change
    await r.fw.sendEvent(MSG.EVT_HOOK, encodeFlag(true));
    for (const key of ['5', '#', 'ok', 'soft3'] as PhoneKey[]) await r.fw.pressKey(key);
    await r.fw.pressKey('*', { long: true });
    await r.fw.setHook(false);
    expect(seen).toEqual(['hook true', 'key 5', 'key #', 'key ok', 'key soft3', 'key * long', 'hook false']);
  });

  it('display: a blit resolves after the MCU has the pixels; regions are validated', async () => {
    const r = await openRig();
    await r.mcu.display.blit({ x: 8, y: 2, width: 9, height: 2, bits: Uint8Array.from([0xff, 0x80, 0x00, 0x80]) });
    expect(r.fw.getPixel(8, 2)).toBe(true);
    expect(r.fw.getPixel(16, 2)).toBe(true);
    expect(r.fw.getPixel(15, 3)).toBe(false);
    expect(r.fw.getPixel(16, 3)).toBe(true);
    const before = r.fw.blitCount;
    await expect(r.mcu.display.blit({ x: 235, y: 0, width: 8, height: 1, bits: new Uint8Array(1) })).rejects.toMatchObject({ code: 'DRIVER_INVALID_ARGUMENT' });
    await expect(r.mcu.display.blit({ x: 0, y: 0, width: 16, height: 2, bits: new Uint8Array(3) })).rejects.toMatchObject({ code: 'DRIVER_INVALID_ARGUMENT' });
    await expect(r.mcu.display.blit({ x: 0, y: -1, width: 1, height: 1, bits: new Uint8Array(1) })).rejects.toMatchObject({ code: 'DRIVER_INVALID_ARGUMENT' });
    expect(r.fw.blitCount).toBe(before);
    await r.mcu.display.setContrast(60);
    await r.mcu.display.setBacklight(0);
    expect([r.fw.contrast, r.fw.backlight]).toEqual([60, 0]);
    await expect(r.mcu.display.setBacklight(101)).rejects.toMatchObject({ code: 'DRIVER_INVALID_ARGUMENT' });
  });

  it('display: a full 240x128 screen arrives intact in bands that fit the payload', async () => {
    const r = await openRig();
    const bits = patternBits(240, 128, 5);
    await r.mcu.display.blit({ x: 0, y: 0, width: 240, height: 128, bits });
    expect(r.fw.blitCount).toBe(8);
    expect(toHex(r.fw.pixels)).toBe(toHex(bits));
  });

  it('display: with a small maxPayload a wide region is cut into column tiles too', async () => {
    const r = await openRig({ fw: { maxPayload: 64 } });
    const width = 237;
    const height = 5;
    const bits = patternBits(width, height, 9);
    await r.mcu.display.blit({ x: 3, y: 100, width, height, bits });
    // rows of 30 bytes, 64 - 8 = 56 bytes of pixels per frame: one row per blit
    expect(r.fw.blitCount).toBe(height);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const want = (bits[y * 30 + (x >> 3)] & (0x80 >> (x & 7))) !== 0;
        if (r.fw.getPixel(3 + x, 100 + y) !== want) throw new Error(`pixel ${x},${y} differs`);
      }
    }
    // and a region wider than one payload (a 1024-pixel display)
    const wide = await mcuRig({ fw: { maxPayload: 64, displayWidth: 1024, displayHeight: 8 } });
    try {
      await wide.mcu.open();
      const wbits = patternBits(1001, 3, 2);
      await wide.mcu.display.blit({ x: 11, y: 2, width: 1001, height: 3, bits: wbits });
      const stride = Math.ceil(1001 / 8);
      let mismatches = 0;
      for (let y = 0; y < 3; y++) for (let x = 0; x < 1001; x++) if (wide.fw.getPixel(11 + x, 2 + y) !== ((wbits[y * stride + (x >> 3)] & (0x80 >> (x & 7))) !== 0)) mismatches++;
      expect(mismatches).toBe(0);
      // rows of 126 bytes: tiles of 56 + 56 + 14 bytes; 3 + 3 + 1 blits (the last tile takes 4 rows each)
      expect(wide.fw.blitCount).toBe(7);
    } finally {
      await wide.stop();
    }
  });

  it('indicators: ringer cadence and volume, LED states; bad values are refused', async () => {
    const r = await openRig();
    await r.mcu.indicators.ring([400, 200, 400, 2000], 60);
    expect(r.fw.ringer).toEqual({ cadence: [400, 200, 400, 2000], volume: 60 });
    await r.mcu.indicators.ring(null);
    expect(r.fw.ringer.cadence).toEqual([]);
    await expect(r.mcu.indicators.ring([1000])).rejects.toThrow(/even number/);
    await expect(r.mcu.indicators.ring([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])).rejects.toMatchObject({ code: 'DRIVER_INVALID_ARGUMENT' });
    await expect(r.mcu.indicators.ring([70000, 1000])).rejects.toMatchObject({ code: 'DRIVER_INVALID_ARGUMENT' });
    await r.mcu.indicators.setLed('message', { blink: { onMs: 100, offMs: 900 } });
    await r.mcu.indicators.setLed('hold', 'on');
    expect(r.fw.leds.message).toEqual({ blink: { onMs: 100, offMs: 900 } });
    expect(r.fw.leds.hold).toBe('on');
    await r.mcu.indicators.setLed('hold', 'off');
    expect(r.fw.leds.hold).toBe('off');
    await expect(r.mcu.indicators.setLed('nope' as never, 'on')).rejects.toMatchObject({ code: 'DRIVER_INVALID_ARGUMENT' });
    await expect(r.mcu.indicators.setLed('line', { blink: { onMs: 0, offMs: 10 } })).rejects.toMatchObject({ code: 'DRIVER_INVALID_ARGUMENT' });
  });

  it('audio route: device and line bridge', async () => {
    const r = await openRig();
    await r.mcu.audioRoute.setRoute({ device: 'speaker', line: true });
    expect(r.fw.route).toEqual({ device: 'speaker', line: true });
    await r.mcu.audioRoute.setRoute({ device: 'headset', line: false });
    expect(r.fw.route).toEqual({ device: 'headset', line: false });
    await expect(r.mcu.audioRoute.setRoute({ device: 'usb' as never, line: false })).rejects.toMatchObject({ code: 'DRIVER_INVALID_ARGUMENT' });
  });

  it('line: seize, dial (resolves once played), release; the MCU records it all', async () => {
    const r = await openRig();
    await expect(r.mcu.line.dialDtmf('123')).rejects.toMatchObject({ code: 'DRIVER_NOT_OPEN' });
    await r.mcu.line.seize();
    expect(r.mcu.line.seized).toBe(true);
    expect(r.fw.seized).toBe(true);
    await expect(r.mcu.line.dialDtmf('12x')).rejects.toMatchObject({ code: 'DRIVER_INVALID_ARGUMENT' });
    await expect(r.mcu.line.dialDtmf('1', { toneMs: 10, gapMs: 100 })).rejects.toMatchObject({ code: 'DRIVER_INVALID_ARGUMENT' });
    await r.mcu.line.dialDtmf('5551234*#', { toneMs: 80, gapMs: 60 });
    expect(r.fw.dialed).toEqual([{ digits: '5551234*#', toneMs: 80, gapMs: 60, status: 'complete', played: 9 }]);
    await r.mcu.line.dialDtmf('0');
    expect(r.fw.dialed[1]).toMatchObject({ digits: '0', toneMs: 100, gapMs: 100 });
    await r.mcu.line.release();
    expect(r.mcu.line.seized).toBe(false);
    expect(r.fw.lineActions).toEqual(['seize', 'release']);
  });

  it('line: a long number goes out as several LINE_DIALs of at most 64 digits', async () => {
    const r = await openRig();
    await r.mcu.line.seize();
    const digits = '0123456789'.repeat(7);
    await r.mcu.line.dialDtmf(digits, { toneMs: 40, gapMs: 40 });
    expect(r.fw.dialed.map((d) => d.digits)).toEqual([digits.slice(0, 64), digits.slice(64)]);
  });

  it('line: releasing while dialing aborts the dial', async () => {
    const r = await openRig({ fw: { timeScale: 1 } });
    await r.mcu.line.seize();
    const dialing = r.mcu.line.dialDtmf('123456789', { toneMs: 100, gapMs: 100 });
    const failed = dialing.catch((e: unknown) => e);
    await waitFor(() => r.fw.dialing, 'the MCU to start dialing');
    await r.mcu.line.release();
    expect(await failed).toMatchObject({ code: 'DRIVER_IO', message: expect.stringMatching(/aborted/) });
    expect(r.fw.dialed[0]).toMatchObject({ status: 'aborted' });
    expect(r.fw.dialed[0].played).toBeLessThan(9);
  });

  it('line events: ring bursts, polarity, loop current, DTMF digits and tones', async () => {
    const r = await openRig();
    const seen: string[] = [];
    r.mcu.line.on('ringDetected', ({ on }) => seen.push(`ring ${on}`));
    r.mcu.line.on('polarityReversed', () => seen.push('polarity'));
    r.mcu.line.on('loopCurrentChanged', ({ present }) => seen.push(`loop ${present}`));
    r.mcu.line.on('dtmfDetected', ({ digit, durationMs }) => seen.push(`dtmf ${digit} ${durationMs}`));
    r.mcu.line.on('toneDetected', ({ tone }) => seen.push(`tone ${tone}`));
    await r.fw.ring(true);
    await r.fw.ring(false);
    await r.fw.reversePolarity();
    await r.fw.setLoopCurrent(true);
    await r.fw.setLoopCurrent(false);
    for (const d of ['1', '#', 'D']) await r.fw.detectDtmf(d, 70);
    for (const t of ['dial', 'busy', 'ringback', 'congestion'] as LineTone[]) await r.fw.detectTone(t);
    expect(seen).toEqual([
      'ring true', 'ring false', 'polarity', 'loop true', 'loop false', 'dtmf 1 70', 'dtmf # 70', 'dtmf D 70',
      'tone dial', 'tone busy', 'tone ringback', 'tone congestion',
    ]);
  });

  it('reports MCU faults', async () => {
    const r = await openRig();
    const faults: unknown[] = [];
    r.mcu.on('faultReported', (f) => faults.push(f));
    await r.fw.reportError(ERR.DISPLAY_FAULT, 3, 'SPI');
    expect(faults).toEqual([{ code: 'DISPLAY_FAULT', detail: 3, message: 'SPI' }]);
  });

  it('answers a malformed or unknown event with NAK and emits nothing', async () => {
    const r = await openRig();
    const keys: unknown[] = [];
    r.mcu.keypad.on('keyPressed', (k) => keys.push(k));
    await expect(r.fw.sendEvent(MSG.EVT_KEY, Uint8Array.of(0x41, 1, 0, 0, 0))).rejects.toMatchObject({ mcuCode: 'BAD_ARGUMENT' });
    await expect(r.fw.sendEvent(MSG.EVT_KEY, Uint8Array.of(0x35))).rejects.toMatchObject({ mcuCode: 'BAD_LENGTH' });
    await expect(r.fw.sendEvent(0xee, new Uint8Array(0))).rejects.toMatchObject({ mcuCode: 'UNKNOWN_MESSAGE' });
    expect(keys).toEqual([]);
  });
});

describe('SerialMcu link reliability', () => {
  it('retransmits a lost request; the MCU acts once', async () => {
    const r = await openRig();
    r.host.dropWrites = 1; // the LED request is lost
    await r.mcu.indicators.setLed('mute', 'on');
    expect(r.fw.leds.mute).toBe('on');
    expect(r.mcu.stats.waitress.retransmissions).toBe(1);
  });

  it('a lost ACK makes the host retransmit; the MCU answers the duplicate without dialing twice', async () => {
    const r = await openRig();
    await r.mcu.line.seize();
    let dropped = 0;
    r.wire.dropIf = (chunk) => typeOf(chunk) === MSG.ACK && answered(chunk) === MSG.LINE_DIAL && dropped++ === 0;
    await r.mcu.line.dialDtmf('42', { toneMs: 40, gapMs: 40 });
    expect(dropped).toBeGreaterThanOrEqual(1);
    expect(r.fw.dialed.map((d) => d.digits)).toEqual(['42']);
    expect(r.fw.linkStats.duplicates).toBe(1);
  });

  it('a lost ACK of an event makes the MCU retransmit; the host emits it once', async () => {
    const r = await openRig();
    const keys: string[] = [];
    r.mcu.keypad.on('keyPressed', ({ key }) => keys.push(key));
    let dropped = 0;
    r.host.dropIf = (chunk) => typeOf(chunk) === MSG.ACK && answered(chunk) === MSG.EVT_KEY && dropped++ < 2;
    await r.fw.pressKey('7');
    expect(keys).toEqual(['7']);
    expect(r.mcu.stats.duplicates).toBe(2);
  });

  it('a corrupted frame is dropped by CRC and recovered by retransmission', async () => {
    const r = await openRig();
    r.host.corruptWrites = 1;
    await r.mcu.display.setContrast(33);
    expect(r.fw.contrast).toBe(33);
    expect(r.fw.linkStats.parser.crcErrors + r.fw.linkStats.parser.cobsErrors).toBe(1);
  });

  it('works with bytes arriving in random small pieces', async () => {
    const r = await openRig();
    r.host.maxPiece = 3;
    r.wire.maxPiece = 5;
    const bits = patternBits(240, 32, 4);
    await r.mcu.display.blit({ x: 0, y: 96, width: 240, height: 32, bits });
    await r.fw.pressKey('9');
    expect(toHex(r.fw.pixels.subarray(96 * 30))).toBe(toHex(bits));
  });
});

describe('SerialMcu link loss, MCU reboot and recovery', () => {
  it('heartbeat loss takes the link down; on return the state is re-read and everything re-applied', async () => {
    const r = await openRig({ mcu: { heartbeatMs: 40, policyFor: fastPolicy } });
    const hooks: boolean[] = [];
    r.mcu.keypad.on('hookChanged', ({ offHook }) => hooks.push(offHook));
    const bits = patternBits(240, 128, 11);
    await r.mcu.display.blit({ x: 0, y: 0, width: 240, height: 128, bits });
    await r.mcu.indicators.setLed('line', 'on');
    await r.mcu.display.setContrast(70);

    r.fw.unplug(true);
    await waitFor(() => r.links.length === 2, 'the link to go down');
    expect(r.links).toEqual([true, false]);
    expect(r.mcu.linkUp).toBe(false);
    // commands fail while down, but are remembered
    await expect(r.mcu.indicators.setLed('message', 'on')).rejects.toMatchObject({ code: 'DRIVER_IO' });
    await expect(r.mcu.display.blit({ x: 0, y: 0, width: 8, height: 1, bits: Uint8Array.of(0x0f) })).rejects.toMatchObject({ code: 'DRIVER_IO' });
    // meanwhile the MCU's host-silence fail-safe resets its outputs, and the handset is lifted
    await waitFor(() => r.fw.leds.line === 'off', 'the MCU fail-safe');
    r.fw.offHook = true;

    r.fw.unplug(false);
    await waitFor(() => r.links.length === 3, 'the link to come back');
    expect(r.links).toEqual([true, false, true]);
    expect(hooks).toEqual([true]);
    expect(r.fw.leds.line).toBe('on');
    expect(r.fw.leds.message).toBe('on');
    expect(r.fw.contrast).toBe(70);
    const expected = Uint8Array.from(bits);
    expected[0] = 0x0f;
    expect(toHex(r.fw.pixels)).toBe(toHex(expected));
  });

  it('an MCU reboot (EVT_BOOTED) is a link loss: display and outputs are restored, the line is not re-seized', async () => {
    const r = await openRig();
    const loops: boolean[] = [];
    r.mcu.line.on('loopCurrentChanged', ({ present }) => loops.push(present));
    const bits = patternBits(240, 128, 12);
    await r.mcu.display.blit({ x: 0, y: 0, width: 240, height: 128, bits });
    await r.mcu.indicators.ring([2000, 4000], 70);
    await r.mcu.audioRoute.setRoute({ device: 'handset', line: true });
    await r.mcu.line.seize();
    await r.fw.setLoopCurrent(true);
    const oldBoot = r.fw.bootId;

    r.fw.loopCurrent = false; // the relay opens on reset: no more loop current
    r.fw.reboot('watchdog');
    await waitFor(() => r.links.length === 3, 'down and up again');
    expect(r.links).toEqual([true, false, true]);
    expect(r.mcu.info?.bootId).toBe(r.fw.bootId);
    expect(r.fw.bootId).not.toBe(oldBoot);
    expect(toHex(r.fw.pixels)).toBe(toHex(bits));
    expect(r.fw.ringer).toEqual({ cadence: [2000, 4000], volume: 70 });
    expect(r.fw.route).toEqual({ device: 'handset', line: true });
    expect(r.fw.seized).toBe(false);
    expect(r.mcu.line.seized).toBe(false);
    expect(loops).toEqual([true, false]);
  });

  it('notices a reboot from the PING boot id when EVT_BOOTED is lost', async () => {
    const r = await openRig({ mcu: { heartbeatMs: 30, policyFor: fastPolicy } });
    r.wire.dropIf = (chunk) => typeOf(chunk) === MSG.EVT_BOOTED;
    r.fw.reboot('brown-out');
    await waitFor(() => r.links.length === 3, 'down and up again');
    expect(r.mcu.info?.bootId).toBe(r.fw.bootId);
  });

  it('re-applies its state after the MCU reports the host-timeout fail-safe', async () => {
    const r = await openRig();
    const faults: string[] = [];
    r.mcu.on('faultReported', ({ code }) => faults.push(code));
    await r.mcu.indicators.setLed('speaker', 'on');
    r.fw.leds.speaker = 'off';
    await r.fw.reportError(ERR.HOST_TIMEOUT, 0, 'host silent');
    await waitFor(() => r.links.length === 3, 'down and up again');
    expect(faults).toEqual(['HOST_TIMEOUT']);
    expect(r.fw.leds.speaker).toBe('on');
  });

  it('a dial in progress fails when the link goes down', async () => {
    const r = await openRig({ fw: { timeScale: 1 }, mcu: { heartbeatMs: 30, policyFor: fastPolicy } });
    await r.mcu.line.seize();
    const dialing = r.mcu.line.dialDtmf('1234567890', { toneMs: 200, gapMs: 200 }).catch((e: unknown) => e);
    await waitFor(() => r.fw.dialing, 'dialing to start');
    r.fw.unplug(true);
    expect(await dialing).toMatchObject({ code: 'DRIVER_IO', message: expect.stringMatching(/link went down/) });
  });
});
