import { DriverError } from '../common/errors.js';
import { TypedEmitter } from '../common/typed-emitter.js';
import type { McuFrame } from './frame.js';
import { McuLink, streamTransport, type McuByteStream, type McuLinkStats, type McuTransport } from './link.js';
import {
  AUDIO_DEVICES, BLIT_HEADER, capabilityNames, decodeBooted, decodeDialDone, decodeDtmf, decodeErrorEvent, decodeFlag, decodeHelloReply,
  decodeKey, decodeLoopCurrent, decodePingReply, decodeState, decodeTone, decodeVersionDetail, DTMF_MAX_MS, DTMF_MIN_MS, encodeBlit, encodeDial,
  encodeFlag, encodeHello, encodeLed, encodePercent, encodeRinger, encodeRoute, ERR, errorName, MAX_CADENCE, MAX_DIAL_DIGITS, McuNakError, MSG,
  PROTOCOL_VERSION_MAX, PROTOCOL_VERSION_MIN, type BootedEvent, type DialStatus, type HelloReply, type McuMode, type McuStateSnapshot,
  type RetryPolicy,
} from './protocol.js';
import { serialPortTransport } from './transport.js';
import { silentLog, systemTimers, type McuLog, type McuTimers } from './timers.js';
import {
  type AnalogLineDriver, type AnalogLineEvents, type AudioDevice, type AudioRouteDriver, type BitmapRegion, type DisplayDriver,
  type IndicatorDriver, type KeypadDriver, type KeypadEvents, type LedId, type LedState, type LineTone, type McuDriver, type McuEvents,
  type McuInfo, type PhoneKey, type RingCadence, LED_IDS, regionStride,
} from './types.js';

/**
 * The phone MCU over its UART (board/mcu-protocol.md). One link, five roles:
 * - open(): HELLO (version negotiation, §3), GET_STATE (hook, line), heartbeat every `heartbeatMs`.
 * - A request that exhausts its retries, or a heartbeat without answer, takes the link down
 *   (`linkChanged {up:false}`); the heartbeat then sends HELLO until the MCU answers, re-reads its
 *   state (announcing hook/loop/ring changes that happened meanwhile), re-applies ringer, LEDs,
 *   contrast, backlight, audio route and the whole display from a shadow copy, and only then
 *   reports `linkChanged {up:true}`. An MCU reboot (EVT_BOOTED, or a new boot id in a PING reply)
 *   is handled the same way. The line relay is not re-seized after a reboot: the call is gone.
 * - Role commands resolve once the MCU acknowledged them; while the link is down they fail with
 *   DRIVER_IO, but what they asked for is remembered and applied on recovery.
 */

export interface SerialMcuOptions {
  /** Serial device (e.g. /dev/deskline/mcu) and speed; or give `transport`/`stream` instead. */
  path?: string;
  baudRate?: number;
  /** Any byte stream opener (tests: an in-memory pair). */
  transport?: McuTransport;
  /** A byte stream that is already open (a Duplex, a SerialPort). */
  stream?: McuByteStream;
  displayWidth: number;
  displayHeight: number;
  timers?: McuTimers;
  log?: McuLog;
  /** PING interval; 0 disables heartbeats (and the MCU's fail-safe). Default 1000. */
  heartbeatMs?: number;
  /** Protocol versions this host accepts (default: all this code speaks). */
  protocol?: { min: number; max: number };
  /** Timeout and retries per request type (default REQUEST_POLICY, §2.6). */
  policyFor?: (type: number) => RetryPolicy;
  /** DTMF timing when dialDtmf gets none. Default 100 ms tone, 100 ms gap. */
  dtmfTiming?: { toneMs: number; gapMs: number };
}

export interface SerialMcuInfo extends McuInfo {
  protocol: number;
  mode: McuMode;
  bootId: number;
  maxPayload: number;
  longPressMs: number;
}

/** closed → opening → up ⇄ (down → syncing → up); maintenance during a firmware update. */
export type McuLinkState = 'closed' | 'opening' | 'up' | 'syncing' | 'down' | 'maintenance';

/** What the runtime asked for, re-applied after the link recovers. */
interface Desired {
  contrast: number | null;
  backlight: number | null;
  ringer: { cadence: number[]; volume: number };
  leds: Record<LedId, LedState>;
  route: { device: AudioDevice; line: boolean };
}

