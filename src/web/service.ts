import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import fastifyWebsocket from '@fastify/websocket';
import Fastify, { type FastifyInstance } from 'fastify';
import type { WebSocket } from 'ws';
import type { SimMcu } from '../../drivers/mcu/sim.js';
import type { LedId, LedState } from '../../drivers/mcu/types.js';
import type { PrinterStatus } from '../../drivers/printer/types.js';
import type { VirtualReceiptPrinter } from '../../drivers/printer/virtual/printer.js';
import type { SimPoleDisplay } from '../../drivers/pole-display/sim.js';
import { VIRTUAL_SCANNER, type SimBarcodeScanner } from '../../drivers/scanner/sim.js';
import type { Board } from '../board/board.js';
import type { SimLine } from '../calls/sim-line.js';
import type { Config } from '../config/schema.js';
import type { EventBus } from '../core/bus.js';
import type { BusEvents } from '../core/events.js';
import type { Logger } from '../core/log.js';
import type { Service } from '../core/services.js';
import { MAX_CLIENT_MESSAGE_BYTES, parseClientMessage, type ServerMessage } from './messages.js';
import { CallerTracker, registerOrdersApi, type WebOrders } from './orders-api.js';
import { originAllowed } from './origin.js';
import { MAX_SLIPS_KEPT, printerMessage, slipMessage, splitSlips, type SlipMessage } from './paper.js';
import { poleMessage } from './pos.js';
import type { SimExchange } from './sim-exchange.js';

/** The simulated board's handles the virtual phone drives. Present only on the `sim` board. */
export interface SimBoardHandles {
  mcu: SimMcu;
  line: SimLine | null;
  /** The exchange behind the analog line (null when the analog line is disabled). */
  exchange: SimExchange | null;
  /** The virtual receipt printer, whose decoded paper the page's paper strip shows (absent: no paper strip). */
  printer?: VirtualReceiptPrinter | null;
  /** The sim board's barcode scanner: the page's scanner box types codes into its VIRTUAL_SCANNER (absent: no scanner box). */
  scanner?: SimBarcodeScanner | null;
  /** The sim board's customer pole display, which the page shows (absent: no pole display box). */
  poleDisplay?: SimPoleDisplay | null;
}

export interface WebServiceContext {
  log: Logger;
  config: () => Config;
  bus: EventBus<BusEvents>;
  board: Board;
  sim: SimBoardHandles | null;
  publicDir: string;
  /** The print queue (the printing service's jobs), for the indicator's job count on a page that connects later. */
  printJobs?: () => ReadonlyArray<{ id: string; state: string }>;
  /**
   * Order entry for the Orders panel and /api/orders (orders-api.ts), on every board: the catalog, filing an order
   * and queueing its slip (the orders service). Absent: the panel says orders are not available.
   */
  orders?: WebOrders;
}

