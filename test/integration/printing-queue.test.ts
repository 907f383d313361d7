// The print queue end to end (issue #7): the built daemon on a sim board whose receipt printer is a network
// printer on TCP 9100 (test/support/network-printer.ts decodes what it prints). Jobs go in through the control
// socket. The printer is unplugged with jobs queued and comes back; the daemon is SIGKILLed while the printer
// still prints a job from its buffer, and again while a job waits for paper. Every job prints exactly once.

import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connectControl, type ControlClient } from '../../src/control/client.js';
import { projectRoot } from '../../src/core/paths.js';
import { freeTcpPort, makeTempDir, spawnPeer, stopAllPeers, type PeerProcess } from '../support/index.js';
import { STATUS_OK, STATUS_PAPER_OUT, TcpPrinter } from '../support/network-printer.js';

const MAIN = join(projectRoot(), 'dist', 'src', 'main.js');
const order = (JSON.parse(readFileSync(join(projectRoot(), 'test', 'fixtures', 'slips', 'inputs.json'), 'utf8')) as { zh: { order: Record<string, unknown> } }).zh.order;

let printer: TcpPrinter;
let data: string;
let configFile: string;
let daemon: PeerProcess;
let control: ControlClient;

async function startDaemon(): Promise<void> {
  daemon = await spawnPeer({
    name: 'deskline', command: process.execPath, debianPackage: 'nodejs',
    args: [MAIN, 'start', '--config', configFile, '--data', data, '--port', String(await freeTcpPort())],
    env: { ...process.env, DESKLINE_CONFIG: '' }, ready: { line: /"msg":"deskline started"/ }, readyTimeoutMs: 30_000,
  });
  control = await connectControl(join(data, 'run', 'deskline.sock'));
}

async function print(orderId: string): Promise<string> {
  const { jobIds } = await control.call<{ jobIds: string[] }>('printing.print', { template: 'order', input: { ...order, orderId } });
  return jobIds[0];
}

type Job = { id: string; state: string; note: string | null; attempts: number };
const jobs = () => control.call<Job[]>('printing.jobs');

async function until(what: string, test: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  for (const start = Date.now(); !(await test());) {
    if (Date.now() - start > timeoutMs) throw new Error(`not within ${timeoutMs} ms: ${what}; slips: ${printer.slips().length}; jobs: ${JSON.stringify(await jobs().catch(() => null))}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** How often each order id was printed on a whole slip. */
function printedOrders(): Record<string, number> {
  const count: Record<string, number> = {};
  for (const slip of printer.slips()) {
    const id = /订单号\s+(A-\d+)/.exec(slip)?.[1];
    if (id && slip.includes('[QR] https://maps.google.com/')) count[id] = (count[id] ?? 0) + 1;
  }
  return count;
}

beforeAll(async () => {
  const port = await freeTcpPort();
  printer = new TcpPrinter(port, { cjkEncoding: 'gb18030', paperWidthMm: 80 });
  await printer.start();
  data = await makeTempDir('printing-data');
  const board = join(data, 'shop-rig.json');
  await writeFile(board, JSON.stringify({ extends: 'sim', name: 'Sim board with a network receipt printer', printer: { driver: 'network', host: '127.0.0.1', port, paperWidthMm: 80 } }));
  configFile = join(data, 'deskline.json');
  await writeFile(configFile, JSON.stringify({ board, printing: { encoding: 'gb18030', timeZone: 'Asia/Shanghai' } }));
  await startDaemon();
});

afterAll(async () => {
  control?.close();
  await printer?.stop();
  await stopAllPeers();
});

describe('print queue (daemon, a TCP 9100 printer)', () => {
  it('prints every job exactly once through an unplug and replug and two SIGKILLs', async () => {
    for (const id of ['A-1', 'A-2']) await print(id);
    await until('A-1 and A-2 printed', () => printer.slips().length >= 2);

    // unplugged: jobs wait (with a reason) and print once it is back
    await printer.stop();
    for (const id of ['A-3', 'A-4']) await print(id);
    await until('the queue says why it waits', async () => (await jobs()).some((j) => j.state === 'queued' && /not reachable|printer error/.test(j.note ?? '')));
    await printer.start();
    await until('A-3 and A-4 printed after the replug', () => printedOrders()['A-4'] === 1, 30_000);

    // killed while the printer still prints A-5 from its buffer: the job was handed over, it is not printed again
    printer.printDelayMs = 1500;
    const a5 = await print('A-5');
    await until('A-5 handed to the printer', async () => (await jobs()).find((j) => j.id === a5)?.state === 'printed');
    control.close();
    daemon.child.kill('SIGKILL');
    await daemon.exited;
    printer.printDelayMs = 0;
    await startDaemon();

    // killed while a job waits for paper: it prints once the paper is back, after the restart
    printer.replies = { 1: STATUS_OK, 2: STATUS_OK, 4: STATUS_PAPER_OUT };
    const a6 = await print('A-6');
    await until('A-6 waits for paper', async () => /out of paper/.test((await jobs()).find((j) => j.id === a6)?.note ?? ''));
    control.close();
    daemon.child.kill('SIGKILL');
    await daemon.exited;
    await startDaemon();
    printer.replies = { 1: STATUS_OK, 2: STATUS_OK, 4: STATUS_OK };
    await until('A-6 printed after the restart', () => printedOrders()['A-6'] === 1, 30_000);
    await new Promise((r) => setTimeout(r, 1000)); // anything printed twice would show by now

    expect(printedOrders()).toEqual({ 'A-1': 1, 'A-2': 1, 'A-3': 1, 'A-4': 1, 'A-5': 1, 'A-6': 1 });
    expect((await jobs()).map((j) => j.state)).toEqual(['printed', 'printed', 'printed', 'printed', 'printed', 'printed']);
  });

  it('deskline print refuses to write straight to the printer the running daemon owns', async () => {
    const input = join(data, 'order.json');
    await writeFile(input, JSON.stringify({ ...order, orderId: 'A-9' }));
    const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile(process.execPath, [MAIN, 'print', 'order', '--input', input, '--printer', `tcp:127.0.0.1:${printer.port}`, '--config', configFile, '--data', data],
        { env: { ...process.env, DESKLINE_CONFIG: '' }, timeout: 20_000 }, (error, _stdout, stderr) => resolve({ code: error ? (error.code as number) : 0, stderr }));
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/the running daemon owns this printer/);
    expect(printedOrders()['A-9']).toBeUndefined();
  });
});
