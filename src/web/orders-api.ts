import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { EventBus } from '../core/bus.js';
import { DesklineError, errorCode, errorMessage } from '../core/errors.js';
import type { BusEvents, CallDirection } from '../core/events.js';
import type { Logger } from '../core/log.js';
import { formatNumberForDisplay } from '../numbers/numbers.js';
import { minorDigits } from '../orders/money.js';
import { MAX_ORDER_BODY_BYTES, parseOrderRequest } from '../orders/request.js';
import type { CatalogItem, OrderRequest, StoredOrder } from '../orders/types.js';
import { hostAllowed, originAllowed } from './origin.js';

/**
 * Order entry in the local web UI (the Orders panel, on every board): REST under /api/orders.
 *
 *   GET  /api/orders/catalog  -> { currency, digits, items: [{ code, name, unitPrice }] }   (prices in minor units)
 *   GET  /api/orders/caller   -> { caller: OrderCaller | null }   the customer of the current or last call
 *   POST /api/orders          <- { number: string|null, items: [{ code, qty }], note?: string|null, print?: boolean }
 *                             -> 201 { order: { orderId, summary, total, currency }, jobIds, printError? }
 *
 * Every answer that is not 2xx is { error: CODE, message, field? } (field: the body field at fault, e.g. 'items[1].qty').
 * Cross-site protection: every route wants a Host header DNS rebinding cannot fake (origin.ts), and the POST an Origin
 * of this server's own page and Content-Type application/json (which a cross-site form cannot send without a CORS
 * preflight, which this server never grants); else 403 before the body is read. The body is bounded
 * (MAX_ORDER_BODY_BYTES) and checked field by field before the orders service sees it. An order for the number of
 * the current or last call is filed with that call's id.
 */

/** What the web UI needs of the orders service (src/orders), injected by the composition root. */
export interface WebOrders {
  /** the catalog and its currency as configured now (config orders.catalog / orders.currency) */
  catalog(): { currency: string; items: readonly CatalogItem[] };
  /** validates, totals and files an order (OrdersService.createOrder); throws DesklineError ORDER_* for bad input */
  place(request: OrderRequest): Promise<StoredOrder>;
  /** queues the order's delivery slip (OrdersService.printOrder) */
  print(orderId: string): Promise<{ jobIds: string[] }>;
}

/** The customer of the current or last call, which the Orders panel prefills. */
export interface OrderCaller {
  callId: string;
  direction: CallDirection;
  /** digits as the line gave them (what an order is filed under), or null while not known (private, or no caller ID yet) */
  number: string | null;
  /** the number as people read it */
  displayNumber: string | null;
  /** the contact's name, else the caller-ID name */
  name: string | null;
  /** the call still rings or is talked */
  active: boolean;
}

export interface OrderApiError {
  status: number;
  error: string;
  message: string;
  field?: string;
}

