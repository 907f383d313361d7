// NetworkReceiptPrinter against a local TCP server acting as a printer on port 9100: it records the
// bytes and answers DLE EOT from a settable state. The server goes away and comes back on the same
// port: the driver reconnects with back-off and reports it.
import { afterEach, describe, expect, it } from '@jest/globals';
import { cjkLine, cut, drawerKick, initialize } from '../../drivers/printer/escpos.js';
import { NetworkReceiptPrinter } from '../../drivers/printer/network.js';
import type { PrinterStatus } from '../../drivers/printer/types.js';
import { freeTcpPort } from '../support/ports.js';
import { TcpPrinter } from '../support/network-printer.js';
import { waitFor } from '../support/wait.js';

let cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const fn of cleanup.reverse()) await fn();
  cleanup = [];
});

describe('NetworkReceiptPrinter over TCP 9100', () => {
  it('prints, reads status, survives the printer going away and coming back', async () => {
    const port = await freeTcpPort();
    const peer = new TcpPrinter(port);
    await peer.start();
    cleanup.push(() => peer.stop());
    const printer = new NetworkReceiptPrinter({ host: '127.0.0.1', port, paperWidthMm: 80, statusPollMs: 100, backoff: { initialMs: 50, maxMs: 400 } });
    cleanup.push(() => printer.close());
    const events: boolean[] = [];
    const statuses: PrinterStatus[] = [];
    printer.on('connectionChanged', ({ connected }) => events.push(connected));
    printer.on('statusChanged', (s) => statuses.push(s));

    await printer.open();
    expect(printer.connected).toBe(true);
    const job = Uint8Array.of(...initialize(), ...cjkLine('测试'), ...drawerKick(), ...cut({ feed: 3 }));
    await printer.write(job);
    await waitFor(() => Buffer.from(peer.received).includes(Buffer.from(job)), 'the job at the printer');
    expect(await printer.status()).toEqual({ online: true, coverOpen: false, paperNearEnd: false, paperOut: false });

    // status changes are noticed by the poll
    peer.replies = { 1: 0x1a, 2: 0x16, 4: 0x12 };
    await waitFor(() => statuses.some((s) => s.coverOpen), 'cover open reported');
    peer.replies = { 1: 0x12, 2: 0x12, 4: 0x1e };
    await waitFor(() => statuses.at(-1)?.paperNearEnd === true, 'paper near end reported');

    // the printer goes away
    await peer.stop();
    await waitFor(() => events.at(-1) === false, 'disconnect reported');
    await expect(printer.write(Uint8Array.of(0x0a))).rejects.toMatchObject({ code: 'DRIVER_IO' });
    await expect(printer.status()).rejects.toMatchObject({ code: 'DRIVER_IO' });

    // ...and comes back with paper out: reconnect, then the poll reports the new status
    peer.replies = { 1: 0x1a, 2: 0x32, 4: 0x72 };
    peer.received = [];
    await peer.start();
    await waitFor(() => events.at(-1) === true, 'reconnect reported', 5000);
    await waitFor(() => statuses.at(-1)?.paperOut === true, 'paper out reported');
    await printer.write(Uint8Array.of(0x1b, 0x40));
    await waitFor(() => Buffer.from(peer.received).includes(Buffer.from([0x1b, 0x40])), 'bytes after reconnect');
    expect(events).toEqual([true, false, true]);
    expect(printer.stats.parser.droppedBytes).toBeGreaterThan(0); // the stray NULs were dropped, not taken for replies
  });

  it('open() resolves with no printer there and connects when it appears', async () => {
    const port = await freeTcpPort();
    const printer = new NetworkReceiptPrinter({ host: '127.0.0.1', port, paperWidthMm: 58, statusPollMs: 0, backoff: { initialMs: 50, maxMs: 200 } });
    cleanup.push(() => printer.close());
    const events: boolean[] = [];
    printer.on('connectionChanged', ({ connected }) => events.push(connected));
    await printer.open();
    expect(printer.connected).toBe(false);
    const peer = new TcpPrinter(port);
    await peer.start();
    cleanup.push(() => peer.stop());
    await waitFor(() => printer.connected, 'connected to the late printer', 5000);
    expect(events).toEqual([true]);
    await printer.close();
    await waitFor(() => peer.connections === 0, 'the driver closed its socket');
  });
});
