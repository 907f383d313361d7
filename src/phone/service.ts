import type { AudioDevice, AudioRouteDriver, DisplayDriver, IndicatorDriver, KeypadDriver, LedId, LedState } from '../../drivers/mcu/types.js';
import { DIALABLE, type CallControl } from '../calls/types.js';
import type { Config } from '../config/schema.js';
import type { EventBus } from '../core/bus.js';
import type { Clock, TimerHandle } from '../core/clock.js';
import { DesklineError, errorMessage } from '../core/errors.js';
import type { BusEvents, CallInfo } from '../core/events.js';
import type { Logger } from '../core/log.js';
import type { Service } from '../core/services.js';
import type { ControlRegistry } from '../control/protocol.js';
import type { BitmapFont } from '../display/font.js';
import { Framebuffer } from '../display/framebuffer.js';
import { renderScreen, textOf } from '../display/screen.js';
import { initialModel, reduce, type PhoneEffect, type PhoneInput, type PhoneModel, type PhoneOrderRequest } from './state.js';
import { phoneView, printerProblem } from './view.js';

export interface PhoneServiceContext {
  bus: EventBus<BusEvents>;
  config: () => Config;
  log: Logger;
  clock: Clock;
  /** The MCU device roles this service owns. */
  keypad: KeypadDriver;
  display: DisplayDriver;
  indicators: IndicatorDriver;
  audioRoute: AudioRouteDriver;
  loadFont: () => Promise<BitmapFont>;
  calls: CallControl;
  control: ControlRegistry;
  /** Files an unknown caller as a new contact (the keypad's 'Save contact'); absent: the phone cannot save contacts. */
  saveContact?: (number: string, name: string) => Promise<void>;
  /** Files orders taken on the keypad and prints their slips (src/orders); absent: PRINT cannot take orders. */
  orders?: {
    createOrder(request: PhoneOrderRequest): Promise<{ orderId: string; summary: string }>;
    printOrder(orderId: string, by?: string): Promise<unknown>;
  };
}

/** Ringer, LEDs and audio route wanted for a phone state. */
interface Indicators {
  ringing: boolean;
  leds: Partial<Record<LedId, LedState>>;
  route: AudioDevice;
}

const BLINK_FAST: LedState = { blink: { onMs: 250, offMs: 250 } };
const BLINK_SLOW: LedState = { blink: { onMs: 500, offMs: 1500 } };

/**
 * The phone: owns the keypad, display, ringer/LEDs and audio route of the MCU, runs the phone state
 * machine, renders the display and turns keypad events into `hookChanged` / `keyPressed` facts.
 */
export class PhoneService implements Service {
  #model: PhoneModel = initialModel();
  #font: BitmapFont | null = null;
  #fb: Framebuffer | null = null;
  #flushing: Promise<void> = Promise.resolve();
  #indicators: Indicators = { ringing: false, leds: {}, route: 'none' };
  #indicatorChain: Promise<void> = Promise.resolve();
  #dialTimer: TimerHandle | null = null;
  readonly #inputs: PhoneInput[] = [];
  #dispatching = false;
  #messageWaiting = false;
  /** Lines that cannot carry calls, and why (shown on the idle screen). */
  readonly #lineProblems = new Map<string, string>();
  #tick: TimerHandle | null = null;
  readonly #off: Array<() => void> = [];
  /** The receipt printer as the print queue last reported it, and the jobs waiting for it. */
  #printer: BusEvents['printerChanged'] = { connected: false, status: null };
  readonly #waitingJobs = new Set<string>();

  constructor(private readonly ctx: PhoneServiceContext) {}

  get model(): PhoneModel {
    return this.#model;
  }

