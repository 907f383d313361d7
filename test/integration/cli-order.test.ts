// `deskline order` and `deskline drawer` through the built CLI against the built daemon on the sim board: the catalog,
// an order by code, barcode and name with a note and its slip on the virtual printer, the slip printed again, the cash
// drawer kicked through the print queue, and input errors that say what to fix.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connectControl } from '../../src/control/client.js';
import { runDeskline, startSimDaemon, type SimDaemon, type SimPage } from '../support/deskline.js';
import { stopAllPeers } from '../support/index.js';
import { waitFor } from '../support/wait.js';

interface Placed { order: { orderId: string; summary: string; total: number; number: string | null; note: string | null }; jobIds: string[] }

const dir = mkdtempSync(join(tmpdir(), 'cli-order-'));
const data = join(dir, 'data');
const configPath = join(dir, 'config.json');
const deskline = (args: string[]) => runDeskline(['--config', configPath, '--data', data, ...args]);
let rig: SimDaemon;
let page: SimPage;

beforeAll(async () => {
  writeFileSync(configPath, JSON.stringify({
    device: { name: 'Garden Shop', country: 'US' },
    printing: { encoding: 'cp437', drawer: { pin: 5, pulseMs: 120 } },
    orders: {
      currency: 'USD',
      catalog: [{ code: '12', name: 'Noodles', unitPrice: 1800, barcode: '6901234567892' }, { code: '7', name: 'Soup', unitPrice: 650 }],
      shop: { name: 'Wang Noodle House' },
    },
  }));
  rig = await startSimDaemon({ config: configPath, data });
  page = rig.page;
}, 60_000);

afterAll(async () => {
  if (rig) expect(await rig.stop()).toBe(0);
  await stopAllPeers();
});

const slipOf = async (job: string) => {
  await waitFor(() => page.slips.some((s) => s.job === job), `slip ${job} on the virtual printer`, 10_000);
  return page.slips.find((s) => s.job === job)!.text.split('\n').map((line) => line.replace(/\s+/g, ' ').trim());
};

describe('deskline order and drawer', () => {
  it('lists the catalog, places an order by code, barcode and name with a note, and prints its slip (again on request)', async () => {
    const catalog = await deskline(['order', 'catalog']);
    expect({ code: catalog.code, stderr: catalog.stderr }).toEqual({ code: 0, stderr: '' });
    expect(catalog.stdout).toMatch(/12\s+Noodles\s+18\.00\s+6901234567892/);

    const placed = await deskline(['order', 'place', '--number', '2125550177', '--item', 'barcode:6901234567892x2', '--item', 'name:soup', '--note', 'Ring twice', '--print', '--json']);
    expect({ code: placed.code, stderr: placed.stderr }).toEqual({ code: 0, stderr: '' });
    const { order, jobIds } = JSON.parse(placed.stdout) as Placed;
    expect(order).toMatchObject({ total: 2 * 1800 + 650, number: '2125550177', note: 'Ring twice', summary: '2x Noodles, 1x Soup, 42.50' });
    const lines = await slipOf(jobIds[0]);
    expect(lines).toEqual(expect.arrayContaining(['Wang Noodle House', '(212) 555-0177', 'Noodles x2 36.00', 'Soup x1 6.50', 'Note: Ring twice']));

    const again = await deskline(['order', 'print', order.orderId]);
    expect(again.code).toBe(0);
    const job = /job (p\d+)/.exec(again.stdout)?.[1];
    expect(job).toBeDefined();
    expect(await slipOf(job!)).toEqual(lines);

    // a counter order: no number
    const counter = await deskline(['order', 'place', '--item', '7x3']);
    expect(counter.code).toBe(0);
    expect(counter.stdout).toMatch(/^order [0-9a-f-]{36}: 3x Soup, 19\.50$/m);
  });

  it('refuses what is not an order, saying what to fix', async () => {
    const none = await deskline(['order', 'place', '--number', '2125550177']);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/needs at least one --item \(e\.g\. --item 12x2\)/);
    const unknown = await deskline(['order', 'place', '--item', '99x1']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/items\[0\]\.code: no item 99 in the catalog \(ORDER_UNKNOWN_ITEM\)/);
    const twice = await deskline(['order', 'place', '--item', '12', '--item', 'barcode:6901234567892']);
    expect(twice.stderr).toMatch(/items\[1\]\.barcode: Noodles is already on the order/);
    const number = await deskline(['order', 'place', '--number', 'call me', '--item', '12']);
    expect(number.stderr).toMatch(/number: the customer's number is 1 to 32 digits/);
    const id = await deskline(['order', 'print', 'nope']);
    expect(id.stderr).toMatch(/ORDER_BAD_ID/);
  });

  it('kicks the cash drawer through the print queue with the full ESC p on the configured pin', async () => {
    const kicked = await deskline(['drawer', '--json']);
    expect({ code: kicked.code, stderr: kicked.stderr }).toEqual({ code: 0, stderr: '' });
    const [job] = (JSON.parse(kicked.stdout) as { jobIds: string[] }).jobIds;
    const control = await connectControl(join(data, 'run', 'deskline.sock'));
    try {
      const printed = async () => {
        const jobs = (await control.call('printing.jobs')) as Array<{ id: string; template: string; state: string }>;
        return jobs.some((j) => j.id === job && j.template === 'drawer' && j.state === 'printed');
      };
      const deadline = Date.now() + 10_000;
      while (!(await printed()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
      expect(await printed()).toBe(true);
    } finally {
      control.close();
    }
  });
});