function invalid(message: string): DriverError {
  return new DriverError('DRIVER_INVALID_ARGUMENT', message);
}

function checkPercent(value: number, what: string): number {
  if (!Number.isFinite(value) || value < 0 || value > 100) throw invalid(`${what} must be 0..100, got ${value}`);
  return Math.round(value);
}

function checkMs(value: number, what: string, min = 1, max = 0xffff): number {
  if (!Number.isInteger(value) || value < min || value > max) throw invalid(`${what} must be an integer ${min}..${max} ms, got ${value}`);
  return value;
}

// ---- roles -------------------------------------------------------------------------------------

export class SerialKeypad extends TypedEmitter<KeypadEvents> implements KeypadDriver {
  #offHook = false;
  get offHook(): boolean {
    return this.#offHook;
  }
  /** @internal the MCU reported the hook state; emits only on change (and only if `announce`). */
  _hook(offHook: boolean, announce: boolean): void {
    if (offHook === this.#offHook) return;
    this.#offHook = offHook;
    if (announce) this.emit('hookChanged', { offHook });
  }
  /** @internal */
  _key(key: PhoneKey, long: boolean): void {
    this.emit('keyPressed', { key, long });
  }
}

export class SerialDisplay implements DisplayDriver {
  #chain: Promise<void> = Promise.resolve();
  constructor(
    readonly width: number,
    readonly height: number,
    private readonly mcu: SerialMcu,
  ) {}

  blit(region: BitmapRegion): Promise<void> {
    const { x, y, width, height, bits } = region;
    if (![x, y, width, height].every(Number.isInteger) || x < 0 || y < 0 || width <= 0 || height <= 0 || x + width > this.width || y + height > this.height) {
      return Promise.reject(invalid(`region ${width}x${height}+${x}+${y} is outside the ${this.width}x${this.height} display`));
    }
    const size = regionStride(width) * height;
    if (bits.length < size) return Promise.reject(invalid(`region ${width}x${height} needs ${size} bytes, got ${bits.length}`));
    const copy = { x, y, width, height, bits: Uint8Array.from(bits.subarray(0, size)) };
    // The shadow holds what the display should show, acknowledged or not (re-sent on recovery).
    this.mcu._shadowBlit(copy);
    // One blit at a time, so the bands of two overlapping blits cannot interleave.
    const run = this.#chain.then(() => this.mcu._sendRegion(copy));
    this.#chain = run.catch(() => undefined);
    return run;
  }

  async setContrast(percent: number): Promise<void> {
    await this.mcu._setLevel('contrast', checkPercent(percent, 'contrast'));
  }
  async setBacklight(percent: number): Promise<void> {
    await this.mcu._setLevel('backlight', checkPercent(percent, 'backlight'));
  }
}

export class SerialIndicators implements IndicatorDriver {
  constructor(private readonly mcu: SerialMcu) {}

  async ring(cadence: RingCadence | null, volume = 80): Promise<void> {
    if (cadence !== null) {
      if (cadence.length === 0 || cadence.length % 2 !== 0 || cadence.some((ms) => !Number.isInteger(ms) || ms <= 0)) {
        throw invalid(`ring cadence needs an even number of positive durations, got [${cadence.join(', ')}]`);
      }
      if (cadence.length > MAX_CADENCE || cadence.some((ms) => ms > 0xffff)) throw invalid(`ring cadence: at most ${MAX_CADENCE} durations of at most 65535 ms`);
    }
    const v = cadence === null ? 0 : checkPercent(volume, 'ringer volume');
    await this.mcu._setRinger({ cadence: cadence === null ? [] : [...cadence], volume: v });
  }