  async start(): Promise<void> {
    const { ctx } = this;
    this.#font = await ctx.loadFont();
    this.#fb = new Framebuffer(ctx.display.width, ctx.display.height);
    this.#model = initialModel(ctx.keypad.offHook);
    for (const { lineId, problem } of ctx.calls.lineStatuses()) if (problem) this.#lineProblems.set(lineId, problem);
    const display = ctx.config().display;
    await ctx.display.setContrast(display.contrast);
    await ctx.display.setBacklight(display.backlight);

    this.#off.push(
      ctx.keypad.on('hookChanged', ({ offHook }) => {
        ctx.bus.emit('hookChanged', { offHook, source: 'handset' });
        this.dispatch({ type: 'hook', offHook });
      }),
      ctx.keypad.on('keyPressed', ({ key, long }) => {
        ctx.bus.emit('keyPressed', { key, long, source: 'keypad' });
        this.dispatch({ type: 'key', key });
      }),
      ctx.bus.on('phone', 'callStateChanged', (event) => this.dispatch({ type: 'call', call: event, state: event.state, reason: event.reason })),
      ctx.bus.on('phone', 'callerIdReceived', (call) => this.dispatch({ type: 'identified', call })),
      ctx.bus.on('phone', 'screenPopped', (pop) => this.dispatch({ type: 'screenPop', pop })),
      ctx.bus.on('phone', 'missedCallsChanged', (missed) => this.dispatch({ type: 'missedCalls', missed })),
      ctx.bus.on('phone', 'lineStatusChanged', ({ lineId, problem }) => {
        if (problem) this.#lineProblems.set(lineId, problem);
        else this.#lineProblems.delete(lineId);
        this.render();
      }),
      ctx.bus.on('phone', 'messageWaitingChanged', ({ waiting }) => {
        this.#messageWaiting = waiting;
        this.queueIndicators(this.indicatorsFor(this.#model));
      }),
      // USB handsets and headsets (the HID service publishes their hook and keys).
      ctx.bus.on('phone', 'hookChanged', ({ offHook, source }) => {
        if (source === 'hid') this.dispatch({ type: 'hook', offHook });
      }),
      ctx.bus.on('phone', 'keyPressed', ({ key, source }) => {
        if (source === 'hid') this.dispatch({ type: 'key', key });
      }),
      ctx.bus.on('phone', 'barcodeScanned', ({ code }) => this.dispatch({ type: 'barcode', code })),
      ctx.bus.on('phone', 'printerChanged', (printer) => {
        this.#printer = printer;
        this.render();
      }),
      ctx.bus.on('phone', 'printJobChanged', ({ id, state }) => {
        if (state === 'queued' || state === 'printing') this.#waitingJobs.add(id);
        else this.#waitingJobs.delete(id);
        this.render();
      }),
      ctx.control.register('phone', 'phone.state', () => this.describe()),
      ctx.control.register('phone', 'phone.dial', (params) => this.dialFromCli(params)),
      ctx.control.register('phone', 'phone.hangup', () => {
        this.dispatch({ type: 'hangup' });
        return this.describe();
      }),
    );
    // Re-render once a second: the clock on the idle screen and the talk timer.
    this.#tick = ctx.clock.setInterval(() => this.render(), 1000);
    this.render();
    await this.#flushing;
  }

  async stop(): Promise<void> {
    for (const off of this.#off.splice(0)) off();
    this.ctx.clock.clear(this.#tick);
    this.ctx.clock.clear(this.#dialTimer);
    await this.#flushing;
    await this.#indicatorChain;
    await this.applyIndicators({ ringing: false, leds: {}, route: 'none' }).catch(() => undefined);
  }

  /** Wait until everything rendered so far has reached the display driver. */
  async settled(): Promise<void> {
    await this.#flushing;
    await this.#indicatorChain;
  }

  describe(): { state: string; digits?: string; call: CallInfo | null; offHook: boolean } {
    const s = this.#model.state;
    return {
      state: s.name,
      ...(s.name === 'dialing' ? { digits: s.digits } : {}),
      call: s.name === 'ringing' || s.name === 'talking' ? s.call : s.name === 'calling' ? s.call : null,
      offHook: this.#model.offHook,
    };
  }

  private dialFromCli(params: unknown): ReturnType<PhoneService['describe']> {
    const number = (params as { number?: unknown } | null)?.number;
    if (typeof number !== 'string' || !DIALABLE.test(number)) {
      throw new DesklineError('CALL_BAD_NUMBER', `cannot dial '${String(number)}': use digits, * and # (up to 64)`);
    }
    if (this.#model.state.name !== 'idle' && this.#model.state.name !== 'dialing') {
      throw new DesklineError('PHONE_BUSY', `the phone is busy (${this.#model.state.name})`);
    }
    this.dispatch({ type: 'dial', number });
    return this.describe();
  }

  /**
   * Feed one input to the state machine. Effects (answer, hangup, ...) may report back synchronously
   * through the bus; such inputs are queued and handled after the current one is fully applied.
   */
  private dispatch(input: PhoneInput): void {
    this.#inputs.push(input);
    if (this.#dispatching) return;
    this.#dispatching = true;
    try {
      for (let next = this.#inputs.shift(); next; next = this.#inputs.shift()) this.apply(next);
    } finally {
      this.#dispatching = false;
    }
  }

  private apply(input: PhoneInput): void {
    const before = this.#model;
    const config = this.ctx.config();
    const { model, effects } = reduce(before, input, { maxDigits: config.phone.maxDigits, now: this.ctx.clock.monotonic(), catalog: config.orders.catalog });
    this.#model = model;
    if (model.state !== before.state) {
      this.scheduleDialTimer();
      if (model.state.name !== before.state.name) {
        this.ctx.log.debug({ from: before.state.name, to: model.state.name }, 'phone state changed');
        this.ctx.bus.emit('phoneStateChanged', { state: model.state.name, previous: before.state.name, call: this.describe().call });
      }
    }
    if (model.order !== before.order) this.ctx.bus.emit('orderDraftChanged', { draft: this.draftOf(model) });
    if (model !== before) {
      this.render();
      this.queueIndicators(this.indicatorsFor(model));
    }
    for (const effect of effects) this.run(effect);
  }

  private run(effect: PhoneEffect): void {
    const { calls, log } = this.ctx;
    const fail = (error: unknown) => {
      log.warn({ effect: effect.type, err: error }, `${effect.type} failed: ${errorMessage(error)}`);
      if (effect.type === 'placeCall') this.dispatch({ type: 'callFailed', message: errorMessage(error).slice(0, 60) });
      // 'Saved' was shown when the key was pressed: say so when it did not happen
      if (effect.type === 'saveContact') this.dispatch({ type: 'notice', message: `Not saved: ${errorMessage(error)}`.slice(0, 30), offerSave: effect.number });
    };
    const saveContact = this.ctx.saveContact ?? (() => Promise.reject(new DesklineError('CONTACTS_UNAVAILABLE', 'contacts are not available')));
    switch (effect.type) {
      case 'placeCall': calls.placeCall(effect.number).catch(fail); break;
      case 'answer': calls.answer(effect.callId).catch(fail); break;
      case 'hangup': calls.hangup(effect.callId, effect.reason).catch(fail); break;
      case 'sendDtmf': calls.sendDtmf(effect.callId, effect.digits).catch(fail); break;
      case 'saveContact': saveContact(effect.number, effect.name).catch(fail); break;
      case 'placeOrder': void this.placeOrder(effect); break;
    }
  }

  /** Files an order from the keypad and prints its slip; the display says how it went. */
  private async placeOrder(effect: Extract<PhoneEffect, { type: 'placeOrder' }>): Promise<void> {
    const { orders, log } = this.ctx;
    let placed: { orderId: string; summary: string };
    try {
      if (!orders) throw new DesklineError('ORDERS_UNAVAILABLE', 'orders are not available');
      placed = await orders.createOrder(effect.order);
    } catch (error) {
      log.warn({ err: error }, `order not saved: ${errorMessage(error)}`);
      this.dispatch({ type: 'orderResult', ok: false, message: `Not saved: ${errorMessage(error)}`.slice(0, 30) });
      return;
    }
    if (!effect.print) return this.dispatch({ type: 'orderResult', ok: true, message: 'Order saved' });
    try {
      await orders.printOrder(placed.orderId, 'phone');
      this.dispatch({ type: 'orderResult', ok: true, message: 'Order saved, slip printing' });
    } catch (error) {
      log.warn({ orderId: placed.orderId, err: error }, `order slip not printed: ${errorMessage(error)}`);
      this.dispatch({ type: 'orderResult', ok: true, message: `Saved; not printed: ${errorMessage(error)}`.slice(0, 30) });
    }
  }

  /** The order being entered, as the customer's pole display shows it. */
  private draftOf(model: PhoneModel): BusEvents['orderDraftChanged']['draft'] {
    const order = model.order;
    if (!order) return null;
    const lines = order.lines.map((line) => ({ name: line.name, qty: line.qty, amount: line.qty * line.unitPrice }));
    return {
      customer: order.customer.name, lines, total: lines.reduce((sum, line) => sum + line.amount, 0),
      currency: this.ctx.config().orders.currency, phase: order.phase,
    };
  }

  /** Off-hook dialing dials after the inter-digit timeout; on-hook predial clears after a longer one. */
  private scheduleDialTimer(): void {
    const { clock } = this.ctx;
    clock.clear(this.#dialTimer);
    this.#dialTimer = null;
    const s = this.#model.state;
    if (s.name !== 'dialing') return;
    const phone = this.ctx.config().phone;
    if (s.audio === 'none') {
      this.#dialTimer = clock.setTimeout(() => this.dispatch({ type: 'predialTimeout' }), phone.predialTimeoutMs);
    } else if (s.digits) {
      this.#dialTimer = clock.setTimeout(() => this.dispatch({ type: 'dialTimeout' }), phone.dialTimeoutMs);
    }
  }

  private render(): void {
    const fb = this.#fb;
    const font = this.#font;
    if (!fb || !font) return;
    const { clock } = this.ctx;
    const screen = phoneView(this.#model, {
      deviceName: this.ctx.config().device.name,
      lineProblem: [...this.#lineProblems].map(([line, problem]) => `${line}: ${problem}`)[0] ?? null,
      currency: this.ctx.config().orders.currency,
      // jobs queued or being sent: the slips the clerk is waiting for
      printerProblem: printerProblem(this.#printer, this.#waitingJobs.size),
      wallTime: clock.wallTimeTrusted ? new Date(clock.now()) : null,
      now: clock.monotonic(),
    });
    renderScreen(fb, font, screen);
    const regions = fb.takeDirtyRegions();
    if (regions.length === 0) return;
    this.ctx.bus.emit('displayChanged', { rows: textOf(screen) });
    // Blits go out in order, one render after the other.
    this.#flushing = this.#flushing.then(async () => {
      for (const region of regions) {
        await this.ctx.display.blit(region).catch((error: unknown) => this.ctx.log.error({ err: error }, 'display blit failed'));
      }
    });
  }

  private queueIndicators(wanted: Indicators): void {
    this.#indicatorChain = this.#indicatorChain
      .then(() => this.applyIndicators(wanted))
      .catch((error: unknown) => this.ctx.log.error({ err: error }, 'indicator update failed'));
  }

  private indicatorsFor(model: PhoneModel): Indicators {
    const s = model.state;
    const audio = s.name === 'dialing' || s.name === 'calling' || s.name === 'talking' ? s.audio : s.name === 'ringing' ? s.answering : null;
    return {
      ringing: s.name === 'ringing' && !s.answering,
      leds: {
        line: s.name === 'ringing' ? BLINK_FAST : s.name === 'calling' || s.name === 'talking' ? 'on' : 'off',
        speaker: audio === 'speaker' ? 'on' : 'off',
        message: this.#messageWaiting ? BLINK_SLOW : 'off',
      },
      route: audio === 'handset' || audio === 'speaker' ? audio : 'none',
    };
  }

  private async applyIndicators(next: Indicators): Promise<void> {
    const { indicators, audioRoute, config, bus } = this.ctx;
    const previous = this.#indicators;
    this.#indicators = next;
    if (next.ringing !== previous.ringing) {
      const phone = config().phone;
      await indicators.ring(next.ringing ? phone.ringCadence : null, phone.ringVolume);
      bus.emit('ringerChanged', { ringing: next.ringing });
    }
    for (const [led, state] of Object.entries(next.leds) as Array<[LedId, LedState]>) {
      if (JSON.stringify(previous.leds[led]) !== JSON.stringify(state)) await indicators.setLed(led, state);
    }
    if (next.route !== previous.route) await audioRoute.setRoute({ device: next.route, line: false });
  }
}
