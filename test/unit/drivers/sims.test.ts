import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { SimAudio } from '../../../drivers/audio/sim.js';
import { parseWav, wavHeader } from '../../../drivers/audio/wav.js';
import { SimCallerIdSource } from '../../../drivers/callerid/sim.js';
import { SimTelephonyHid } from '../../../drivers/hid/sim.js';
import { SimMcu } from '../../../drivers/mcu/sim.js';
import { SimModem } from '../../../drivers/modem/sim.js';
import { VirtualReceiptPrinter } from '../../../drivers/printer/virtual/printer.js';

describe('SimMcu', () => {
  it('records blits into its pixels and refuses regions outside the display', async () => {
    const mcu = new SimMcu({ displayWidth: 240, displayHeight: 128 });
    await mcu.display.blit({ x: 8, y: 2, width: 9, height: 2, bits: Uint8Array.from([0xff, 0x80, 0x00, 0x80]) });
    expect(mcu.display.getPixel(8, 2)).toBe(true);
    expect(mcu.display.getPixel(16, 2)).toBe(true);
    expect(mcu.display.getPixel(15, 3)).toBe(false);
    expect(mcu.display.getPixel(16, 3)).toBe(true);
    await expect(mcu.display.blit({ x: 235, y: 0, width: 8, height: 1, bits: new Uint8Array(1) })).rejects.toMatchObject({ code: 'DRIVER_INVALID_ARGUMENT' });
    await expect(mcu.display.blit({ x: 0, y: 0, width: 16, height: 2, bits: new Uint8Array(3) })).rejects.toMatchObject({ code: 'DRIVER_INVALID_ARGUMENT' });
    await expect(mcu.display.setContrast(101)).rejects.toMatchObject({ code: 'DRIVER_INVALID_ARGUMENT' });
  });

  it('emits hook changes once per change and key presses as injected', () => {
    const mcu = new SimMcu({ displayWidth: 240, displayHeight: 128 });
    const seen: string[] = [];
    mcu.keypad.on('hookChanged', ({ offHook }) => seen.push(`hook ${offHook}`));
    mcu.keypad.on('keyPressed', ({ key, long }) => seen.push(`key ${key}${long ? ' long' : ''}`));
    mcu.keypad.setHook(true);
    mcu.keypad.setHook(true);
    mcu.keypad.press('#', { long: true });
    mcu.keypad.setHook(false);
    expect(seen).toEqual(['hook true', 'key # long', 'hook false']);
  });

  it('validates ringer cadences and records LEDs', async () => {
    const mcu = new SimMcu({ displayWidth: 240, displayHeight: 128 });
    await expect(mcu.indicators.ring([1000])).rejects.toThrow(/even number/);
    await mcu.indicators.ring([400, 200, 400, 2000], 60);
    expect(mcu.indicators.ringer).toEqual({ cadence: [400, 200, 400, 2000], volume: 60 });
    await mcu.indicators.setLed('message', { blink: { onMs: 100, offMs: 900 } });
    expect(mcu.indicators.leds.message).toEqual({ blink: { onMs: 100, offMs: 900 } });
  });

  it('the analog line must be seized before dialing; line events are injectable', async () => {
    const mcu = new SimMcu({ displayWidth: 240, displayHeight: 128 });
    await expect(mcu.line.dialDtmf('123')).rejects.toMatchObject({ code: 'DRIVER_NOT_OPEN' });
    await mcu.line.seize();
    await expect(mcu.line.dialDtmf('12x')).rejects.toMatchObject({ code: 'DRIVER_INVALID_ARGUMENT' });
    await mcu.line.dialDtmf('12*#');
    await mcu.line.release();
    expect(mcu.line.actions).toEqual([{ action: 'seize' }, { action: 'dial', digits: '12*#' }, { action: 'release' }]);
    const events: string[] = [];
    mcu.line.on('ringDetected', ({ on }) => events.push(`ring ${on}`));
    mcu.line.on('loopCurrentChanged', ({ present }) => events.push(`loop ${present}`));
    mcu.line.on('dtmfDetected', ({ digit }) => events.push(`dtmf ${digit}`));
    mcu.line.injectRing(true);
    mcu.line.injectLoopCurrent(false);
    mcu.line.injectDtmf('D');
    expect(events).toEqual(['ring true', 'loop false', 'dtmf D']);
  });
});

