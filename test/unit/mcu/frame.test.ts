import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import {
  cobsDecode, cobsEncode, cobsMaxEncodedLength, crc16, crc32, decodeFrame, decodeFrameBody, encodeFrame, encodeFrameBody, FLAG_RETRY, FrameError,
  fromHex, MAX_BODY, MAX_ENCODED_BODY, MAX_PAYLOAD, MAX_WIRE_FRAME, toHex, type McuFrame,
} from '../../../drivers/mcu/frame.js';
import * as P from '../../../drivers/mcu/protocol.js';
import { seededRandom } from '../../support/mcu.js';

const ascii = (s: string) => new TextEncoder().encode(s);
const range = (from: number, to: number) => Uint8Array.from({ length: to - from + 1 }, (_, i) => from + i);
const spec = readFileSync(new URL('../../../board/mcu-protocol.md', import.meta.url), 'utf8');

describe('CRC check values', () => {
  it('CRC-16/CCITT-FALSE of "123456789" is 0x29B1 and the body residue is 0', () => {
    expect(crc16(ascii('123456789'))).toBe(0x29b1);
    expect(crc16(new Uint8Array(0))).toBe(0xffff);
    // continuing a computation equals computing at once
    expect(crc16(ascii('6789'), crc16(ascii('12345')))).toBe(0x29b1);
    const body = encodeFrameBody({ type: 0x11, seq: 1, flags: 0, payload: new Uint8Array(0) });
    expect(crc16(body)).toBe(0);
  });

  it('CRC-32/ISO-HDLC of "123456789" is 0xCBF43926', () => {
    expect(crc32(ascii('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
    expect(crc32(ascii('6789'), crc32(ascii('12345')))).toBe(0xcbf43926);
    expect(crc32(fromHex('de ad be ef'))).toBe(0x7c9ca35a);
    expect(crc16(fromHex('de ad be ef'))).toBe(0x4097);
  });
});

describe('COBS', () => {
  // The examples of the COBS article (Cheshire & Baker; Wikipedia's table).
  const vectors: Array<[string, Uint8Array, Uint8Array]> = [
    ['00', fromHex('00'), fromHex('01 01')],
    ['00 00', fromHex('00 00'), fromHex('01 01 01')],
    ['00 11 00', fromHex('00 11 00'), fromHex('01 02 11 01')],
    ['11 22 00 33', fromHex('11 22 00 33'), fromHex('03 11 22 02 33')],
    ['11 22 33 44', fromHex('11 22 33 44'), fromHex('05 11 22 33 44')],
    ['11 00 00 00', fromHex('11 00 00 00'), fromHex('02 11 01 01 01')],
    ['01..FE (254 bytes)', range(1, 254), Uint8Array.from([0xff, ...range(1, 254)])],
    ['00..FE (255 bytes)', range(0, 254), Uint8Array.from([0x01, 0xff, ...range(1, 254)])],
    ['01..FF (255 bytes)', range(1, 255), Uint8Array.from([0xff, ...range(1, 254), 0x02, 0xff])],
    ['02..FF 00', Uint8Array.from([...range(2, 255), 0]), Uint8Array.from([0xff, ...range(2, 255), 0x01, 0x01])],
    ['03..FF 00 01', Uint8Array.from([...range(3, 255), 0, 1]), Uint8Array.from([0xfe, ...range(3, 255), 0x02, 0x01])],
    ['empty', new Uint8Array(0), fromHex('01')],
  ];

  it.each(vectors)('encodes and decodes %s', (_name, raw, encoded) => {
    expect(toHex(cobsEncode(raw))).toBe(toHex(encoded));
    expect(toHex(cobsDecode(encoded)!)).toBe(toHex(raw));
  });

  it('accepts a redundant final 01 block after a 254-byte run', () => {
    expect(toHex(cobsDecode(Uint8Array.from([0xff, ...range(1, 254), 0x01]))!)).toBe(toHex(range(1, 254)));
  });

  it('rejects a zero byte and a block running past the end', () => {
    expect(cobsDecode(fromHex('03 11 00'))).toBeNull();
    expect(cobsDecode(fromHex('05 11 22'))).toBeNull();
    expect(cobsDecode(fromHex('00'))).toBeNull();
  });

  it('round-trips random data and never exceeds the worst-case size', () => {
    const rnd = seededRandom(7);
    for (let n = 0; n < 600; n++) {
      const data = Uint8Array.from({ length: n }, () => (rnd() < 0.2 ? 0 : Math.floor(rnd() * 256)));
      const encoded = cobsEncode(data);
      expect(encoded.includes(0)).toBe(false);
      expect(encoded.length).toBeLessThanOrEqual(cobsMaxEncodedLength(n));
      expect(toHex(cobsDecode(encoded)!)).toBe(toHex(data));
    }
  });
});

describe('frames', () => {
  it('has the sizes the spec states', () => {
    expect([MAX_PAYLOAD, MAX_BODY, MAX_ENCODED_BODY, MAX_WIRE_FRAME]).toEqual([512, 517, 520, 522]);
    const longest = encodeFrame({ type: 0x30, seq: 255, flags: 0, payload: new Uint8Array(MAX_PAYLOAD).fill(0xaa) });
    expect(longest.length).toBe(MAX_WIRE_FRAME);
  });

  it('round-trips frames of every payload length with the delimiters around them', () => {
    const rnd = seededRandom(3);
    for (let n = 0; n <= MAX_PAYLOAD; n += 1 + Math.floor(rnd() * 9)) {
      const frame: McuFrame = { type: Math.floor(rnd() * 256), seq: Math.floor(rnd() * 256), flags: rnd() < 0.5 ? FLAG_RETRY : 0, payload: Uint8Array.from({ length: n }, () => Math.floor(rnd() * 256)) };
      const wire = encodeFrame(frame);
      expect(wire[0]).toBe(0);
      expect(wire[wire.length - 1]).toBe(0);
      expect(wire.subarray(1, -1).includes(0)).toBe(false);
      const back = decodeFrame(wire);
      expect({ ...back, payload: toHex(back.payload) }).toEqual({ ...frame, payload: toHex(frame.payload) });
    }
  });

  it('refuses to encode out-of-range fields and oversized payloads', () => {
    expect(() => encodeFrame({ type: 256, seq: 0, flags: 0, payload: new Uint8Array(0) })).toThrow(FrameError);
    expect(() => encodeFrame({ type: 1, seq: -1, flags: 0, payload: new Uint8Array(0) })).toThrow(/seq/);
    expect(() => encodeFrame({ type: 1, seq: 0, flags: 0, payload: new Uint8Array(MAX_PAYLOAD + 1) })).toThrow(expect.objectContaining({ code: 'DRIVER_INVALID_ARGUMENT', reason: 'long' }));
  });

  it('reports why a frame does not decode', () => {
    const wire = encodeFrame({ type: 0x11, seq: 1, flags: 0, payload: new Uint8Array(0) });
    const flipped = Uint8Array.from(wire);
    flipped[3] ^= 0x04;
    expect(() => decodeFrame(flipped)).toThrow(expect.objectContaining({ reason: 'crc' }));
    expect(() => decodeFrame(fromHex('00 03 11 01 00'))).toThrow(expect.objectContaining({ reason: 'short' }));
    expect(() => decodeFrame(fromHex('00 09 11 01 00'))).toThrow(expect.objectContaining({ reason: 'cobs' }));
    expect(() => decodeFrame(new Uint8Array(MAX_ENCODED_BODY + 1).fill(1))).toThrow(expect.objectContaining({ reason: 'long' }));
    expect(() => decodeFrameBody(new Uint8Array(MAX_BODY + 1))).toThrow(expect.objectContaining({ reason: 'long' }));
  });
});

/** The worked examples of board/mcu-protocol.md §9, rebuilt from the protocol code. */
const CRC_IMAGE = fromHex('de ad be ef');
const examples: Array<{ name: string; frame: McuFrame; body?: string; wire: string }> = [
  {
    name: 'HELLO', frame: { type: P.MSG.HELLO, seq: 0, flags: 0, payload: P.encodeHello({ protoMin: 1, protoMax: 1, resetOutputs: true, heartbeatMs: 1000 }) },
    body: '10 00 00 01 01 01 e8 03 4e 27', wire: '00 02 10 01 08 01 01 01 e8 03 4e 27 00',
  },
  {
    name: 'HELLO reply',
    frame: {
      type: P.MSG.ACK, seq: 0, flags: 0,
      payload: P.encodeAck(P.MSG.HELLO, P.encodeHelloReply({ proto: 1, mode: 'application', bootId: 0x12345678, capabilities: P.capabilityBits(P.CAPABILITIES), displayWidth: 240, displayHeight: 128, maxPayload: 512, longPressMs: 800, firmware: '1.0.0' })),
    },
    body: '01 00 00 10 01 00 78 56 34 12 ff 07 00 00 f0 00 80 00 00 02 20 03 05 31 2e 30 2e 30 60 bc',
    wire: '00 02 01 01 03 10 01 07 78 56 34 12 ff 07 01 02 f0 02 80 01 0c 02 20 03 05 31 2e 30 2e 30 60 bc 00',
  },
  { name: 'NAK VERSION', frame: { type: P.MSG.NAK, seq: 0, flags: 0, payload: P.encodeNak(P.MSG.HELLO, P.ERR.VERSION, P.encodeVersionDetail(2, 3)) }, body: '02 00 00 10 06 02 03 6e 2b', wire: '00 02 02 01 07 10 06 02 03 6e 2b 00' },
  { name: 'PING', frame: { type: P.MSG.PING, seq: 1, flags: 0, payload: new Uint8Array(0) }, body: '11 01 00 8b fe', wire: '00 03 11 01 03 8b fe 00' },
  { name: 'PING retry', frame: { type: P.MSG.PING, seq: 1, flags: FLAG_RETRY, payload: new Uint8Array(0) }, body: '11 01 01 9b df', wire: '00 06 11 01 01 9b df 00' },
  {
    name: 'PING reply', frame: { type: P.MSG.ACK, seq: 1, flags: 0, payload: P.encodeAck(P.MSG.PING, P.encodePingReply({ uptimeMs: 61000, bootId: 0x12345678 })) },
    body: '01 01 00 11 48 ee 00 00 78 56 34 12 f5 83', wire: '00 03 01 01 04 11 48 ee 01 07 78 56 34 12 f5 83 00',
  },
  {
    name: 'GET_STATE reply',
    frame: { type: P.MSG.ACK, seq: 2, flags: 0, payload: P.encodeAck(P.MSG.GET_STATE, P.encodeState({ offHook: true, seized: false, loopCurrent: true, ringing: false, polarityReversed: false, ringerOn: false, dialing: false })) },
    body: '01 02 00 12 05 63 81', wire: '00 03 01 02 05 12 05 63 81 00',
  },
  { name: 'EVT_HOOK', frame: { type: P.MSG.EVT_HOOK, seq: 0, flags: 0, payload: P.encodeFlag(true) }, body: '81 00 00 01 3f 6d', wire: '00 02 81 01 04 01 3f 6d 00' },
  { name: 'ACK of EVT_HOOK', frame: { type: P.MSG.ACK, seq: 0, flags: 0, payload: P.encodeAck(P.MSG.EVT_HOOK) }, body: '01 00 00 81 73 dd', wire: '00 02 01 01 04 81 73 dd 00' },
  { name: 'EVT_KEY 5 long up', frame: { type: P.MSG.EVT_KEY, seq: 3, flags: 0, payload: P.encodeKey({ key: '5', action: 'up', heldMs: 1000, long: true }) }, body: '82 03 00 35 01 e8 03 01 8e 74', wire: '00 03 82 03 08 35 01 e8 03 01 8e 74 00' },
  { name: 'EVT_KEY ok down', frame: { type: P.MSG.EVT_KEY, seq: 4, flags: 0, payload: P.encodeKey({ key: 'ok', action: 'down', heldMs: 0, long: false }) }, body: '82 04 00 83 00 00 00 00 4e dd', wire: '00 03 82 04 02 83 01 01 01 03 4e dd 00' },
  { name: 'RINGER', frame: { type: P.MSG.RINGER, seq: 5, flags: 0, payload: P.encodeRinger({ volume: 80, cadence: [2000, 4000] }) }, body: '20 05 00 50 02 d0 07 a0 0f 02 25', wire: '00 03 20 05 09 50 02 d0 07 a0 0f 02 25 00' },
  { name: 'RINGER off', frame: { type: P.MSG.RINGER, seq: 6, flags: 0, payload: P.encodeRinger({ volume: 0, cadence: [] }) }, body: '20 06 00 00 00 3e 21', wire: '00 03 20 06 01 01 03 3e 21 00' },
  { name: 'LED', frame: { type: P.MSG.LED, seq: 7, flags: 0, payload: P.encodeLed({ led: 'line', mode: 'blink', onMs: 250, offMs: 250 }) }, body: '21 07 00 00 02 fa 00 fa 00 dc da', wire: '00 03 21 07 01 03 02 fa 02 fa 03 dc da 00' },
  {
    name: 'DISPLAY_BLIT', frame: { type: P.MSG.DISPLAY_BLIT, seq: 8, flags: 0, payload: P.encodeBlit({ x: 8, y: 2, width: 9, height: 2, bits: fromHex('ff 80 00 80') }) },
    body: '30 08 00 08 00 02 00 09 00 02 00 ff 80 00 80 80 2c', wire: '00 03 30 08 02 08 02 02 02 09 02 02 03 ff 80 04 80 80 2c 00',
  },
  { name: 'DISPLAY_CONTRAST', frame: { type: P.MSG.DISPLAY_CONTRAST, seq: 9, flags: 0, payload: P.encodePercent(60) }, body: '31 09 00 3c b7 d3', wire: '00 03 31 09 04 3c b7 d3 00' },
  { name: 'AUDIO_ROUTE', frame: { type: P.MSG.AUDIO_ROUTE, seq: 10, flags: 0, payload: P.encodeRoute({ device: 'handset', line: true }) }, body: '40 0a 00 01 01 4b df', wire: '00 03 40 0a 05 01 01 4b df 00' },
  { name: 'LINE_HOOK', frame: { type: P.MSG.LINE_HOOK, seq: 11, flags: 0, payload: P.encodeFlag(true) }, body: '50 0b 00 01 11 2b', wire: '00 03 50 0b 04 01 11 2b 00' },
  {
    name: 'LINE_DIAL', frame: { type: P.MSG.LINE_DIAL, seq: 12, flags: 0, payload: P.encodeDial({ dialId: 1, toneMs: 100, gapMs: 100, digits: '555*#' }) },
    body: '51 0c 00 01 64 00 64 00 05 35 35 35 2a 23 a2 67', wire: '00 03 51 0c 03 01 64 02 64 09 05 35 35 35 2a 23 a2 67 00',
  },
  { name: 'NAK BAD_STATE', frame: { type: P.MSG.NAK, seq: 12, flags: 0, payload: P.encodeNak(P.MSG.LINE_DIAL, P.ERR.BAD_STATE) }, body: '02 0c 00 51 04 67 b7', wire: '00 03 02 0c 05 51 04 67 b7 00' },
  { name: 'EVT_DIAL_DONE', frame: { type: P.MSG.EVT_DIAL_DONE, seq: 5, flags: 0, payload: P.encodeDialDone({ dialId: 1, status: 'complete', played: 5 }) }, body: '95 05 00 01 00 05 c7 77', wire: '00 03 95 05 02 01 04 05 c7 77 00' },
  { name: 'EVT_RING', frame: { type: P.MSG.EVT_RING, seq: 6, flags: 0, payload: P.encodeFlag(true) }, wire: '00 03 90 06 04 01 e0 de 00' },
  { name: 'EVT_POLARITY', frame: { type: P.MSG.EVT_POLARITY, seq: 7, flags: 0, payload: P.encodeFlag(true) }, wire: '00 03 91 07 04 01 a1 5a 00' },
  { name: 'EVT_LOOP_CURRENT', frame: { type: P.MSG.EVT_LOOP_CURRENT, seq: 8, flags: 0, payload: P.encodeLoopCurrent({ present: false, milliamps: 0 }) }, wire: '00 03 92 08 01 01 03 f6 c6 00' },
  { name: 'EVT_TONE', frame: { type: P.MSG.EVT_TONE, seq: 9, flags: 0, payload: P.encodeTone('busy') }, wire: '00 03 93 09 04 02 67 50 00' },
  { name: 'EVT_DTMF', frame: { type: P.MSG.EVT_DTMF, seq: 10, flags: 0, payload: P.encodeDtmf({ digit: '7', durationMs: 80 }) }, wire: '00 03 94 0a 03 37 50 03 ce 31 00' },
  {
    name: 'EVT_BOOTED', frame: { type: P.MSG.EVT_BOOTED, seq: 0, flags: 0, payload: P.encodeBooted({ bootId: 0x0badcafe, reason: 'power-on', mode: 'application' }) },
    body: '80 00 00 fe ca ad 0b 00 00 e0 c8', wire: '00 02 80 01 05 fe ca ad 0b 01 03 e0 c8 00',
  },
  {
    name: 'EVT_ERROR', frame: { type: P.MSG.EVT_ERROR, seq: 11, flags: 0, payload: P.encodeErrorEvent({ code: P.ERR.DISPLAY_FAULT, detail: 3, text: 'SPI' }) },
    body: 'a0 0b 00 22 03 00 03 53 50 49 b3 5e', wire: '00 03 a0 0b 03 22 03 07 03 53 50 49 b3 5e 00',
  },
  { name: 'FW_ENTER_BOOTLOADER', frame: { type: P.MSG.FW_ENTER_BOOTLOADER, seq: 13, flags: 0, payload: P.encodeMagic() }, wire: '00 03 60 0d 07 44 4c 42 4c 22 d0 00' },
  { name: 'FW_BEGIN', frame: { type: P.MSG.FW_BEGIN, seq: 14, flags: 0, payload: P.encodeFwBegin({ imageSize: 4, imageCrc32: crc32(CRC_IMAGE), blockSize: 256 }) }, wire: '00 03 61 0e 02 04 01 01 05 5a a3 9c 7c 04 01 a1 b1 00' },
  { name: 'FW_BLOCK', frame: { type: P.MSG.FW_BLOCK, seq: 15, flags: 0, payload: P.encodeFwBlock({ offset: 0, crc16: crc16(CRC_IMAGE), data: CRC_IMAGE }) }, wire: '00 03 62 0f 01 01 01 01 09 97 40 de ad be ef 15 4b 00' },
  { name: 'FW_VERIFY', frame: { type: P.MSG.FW_VERIFY, seq: 16, flags: 0, payload: new Uint8Array(0) }, wire: '00 03 63 10 03 0d d4 00' },
  { name: 'FW_VERIFY reply', frame: { type: P.MSG.ACK, seq: 16, flags: 0, payload: P.encodeAck(P.MSG.FW_VERIFY, P.encodeCrc32(crc32(CRC_IMAGE))) }, wire: '00 03 01 10 08 63 5a a3 9c 7c ad 59 00' },
  { name: 'FW_REBOOT', frame: { type: P.MSG.FW_REBOOT, seq: 17, flags: 0, payload: new Uint8Array(0) }, wire: '00 03 64 11 03 bb 75 00' },
];

describe('worked examples of board/mcu-protocol.md §9', () => {
  it.each(examples.map((e) => [e.name, e] as const))('%s encodes to the spec bytes, decodes back, and is in the spec', (_name, e) => {
    const wire = toHex(encodeFrame(e.frame));
    expect(wire).toBe(e.wire);
    if (e.body) expect(toHex(encodeFrameBody(e.frame))).toBe(e.body);
    const back = decodeFrame(fromHex(e.wire));
    expect([back.type, back.seq, back.flags, toHex(back.payload)]).toEqual([e.frame.type, e.frame.seq, e.frame.flags, toHex(e.frame.payload)]);
    expect(spec).toContain(`wire    ${e.wire}`);
    if (e.body) expect(spec).toContain(`body    ${e.body}`);
  });

  it('every "wire" line of the spec is covered by a vector here', () => {
    const inSpec = [...spec.matchAll(/^wire {4}([0-9a-f ]+)$/gm)].map((m) => m[1].trim());
    expect(inSpec.length).toBeGreaterThanOrEqual(30);
    expect(inSpec.sort()).toEqual(examples.map((e) => e.wire).sort());
  });

  it('payloads decode back to the values of the examples', () => {
    expect(P.decodeHello(examples[0].frame.payload)).toEqual({ protoMin: 1, protoMax: 1, resetOutputs: true, heartbeatMs: 1000 });
    const reply = P.decodeHelloReply(examples[1].frame.payload.subarray(1));
    expect(reply).toMatchObject({ proto: 1, mode: 'application', bootId: 0x12345678, displayWidth: 240, displayHeight: 128, maxPayload: 512, firmware: '1.0.0' });
    expect(P.capabilityNames(reply.capabilities)).toEqual([...P.CAPABILITIES]);
    expect(P.decodeKey(examples[9].frame.payload)).toEqual({ key: '5', action: 'up', heldMs: 1000, long: true });
    expect(P.decodeRinger(examples[11].frame.payload)).toEqual({ volume: 80, cadence: [2000, 4000] });
    expect(P.decodeLed(examples[13].frame.payload)).toEqual({ led: 'line', mode: 'blink', onMs: 250, offMs: 250 });
    expect(P.decodeBlit(examples[14].frame.payload)).toEqual({ x: 8, y: 2, width: 9, height: 2, bits: fromHex('ff 80 00 80') });
    expect(P.decodeDial(examples[18].frame.payload)).toEqual({ dialId: 1, toneMs: 100, gapMs: 100, digits: '555*#' });
    expect(P.decodeTone(P.encodeTone('congestion'))).toBe('congestion');
    expect(P.decodeErrorEvent(examples[27].frame.payload)).toEqual({ code: P.ERR.DISPLAY_FAULT, detail: 3, text: 'SPI' });
  });
});

describe('payload layouts', () => {
  it('rejects short payloads with BAD_LENGTH and bad values with BAD_ARGUMENT', () => {
    expect(() => P.decodeHello(fromHex('01 01'))).toThrow(expect.objectContaining({ nakCode: P.ERR.BAD_LENGTH }));
    expect(() => P.decodeRinger(fromHex('50 03 01 00 01 00 01 00'))).toThrow(expect.objectContaining({ nakCode: P.ERR.BAD_ARGUMENT }));
    expect(() => P.decodeLed(fromHex('06 01 00 00 00 00'))).toThrow(/unknown LED/);
    expect(() => P.decodeBlit(fromHex('00 00 00 00 09 00 02 00 ff 80 00'))).toThrow(expect.objectContaining({ nakCode: P.ERR.BAD_LENGTH }));
    expect(() => P.decodeDial(P.encodeDial({ dialId: 0, toneMs: 10, gapMs: 100, digits: '1' }))).toThrow(/toneMs/);
    expect(() => P.decodeDial(P.encodeDial({ dialId: 0, toneMs: 100, gapMs: 100, digits: '1x' }))).toThrow(/not DTMF/);
    expect(() => P.decodeKey(fromHex('41 01 00 00 00'))).toThrow(/unknown key/);
    expect(() => P.decodeFlag(fromHex('02'), 'X')).toThrow(/0 or 1/);
  });

  it('ignores extra trailing bytes (forward compatibility, §3.3)', () => {
    expect(P.decodeHello(fromHex('01 02 00 00 00 ff ff'))).toEqual({ protoMin: 1, protoMax: 2, resetOutputs: false, heartbeatMs: 0 });
    expect(P.decodeFlag(fromHex('01 99'), 'X')).toBe(true);
  });

  it('maps every key to a code and back', () => {
    const keys = ['0', '9', '*', '#', 'speaker', 'soft4', 'volumeUp'] as const;
    for (const key of keys) expect(P.keyFromCode(P.keyCode(key))).toBe(key);
    expect(P.keyCode('*')).toBe(0x2a);
    expect(P.keyCode('soft4')).toBe(0x97);
    expect(P.keyFromCode(0x98)).toBeNull();
  });
});
