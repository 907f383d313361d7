import { afterEach, describe, expect, it } from '@jest/globals';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import WebSocket from 'ws';
import { SimMcu } from '../../../drivers/mcu/sim.js';
import { loadBoard } from '../../../src/board/board.js';
import { validateConfig } from '../../../src/config/load.js';
import type { Config } from '../../../src/config/schema.js';
import { EventBus } from '../../../src/core/bus.js';
import { DesklineError } from '../../../src/core/errors.js';
import type { BusEvents, CallState, ScreenPop } from '../../../src/core/events.js';
import { projectRoot } from '../../../src/core/paths.js';
import { HistoryRepository } from '../../../src/history/repository.js';
import { OrdersService } from '../../../src/orders/service.js';
import type { StoredOrder } from '../../../src/orders/types.js';
import type { OrderSlipInput } from '../../../src/printing/templates/types.js';
import { MemoryStore } from '../../../src/store/memory.js';
import { parseOrderRequest } from '../../../src/orders/request.js';
import { isLoopback, type WebOrders } from '../../../src/web/orders-api.js';
import { WebService } from '../../../src/web/service.js';
import { FakeClock } from '../../support/fake-clock.js';
import { captureLogger } from '../../support/log.js';

const CATALOG = [
  { code: '12', name: 'Noodles', unitPrice: 1800, barcode: '6901234567892' },
  { code: '7', name: 'Soup', unitPrice: 650 },
];
const NUMBER = '13800138000';

const services: WebService[] = [];
afterEach(async () => {
  for (const s of services.splice(0)) await s.stop();
});

interface Rig {
  url: string;
  bus: EventBus<BusEvents>;
  history: HistoryRepository;
  printed: Array<{ template: string; input: OrderSlipInput; by: string }>;
  placed: Array<BusEvents['orderPlaced']>;
}

/** A WebService on port 0 with the real orders service behind it (history in memory, a print queue that records). */
async function start(options: { sim?: boolean; orders?: boolean; printFails?: boolean } = {}): Promise<Rig> {
  const { log } = captureLogger('warn');
  const { config, issues } = validateConfig({
    web: { port: 0 }, device: { country: 'CN' },
    orders: { catalog: CATALOG, currency: 'CNY', shop: { name: 'Wang Noodles' } },
  });
  if (!config) throw new Error(JSON.stringify(issues));
  const bus = new EventBus<BusEvents>(log);
  const history = await HistoryRepository.open(new MemoryStore());
  const printed: Rig['printed'] = [];
  const placed: Rig['placed'] = [];
  bus.on('test', 'orderPlaced', (e) => void placed.push(e));
  const service = new OrdersService({
    bus, clock: new FakeClock(), log, config: () => config as Config, history: () => history,
    printing: {
      print: async (request) => {
        if (options.printFails) throw new DesklineError('PRINT_NOT_STARTED', 'the print queue is not running');
        printed.push(request);
        return { jobIds: [`p00000${printed.length}`] };
      },
    },
    customer: async ({ number }) => (number === NUMBER ? { id: 'c-1', name: 'Wang Li', address: '12 Garden Rd' } : null),
  });
  const orders: WebOrders = {
    catalog: () => ({ currency: (config as Config).orders.currency, items: (config as Config).orders.catalog }),
    place: (request) => service.createOrder(request),
    print: (orderId) => service.printOrder(orderId, 'web'),
  };
  const web = new WebService({
    log, config: () => config as Config, bus, board: await loadBoard(options.sim ? 'sim' : 'dp-a53'),
    sim: options.sim ? { mcu: new SimMcu({ displayWidth: 240, displayHeight: 128 }), line: null, exchange: null } : null,
    publicDir: join(projectRoot(), 'src', 'web', 'public'),
    orders: options.orders === false ? undefined : orders,
  });
  await web.start();
  services.push(web);
  return { url: web.url!, bus, history, printed, placed };
}

interface Answer { status: number; headers: Record<string, string | string[] | undefined>; body: Record<string, unknown> }