describe('other sim drivers', () => {
  it('printer keeps bytes, reports status, fails when unplugged', async () => {
    const printer = new VirtualReceiptPrinter({ paperWidthMm: 58 });
    await printer.write(Uint8Array.from([0x1b, 0x40]));
    await printer.write(Buffer.from('hi'));
    expect(printer.output()).toEqual(Buffer.from([0x1b, 0x40, 0x68, 0x69]));
    printer.setStatus({ paperNearEnd: true });
    await expect(printer.status()).resolves.toMatchObject({ online: true, paperNearEnd: true });
    printer.setConnected(false);
    await expect(printer.write(Buffer.from('x'))).rejects.toMatchObject({ code: 'DRIVER_IO' });
  });

  it('modem records SMS and fails with the injected +CMS ERROR', async () => {
    const modem = new SimModem();
    await expect(modem.sendSms({ to: '+8613912345678', text: '你好' })).resolves.toEqual({ references: [0] });
    modem.failNextWith = 331;
    await expect(modem.sendSms({ to: '1', text: 'x' })).rejects.toThrow('+CMS ERROR: 331');
    expect(modem.sent).toEqual([{ to: '+8613912345678', text: '你好', reference: 0 }]);
  });

  it('caller ID and HID sims inject what tests need', async () => {
    const callerId = new SimCallerIdSource();
    const got: unknown[] = [];
    callerId.on('callerIdReceived', (c) => got.push(c));
    callerId.inject({ number: '2125551234', name: 'ACME' });
    expect(got).toEqual([{ format: 'mdmf', number: '2125551234', name: 'ACME', numberAbsent: null, nameAbsent: null }]);
    const hid = new SimTelephonyHid();
    await expect(hid.setLeds('h1', { ring: true })).rejects.toMatchObject({ code: 'DRIVER_NOT_OPEN' });
    hid.attach({ id: 'h1', vendorId: 1, productId: 2, product: 'Handset' });
    await hid.setLeds('h1', { offHook: true });
    expect(hid.leds.get('h1')).toMatchObject({ offHook: true, ring: false });
  });

  it('audio: captures a WAV source in 20 ms periods (looped) and writes playback to a WAV file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'audio-'));
    const source = join(dir, 'in.wav');
    const samples = Int16Array.from({ length: 200 }, (_, i) => i * 10);
    writeFileSync(source, Buffer.concat([wavHeader(8000, 1, samples.byteLength), Buffer.from(samples.buffer)]));
    const audio = new SimAudio({ sources: { handset: source }, sinks: { speaker: join(dir, 'out.wav') } });
    const capture = await audio.openCapture('handset');
    const first = await capture.read();
    const second = await capture.read();
    expect(first.length).toBe(160);
    expect(Array.from(second.subarray(0, 3))).toEqual([1600, 1610, 1620]);
    expect(second[40]).toBe(0); // looped back to the start
    const playback = await audio.openPlayback('speaker');
    await playback.write(first);
    await expect(playback.write(new Int16Array(10))).rejects.toMatchObject({ code: 'DRIVER_INVALID_ARGUMENT' });
    await playback.close();
    const written = parseWav(readFileSync(join(dir, 'out.wav')));
    expect(written.sampleRate).toBe(8000);
    expect(Array.from(written.samples)).toEqual(Array.from(first));
    expect(audio.framesPlayed.get('speaker')).toBe(1);
    expect(() => parseWav(Buffer.from('RIFF....WAVEjunk'))).toThrow(/no data chunk/);
  });
});