/** numbers an order is filed under (the orders service's rule), and names as the caller panel shows them */
const NUMBER = /^\+?[0-9*#]{1,32}$/;
const MAX_NAME = 100;

/** Follows the calls on the bus: who the current (or last) call is with, for the Orders panel. */
export class CallerTracker {
  #caller: OrderCaller | null = null;

  constructor(private readonly ctx: { bus: EventBus<BusEvents>; country: () => string; onChange: (caller: OrderCaller | null) => void }) {}

  get caller(): OrderCaller | null {
    return this.#caller ? { ...this.#caller } : null;
  }

  /** Subscribes; returns the unsubscribers. */
  watch(): Array<() => void> {
    const { bus } = this.ctx;
    return [
      bus.on('web-orders', 'callStateChanged', (call) => {
        const current = this.#caller;
        if (current?.callId === call.callId) {
          this.#set({
            ...current, active: call.state !== 'ended',
            ...(this.#number(call.number) && current.number !== call.number ? this.#numberFields(call.number) : {}),
            name: current.name ?? this.#name(call.name),
          });
        } else if (call.state !== 'ended') {
          // a newer call (an older one ending does not take the panel back)
          this.#set({ callId: call.callId, direction: call.direction, ...this.#numberFields(call.number), name: this.#name(call.name), active: true });
        }
      }),
      bus.on('web-orders', 'callerIdReceived', (call) => {
        const current = this.#caller;
        if (current?.callId !== call.callId) return;
        this.#set({ ...current, ...(this.#number(call.number) ? this.#numberFields(call.number) : {}), name: current.name ?? this.#name(call.name) });
      }),
      bus.on('web-orders', 'screenPopped', (pop) => {
        // the pop may come before this listener has heard the call ring
        const current = this.#caller?.callId === pop.callId ? this.#caller : null;
        const number = this.#number(pop.number) ? pop.number : (current?.number ?? null);
        this.#set({
          callId: pop.callId, direction: pop.direction, number,
          displayNumber: number === pop.number && pop.displayNumber ? pop.displayNumber.slice(0, 64) : (current?.displayNumber ?? null),
          name: this.#name(pop.contact?.name) ?? current?.name ?? null,
          active: current?.active ?? true,
        });
      }),
    ];
  }

  #number(number: string | null | undefined): number is string {
    return typeof number === 'string' && NUMBER.test(number);
  }

  #numberFields(number: string): { number: string | null; displayNumber: string | null } {
    if (!this.#number(number)) return { number: null, displayNumber: null };
    let displayNumber = number;
    try {
      displayNumber = formatNumberForDisplay(number, this.ctx.country());
    } catch {
      // shown as given
    }
    return { number, displayNumber };
  }

  #name(name: string | null | undefined): string | null {
    return typeof name === 'string' && name.trim() ? name.trim().slice(0, MAX_NAME) : null;
  }

  #set(caller: OrderCaller): void {
    const before = JSON.stringify(this.#caller);
    this.#caller = caller;
    if (JSON.stringify(caller) !== before) this.ctx.onChange(this.caller);
  }
}

export interface OrdersApiDeps {
  log: Logger;
  /** the address the server listens on (config web.host), for the Host and Origin checks */
  listenHost: () => string;
  /** absent: the routes answer 503 ORDERS_UNAVAILABLE */
  orders: WebOrders | null;
  caller: () => OrderCaller | null;
}

const send = (reply: FastifyReply, e: OrderApiError) => reply.code(e.status).send({ error: e.error, message: e.message, ...(e.field ? { field: e.field } : {}) });
const unavailable: OrderApiError = { status: 503, error: 'ORDERS_UNAVAILABLE', message: 'orders are not available on this phone' };

/** 127.0.0.0/8 and ::1, also as IPv4-mapped IPv6. */
export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return v4 === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

