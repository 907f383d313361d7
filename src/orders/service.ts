import { randomUUID } from 'node:crypto';
import type { Config } from '../config/schema.js';
import type { ControlRegistry } from '../control/protocol.js';
import type { EventBus } from '../core/bus.js';
import type { Clock } from '../core/clock.js';
import { DesklineError, errorMessage } from '../core/errors.js';
import type { BusEvents } from '../core/events.js';
import type { Logger } from '../core/log.js';
import type { Service } from '../core/services.js';
import type { HistoryRepository } from '../history/repository.js';
import { formatNumberForDisplay, numberKey } from '../numbers/numbers.js';
import type { OrderSlipInput } from '../printing/templates/types.js';
import { formatMoney } from './money.js';
import { orderRequestOrThrow } from './request.js';
import { shopOf } from './shop.js';
import { MAX_NOTE, MAX_ORDER_LINES, MAX_QTY, type CatalogItem, type OrderCustomer, type OrderLine, type OrderRequest, type StoredOrder } from './types.js';

export interface OrdersServiceContext {
  bus: EventBus<BusEvents>;
  clock: Clock;
  log: Logger;
  config: () => Config;
  /** orders.catalog, orders.place, orders.get, orders.print for the CLI (absent: none) */
  control?: ControlRegistry;
  /** The customer timelines the orders are filed in. */
  history: () => HistoryRepository;
  /** The print queue (only the order slip is asked for). */
  printing: { print(request: { template: 'order'; input: OrderSlipInput; by: string }): Promise<{ jobIds: string[] }> };
  /** The customer, by contact id or else by number; null: not a contact. */
  customer: (query: { contactId: string | null; number: string | null }) => Promise<OrderCustomer | null>;
}