const ASSETS: Record<string, string> = {
  '/': 'index.html',
  '/app.js': 'app.js',
  '/orders.js': 'orders.js',
  '/style.css': 'style.css',
};
const TYPES: Record<string, string> = { html: 'text/html; charset=utf-8', js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8' };

/**
 * The local web UI: the virtual phone (on the sim board), the Orders panel (every board; orders-api.ts) and, later,
 * the admin pages. The virtual phone's control channel (/sim) exists only on the sim board and checks the Origin.
 */
export class WebService implements Service {
  #app: FastifyInstance | null = null;
  #url: string | null = null;
  readonly #clients = new Set<WebSocket>();
  readonly #off: Array<() => void> = [];
  #rows: string[] = [];
  #phoneState = 'idle';
  /** the printer as the printing service last reported it (null: not known yet) */
  #printerConnected: boolean | null = null;
  #printerStatus: PrinterStatus | null = null;
  /** jobs seen queued or printing on the bus */
  readonly #pending = new Set<string>();
  /** the newest printed slips, oldest first, for pages that connect later */
  readonly #slips: SlipMessage[] = [];
  /** how many items of the virtual printer's paper are already on the strip */
  #paperSeen = 0;
  /** the customer of the current or last call (the Orders panel's prefilled number) */
  #callers: CallerTracker | null = null;

  constructor(private readonly ctx: WebServiceContext) {}

  /** http://host:port once listening. */
  get url(): string | null {
    return this.#url;
  }

  async start(): Promise<void> {
    const { host, port } = this.ctx.config().web;
    const app = Fastify({ logger: false, bodyLimit: 64 * 1024 });
    await app.register(fastifyWebsocket, { options: { maxPayload: MAX_CLIENT_MESSAGE_BYTES } });
    app.addHook('onSend', async (_request, reply) => {
      reply.header('X-Content-Type-Options', 'nosniff');
      reply.header('X-Frame-Options', 'DENY');
      reply.header('Content-Security-Policy', "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self'");
    });

    for (const [route, file] of Object.entries(ASSETS)) {
      app.get(route, async (_request, reply) => {
        const body = await readFile(join(this.ctx.publicDir, file));
        return reply.type(TYPES[file.split('.').pop()!]).send(body);
      });
    }
    app.get('/api/status', async () => ({ board: this.ctx.board.id, virtualPhone: this.ctx.sim !== null }));
    const callers = new CallerTracker({
      bus: this.ctx.bus, country: () => this.ctx.config().device.country,
      onChange: (caller) => this.broadcast({ type: 'caller', caller }),
    });
    this.#callers = callers;
    this.#off.push(...callers.watch());
    await registerOrdersApi(app, { log: this.ctx.log, listenHost: () => host, orders: this.ctx.orders ?? null, caller: () => callers.caller });

    const sim = this.ctx.sim;
    if (sim) {
      app.get('/sim', {
        websocket: true,
        preValidation: async (request, reply) => {
          if (!originAllowed(request.headers.origin, request.headers.host, host)) {
            this.ctx.log.warn({ origin: request.headers.origin ?? null, host: request.headers.host ?? null }, 'virtual phone connection refused: foreign origin');
            await reply.code(403).send({ error: 'FORBIDDEN_ORIGIN', message: 'the virtual phone accepts connections only from its own page' });
          }
        },
      }, (socket) => this.attach(socket, sim));
      this.watchSimBoard(sim);
    }

    await app.listen({ host, port });
    const address = app.server.address();
    const actualPort = typeof address === 'object' && address ? address.port : port;
    this.#app = app;
    this.#url = `http://${host.includes(':') ? `[${host}]` : host}:${actualPort}`;
    this.ctx.log.info({ url: this.#url, virtualPhone: sim !== null }, `web UI listening on ${this.#url}`);
  }

  async stop(): Promise<void> {
    for (const off of this.#off.splice(0)) off();
    for (const client of this.#clients) client.terminate();
    this.#clients.clear();
    await this.#app?.close();
    this.#app = null;
  }

  /** Forward what the sim board shows (display pixels, ringer, LEDs) and the phone's facts to every page. */
  private watchSimBoard(sim: SimBoardHandles): void {
    const { bus } = this.ctx;
    this.#off.push(
      sim.mcu.display.on('blitted', (region) => this.broadcast({ type: 'frame', x: region.x, y: region.y, width: region.width, height: region.height, bits: Buffer.from(region.bits).toString('base64') })),
      sim.mcu.indicators.on('ringerChanged', ({ cadence }) => this.broadcast({ type: 'ringer', cadence })),
      sim.mcu.indicators.on('ledChanged', ({ led, state }) => this.broadcast({ type: 'led', led, state })),
      sim.mcu.keypad.on('hookChanged', ({ offHook }) => this.broadcast({ type: 'hook', offHook })),
      bus.on('web', 'displayChanged', ({ rows }) => {
        this.#rows = rows;
        this.broadcast({ type: 'text', rows });
      }),
      bus.on('web', 'phoneStateChanged', ({ state }) => {
        this.#phoneState = state;
        this.broadcast({ type: 'phone', state });
      }),
      bus.on('web', 'screenPopped', (pop) => this.broadcast({ type: 'screenPop', pop })),
      bus.on('web', 'printerChanged', ({ connected, status }) => {
        this.#printerConnected = connected;
        if (status) this.#printerStatus = status;
        this.broadcast(this.printerIndicator());
      }),
      bus.on('web', 'printJobChanged', (job) => {
        if (job.state === 'queued' || job.state === 'printing') this.#pending.add(job.id);
        else this.#pending.delete(job.id);
        if (job.state === 'printed' && sim.printer) this.addSlips(job, sim.printer);
        this.broadcast(this.printerIndicator());
      }),
    );
    const { poleDisplay } = sim;
    if (poleDisplay) {
      // one message per change of what the page shows (an unplug changes both the screen and the connection)
      let last = '';
      const update = () => {
        const message = poleMessage(poleDisplay.screen(), poleDisplay.connected());
        const text = JSON.stringify(message);
        if (text !== last) this.broadcast(message);
        last = text;
      };
      update();
      this.#off.push(poleDisplay.on('screenChanged', update), poleDisplay.on('connectionChanged', update));
    }
    if (sim.printer) {
      // the paper strip starts empty: what was printed before this page's service started is not shown
      this.#paperSeen = sim.printer.paper().items.length;
      // before the printing service first reports, the indicator shows the sim printer's settable state
      const printer = sim.printer;
      printer.status().then(
        (status) => {
          if (this.#printerConnected === null) {
            this.#printerConnected = true;
            this.#printerStatus = status;
          }
        },
        () => {
          if (this.#printerConnected === null) this.#printerConnected = false;
        },
      );
    }
  }

  /** The paper a job printed (everything since the last slip), as one slip per cut. */
  private addSlips(job: { id: string; template: string }, printer: VirtualReceiptPrinter): void {
    const items = printer.paper().items;
    if (items.length < this.#paperSeen) this.#paperSeen = 0; // the paper was torn off (clearPaper)
    const fresh = items.slice(this.#paperSeen);
    this.#paperSeen = items.length;
    splitSlips(fresh).forEach((slip, i) => {
      let message: SlipMessage;
      try {
        message = slipMessage(job, i + 1, slip, printer.paperWidthMm);
      } catch (error) {
        this.ctx.log.warn({ job: job.id, err: error instanceof Error ? error.message : String(error) }, 'printed slip not drawn for the virtual phone');
        return;
      }
      this.#slips.push(message);
      if (this.#slips.length > MAX_SLIPS_KEPT) this.#slips.shift();
      this.broadcast(message);
    });
  }

  private printerIndicator() {
    let queued = this.#pending.size;
    if (this.ctx.printJobs) {
      try {
        queued = this.ctx.printJobs().filter((j) => j.state === 'queued' || j.state === 'printing').length;
      } catch {
        // the print queue is not running yet: what the bus said
      }
    }
    return printerMessage(this.#printerConnected, this.#printerStatus, queued);
  }

  private attach(socket: WebSocket, sim: SimBoardHandles): void {
    this.#clients.add(socket);
    socket.on('close', () => this.#clients.delete(socket));
    const display = sim.mcu.display;
    const send = (message: ServerMessage) => socket.send(JSON.stringify(message));
    const pole = sim.poleDisplay ?? null;
    send({
      type: 'hello', board: this.ctx.board.id, display: { width: display.width, height: display.height },
      pos: { scanner: Boolean(sim.scanner), poleDisplay: pole && { columns: pole.columns, rows: pole.rows } },
    });
    send({ type: 'frame', x: 0, y: 0, width: display.width, height: display.height, bits: Buffer.from(display.pixels).toString('base64') });
    send({ type: 'ringer', cadence: sim.mcu.indicators.ringer.cadence });
    for (const [led, state] of Object.entries(sim.mcu.indicators.leds) as Array<[LedId, LedState]>) send({ type: 'led', led, state });
    send({ type: 'hook', offHook: sim.mcu.keypad.offHook });
    send({ type: 'text', rows: this.#rows });
    send({ type: 'phone', state: this.#phoneState });
    send({ type: 'caller', caller: this.#callers?.caller ?? null });
    if (sim.printer) for (const slip of this.#slips) send(slip);
    send(this.printerIndicator());
    if (pole) send(poleMessage(pole.screen(), pole.connected()));

    socket.on('message', (data, isBinary) => {
      if (isBinary) return send({ type: 'error', message: 'binary messages are not accepted' });
      const message = parseClientMessage(data.toString());
      if ('error' in message) return send({ type: 'error', message: message.error });
      switch (message.type) {
        case 'key': sim.mcu.keypad.press(message.key, { long: message.long }); break;
        case 'hook': sim.mcu.keypad.setHook(message.offHook); break;
        case 'incomingCall':
          if (message.line === 'analog') {
            if (!sim.exchange) return send({ type: 'error', message: 'the analog line is disabled (analogLine.enabled)' });
            sim.exchange.ring({ number: message.number, name: message.name });
          } else {
            if (!sim.line) return send({ type: 'error', message: 'the simulated line is disabled (simLine.enabled)' });
            sim.line.injectIncoming({ number: message.number, name: message.name });
          }
          break;
        case 'remoteHangup':
          if (!sim.exchange?.hangUp() && !sim.line?.remoteHangup()) send({ type: 'error', message: 'no call to hang up' });
          break;
        case 'scan':
          if (!sim.scanner) return send({ type: 'error', message: 'this board has no barcode scanner (board file: scanner)' });
          try {
            sim.scanner.scan(VIRTUAL_SCANNER.id, message.code);
          } catch (error) {
            send({ type: 'error', message: `scan failed: ${error instanceof Error ? error.message : String(error)}` });
          }
          break;
      }
    });
  }

  private broadcast(message: ServerMessage): void {
    const text = JSON.stringify(message);
    for (const client of this.#clients) if (client.readyState === client.OPEN) client.send(text);
  }
}