/** Registers /api/orders/* (in its own fastify scope: its error handler answers in the { error, message } shape). */
export async function registerOrdersApi(app: FastifyInstance, deps: OrdersApiDeps): Promise<void> {
  await app.register(async (scope) => {
    scope.addHook('onRequest', async (request, reply) => {
      reply.header('Cache-Control', 'no-store');
      // the web UI has no login yet (the first-boot setup code of DESIGN.md): until it has, the caller's number and
      // name and order entry stay on this machine, whatever web.host says
      if (!isLoopback(request.socket.remoteAddress)) {
        deps.log.warn({ from: clip(request.socket.remoteAddress), url: clip(request.url) }, 'orders request refused: not from this machine');
        return send(reply, { status: 403, error: 'ORDERS_LOCAL_ONLY', message: 'orders are taken only on the phone\'s own machine until the web admin login is set up' });
      }
      if (!hostAllowed(request.headers.host, deps.listenHost())) {
        deps.log.warn({ host: clip(request.headers.host), url: clip(request.url) }, 'orders request refused: unknown Host (DNS rebinding?)');
        return send(reply, { status: 403, error: 'FORBIDDEN_HOST', message: 'this server answers only for its own address' });
      }
    });
    scope.setErrorHandler(async (error: FastifyError, request, reply) => {
      const status = typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
      if (status === 500) {
        deps.log.error({ err: error, url: clip(request.url) }, `orders request failed: ${errorMessage(error)}`);
        return send(reply, { status, error: 'ORDER_FAILED', message: 'the request failed; the phone log has the details' });
      }
      if (status === 413) return send(reply, { status, error: 'ORDER_TOO_LARGE', message: `the body exceeds ${MAX_ORDER_BODY_BYTES} bytes` });
      return send(reply, { status, error: 'ORDER_BAD_REQUEST', message: `the body is not a valid JSON order: ${errorMessage(error).slice(0, 120)}` });
    });

    scope.get('/api/orders/catalog', async (_request, reply) => {
      if (!deps.orders) return send(reply, unavailable);
      const { currency, items } = deps.orders.catalog();
      return { currency, digits: minorDigits(currency), items: items.map(({ code, name, unitPrice }) => ({ code, name, unitPrice })) };
    });

    scope.get('/api/orders/caller', async () => ({ caller: deps.caller() }));

    scope.post('/api/orders', {
      bodyLimit: MAX_ORDER_BODY_BYTES,
      // before the body is read: only this server's own page may post, and only JSON (no simple cross-site form)
      onRequest: async (request: FastifyRequest, reply: FastifyReply) => {
        if (!originAllowed(request.headers.origin, request.headers.host, deps.listenHost())) {
          deps.log.warn({ origin: clip(request.headers.origin), host: clip(request.headers.host) }, 'order refused: foreign origin');
          return send(reply, { status: 403, error: 'FORBIDDEN_ORIGIN', message: 'orders are accepted only from this phone\'s own page' });
        }
        const type = (request.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
        if (type !== 'application/json') {
          return send(reply, { status: 403, error: 'FORBIDDEN_CONTENT_TYPE', message: 'an order is sent as Content-Type: application/json' });
        }
      },
    }, async (request, reply) => {
      const orders = deps.orders;
      if (!orders) return send(reply, unavailable);
      const { items: catalog } = orders.catalog();
      const parsed = parseOrderRequest(request.body, catalog);
      if ('error' in parsed) return send(reply, { status: 400, ...parsed.error });
      const { body } = parsed;
      const caller = deps.caller();
      let order: StoredOrder;
      try {
        order = await orders.place({
          number: body.number, items: body.items, note: body.note,
          // taken for the current or last call's customer: filed with that call
          callId: caller && body.number !== null && caller.number === body.number ? caller.callId : null,
        });
      } catch (error) {
        const code = errorCode(error);
        if (error instanceof DesklineError && code?.startsWith('ORDER_')) return send(reply, { status: 400, error: code, message: error.message });
        deps.log.error({ err: error }, `order from the web UI not saved: ${errorMessage(error)}`);
        return send(reply, { status: 503, error: 'ORDER_NOT_SAVED', message: 'the order could not be saved; the phone log has the details' });
      }
      let jobIds: string[] = [];
      let printError: { error: string; message: string } | undefined;
      if (body.print) {
        try {
          ({ jobIds } = await orders.print(order.orderId));
        } catch (error) {
          deps.log.warn({ orderId: order.orderId, err: error }, `order slip not printed: ${errorMessage(error)}`);
          printError = error instanceof DesklineError
            ? { error: error.code, message: error.message.slice(0, 200) }
            : { error: 'PRINT_FAILED', message: 'the slip could not be queued; the phone log has the details' };
        }
      }
      return reply.code(201).send({
        order: { orderId: order.orderId, summary: order.summary, total: order.total, currency: order.currency },
        jobIds,
        ...(printError ? { printError } : {}),
      });
    });
  });
}

const clip = (value: string | undefined): string | null => (value === undefined ? null : value.slice(0, 200));