  async setLed(led: LedId, state: LedState): Promise<void> {
    if (!(LED_IDS as readonly string[]).includes(led)) throw invalid(`unknown LED '${led}'`);
    if (typeof state === 'object') {
      checkMs(state.blink.onMs, 'blink onMs');
      checkMs(state.blink.offMs, 'blink offMs');
    } else if (state !== 'on' && state !== 'off') {
      throw invalid(`unknown LED state ${JSON.stringify(state)}`);
    }
    await this.mcu._setLed(led, typeof state === 'object' ? { blink: { ...state.blink } } : state);
  }
}

export class SerialAnalogLine extends TypedEmitter<AnalogLineEvents> implements AnalogLineDriver {
  #seized = false;
  constructor(private readonly mcu: SerialMcu) {
    super();
  }
  get seized(): boolean {
    return this.#seized;
  }
  async seize(): Promise<void> {
    await this.mcu._lineHook(true);
    this.#seized = true;
  }
  async release(): Promise<void> {
    await this.mcu._lineHook(false);
    this.#seized = false;
  }
  async dialDtmf(digits: string, timing?: { toneMs: number; gapMs: number }): Promise<void> {
    if (!/^[0-9A-D*#]+$/.test(digits)) throw invalid(`cannot dial '${digits}' as DTMF`);
    const t = timing ?? this.mcu.dtmfTiming;
    checkMs(t.toneMs, 'DTMF toneMs', DTMF_MIN_MS, DTMF_MAX_MS);
    checkMs(t.gapMs, 'DTMF gapMs', DTMF_MIN_MS, DTMF_MAX_MS);
    if (!this.#seized) throw new DriverError('DRIVER_NOT_OPEN', 'the line must be seized before dialing');
    for (let i = 0; i < digits.length; i += MAX_DIAL_DIGITS) await this.mcu._dial(digits.slice(i, i + MAX_DIAL_DIGITS), t);
  }
  /** @internal */
  _seized(seized: boolean): void {
    this.#seized = seized;
  }
  /** @internal */
  _emit<K extends keyof AnalogLineEvents & string>(event: K, payload: AnalogLineEvents[K]): void {
    this.emit(event, payload);
  }
}

export class SerialAudioRoute implements AudioRouteDriver {
  constructor(private readonly mcu: SerialMcu) {}
  async setRoute(route: { device: AudioDevice; line: boolean }): Promise<void> {
    if (!AUDIO_DEVICES.includes(route.device)) throw invalid(`unknown audio device '${String(route.device)}'`);
    await this.mcu._setRoute({ device: route.device, line: route.line === true });
  }
}

// ---- the driver --------------------------------------------------------------------------------

interface PendingDial {
  dialId: number;
  digits: string;
  timer: unknown;
  resolve(): void;
  reject(error: Error): void;
}

export class SerialMcu extends TypedEmitter<McuEvents> implements McuDriver {
  readonly keypad = new SerialKeypad();
  readonly display: SerialDisplay;
  readonly indicators: SerialIndicators;
  readonly line: SerialAnalogLine;
  readonly audioRoute: SerialAudioRoute;
  readonly dtmfTiming: { toneMs: number; gapMs: number };

  readonly #link: McuLink;
  readonly #timers: McuTimers;
  readonly #log: McuLog;
  readonly #heartbeatMs: number;
  readonly #protocol: { min: number; max: number };
  #state: McuLinkState = 'closed';
  /** The last linkChanged we emitted said "up". */
  #announcedUp = false;
  #info: SerialMcuInfo | null = null;
  #snapshot: McuStateSnapshot | null = null;
  #heartbeat: unknown = null;
  /** Bumped on close and maintenance so a stale heartbeat loop stops. */
  #generation = 0;
  #sync: Promise<void> | null = null;
  /** withExclusiveLink is running (set before its first await). */
  #exclusive = false;
  #opening: Promise<SerialMcuInfo> | null = null;
  /** Boot id from the latest EVT_BOOTED: a reboot during a sync makes it run again. */
  #bootedId: number | null = null;
  readonly #shadow: Uint8Array;
  #displayTouched = false;
  readonly #desired: Desired = {
    contrast: null,
    backlight: null,
    ringer: { cadence: [], volume: 0 },
    leds: Object.fromEntries(LED_IDS.map((id) => [id, 'off'])) as Record<LedId, LedState>,
    route: { device: 'none', line: false },
  };
  #nextDialId = 0;
  readonly #dials = new Set<PendingDial>();

  constructor(options: SerialMcuOptions) {
    super();
    const transport = options.transport
      ?? (options.stream ? streamTransport(options.stream) : undefined)
      ?? (options.path ? serialPortTransport({ path: options.path, baudRate: options.baudRate ?? 115200 }) : undefined);
    if (!transport) throw invalid('SerialMcu needs a path (serial port), a transport or a stream');
    if (!Number.isInteger(options.displayWidth) || !Number.isInteger(options.displayHeight) || options.displayWidth <= 0 || options.displayHeight <= 0) {
      throw invalid(`bad display size ${options.displayWidth}x${options.displayHeight}`);
    }
    this.#timers = options.timers ?? systemTimers;
    this.#log = options.log ?? silentLog;
    this.#heartbeatMs = options.heartbeatMs ?? 1000;
    this.#protocol = options.protocol ?? { min: PROTOCOL_VERSION_MIN, max: PROTOCOL_VERSION_MAX };
    this.dtmfTiming = options.dtmfTiming ?? { toneMs: 100, gapMs: 100 };
    this.#link = new McuLink({ transport, role: 'host', timers: this.#timers, log: this.#log, policyFor: options.policyFor });
    this.#link.serve((frame) => this.onEvent(frame));
    this.#link.on('streamFailed', ({ error }) => {
      this.#log.warn({ err: error }, 'MCU serial stream failed');
      this.linkDown(error ? `stream error: ${error.message}` : 'stream closed');
    });
    this.display = new SerialDisplay(options.displayWidth, options.displayHeight, this);
    this.#shadow = new Uint8Array(regionStride(options.displayWidth) * options.displayHeight);
    this.indicators = new SerialIndicators(this);
    this.line = new SerialAnalogLine(this);
    this.audioRoute = new SerialAudioRoute(this);
  }

