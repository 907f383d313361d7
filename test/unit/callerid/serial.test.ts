import { PassThrough } from 'node:stream';
import { describe, expect, it } from '@jest/globals';
import { concatBytes } from '../../../drivers/common/bytes.js';
import { SerialCallerIdSource, type ByteSource, type OpenByteSource } from '../../../drivers/callerid/serial.js';
import type { CallerId, CallerIdSourceEvents } from '../../../drivers/callerid/types.js';
import { EXPECTED, SEIZURE, VECTORS, ascii, hex, message, params } from './vectors.js';

/** A byte source the test writes into (the seam tests use instead of a port). */
function fakePort(): { open: OpenByteSource; stream: PassThrough; opened: Array<{ path: string; baudRate: number }>; closed: () => boolean } {
  const stream = new PassThrough();
  const opened: Array<{ path: string; baudRate: number }> = [];
  let closed = false;
  const source: ByteSource = {
    stream,
    close: async () => {
      closed = true;
    },
  };
  return { open: async (p) => (opened.push(p), source), stream, opened, closed: () => closed };
}

function record(source: SerialCallerIdSource) {
  const seen: { received: CallerId[]; rejected: CallerIdSourceEvents['callerIdRejected'][]; mwi: boolean[]; failed: CallerIdSourceEvents['sourceFailed'][] } = {
    received: [], rejected: [], mwi: [], failed: [],
  };
  source.on('callerIdReceived', (c) => void seen.received.push(c));
  source.on('callerIdRejected', (r) => void seen.rejected.push(r));
  source.on('messageWaitingChanged', (m) => void seen.mwi.push(m.messageWaiting));
  source.on('sourceFailed', (f) => void seen.failed.push(f));
  return seen;
}

const tick = (ms = 0) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(check: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await tick(5);
  }
}

describe('SerialCallerIdSource (byte-source seam)', () => {
  it('fsk-raw: emits caller IDs, rejections and message waiting in arrival order', async () => {
    const port = fakePort();
    const source = new SerialCallerIdSource({ path: '/dev/ttyCID', baudRate: 1200, format: 'fsk-raw', openByteSource: port.open });
    const seen = record(source);
    await source.open();
    expect(source.isOpen).toBe(true);
    expect(port.opened).toEqual([{ path: '/dev/ttyCID', baudRate: 1200 }]);
    const bytes = concatBytes(SEIZURE, hex(VECTORS.bad), SEIZURE, hex(VECTORS.mdmf), message(0x82, params([0x0b, [0xff]])), hex(VECTORS.sdmf));
    for (let i = 0; i < bytes.length; i += 7) port.stream.write(bytes.subarray(i, i + 7));
    await until(() => seen.received.length === 2 && seen.mwi.length === 1);
    expect(seen.received).toEqual([EXPECTED.mdmf, EXPECTED.sdmf]);
    expect(seen.rejected).toEqual([{ reason: expect.stringMatching(/checksum/), code: 'CALLERID_BAD_CHECKSUM', bytes: hex(VECTORS.bad) }]);
    expect(seen.mwi).toEqual([true]);
    await source.close();
    expect(port.closed()).toBe(true);
    expect(source.isOpen).toBe(false);
  });

  it('fsk-raw: when the line goes idle, a truncated message is rejected and a message behind a false start found', async () => {
    const port = fakePort();
    const source = new SerialCallerIdSource({ path: 'x', baudRate: 1200, format: 'fsk-raw', idleMs: 30, openByteSource: port.open });
    const seen = record(source);
    await source.open();
    port.stream.write(concatBytes(Uint8Array.of(0x80, 0x30), hex(VECTORS.sdmf)));
    await tick(10);
    expect(seen.received).toEqual([]); // still waiting for what the false start claims
    await until(() => seen.received.length === 1);
    expect(seen.received).toEqual([EXPECTED.sdmf]);
    expect(seen.rejected.map((r) => r.code)).toEqual(['CALLERID_TRUNCATED']);
    await source.close();
  });

  it('text-lines: modem style and caller-ID box lines; a Bad checksum line is only a rejection', async () => {
    const port = fakePort();
    const source = new SerialCallerIdSource({ path: 'x', baudRate: 9600, format: 'text-lines', idleMs: 30, openByteSource: port.open });
    const seen = record(source);
    await source.open();
    const text = 'RING\r\n\r\nDATE = 1015\r\nTIME = 2038\r\nNMBR = 8475550001\r\nNAME = U.S.ROBOTICS\r\n\r\n' +
      '01 I S 0000 B A1 09/26 11:28 AM 800-555-1212   ACME HARDWARE\r\n' +
      '01 I S 0000 G A1 09/26 11:28 AM 800-555-1212   ACME HARDWARE\r\n' +
      'NMBR = P\r\n'; // no closing line: completed when the line goes idle
    const bytes = Uint8Array.from(ascii(text));
    for (let i = 0; i < bytes.length; i += 5) port.stream.write(bytes.subarray(i, i + 5));
    await until(() => seen.received.length === 3);
    expect(seen.received.map((c) => [c.number, c.name, c.numberAbsent])).toEqual([['8475550001', 'U.S.ROBOTICS', null], ['8005551212', 'ACME HARDWARE', null], [null, null, 'private']]);
    expect(seen.rejected.map((r) => r.code)).toEqual(['CALLERID_UNIT_BAD_CHECKSUM']);
    await source.close();
  });

  it('nothing is emitted after close, and close is idempotent', async () => {
    const port = fakePort();
    const source = new SerialCallerIdSource({ path: 'x', baudRate: 1200, format: 'fsk-raw', openByteSource: port.open });
    const seen = record(source);
    await source.open();
    await source.open(); // already open: no second port
    expect(port.opened).toHaveLength(1);
    await source.close();
    await source.close();
    port.stream.write(hex(VECTORS.sdmf));
    await tick(20);
    expect(seen.received).toEqual([]);
  });

  it('an open failure is a DriverError DRIVER_OPEN_FAILED naming the port', async () => {
    const source = new SerialCallerIdSource({
      path: '/dev/nope', baudRate: 1200, format: 'fsk-raw',
      openByteSource: async () => {
        throw new Error('No such file or directory');
      },
    });
    await expect(source.open()).rejects.toMatchObject({ code: 'DRIVER_OPEN_FAILED', message: expect.stringMatching(/\/dev\/nope: No such file/) });
    expect(source.isOpen).toBe(false);
  });

  it('a read error or an unexpected close is reported as sourceFailed and closes the source', async () => {
    const port = fakePort();
    const source = new SerialCallerIdSource({ path: '/dev/ttyCID', baudRate: 1200, format: 'fsk-raw', openByteSource: port.open });
    const seen = record(source);
    await source.open();
    port.stream.destroy(new Error('device disconnected'));
    await until(() => seen.failed.length > 0);
    expect(seen.failed[0]).toEqual({ code: 'DRIVER_IO', message: expect.stringMatching(/\/dev\/ttyCID: device disconnected/) });
    expect(source.isOpen).toBe(false);
    expect(port.closed()).toBe(true);
  });

  it('refuses an unknown format', () => {
    expect(() => new SerialCallerIdSource({ path: 'x', baudRate: 1200, format: 'morse' as 'fsk-raw' })).toThrow(expect.objectContaining({ code: 'DRIVER_INVALID_ARGUMENT' }));
  });
});