/** One HTTP request with exactly these headers (Host included: fetch would not let a test set it). */
function send(url: string, method: string, path: string, options: { headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  const target = new URL(path, url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: target.hostname, port: target.port, method, path: target.pathname, headers: { Host: target.host, ...options.headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} });
      });
    });
    req.on('error', reject);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

/** POST /api/orders as the page does: its own Origin, JSON. */
const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  send(url, 'POST', '/api/orders', { headers: { Origin: url, 'Content-Type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });

const call = (callId: string, state: CallState, number = NUMBER, name: string | null = 'WANG LI'): BusEvents['callStateChanged'] => ({
  callId, lineId: 'sim', lineKind: 'sim', direction: 'inbound', number, name, state, at: 0,
});
const pop = (callId: string, number = NUMBER): ScreenPop => ({
  callId, lineId: 'sim', direction: 'inbound', number, displayNumber: '138 0013 8000',
  contact: { id: 'c-1', name: 'Wang Li', company: null, tag: null, note: null }, interactionCount: 0, recent: [], lastOrder: null, openItems: [],
});

describe('GET /api/orders/catalog', () => {
  it('gives the currency, its decimals and the items (code, name, price in minor units) and nothing else', async () => {
    const { url } = await start();
    const res = await send(url, 'GET', '/api/orders/catalog');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      currency: 'CNY', digits: 2,
      items: [{ code: '12', name: 'Noodles', unitPrice: 1800 }, { code: '7', name: 'Soup', unitPrice: 650 }],
    });
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['content-security-policy']).toContain("default-src 'self'");
  });

  it('refuses a Host that DNS rebinding could fake, and answers 503 when there are no orders', async () => {
    const { url } = await start();
    const rebound = await send(url, 'GET', '/api/orders/catalog', { headers: { Host: 'evil.example:8080' } });
    expect(rebound.status).toBe(403);
    expect(rebound.body).toMatchObject({ error: 'FORBIDDEN_HOST' });
    // a literal address is no rebinding (the phone's LAN address, once the web UI has a login to open it to the LAN)
    expect((await send(url, 'GET', '/api/orders/catalog', { headers: { Host: '192.168.1.20:8080' } })).status).toBe(200);

    const none = await start({ orders: false });
    expect(await send(none.url, 'GET', '/api/orders/catalog')).toMatchObject({ status: 503, body: { error: 'ORDERS_UNAVAILABLE' } });
    expect(await post(none.url, { number: null, items: [{ code: '12', qty: 1 }] })).toMatchObject({ status: 503, body: { error: 'ORDERS_UNAVAILABLE' } });
  });
});