const OWNER = 'orders';
const ORDER_NUMBER = /^\+?[0-9*#]{1,32}$/;

/** An order id as the CLI gives it (the full id: the slip prints only its first 8 characters). */
function orderIdParam(params: unknown): string {
  const id = (params as { orderId?: unknown } | null)?.orderId;
  if (typeof id !== 'string' || !/^[0-9a-f-]{36}$/.test(id)) throw new DesklineError('ORDER_BAD_ID', 'orderId: the order id as `deskline order place` printed it (36 characters)');
  return id;
}

/** Orders whose history record is found without reading the history. */
const REMEMBERED = 200;
/** How far back `printOrder` looks for an order it does not remember. */
const SEARCHED = 500;

/** The item of the catalog asked for: by code, else by barcode, else by name (any case). */
export function catalogItem(catalog: readonly CatalogItem[], request: { code?: string; barcode?: string; name?: string }): CatalogItem | undefined {
  if (request.code !== undefined) return catalog.find((item) => item.code === request.code);
  if (request.barcode !== undefined) return catalog.find((item) => item.barcode === request.barcode);
  const name = request.name?.trim().toLowerCase();
  return name ? catalog.find((item) => item.name.toLowerCase() === name) : undefined;
}

/** '2x Noodles, 1x Soup, 48.00': what the timeline and the screen pop show of an order. */
export function orderSummary(lines: readonly Pick<OrderLine, 'qty' | 'name'>[], total: number, currency: string): string {
  return [...lines.map((line) => `${line.qty}x ${line.name}`), formatMoney(total, currency)].join(', ');
}

/**
 * Phone orders (issue #7 item 7): an order taken during or after a call is checked against the catalog
 * (config `orders.catalog`), totalled in minor units, filed in the customer's timeline (a history record of
 * kind 'order' carrying its lines), announced on the bus (`orderPlaced`, which the cloud forwards), and its
 * delivery slip queued on the receipt printer on request.
 */
export class OrdersService implements Service {
  /** orderId -> history record id, newest last */
  readonly #records = new Map<string, string>();
  readonly #off: Array<() => void> = [];

  constructor(private readonly ctx: OrdersServiceContext) {}

  start(): void {
    const control = this.ctx.control;
    if (!control) return;
    this.#off.push(
      control.register(OWNER, 'orders.catalog', () => this.catalog()),
      control.register(OWNER, 'orders.place', async (params) => {
        const { print, ...request } = orderRequestOrThrow(params, this.ctx.config().orders.catalog);
        const order = await this.createOrder(request);
        return { order, jobIds: print ? (await this.printOrder(order.orderId, 'cli')).jobIds : [] };
      }),
      control.register(OWNER, 'orders.get', async (params) => {
        const orderId = orderIdParam(params);
        const order = await this.findOrder(orderId);
        if (!order) throw new DesklineError('ORDER_NOT_FOUND', `no order ${orderId}`);
        return order;
      }),
      control.register(OWNER, 'orders.print', (params) => this.printOrder(orderIdParam(params), 'cli')),
    );
  }

  stop(): void {
    for (const off of this.#off.splice(0)) off();
    this.#records.clear();
  }

  /** What can be ordered, and in which currency. */
  catalog(): { currency: string; items: CatalogItem[] } {
    const { catalog, currency } = this.ctx.config().orders;
    return { currency, items: catalog };
  }

  async createOrder(request: OrderRequest): Promise<StoredOrder> {
    const { clock, config, bus } = this.ctx;
    const { catalog, currency } = config().orders;
    if (!Array.isArray(request.items) || request.items.length === 0) throw new DesklineError('ORDER_EMPTY', 'an order needs at least one item');
    if (request.items.length > MAX_ORDER_LINES) throw new DesklineError('ORDER_TOO_LONG', `an order has at most ${MAX_ORDER_LINES} lines, not ${request.items.length}`);
    const lines: OrderLine[] = [];
    for (const asked of request.items) {
      const item = catalogItem(catalog, asked);
      if (!item) throw new DesklineError('ORDER_UNKNOWN_ITEM', `no item ${String(asked.code ?? asked.barcode ?? asked.name ?? '?').slice(0, 40)}`);
      if (!Number.isInteger(asked.qty) || asked.qty < 1 || asked.qty > MAX_QTY) {
        throw new DesklineError('ORDER_BAD_QTY', `quantity of ${item.name} must be 1 to ${MAX_QTY}, not ${String(asked.qty)}`);
      }
      lines.push({ code: item.code, name: item.name, qty: asked.qty, unitPrice: item.unitPrice, amount: asked.qty * item.unitPrice });
    }
    const total = lines.reduce((sum, line) => sum + line.amount, 0);
    if (!Number.isSafeInteger(total)) throw new DesklineError('ORDER_BAD_TOTAL', 'the order total is too large');
    const note = request.note?.trim() || null;
    if (note && note.length > MAX_NOTE) throw new DesklineError('ORDER_BAD_NOTE', `the note is ${note.length} characters; at most ${MAX_NOTE}`);
    const number = request.number || null;
    if (number !== null && (typeof number !== 'string' || !ORDER_NUMBER.test(number))) {
      throw new DesklineError('ORDER_BAD_NUMBER', "the customer's number is 1 to 32 digits, * or #, with an optional leading +");
    }
    const contactId = request.contactId ?? (number ? (await this.ctx.customer({ contactId: null, number }))?.id ?? null : null);

    const orderId = randomUUID();
    const record: Omit<StoredOrder, 'id' | 'seq'> = {
      kind: 'order', orderId, summary: orderSummary(lines, total, currency),
      at: clock.wallTimeTrusted ? clock.now() : null,
      number, numberKey: number ? numberKey(number, config().device.country) : null, contactId,
      items: lines, total, currency, note, callId: request.callId ?? null,
    };
    const { record: filed, written } = this.ctx.history().append(record);
    await written;
    this.#remember(orderId, filed.id);
    bus.emit('timelineChanged', { id: filed.id, kind: 'order', change: 'added', number, contactId });
    bus.emit('orderPlaced', {
      orderId, recordId: filed.id, at: filed.at, number, contactId, callId: filed.callId,
      items: lines, total, currency, note, summary: filed.summary,
    });
    this.ctx.log.info({ orderId, record: filed.id, total, lines: lines.length }, 'order placed');
    return filed;
  }

  /** Queues the delivery slip of an order: the customer's name, phone, address (and its map QR), the lines and the total. */
  async printOrder(orderId: string, by = 'phone'): Promise<{ jobIds: string[] }> {
    const order = await this.findOrder(orderId);
    if (!order) throw new DesklineError('ORDER_NOT_FOUND', `no order ${orderId.slice(0, 40)}`);
    const config = this.ctx.config();
    const customer = await this.ctx.customer({ contactId: order.contactId, number: order.number }).catch((error: unknown) => {
      this.ctx.log.warn({ orderId, err: error }, `customer not found for the slip: ${errorMessage(error)}`);
      return null;
    });
    const input: OrderSlipInput = {
      shop: shopOf(config),
      orderId: order.orderId.slice(0, 8),
      at: order.at,
      customer: {
        name: customer?.name ?? 'Customer',
        phone: order.number ? formatNumberForDisplay(order.number, config.device.country) : '',
        address: customer?.address ?? null,
      },
      items: order.items.map((line) => ({ name: line.name, qty: line.qty, unitPrice: line.unitPrice })),
      currency: order.currency,
      total: order.total,
      note: order.note,
    };
    return this.ctx.printing.print({ template: 'order', input, by });
  }

  /** An order filed by this service, by its id (recent ones remembered, else the newest history records read). */
  async findOrder(orderId: string): Promise<StoredOrder | undefined> {
    const history = this.ctx.history();
    const known = this.#records.get(orderId);
    if (known) {
      const record = await history.get(known);
      if (record?.kind === 'order' && record.orderId === orderId) return record as StoredOrder;
    }
    for (let id = history.size; id >= 1 && id > history.size - SEARCHED; id--) {
      // records in memory say their kind without a read
      const entry = history.entry(String(id));
      if (entry && entry.kind !== 'order') continue;
      const record = await history.get(String(id));
      if (record?.kind === 'order' && record.orderId === orderId && Array.isArray((record as StoredOrder).items)) return record as StoredOrder;
    }
    return undefined;
  }

  #remember(orderId: string, recordId: string): void {
    this.#records.set(orderId, recordId);
    if (this.#records.size > REMEMBERED) this.#records.delete(this.#records.keys().next().value as string);
  }
}
