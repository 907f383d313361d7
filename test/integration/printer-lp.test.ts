// LpReceiptPrinter on a socat pty pair standing in for /dev/usb/lpN: the driver opens one end as
// its char device (non-blocking read/write, like usblp), a fake printer on the other end (through
// serialport) records the bytes and answers DLE EOT. Unplug = socat stops, the pty closes and its
// path vanishes; replug = socat starts again on the same path.
import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { SerialPort } from 'serialport';
import { cjkLine, cut, drawerKick, initialize } from '../../drivers/printer/escpos.js';
import { LpReceiptPrinter } from '../../drivers/printer/lp.js';
import type { PrinterStatus } from '../../drivers/printer/types.js';
import { makeTempDir, spawnPeer, stopAllPeers, type PeerProcess } from '../support/process.js';
import { closePort, openPort } from '../support/serial.js';
import { waitFor } from '../support/wait.js';

afterAll(stopAllPeers);

/** socat pty pair on fixed link paths in `dir` (so a "replug" brings back the same device path). */
async function ptyPair(dir: string): Promise<{ lp: string; printerSide: string; proc: PeerProcess }> {
  const lp = join(dir, 'lp0');
  const printerSide = join(dir, 'printer');
  const proc = await spawnPeer({
    name: 'socat',
    command: 'socat',
    debianPackage: 'socat',
    args: ['-d', '-d', `pty,rawer,link=${lp}`, `pty,rawer,link=${printerSide}`],
    cwd: dir,
    ready: [{ file: lp }, { file: printerSide }, { line: /starting data transfer loop/ }],
    readyTimeoutMs: 5000,
    stopGraceMs: 1000,
  });
  return { lp, printerSide, proc };
}

/** The printer end: records bytes, answers DLE EOT n from `replies`. */
function fakePrinter(port: SerialPort): { received: number[]; replies: Record<number, number> } {
  const state = { received: [] as number[], replies: { 1: 0x12, 2: 0x12, 4: 0x12 } as Record<number, number> };
  let tail: number[] = [];
  port.on('data', (data: Buffer) => {
    state.received.push(...data);
    const bytes = [...tail, ...data];
    for (let i = 0; i + 2 < bytes.length; i++) if (bytes[i] === 0x10 && bytes[i + 1] === 0x04) port.write(Uint8Array.of(state.replies[bytes[i + 2]] ?? 0x12));
    tail = bytes.slice(-2);
  });
  return state;
}

let cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const fn of cleanup.reverse()) await fn().catch(() => undefined);
  cleanup = [];
});

describe('LpReceiptPrinter on a pty standing in for /dev/usb/lp0', () => {
  it('writes, reads status, notices the unplug and the replug', async () => {
    const dir = await makeTempDir('lp');
    let pair = await ptyPair(dir);
    cleanup.push(() => pair.proc.stop().then(() => undefined));
    let port = await openPort(pair.printerSide);
    cleanup.push(() => closePort(port));
    let peer = fakePrinter(port);

    const printer = new LpReceiptPrinter({ path: pair.lp, paperWidthMm: 80, statusPollMs: 0, idleReadPollMs: 50, backoff: { initialMs: 100, maxMs: 100 } });
    cleanup.push(() => printer.close());
    const events: boolean[] = [];
    const statuses: PrinterStatus[] = [];
    printer.on('connectionChanged', ({ connected }) => events.push(connected));
    printer.on('statusChanged', (s) => statuses.push(s));
    await printer.open();
    expect(printer.connected).toBe(true);

    // every byte value goes through
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    const job = Uint8Array.of(...initialize(), ...cjkLine('한국', 'euc-kr'), ...all, ...drawerKick({ pin: 5 }), ...cut());
    await printer.write(job);
    await waitFor(() => peer.received.length >= job.length, 'the job at the printer');
    expect(Buffer.from(peer.received).equals(Buffer.from(job))).toBe(true);

    expect(await printer.status()).toEqual({ online: true, coverOpen: false, paperNearEnd: false, paperOut: false });
    peer.replies = { 1: 0x1a, 2: 0x32, 4: 0x72 };
    expect(await printer.status()).toEqual({ online: false, coverOpen: false, paperNearEnd: false, paperOut: true });
    expect(statuses).toHaveLength(2);

    // unplug: the pty goes away under the driver
    await closePort(port);
    await pair.proc.stop();
    await waitFor(() => events.at(-1) === false, 'unplug noticed', 5000);
    expect(existsSync(pair.lp)).toBe(false);
    await expect(printer.write(Uint8Array.of(0x0a))).rejects.toMatchObject({ code: 'DRIVER_IO' });

    // replug: the path reappears, the reconnect poll opens it
    pair = await ptyPair(dir);
    port = await openPort(pair.printerSide);
    peer = fakePrinter(port);
    peer.replies = { 1: 0x12, 2: 0x16, 4: 0x12 };
    await waitFor(() => events.at(-1) === true, 'replug noticed', 5000);
    expect(events).toEqual([true, false, true]);
    await printer.write(Uint8Array.of(0x1b, 0x40));
    await waitFor(() => peer.received.length >= 2, 'bytes after the replug');
    expect(await printer.status()).toMatchObject({ coverOpen: true });
  });

  it('open() with no device node waits for it; writes fail with DRIVER_IO meanwhile', async () => {
    const dir = await makeTempDir('lp');
    const printer = new LpReceiptPrinter({ path: join(dir, 'lp0'), paperWidthMm: 58, statusPollMs: 0, backoff: { initialMs: 100, maxMs: 100 } });
    cleanup.push(() => printer.close());
    await printer.open();
    expect(printer.connected).toBe(false);
    await expect(printer.write(Uint8Array.of(0x0a))).rejects.toMatchObject({ code: 'DRIVER_IO' });
    const pair = await ptyPair(dir);
    cleanup.push(() => pair.proc.stop().then(() => undefined));
    await waitFor(() => printer.connected, 'the device node appeared', 5000);
  });
});
