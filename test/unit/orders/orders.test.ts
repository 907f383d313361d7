import { describe, expect, it } from '@jest/globals';
import { validateConfig } from '../../../src/config/load.js';
import type { Config } from '../../../src/config/schema.js';
import { EventBus } from '../../../src/core/bus.js';
import type { BusEvents } from '../../../src/core/events.js';
import { HistoryRepository } from '../../../src/history/repository.js';
import { formatMoney } from '../../../src/orders/money.js';
import { OrdersService, orderSummary } from '../../../src/orders/service.js';
import type { StoredOrder } from '../../../src/orders/types.js';
import type { OrderSlipInput } from '../../../src/printing/templates/types.js';
import { MemoryStore } from '../../../src/store/memory.js';
import { ControlRegistry } from '../../../src/control/protocol.js';
import { parseItemOption } from '../../../src/cli/order.js';
import { FakeClock } from '../../support/fake-clock.js';
import { captureLogger } from '../../support/log.js';

const CATALOG = [
  { code: '12', name: 'Noodles', unitPrice: 1800, barcode: '6901234567892' },
  { code: '7', name: 'Soup', unitPrice: 650 },
  { code: '30', name: 'Tea', unitPrice: 1 },
];

async function rig(overrides: Record<string, unknown> = {}) {
  const { config, issues } = validateConfig({
    device: { name: 'Garden Shop', country: 'CN' },
    orders: { catalog: CATALOG, currency: 'CNY', shop: { name: 'Wang Noodles', phone: '021 5555 0101', address: '1 Shop St' } },
    ...overrides,
  });
  if (!config) throw new Error(JSON.stringify(issues));
  const { log } = captureLogger('warn');
  const bus = new EventBus<BusEvents>(log);
  const clock = new FakeClock();
  const history = await HistoryRepository.open(new MemoryStore());
  const printed: Array<{ template: string; input: OrderSlipInput; by: string }> = [];
  const placed: Array<BusEvents['orderPlaced']> = [];
  const timeline: Array<BusEvents['timelineChanged']> = [];
  bus.on('test', 'orderPlaced', (e) => void placed.push(e));
  bus.on('test', 'timelineChanged', (e) => void timeline.push(e));
  const contacts = new Map([['c-1', { id: 'c-1', name: 'Wang Li', address: '12 Garden Rd, Shanghai', number: '13800138000' }]]);
  const control = new ControlRegistry();
  const orders = new OrdersService({
    bus, clock, log, config: () => config as Config, history: () => history, control,
    printing: {
      print: async (request) => {
        printed.push(request);
        return { jobIds: [`job-${printed.length}`] };
      },
    },
    customer: async ({ contactId, number }) => [...contacts.values()].find((c) => c.id === contactId || (!contactId && c.number === number)) ?? null,
  });
  orders.start();
  /** what the control socket does with a CLI request */
  const call = async (method: string, params?: unknown) => control.get(method)!(params);
  return { orders, history, printed, placed, timeline, clock, control: { call } };
}

describe('money', () => {
  it('formats minor units by the currency: two decimals for CNY and USD, none for KRW and JPY', () => {
    expect(formatMoney(3600, 'CNY')).toBe('36.00');
    expect(formatMoney(5, 'USD')).toBe('0.05');
    expect(formatMoney(-1250, 'USD')).toBe('-12.50');
    expect(formatMoney(36000, 'KRW')).toBe('36000');
    expect(formatMoney(500, 'JPY')).toBe('500');
  });
});