describe('who may take orders', () => {
  it('only this machine until the web UI has a login: loopback addresses, IPv4 and IPv6, also IPv4-mapped', () => {
    for (const address of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1']) expect(isLoopback(address)).toBe(true);
    for (const address of ['192.168.1.20', '10.0.0.1', '::ffff:192.168.1.20', 'fe80::1', '0.0.0.0', '', undefined]) expect(isLoopback(address)).toBe(false);
  });
});

describe('POST /api/orders', () => {
  it('files a good order (on a real board too) and answers 201 with its id, summary and total; the call it was taken on is linked', async () => {
    const { url, bus, history, placed, printed } = await start();
    bus.emit('callStateChanged', call('call-1', 'ringing'));
    bus.emit('callStateChanged', call('call-1', 'active'));
    const res = await post(url, { number: NUMBER, items: [{ code: '12', qty: 2 }, { code: '7', qty: 1 }], note: '  ring twice ' });
    expect(res.status).toBe(201);
    const order = res.body.order as { orderId: string };
    expect(res.body).toEqual({ order: { orderId: expect.any(String), summary: '2x Noodles, 1x Soup, 42.50', total: 4250, currency: 'CNY' }, jobIds: [] });
    expect(placed).toHaveLength(1);
    expect(placed[0]).toMatchObject({ orderId: order.orderId, number: NUMBER, contactId: 'c-1', callId: 'call-1', note: 'ring twice', total: 4250 });
    const record = (await history.get(placed[0].recordId)) as StoredOrder;
    expect(record).toMatchObject({ kind: 'order', orderId: order.orderId, items: [{ code: '12', qty: 2, amount: 3600 }, { code: '7', qty: 1, amount: 650 }] });
    expect(printed).toEqual([]);

    // another number: not linked to that call; no number at all is fine too
    expect((await post(url, { number: '+8613900000000', items: [{ code: '7', qty: 1 }] })).status).toBe(201);
    expect((await post(url, { number: null, items: [{ code: '7', qty: 3 }], print: false })).status).toBe(201);
    expect(placed.slice(1).map((p) => [p.number, p.callId, p.note])).toEqual([['+8613900000000', null, null], [null, null, null]]);
  });

  it('with print: true queues the delivery slip (by the web UI) and answers its job ids', async () => {
    const { url, printed } = await start({ sim: true });
    const res = await post(url, { number: NUMBER, items: [{ code: '12', qty: 2 }], note: 'no chili', print: true }, { 'Content-Type': 'application/json; charset=utf-8' });
    expect(res.status).toBe(201);
    expect(res.body.jobIds).toEqual(['p000001']);
    expect(printed).toHaveLength(1);
    expect(printed[0]).toMatchObject({ template: 'order', by: 'web' });
    expect(printed[0].input).toMatchObject({ customer: { name: 'Wang Li', address: '12 Garden Rd' }, note: 'no chili', total: 3600, items: [{ name: 'Noodles', qty: 2, unitPrice: 1800 }] });
  });

  it('an order whose slip cannot be queued is still placed, and the answer says why it was not printed', async () => {
    const { url, placed } = await start({ printFails: true });
    const res = await post(url, { number: NUMBER, items: [{ code: '7', qty: 1 }], print: true });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ jobIds: [], printError: { error: 'PRINT_NOT_STARTED', message: 'the print queue is not running' } });
    expect(placed).toHaveLength(1);
  });

  const good = { number: NUMBER, items: [{ code: '12', qty: 1 }] };
  const cases: Array<[string, unknown, string, string | undefined, RegExp?]> = [
    ['a list for a body', [good], 'ORDER_BAD_REQUEST', undefined],
    ['null for a body', null, 'ORDER_BAD_REQUEST', undefined],
    ['an unknown field', { ...good, total: 1 }, 'ORDER_BAD_REQUEST', 'total'],
    ['a number with letters', { ...good, number: '1380013800a' }, 'ORDER_BAD_NUMBER', 'number', /1 to 32 digits/],
    ['a number too long', { ...good, number: '1'.repeat(33) }, 'ORDER_BAD_NUMBER', 'number'],
    ['an empty number', { ...good, number: '' }, 'ORDER_BAD_NUMBER', 'number'],
    ['a number that is a number', { ...good, number: 13800138000 }, 'ORDER_BAD_NUMBER', 'number'],
    ['items that are not a list', { ...good, items: { code: '12', qty: 1 } }, 'ORDER_BAD_ITEMS', 'items'],
    ['no items', { ...good, items: [] }, 'ORDER_EMPTY', 'items'],
    ['21 items', { ...good, items: Array.from({ length: 21 }, (_, i) => ({ code: String(i + 100), qty: 1 })) }, 'ORDER_TOO_LONG', 'items'],
    ['an item that is not an object', { ...good, items: ['12'] }, 'ORDER_BAD_ITEM', 'items[0]'],
    ['an item with a price', { ...good, items: [{ code: '12', qty: 1, unitPrice: 1 }] }, 'ORDER_BAD_ITEM', 'items[0].unitPrice'],
    ['a code that is a number', { ...good, items: [{ code: 12, qty: 1 }] }, 'ORDER_BAD_ITEM', 'items[0].code'],
    ['a code too long', { ...good, items: [{ code: '1234567', qty: 1 }] }, 'ORDER_BAD_ITEM', 'items[0].code'],
    ['an unknown item', { ...good, items: [{ code: '7', qty: 1 }, { code: '77', qty: 1 }] }, 'ORDER_UNKNOWN_ITEM', 'items[1].code', /no item 77/],
    ['the same item twice', { ...good, items: [{ code: '7', qty: 1 }, { code: '7', qty: 2 }] }, 'ORDER_DUPLICATE_ITEM', 'items[1].code'],
    ['quantity 0', { ...good, items: [{ code: '12', qty: 0 }] }, 'ORDER_BAD_QTY', 'items[0].qty', /quantity of Noodles must be a whole number from 1 to 99, not 0/],
    ['quantity 100', { ...good, items: [{ code: '12', qty: 100 }] }, 'ORDER_BAD_QTY', 'items[0].qty', /not 100/],
    ['quantity 1.5', { ...good, items: [{ code: '12', qty: 1.5 }] }, 'ORDER_BAD_QTY', 'items[0].qty'],
    ['quantity "2"', { ...good, items: [{ code: '12', qty: '2' }] }, 'ORDER_BAD_QTY', 'items[0].qty'],
    ['no quantity', { ...good, items: [{ code: '12' }] }, 'ORDER_BAD_QTY', 'items[0].qty'],
    ['a note of 201 characters', { ...good, note: 'x'.repeat(201) }, 'ORDER_BAD_NOTE', 'note', /at most 200/],
    ['a note that is not text', { ...good, note: 5 }, 'ORDER_BAD_NOTE', 'note'],
    ['a note with printer control bytes', { ...good, note: 'hi\u001b@\u001dV' }, 'ORDER_BAD_NOTE', 'note'],
    ['print that is not true or false', { ...good, print: 'yes' }, 'ORDER_BAD_PRINT', 'print'],
  ];

  it.each(cases)('refuses %s with 400 naming the field, and files nothing', async (...row) => {
    // (one rest parameter: jest would take a fifth named one for a done callback on the rows without a message)
    const [, body, error, field, message] = row;
    const { url, placed, printed } = await start();
    const res = await post(url, body);
    expect(res.status).toBe(400);
    expect(res.body.error).toBe(error);
    expect(res.body.field).toBe(field);
    if (field) expect(res.body.message).toMatch(new RegExp(`^${field.replace(/[[\]]/g, '\\$&')}: `));
    if (message) expect(res.body.message).toMatch(message);
    expect(placed).toEqual([]);
    expect(printed).toEqual([]);
  });

  it('refuses a body that is not JSON, or too large, in the same shape', async () => {
    const { url, placed } = await start();
    expect(await post(url, '{"number": ')).toMatchObject({ status: 400, body: { error: 'ORDER_BAD_REQUEST' } });
    expect(await post(url, '')).toMatchObject({ status: 400, body: { error: 'ORDER_BAD_REQUEST' } });
    expect(await post(url, '{"__proto__": {"x": 1}, "number": null, "items": []}')).toMatchObject({ status: 400, body: { error: 'ORDER_BAD_REQUEST' } });
    const huge = JSON.stringify({ number: null, items: [{ code: '12', qty: 1 }], note: 'x'.repeat(9000) });
    expect(await post(url, huge)).toMatchObject({ status: 413, body: { error: 'ORDER_TOO_LARGE' } });
    expect(placed).toEqual([]);
  });

  it('refuses a foreign, missing or rebinding Origin, and anything but JSON, with 403 before reading the body', async () => {
    const { url, placed } = await start();
    const body = JSON.stringify(good);
    const json = { 'Content-Type': 'application/json' };
    const refused = [
      await send(url, 'POST', '/api/orders', { headers: { ...json, Origin: 'http://evil.example' }, body }),
      await send(url, 'POST', '/api/orders', { headers: { ...json, Origin: 'null' }, body }),
      await send(url, 'POST', '/api/orders', { headers: json, body }),
      await send(url, 'POST', '/api/orders', { headers: { ...json, Origin: 'http://evil.example:8080', Host: 'evil.example:8080' }, body }),
    ];
    expect(refused.map((r) => [r.status, r.body.error])).toEqual([
      [403, 'FORBIDDEN_ORIGIN'], [403, 'FORBIDDEN_ORIGIN'], [403, 'FORBIDDEN_ORIGIN'], [403, 'FORBIDDEN_HOST'],
    ]);
    // a form post from another page (a "simple" request needs no CORS preflight), or no content type at all
    const types = [
      await send(url, 'POST', '/api/orders', { headers: { Origin: url, 'Content-Type': 'text/plain' }, body }),
      await send(url, 'POST', '/api/orders', { headers: { Origin: url, 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'number=1' }),
      await send(url, 'POST', '/api/orders', { headers: { Origin: url }, body }),
    ];
    expect(types.map((r) => [r.status, r.body.error])).toEqual([[403, 'FORBIDDEN_CONTENT_TYPE'], [403, 'FORBIDDEN_CONTENT_TYPE'], [403, 'FORBIDDEN_CONTENT_TYPE']]);
    expect(placed).toEqual([]);
    // the same order from the page itself goes through
    expect((await post(url, good)).status).toBe(201);
  });
});

