import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { VirtualReceiptPrinter } from '../../../drivers/printer/virtual/printer.js';
import { EventBus } from '../../../src/core/bus.js';
import type { BusEvents } from '../../../src/core/events.js';
import { silentLogger } from '../../../src/core/log.js';
import { validateConfig } from '../../../src/config/load.js';
import { ControlRegistry } from '../../../src/control/protocol.js';
import { projectRoot } from '../../../src/core/paths.js';
import { PrintingService } from '../../../src/printing/service.js';
import { FakeClock } from '../../support/fake-clock.js';
import { fileStoresForTests } from '../../support/file-store.js';

const stores = fileStoresForTests();
const inputs = JSON.parse(readFileSync(join(projectRoot(), 'test', 'fixtures', 'slips', 'inputs.json'), 'utf8')) as { zh: { order: Record<string, unknown> } };
const config = validateConfig({ printing: { encoding: 'gb18030', timeZone: 'Asia/Shanghai' } }).config!;

async function setUp(dir: string, printer = new VirtualReceiptPrinter({ paperWidthMm: 80, cjkEncoding: 'gb18030' })) {
  const clock = new FakeClock();
  const bus = new EventBus<BusEvents>(silentLogger());
  const changes: Array<BusEvents['printJobChanged']> = [];
  bus.on('test', 'printJobChanged', (c) => void changes.push(c));
  const store = stores.open(dir);
  const service = new PrintingService({ bus, clock, log: silentLogger(), store, control: new ControlRegistry(), printer, config: () => config });
  await service.start();
  return { clock, service, printer, changes, store };
}

/** Lets the queue's promises run (store writes are real file I/O). */
async function settle(until: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !until(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(until()).toBe(true);
}

const slipsOf = (printer: VirtualReceiptPrinter) => printer.jobsText().filter((t) => t.includes('王丽'));

describe('print queue', () => {
  it('renders a slip, queues it durably and prints it once; the paper decodes to the slip', async () => {
    const { service, printer, changes } = await setUp(await stores.tempDir());
    const { jobIds } = await service.print({ template: 'order', input: inputs.zh.order, by: 'phone' });
    await settle(() => changes.some((c) => c.state === 'printed'));
    expect(jobIds).toHaveLength(1);
    expect(slipsOf(printer)).toHaveLength(1);
    expect(slipsOf(printer)[0]).toContain('上海市徐汇区花园路 12 号 3 楼');
    expect(changes.map((c) => c.state)).toEqual(['queued', 'printing', 'printed']);
    expect(service.jobs()[0]).toMatchObject({ attempts: 1, by: 'phone', template: 'order' });
  });

  it('refuses an unknown template and bad input with clear errors, queuing nothing', async () => {
    const { service } = await setUp(await stores.tempDir());
    await expect(service.print({ template: 'menu', input: {} })).rejects.toMatchObject({ code: 'PRINT_UNKNOWN_TEMPLATE', message: expect.stringMatching(/order, customer-card/) });
    await expect(service.print({ template: 'order', input: { ...inputs.zh.order, items: [{ name: 'x', qty: 1.5, unitPrice: 1 }] } })).rejects.toMatchObject({ code: 'SLIP_INVALID_INPUT' });
    expect(service.jobs()).toEqual([]);
  });

  it('waits while the printer is unplugged or out of paper, and prints each job once when it is back', async () => {
    const { service, printer, clock } = await setUp(await stores.tempDir());
    printer.setConnected(false);
    await service.print({ template: 'order', input: inputs.zh.order });
    await settle(() => /not reachable/.test(service.jobs()[0]?.note ?? ''));
    expect(service.jobs()[0].state).toBe('queued');
    printer.setStatus({ paperOut: true }); // plugged back in without paper
    printer.setConnected(true);
    clock.advance(5000);
    await settle(() => /out of paper/.test(service.jobs()[0]?.note ?? ''));
    expect(slipsOf(printer)).toHaveLength(0);
    await service.print({ template: 'order', input: inputs.zh.order });
    printer.setStatus({ paperOut: false }); // the printer says so itself: no poll needed
    await settle(() => service.jobs().every((j) => j.state === 'printed'));
    expect(slipsOf(printer)).toHaveLength(2);
  });

  it('cancels a queued job, and only a queued one', async () => {
    const { service, printer } = await setUp(await stores.tempDir());
    printer.setConnected(false);
    const { jobIds: [id] } = await service.print({ template: 'order', input: inputs.zh.order });
    await expect(service.cancel(id)).resolves.toMatchObject({ state: 'cancelled' });
    await expect(service.cancel(id)).rejects.toMatchObject({ code: 'PRINT_JOB_NOT_QUEUED' });
    await expect(service.cancel('p999999')).rejects.toMatchObject({ code: 'PRINT_JOB_NOT_FOUND' });
    printer.setConnected(true);
    await new Promise((r) => setTimeout(r, 50));
    expect(slipsOf(printer)).toHaveLength(0);
  });

  it('after a restart prints the queued jobs once, and again a job that was being written when the runtime died', async () => {
    const dir = await stores.tempDir();
    const first = await setUp(dir);
    first.printer.setConnected(false);
    await first.service.print({ template: 'order', input: inputs.zh.order, copies: 2 });
    await settle(() => first.service.jobs().some((j) => j.note !== null));
    await first.service.stop();
    await first.store.close();
    // the runtime died during the first job's write: its state on disk is `printing`
    const { PRINT_JOBS } = await import('../../../src/printing/service.js');
    const store = stores.open(dir);
    const jobs = await store.collection(PRINT_JOBS);
    await jobs.update('p000001', (job) => ({ ...job, state: 'printing', attempts: 1 }));
    await store.close();

    const second = await setUp(dir);
    await settle(() => second.service.jobs().every((j) => j.state === 'printed'));
    expect(slipsOf(second.printer)).toHaveLength(2);
    expect(second.service.jobs()[0]).toMatchObject({ attempts: 2, note: expect.stringMatching(/interrupted while printing/) });
    expect(second.service.jobs()[1]).toMatchObject({ attempts: 1 });
  });

  it('opens the cash drawer with the full ESC p on the configured pin, as the next job behind the slips already queued', async () => {
    const { service, printer, changes } = await setUp(await stores.tempDir());
    printer.setConnected(false);
    await service.print({ template: 'order', input: inputs.zh.order });
    const { jobIds: [drawerJob] } = await service.openDrawer('cli');
    printer.setConnected(true);
    await settle(() => changes.some((c) => c.id === drawerJob && c.state === 'printed'));
    // the slip first, whole, then the kick: ESC p 0 t1 t2 with t1 = 100 ms / 2, t2 = 200 ms / 2
    const items = printer.paper().items;
    expect(items.at(-1)).toEqual({ kind: 'drawer', pin: 2, onMs: 100, offMs: 200 });
    expect(items.at(-2)).toMatchObject({ kind: 'cut' });
    expect(printer.output().subarray(-5)).toEqual(Buffer.from([0x1b, 0x70, 0x00, 50, 100]));
    expect(changes.filter((c) => c.id === drawerJob).map((c) => [c.template, c.state])).toEqual([['drawer', 'queued'], ['drawer', 'printing'], ['drawer', 'printed']]);
  });
});