describe('the orders service', () => {
  it('totals in minor units without floating point error, by code or by name', async () => {
    const { orders } = await rig();
    // 0.1 + 0.2 style sums: 3 x 0.01 + 3 x 6.50 must be exactly 19.53
    const order = await orders.createOrder({ number: '13800138000', items: [{ code: '30', qty: 3 }, { name: 'soup', qty: 3 }] });
    expect(order.total).toBe(1953);
    expect(order.items).toEqual([
      { code: '30', name: 'Tea', qty: 3, unitPrice: 1, amount: 3 },
      { code: '7', name: 'Soup', qty: 3, unitPrice: 650, amount: 1950 },
    ]);
    expect(order.summary).toBe('3x Tea, 3x Soup, 19.53');
    expect(orderSummary([{ qty: 2, name: 'Noodles' }], 3600, 'CNY')).toBe('2x Noodles, 36.00');
  });

  it('refuses unknown items, bad quantities, empty and too long orders, and files nothing then', async () => {
    const { orders, history, placed } = await rig();
    await expect(orders.createOrder({ number: '1', items: [{ code: '77', qty: 1 }] })).rejects.toMatchObject({ code: 'ORDER_UNKNOWN_ITEM', message: 'no item 77' });
    await expect(orders.createOrder({ number: '1', items: [{ name: 'pizza', qty: 1 }] })).rejects.toMatchObject({ code: 'ORDER_UNKNOWN_ITEM' });
    await expect(orders.createOrder({ number: '1', items: [{ code: '12', qty: 0 }] })).rejects.toMatchObject({ code: 'ORDER_BAD_QTY' });
    await expect(orders.createOrder({ number: '1', items: [{ code: '12', qty: 100 }] })).rejects.toMatchObject({ code: 'ORDER_BAD_QTY' });
    await expect(orders.createOrder({ number: '1', items: [{ code: '12', qty: 1.5 }] })).rejects.toMatchObject({ code: 'ORDER_BAD_QTY' });
    await expect(orders.createOrder({ number: '1', items: [] })).rejects.toMatchObject({ code: 'ORDER_EMPTY' });
    await expect(orders.createOrder({ number: '1', items: Array.from({ length: 21 }, () => ({ code: '12', qty: 1 })) })).rejects.toMatchObject({ code: 'ORDER_TOO_LONG' });
    await expect(orders.createOrder({ number: '1', items: [{ code: '12', qty: 1 }], note: 'x'.repeat(201) })).rejects.toMatchObject({ code: 'ORDER_BAD_NOTE' });
    expect(history.size).toBe(0);
    expect(placed).toEqual([]);
  });

  it("files the order in the customer's timeline with its lines, and the digest keeps it as the last order", async () => {
    const { orders, history, timeline, clock } = await rig();
    const order = await orders.createOrder({ number: '13800138000', items: [{ code: '12', qty: 2 }], note: ' ring twice ', callId: 'call-1' });
    expect(order.contactId).toBe('c-1');
    const record = (await history.get(order.id)) as StoredOrder;
    expect(record).toMatchObject({
      kind: 'order', orderId: order.orderId, summary: '2x Noodles, 36.00', at: clock.now(), number: '13800138000', numberKey: '+8613800138000',
      contactId: 'c-1', total: 3600, currency: 'CNY', note: 'ring twice', callId: 'call-1',
      items: [{ code: '12', name: 'Noodles', qty: 2, unitPrice: 1800, amount: 3600 }],
    });
    expect(history.summary({ contactId: 'c-1', numberKeys: ['+8613800138000'] }).lastOrder).toMatchObject({ kind: 'order', summary: '2x Noodles, 36.00' });
    expect(timeline).toEqual([{ id: order.id, kind: 'order', change: 'added', number: '13800138000', contactId: 'c-1' }]);
  });

  it('puts orderPlaced on the bus for the cloud', async () => {
    const { orders, placed } = await rig();
    const order = await orders.createOrder({ number: '13900000000', items: [{ code: '7', qty: 1 }] });
    expect(placed).toEqual([{
      orderId: order.orderId, recordId: order.id, at: order.at, number: '13900000000', contactId: null, callId: null,
      items: [{ code: '7', name: 'Soup', qty: 1, unitPrice: 650, amount: 650 }], total: 650, currency: 'CNY', note: null, summary: '1x Soup, 6.50',
    }]);
  });

  it("prints the order slip with the shop, the customer's name, phone and address, the lines, the note and the total", async () => {
    const { orders, printed } = await rig();
    const order = await orders.createOrder({ number: '13800138000', contactId: 'c-1', items: [{ code: '12', qty: 2 }, { code: '7', qty: 1 }], note: 'no chili' });
    expect(await orders.printOrder(order.orderId)).toEqual({ jobIds: ['job-1'] });
    expect(printed).toHaveLength(1);
    expect(printed[0].template).toBe('order');
    expect(printed[0].by).toBe('phone');
    expect(printed[0].input).toEqual({
      shop: { name: 'Wang Noodles', phone: '021 5555 0101', address: '1 Shop St' },
      orderId: order.orderId.slice(0, 8), at: order.at,
      customer: { name: 'Wang Li', phone: expect.stringContaining('138'), address: '12 Garden Rd, Shanghai' },
      items: [{ name: 'Noodles', qty: 2, unitPrice: 1800 }, { name: 'Soup', qty: 1, unitPrice: 650 }],
      currency: 'CNY', total: 4250, note: 'no chili',
    });
  });

  it('finds an order it does not remember in the history (after a restart), and says when there is none', async () => {
    const { orders, printed } = await rig();
    const order = await orders.createOrder({ number: '13800138000', items: [{ code: '12', qty: 1 }] });
    orders.stop(); // forgets the recent orders
    await orders.printOrder(order.orderId, 'cli');
    expect(printed.map((p) => [p.input.total, p.by])).toEqual([[1800, 'cli']]);
    await expect(orders.printOrder('nope')).rejects.toMatchObject({ code: 'ORDER_NOT_FOUND' });
  });

  it('uses the device name for the shop when orders.shop.name is empty', async () => {
    const { orders, printed } = await rig({ orders: { catalog: CATALOG, currency: 'CNY' } });
    const order = await orders.createOrder({ number: '13800138000', items: [{ code: '12', qty: 1 }] });
    await orders.printOrder(order.orderId);
    expect(printed[0].input.shop).toEqual({ name: 'Garden Shop', phone: null, address: null });
  });

  it('takes orders from the CLI through the control commands: the catalog, place (by code, barcode or name) with print, get and print again', async () => {
    const { control, printed, history } = await rig();
    await expect(control.call('orders.catalog', undefined)).resolves.toMatchObject({ currency: 'CNY', items: expect.arrayContaining([expect.objectContaining({ code: '12', barcode: '6901234567892' })]) });
    const placed = await control.call('orders.place', {
      number: '13800138000', note: 'ring twice', print: true,
      items: [{ barcode: '6901234567892', qty: 2 }, { name: 'soup', qty: 1 }, { code: '30', qty: 1 }],
    }) as { order: StoredOrder; jobIds: string[] };
    expect(placed.order).toMatchObject({ total: 2 * 1800 + 650 + 1, note: 'ring twice', contactId: 'c-1', items: [{ code: '12', qty: 2 }, { code: '7', qty: 1 }, { code: '30', qty: 1 }] });
    expect(placed.jobIds).toEqual(['job-1']);
    expect(printed[0].by).toBe('cli');
    await expect(control.call('orders.get', { orderId: placed.order.orderId })).resolves.toMatchObject({ orderId: placed.order.orderId });
    await expect(control.call('orders.print', { orderId: placed.order.orderId })).resolves.toEqual({ jobIds: ['job-2'] });
    // a counter order has no number
    const counter = await control.call('orders.place', { items: [{ code: '30', qty: 3 }] }) as { order: StoredOrder; jobIds: string[] };
    expect(counter).toMatchObject({ order: { number: null, contactId: null, total: 3 }, jobIds: [] });
    expect(history.size).toBe(2);
  });

  it('refuses bad order commands with what was wrong and where, filing nothing', async () => {
    const { control, history } = await rig();
    const refused = (params: unknown) => control.call('orders.place', params);
    await expect(refused({ items: 'noodles' })).rejects.toMatchObject({ code: 'ORDER_BAD_ITEMS' });
    await expect(refused({ items: [{ qty: 2 }] })).rejects.toMatchObject({ code: 'ORDER_BAD_ITEM', message: expect.stringMatching(/^items\[0\]: /) });
    await expect(refused({ items: [{ code: '12', barcode: '6901234567892', qty: 1 }] })).rejects.toMatchObject({ code: 'ORDER_BAD_ITEM' });
    await expect(refused({ items: [{ barcode: '0000', qty: 1 }] })).rejects.toMatchObject({ code: 'ORDER_UNKNOWN_ITEM', message: expect.stringMatching(/^items\[0\]\.barcode: /) });
    await expect(refused({ items: [{ code: '12', qty: '2' }] })).rejects.toMatchObject({ code: 'ORDER_BAD_QTY' });
    await expect(refused({ number: 'call me', items: [{ code: '12' }] })).rejects.toMatchObject({ code: 'ORDER_BAD_NUMBER' });
    await expect(refused({ number: 12, items: [{ code: '12' }] })).rejects.toMatchObject({ code: 'ORDER_BAD_NUMBER' });
    await expect(refused({ items: [{ code: '12', qty: 1 }], note: 5 })).rejects.toMatchObject({ code: 'ORDER_BAD_NOTE' });
    await expect(refused({ items: Array.from({ length: 500 }, () => ({ code: '12', qty: 1 })) })).rejects.toMatchObject({ code: 'ORDER_TOO_LONG' });
    await expect(control.call('orders.get', { orderId: '../../etc' })).rejects.toMatchObject({ code: 'ORDER_BAD_ID' });
    await expect(control.call('orders.print', { orderId: '00000000-0000-4000-8000-000000000000' })).rejects.toMatchObject({ code: 'ORDER_NOT_FOUND' });
    expect(history.size).toBe(0);
  });

  it("reads the CLI's --item values: CODE[xQTY], barcode:, name:", () => {
    expect(parseItemOption('12x2')).toEqual({ code: '12', qty: 2 });
    expect(parseItemOption('12')).toEqual({ code: '12', qty: 1 });
    expect(parseItemOption('barcode:6901234567892*3')).toEqual({ barcode: '6901234567892', qty: 3 });
    expect(parseItemOption('name:Fried rice x 2')).toEqual({ name: 'Fried rice', qty: 2 });
    expect(() => parseItemOption('  ')).toThrow(/--item/);
  });
});