describe('the caller for the Orders panel', () => {
  it('GET /api/orders/caller follows the calls on the bus: the current call, then the last one', async () => {
    const { url, bus } = await start();
    const caller = async () => (await send(url, 'GET', '/api/orders/caller')).body.caller;
    expect(await caller()).toBeNull();

    // the pop may come before the call's first state
    bus.emit('screenPopped', pop('call-1'));
    bus.emit('callStateChanged', call('call-1', 'ringing'));
    expect(await caller()).toEqual({ callId: 'call-1', direction: 'inbound', number: NUMBER, displayNumber: '138 0013 8000', name: 'Wang Li', active: true });
    bus.emit('callStateChanged', call('call-1', 'ended'));
    expect(await caller()).toMatchObject({ callId: 'call-1', number: NUMBER, active: false });

    // a private caller replaces them (no number to prefill); an analog call's number comes with its caller ID
    bus.emit('callStateChanged', call('call-2', 'ringing', '', null));
    expect(await caller()).toEqual({ callId: 'call-2', direction: 'inbound', number: null, displayNumber: null, name: null, active: true });
    bus.emit('callerIdReceived', { ...call('call-2', 'ringing', '2125550177', 'ACME') });
    expect(await caller()).toMatchObject({ callId: 'call-2', number: '2125550177', name: 'ACME', active: true });

    // an older call ending does not take the panel back
    bus.emit('callStateChanged', call('call-1', 'ended'));
    expect(await caller()).toMatchObject({ callId: 'call-2' });
  });

  it('on the sim board the page also gets it pushed as a caller message', async () => {
    const { url, bus } = await start({ sim: true });
    const ws = new WebSocket(`${url.replace('http', 'ws')}/sim`, { headers: { Origin: url } });
    const messages: Array<{ type: string; caller?: unknown }> = [];
    ws.on('message', (d) => messages.push(JSON.parse(d.toString()) as { type: string }));
    await new Promise((r) => ws.once('open', r));
    bus.emit('callStateChanged', call('call-9', 'ringing'));
    await new Promise((r) => setTimeout(r, 100));
    ws.close();
    expect(messages.filter((m) => m.type === 'caller').map((m) => m.caller)).toEqual([
      null,
      { callId: 'call-9', direction: 'inbound', number: NUMBER, displayNumber: expect.stringContaining('138'), name: 'WANG LI', active: true },
    ]);
  });
});

describe('parseOrderRequest', () => {
  it('keeps only what an order is, with the note trimmed and print defaulting to false', () => {
    expect(parseOrderRequest({ number: '#31#', items: [{ code: '12', qty: 99 }], note: '   ' }, CATALOG)).toEqual({
      body: { number: '#31#', items: [{ code: '12', qty: 99 }], note: null, print: false },
    });
    expect(parseOrderRequest({ items: [{ code: '7', qty: 1 }], note: null, print: true }, CATALOG)).toEqual({
      body: { number: null, items: [{ code: '7', qty: 1 }], note: null, print: true },
    });
    // the CLI names items by barcode or by name too; the body always carries the catalog code
    const named = parseOrderRequest({ items: [{ name: ` ${CATALOG[1].name.toUpperCase()} `, qty: 2 }] }, CATALOG);
    expect(named).toEqual({ body: { number: null, items: [{ code: CATALOG[1].code, qty: 2 }], note: null, print: false } });
    expect(parseOrderRequest({ items: [{ code: '7', name: 'x', qty: 1 }] }, CATALOG)).toMatchObject({ error: { error: 'ORDER_BAD_ITEM', field: 'items[0]' } });
  });
});
