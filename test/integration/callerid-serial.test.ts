import { afterAll, describe, expect, it } from '@jest/globals';
import { SerialPort } from 'serialport';
import { concatBytes } from '../../drivers/common/bytes.js';
import { SerialCallerIdSource } from '../../drivers/callerid/serial.js';
import type { CallerId, CallerIdSourceEvents } from '../../drivers/callerid/types.js';
import { startSocatPtyPair, stopAllPeers } from '../support/index.js';
import { EXPECTED, SEIZURE, VECTORS, hex } from '../unit/callerid/vectors.js';

afterAll(async () => {
  await stopAllPeers();
});

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(10);
  }
}

/**
 * The far end of the line: the other pty end, opened through serialport (it opens with O_NOCTTY; a plain
 * fs.open would make the pty the test process's controlling terminal and socat's exit would SIGHUP it).
 */
async function openLine(path: string): Promise<SerialPort> {
  const port = new SerialPort({ path, baudRate: 9600, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((e) => (e ? reject(e) : resolve())));
  return port;
}

function closeLine(port: SerialPort): Promise<void> {
  return new Promise((resolve) => (port.isOpen ? port.close(() => resolve()) : resolve()));
}

/** Writes the bytes into the pty in pieces, with pauses so they arrive as separate reads. */
async function writeSplit(port: SerialPort, bytes: Uint8Array, pieces: number[]): Promise<void> {
  let offset = 0;
  for (const n of [...pieces, bytes.length]) {
    const part = bytes.subarray(offset, Math.min(bytes.length, offset + n));
    if (part.length) {
      port.write(Buffer.from(part));
      await new Promise<void>((resolve, reject) => port.drain((e) => (e ? reject(e) : resolve())));
    }
    offset += part.length;
    await delay(15);
    if (offset >= bytes.length) break;
  }
}

describe('SerialCallerIdSource on a socat pty pair', () => {
  it('fsk-raw: seizure noise, split writes, a bad message, then good ones', async () => {
    const pair = await startSocatPtyPair();
    const source = new SerialCallerIdSource({ path: pair.b, baudRate: 1200, format: 'fsk-raw', idleMs: 400 });
    const received: CallerId[] = [];
    const rejected: CallerIdSourceEvents['callerIdRejected'][] = [];
    source.on('callerIdReceived', (c) => void received.push(c));
    source.on('callerIdRejected', (r) => void rejected.push(r));
    await source.open();
    const line = await openLine(pair.a);
    try {
      const noise = Uint8Array.of(0x00, 0x13, 0x7f, 0xfe, 0x55, 0xaa);
      await writeSplit(line, concatBytes(noise, SEIZURE, hex(VECTORS.bad), SEIZURE, hex(VECTORS.mdmf)), [3, 20, 17, 1, 30]);
      await until(() => received.length === 1, 'the MDMF caller ID');
      expect(received).toEqual([EXPECTED.mdmf]);
      expect(rejected.map((r) => r.code)).toEqual(['CALLERID_BAD_CHECKSUM']);
      await writeSplit(line, concatBytes(SEIZURE, hex(VECTORS.sdmf)), [35, 2, 2]);
      await until(() => received.length === 2, 'the SDMF caller ID');
      expect(received[1]).toEqual(EXPECTED.sdmf);
      // a burst that stops short: rejected once the line is idle, never a caller ID
      await writeSplit(line, concatBytes(SEIZURE, hex(VECTORS.mdmfPrivate).subarray(0, 12)), [10]);
      await until(() => rejected.length === 2, 'the truncated message');
      expect(rejected[1].code).toBe('CALLERID_TRUNCATED');
      expect(received).toHaveLength(2);
    } finally {
      await closeLine(line);
      await source.close();
    }
  });

  it('text-lines at 9600: a modem-style message and a caller-ID box line', async () => {
    const pair = await startSocatPtyPair();
    const source = new SerialCallerIdSource({ path: pair.b, baudRate: 9600, format: 'text-lines', idleMs: 400 });
    const received: CallerId[] = [];
    source.on('callerIdReceived', (c) => void received.push(c));
    await source.open();
    const line = await openLine(pair.a);
    try {
      const text = 'RING\r\n\r\nDATE = 1015\r\nTIME = 2038\r\nNMBR = 8475550001\r\nNAME = U.S.ROBOTICS\r\n\r\n01 I S 0000 G A1 09/26 11:28 AM 800-555-1212   ACME HARDWARE\r\n';
      await writeSplit(line, new TextEncoder().encode(text), [4, 9, 30, 1, 40]);
      await until(() => received.length === 2, 'two caller IDs');
      expect(received.map((c) => [c.number, c.name, c.month, c.hour])).toEqual([['8475550001', 'U.S.ROBOTICS', 10, 20], ['8005551212', 'ACME HARDWARE', 9, 11]]);
    } finally {
      await closeLine(line);
      await source.close();
    }
  });

  it('a port that cannot be opened is DRIVER_OPEN_FAILED', async () => {
    const source = new SerialCallerIdSource({ path: '/dev/deskline-no-such-port', baudRate: 1200, format: 'fsk-raw' });
    await expect(source.open()).rejects.toMatchObject({ code: 'DRIVER_OPEN_FAILED' });
  });
});