  /** Firmware, protocol version, capabilities and boot id from the last HELLO; null before open. */
  get info(): SerialMcuInfo | null {
    return this.#info;
  }
  /** True while the MCU answers (after open, between losses). */
  get linkUp(): boolean {
    return this.#state === 'up';
  }
  get linkState(): McuLinkState {
    return this.#state;
  }
  get stats(): McuLinkStats {
    return this.#link.stats;
  }

  open(): Promise<SerialMcuInfo> {
    if (this.#opening) return this.#opening;
    if (this.#state !== 'closed' && this.#info) return Promise.resolve(this.#info);
    this.#opening = this.doOpen().finally(() => (this.#opening = null));
    return this.#opening;
  }

  private async doOpen(): Promise<SerialMcuInfo> {
    this.#state = 'opening';
    try {
      await this.#link.open();
    } catch (error) {
      this.#state = 'closed';
      throw error instanceof DriverError ? error : new DriverError('DRIVER_OPEN_FAILED', `cannot open the MCU link ${this.#link.description}: ${String(error)}`, { cause: error });
    }
    try {
      await this.synchronise(true);
    } catch (error) {
      this.#state = 'closed';
      await this.#link.close().catch(() => undefined);
      if (error instanceof DriverError && error.code === 'DRIVER_TIMEOUT') {
        throw new DriverError('DRIVER_OPEN_FAILED', `no answer from the MCU on ${this.#link.description} (is its firmware running, is the baud rate right?): ${error.message}`, { cause: error });
      }
      throw error;
    }
    this.startHeartbeat();
    return this.#info!;
  }

  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#generation++;
    this.stopHeartbeat();
    this.#state = 'closed';
    this.failDials(new DriverError('DRIVER_NOT_OPEN', 'the MCU link was closed'));
    await this.#link.close();
    this.announce(false);
  }

  /**
   * Exclusive use of the link (firmware update, §7): heartbeats stop, the roles refuse commands
   * and `linkChanged {up:false}` is reported; afterwards the link is re-synchronised (HELLO,
   * state, everything re-applied) and reported up again. If the MCU does not come back as a
   * working application the link stays down and the heartbeat keeps trying.
   */
  async withExclusiveLink<T>(fn: (link: McuLink) => Promise<T>): Promise<T> {
    if (this.#state === 'closed' || this.#state === 'opening') throw new DriverError('DRIVER_NOT_OPEN', 'the MCU link is not open');
    if (this.#state === 'maintenance' || this.#exclusive) throw new DriverError('DRIVER_IO', 'the MCU link is already in exclusive use');
    this.#exclusive = true;
    try {
      await this.#sync?.catch(() => undefined);
      return await this.exclusive(fn);
    } finally {
      this.#exclusive = false;
    }
  }

  private async exclusive<T>(fn: (link: McuLink) => Promise<T>): Promise<T> {
    if (this.#state === 'closed') throw new DriverError('DRIVER_NOT_OPEN', 'the MCU link was closed');
    this.#generation++;
    this.stopHeartbeat();
    this.#state = 'maintenance';
    this.#bootedId = null;
    this.failDials(new DriverError('DRIVER_IO', 'the MCU link was taken for maintenance'));
    this.announce(false);
    try {
      return await fn(this.#link);
    } finally {
      this.#state = 'down';
      await this.resync().catch((error: unknown) => this.#log.warn({ err: error }, 'MCU did not come back after maintenance'));
      this.startHeartbeat();
    }
  }

  // ---- internals used by the roles -------------------------------------------------------------

  /** @internal a role command: only while the link is up (or re-synchronising). */
  private command(type: number, payload: Uint8Array): Promise<Uint8Array> {
    if (this.#state === 'closed' || this.#state === 'opening') return Promise.reject(new DriverError('DRIVER_NOT_OPEN', 'the MCU is not open'));
    if (this.#state === 'down') return Promise.reject(new DriverError('DRIVER_IO', 'the MCU link is down (will be re-applied when it is back)'));
    if (this.#state === 'maintenance') return Promise.reject(new DriverError('DRIVER_IO', 'the MCU is being updated'));
    return this.send(type, payload);
  }

  /** Any request; a timeout while the link is up takes it down. */
  private async send(type: number, payload?: Uint8Array, policy?: Partial<RetryPolicy>): Promise<Uint8Array> {
    try {
      return await this.#link.request(type, payload, policy);
    } catch (error) {
      if (error instanceof DriverError && error.code === 'DRIVER_TIMEOUT' && this.#state === 'up') this.linkDown(error.message);
      throw error;
    }
  }

  /** @internal */
  _shadowBlit(region: BitmapRegion): void {
    const stride = regionStride(region.width);
    const shadowStride = regionStride(this.display.width);
    for (let row = 0; row < region.height; row++) {
      for (let col = 0; col < region.width; col++) {
        const on = (region.bits[row * stride + (col >> 3)] & (0x80 >> (col & 7))) !== 0;
        const px = region.x + col;
        const index = (region.y + row) * shadowStride + (px >> 3);
        const mask = 0x80 >> (px & 7);
        this.#shadow[index] = on ? this.#shadow[index] | mask : this.#shadow[index] & ~mask;
      }
    }
    this.#displayTouched = true;
  }

  /**
   * @internal Sends a region as DISPLAY_BLIT frames (§5.6): bands of whole rows that fit the MCU's
   * maxPayload; a region wider than one payload is cut into byte-aligned column tiles as well.
   */
  async _sendRegion(region: BitmapRegion, viaCommand = true): Promise<void> {
    const maxBytes = (this.#info?.maxPayload ?? 512) - BLIT_HEADER;
    const stride = regionStride(region.width);
    const tileBytes = Math.min(stride, maxBytes);
    for (let byteOffset = 0; byteOffset < stride; byteOffset += tileBytes) {
      const tileWidth = Math.min(tileBytes * 8, region.width - byteOffset * 8);
      const tileStride = regionStride(tileWidth);
      const rowsPerFrame = Math.max(1, Math.floor(maxBytes / tileStride));
      for (let top = 0; top < region.height; top += rowsPerFrame) {
        const rows = Math.min(rowsPerFrame, region.height - top);
        const bits = new Uint8Array(tileStride * rows);
        for (let r = 0; r < rows; r++) {
          const from = (top + r) * stride + byteOffset;
          bits.set(region.bits.subarray(from, from + tileStride), r * tileStride);
        }
        const payload = encodeBlit({ x: region.x + byteOffset * 8, y: region.y + top, width: tileWidth, height: rows, bits });
        await (viaCommand ? this.command(MSG.DISPLAY_BLIT, payload) : this.send(MSG.DISPLAY_BLIT, payload));
      }
    }
  }

  /** @internal */
  async _setLevel(which: 'contrast' | 'backlight', percent: number): Promise<void> {
    this.#desired[which] = percent;
    await this.command(which === 'contrast' ? MSG.DISPLAY_CONTRAST : MSG.DISPLAY_BACKLIGHT, encodePercent(percent));
  }
  /** @internal */
  async _setRinger(ringer: { cadence: number[]; volume: number }): Promise<void> {
    this.#desired.ringer = ringer;
    await this.command(MSG.RINGER, encodeRinger(ringer));
  }
  /** @internal */
  async _setLed(led: LedId, state: LedState): Promise<void> {
    this.#desired.leds[led] = state;
    await this.command(MSG.LED, ledPayload(led, state));
  }
  /** @internal */
  async _setRoute(route: { device: AudioDevice; line: boolean }): Promise<void> {
    this.#desired.route = route;
    await this.command(MSG.AUDIO_ROUTE, encodeRoute(route));
  }
  /** @internal */
  async _lineHook(seized: boolean): Promise<void> {
    await this.command(MSG.LINE_HOOK, encodeFlag(seized));
  }

  /** @internal LINE_DIAL is acknowledged on acceptance; it is done when EVT_DIAL_DONE arrives (§5.8). */
  async _dial(digits: string, timing: { toneMs: number; gapMs: number }): Promise<void> {
    const dialId = this.#nextDialId;
    this.#nextDialId = (dialId + 1) & 0xff;
    let pending!: PendingDial;
    // Registered before sending: EVT_DIAL_DONE may overtake our handling of the ACK.
    const done = new Promise<void>((resolve, reject) => {
      pending = { dialId, digits, timer: null, resolve, reject };
    });
    this.#dials.add(pending);
    const settle = (): void => {
      this.#dials.delete(pending);
      this.#timers.clear(pending.timer);
    };
    done.then(settle, settle);
    try {
      await this.command(MSG.LINE_DIAL, encodeDial({ dialId, digits, ...timing }));
    } catch (error) {
      settle();
      throw error;
    }
    if (this.#dials.has(pending)) {
      const deadline = digits.length * (timing.toneMs + timing.gapMs) + 2000;
      pending.timer = this.#timers.setTimeout(
        () => pending.reject(new DriverError('DRIVER_TIMEOUT', `the MCU did not finish dialing '${digits}' within ${deadline} ms`)),
        deadline,
      );
    }
    await done;
  }

  // ---- events from the MCU (§8) -----------------------------------------------------------------

  private onEvent(frame: McuFrame): { after: () => void } | { nak: number } {
    const p = frame.payload;
    switch (frame.type) {
      case MSG.EVT_BOOTED: {
        const e = decodeBooted(p);
        return { after: () => this.onBooted(e) };
      }
      case MSG.EVT_HOOK: {
        const offHook = decodeFlag(p, 'EVT_HOOK');
        return { after: () => this.updateSnapshot({ offHook }) };
      }
      case MSG.EVT_KEY: {
        const e = decodeKey(p);
        // keyPressed is a release (types.ts): down and long-threshold events only inform.
        return { after: () => e.action === 'up' && this.keypad._key(e.key, e.long) };
      }
      case MSG.EVT_RING: {
        const on = decodeFlag(p, 'EVT_RING');
        return { after: () => this.updateSnapshot({ ringing: on }) };
      }
      case MSG.EVT_POLARITY: {
        const reversed = decodeFlag(p, 'EVT_POLARITY');
        return {
          after: () => {
            if (this.#snapshot) this.#snapshot.polarityReversed = reversed;
            this.line._emit('polarityReversed', {});
          },
        };
      }
      case MSG.EVT_LOOP_CURRENT: {
        const { present } = decodeLoopCurrent(p);
        return { after: () => this.updateSnapshot({ loopCurrent: present }) };
      }
      case MSG.EVT_TONE: {
        const tone: LineTone = decodeTone(p);
        return { after: () => this.line._emit('toneDetected', { tone }) };
      }
      case MSG.EVT_DTMF: {
        const e = decodeDtmf(p);
        return { after: () => this.line._emit('dtmfDetected', e) };
      }
      case MSG.EVT_DIAL_DONE: {
        const e = decodeDialDone(p);
        return { after: () => this.onDialDone(e) };
      }
      case MSG.EVT_ERROR: {
        const e = decodeErrorEvent(p);
        return { after: () => this.onFault(e) };
      }
      default:
        return { nak: ERR.UNKNOWN_MESSAGE };
    }
  }

  /** Applies reported state, emitting role events only for real changes (hookChanged once per change). */
  private updateSnapshot(change: Partial<McuStateSnapshot>, announce = true): void {
    const before = this.#snapshot;
    this.#snapshot = { ...(before ?? emptySnapshot()), ...change };
    const live = announce && this.#state !== 'opening';
    if (change.offHook !== undefined) this.keypad._hook(change.offHook, live);
    if (change.seized !== undefined) this.line._seized(change.seized);
    if (!live) return;
    if (change.loopCurrent !== undefined && before?.loopCurrent !== change.loopCurrent) {
      this.line._emit('loopCurrentChanged', { present: change.loopCurrent });
    }
    if (change.ringing !== undefined && before?.ringing !== change.ringing) {
      this.line._emit('ringDetected', { on: change.ringing });
    }
  }

  private onDialDone(e: { dialId: number; status: DialStatus; played: number }): void {
    for (const dial of this.#dials) {
      if (dial.dialId !== e.dialId) continue;
      if (e.status === 'complete') dial.resolve();
      else dial.reject(new DriverError('DRIVER_IO', `dialing '${dial.digits}' ${e.status === 'aborted' ? 'was aborted (line released)' : 'failed'} after ${e.played} digit(s)`));
      return;
    }
  }

  private onFault(e: { code: number; detail: number; text: string }): void {
    const code = errorName(e.code);
    this.#log.warn({ code, detail: e.detail }, `MCU reported ${code}: ${e.text}`);
    this.emit('faultReported', { code, detail: e.detail, message: e.text });
    // The MCU applied its fail-safe (§2.8): ringer, LEDs, route and line were reset. Re-apply.
    if (e.code === ERR.HOST_TIMEOUT && this.#state === 'up') this.recover('the MCU applied its host-timeout fail-safe');
  }

  private onBooted(e: BootedEvent): void {
    // During maintenance the updater expects reboots; the sync afterwards reads the new boot id.
    if (this.#state === 'maintenance') return;
    this.#bootedId = e.bootId;
    if (this.#info && e.bootId === this.#info.bootId) return;
    this.#log.info({ bootId: e.bootId, reason: e.reason, mode: e.mode }, 'MCU rebooted');
    if (this.#state === 'up' || this.#state === 'down') this.recover(`MCU rebooted (${e.reason})`);
  }

  // ---- link state ------------------------------------------------------------------------------

  private announce(up: boolean): void {
    if (this.#announcedUp === up) return;
    this.#announcedUp = up;
    this.emit('linkChanged', { up });
  }

  private linkDown(reason: string): void {
    if (this.#state !== 'up' && this.#state !== 'syncing') return;
    this.#log.warn({ reason }, 'MCU link down');
    this.#state = 'down';
    this.failDials(new DriverError('DRIVER_IO', `the MCU link went down: ${reason}`));
    this.announce(false);
  }

  /** Link down, then re-synchronise at once (the MCU is known to be alive). */
  private recover(reason: string): void {
    this.linkDown(reason);
    this.resync().catch((error: unknown) => this.#log.warn({ err: error }, 'MCU re-synchronisation failed; retrying with the heartbeat'));
  }

  private failDials(error: Error): void {
    for (const dial of [...this.#dials]) dial.reject(error);
  }

  private resync(): Promise<void> {
    this.#sync ??= this.synchronise(false).finally(() => (this.#sync = null));
    return this.#sync;
  }

  /**
   * HELLO, GET_STATE and (after a loss) restore everything (§3.2 "Session start"). A reboot seen
   * while doing so (EVT_BOOTED with another boot id) makes it start over, at most three times.
   */
  private async synchronise(initial: boolean): Promise<void> {
    for (let round = 0; ; round++) {
      if (!initial) this.#state = 'syncing';
      try {
        const info = await this.hello(initial);
        const snapshot = decodeState(await this.send(MSG.GET_STATE));
        this.#info = info;
        this.updateSnapshot(snapshot, !initial);
        if (!initial) await this.restore();
        if (this.#bootedId !== null && this.#bootedId !== info.bootId && round < 3) continue;
      } catch (error) {
        if (this.#state === 'syncing') this.#state = 'down';
        throw error;
      }
      if (this.#state !== 'syncing' && this.#state !== 'opening') throw new DriverError('DRIVER_IO', `the MCU link changed state (${this.#state}) while synchronising`);
      this.#state = 'up';
      this.announce(true);
      return;
    }
  }

  private async hello(initial: boolean): Promise<SerialMcuInfo> {
    let reply: HelloReply;
    try {
      const body = await this.send(
        MSG.HELLO,
        encodeHello({ protoMin: this.#protocol.min, protoMax: this.#protocol.max, resetOutputs: initial, heartbeatMs: this.#heartbeatMs }),
        initial ? undefined : { retries: 0 },
      );
      reply = decodeHelloReply(body);
    } catch (error) {
      if (error instanceof McuNakError && error.nakCode === ERR.VERSION) {
        const range = decodeVersionDetail(error.detail);
        throw new DriverError(
          'DRIVER_UNSUPPORTED',
          `the MCU firmware speaks protocol version ${range ? `${range.min}..${range.max}` : '(unknown)'}, this runtime ${this.#protocol.min}..${this.#protocol.max}: update the MCU firmware (or the runtime)`,
          { cause: error },
        );
      }
      throw error;
    }
    return checkHello(reply, this.#protocol, this.display);
  }

  private async restore(): Promise<void> {
    const d = this.#desired;
    if (d.contrast !== null) await this.send(MSG.DISPLAY_CONTRAST, encodePercent(d.contrast));
    if (d.backlight !== null) await this.send(MSG.DISPLAY_BACKLIGHT, encodePercent(d.backlight));
    await this.send(MSG.RINGER, encodeRinger(d.ringer));
    for (const led of LED_IDS) await this.send(MSG.LED, ledPayload(led, d.leds[led]));
    await this.send(MSG.AUDIO_ROUTE, encodeRoute(d.route));
    if (this.#displayTouched) {
      // Bands are cut from the shadow as they go, so blits made meanwhile are not undone.
      await this._sendRegion({ x: 0, y: 0, width: this.display.width, height: this.display.height, bits: this.#shadow }, false);
    }
  }

  private startHeartbeat(): void {
    if (this.#heartbeatMs <= 0 || this.#state === 'closed') return;
    const generation = this.#generation;
    const tick = async (): Promise<void> => {
      this.#heartbeat = null;
      try {
        if (this.#state === 'up') {
          const ping = decodePingReply(await this.send(MSG.PING));
          if (this.#state === 'up' && this.#info && ping.bootId !== this.#info.bootId) this.recover('MCU rebooted (new boot id)');
        } else if (this.#state === 'down') {
          await this.resync();
          this.#log.info({ firmware: this.#info?.firmware }, 'MCU link back up');
        }
      } catch (error) {
        this.#log.debug({ err: error }, 'MCU heartbeat failed');
      }
      if (generation === this.#generation && this.#state !== 'closed') this.#heartbeat = this.#timers.setTimeout(() => void tick(), this.#heartbeatMs);
    };
    this.#heartbeat = this.#timers.setTimeout(() => void tick(), this.#heartbeatMs);
  }

  private stopHeartbeat(): void {
    if (this.#heartbeat !== null) this.#timers.clear(this.#heartbeat);
    this.#heartbeat = null;
  }
}

function emptySnapshot(): McuStateSnapshot {
  return { offHook: false, seized: false, loopCurrent: false, ringing: false, polarityReversed: false, ringerOn: false, dialing: false };
}

function ledPayload(led: LedId, state: LedState): Uint8Array {
  return typeof state === 'object'
    ? encodeLed({ led, mode: 'blink', onMs: state.blink.onMs, offMs: state.blink.offMs })
    : encodeLed({ led, mode: state, onMs: 0, offMs: 0 });
}

/** Checks a HELLO reply against what this host can work with (§3.1). */
export function checkHello(
  reply: HelloReply,
  protocol: { min: number; max: number },
  display: { width: number; height: number } | null,
  allowBootloader = false,
): SerialMcuInfo {
  if (reply.proto < protocol.min || reply.proto > protocol.max) {
    throw new DriverError('DRIVER_UNSUPPORTED', `the MCU chose protocol version ${reply.proto}, this runtime speaks ${protocol.min}..${protocol.max}`);
  }
  if (reply.mode === 'bootloader' && !allowBootloader) {
    throw new DriverError('DRIVER_OPEN_FAILED', `the MCU is in its bootloader (${reply.firmware}): no valid application firmware; run the MCU firmware update`);
  }
  const capabilities = capabilityNames(reply.capabilities);
  if (display && reply.mode === 'application' && capabilities.includes('display') && (reply.displayWidth !== display.width || reply.displayHeight !== display.height)) {
    throw new DriverError(
      'DRIVER_OPEN_FAILED',
      `the MCU drives a ${reply.displayWidth}x${reply.displayHeight} display but the board file says ${display.width}x${display.height}`,
    );
  }
  return {
    firmware: reply.firmware,
    capabilities,
    protocol: reply.proto,
    mode: reply.mode,
    bootId: reply.bootId,
    maxPayload: reply.maxPayload,
    longPressMs: reply.longPressMs,
  };
}
