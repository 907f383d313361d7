import { EventEmitter } from 'node:events';
import { TypedEmitter } from '../common/typed-emitter.js';
import { crc16, crc32, MAX_PAYLOAD, type McuFrame } from './frame.js';
import { McuLink, streamTransport, type IncomingAnswer, type McuByteStream } from './link.js';
import {
  BOOTLOADER_MAGIC, capabilityBits, CAPABILITIES, decodeBlit, decodeDial, decodeFlag, decodeFwBegin, decodeFwBlock, decodeHello, decodeLed,
  decodeMagic, decodePercent, decodeRinger, decodeRoute, encodeBooted, encodeCrc32, encodeDialDone, encodeDtmf, encodeErrorEvent, encodeFlag,
  encodeHelloReply, encodeKey, encodeLoopCurrent, encodePingReply, encodeState, encodeTone, encodeVersionDetail, ERR, EVENT_POLICY,
  MSG, PROTOCOL_VERSION_MAX, PROTOCOL_VERSION_MIN, type BootReason, type DialStatus, type FwBegin, type McuMode, type RetryPolicy,
} from './protocol.js';
import { silentLog, systemTimers, type McuLog, type McuTimers } from './timers.js';
import { LED_IDS, regionStride, type AudioDevice, type BitmapRegion, type LedId, type LedState, type LineTone, type PhoneKey } from './types.js';

/**
 * The MCU firmware, simulated: the other end of board/mcu-protocol.md over any byte stream (one end
 * of a socat pty pair opened with serialport, or an in-memory stream). It answers HELLO and every
 * request as §5 says, keeps the state a real MCU keeps (hook, LEDs, ringer, display pixels, line
 * relay, audio route), sends events (§8) with stop-and-wait retransmission, implements the
 * host-silence fail-safe (§2.8) and the bootloader update path (§7). Tests inject the physical
 * world: handset, keys, ring bursts, polarity, loop current, DTMF and tones.
 */

export interface SimMcuFirmwareOptions {
  displayWidth?: number;
  displayHeight?: number;
  /** Application firmware name reported in HELLO. */
  firmware?: string;
  bootloader?: string;
  /** Protocol versions this firmware speaks. */
  protocol?: { min: number; max: number };
  capabilities?: readonly string[];
  maxPayload?: number;
  longPressMs?: number;
  /** Start in the bootloader (as after an interrupted update). */
  mode?: McuMode;
  timers?: McuTimers;
  /** Multiplies simulated durations (DTMF playing, reboot): 0.1 runs ten times faster. */
  timeScale?: number;
  /** How long a reset keeps the MCU deaf before EVT_BOOTED. */
  rebootDelayMs?: number;
  /** Application flash size (largest image FW_BEGIN accepts). */
  flashSize?: number;
  eventPolicy?: RetryPolicy;
  /** Firmware name of an installed image (default: a "DLFW" header name, else a CRC). */
  versionOf?: (image: Uint8Array) => string;
  log?: McuLog;
}

export interface SimFirmwareEvents {
  [event: string]: unknown;
  /** Every request the host sent (after duplicate suppression). */
  command: McuFrame;
  blitted: BitmapRegion;
  dialed: { digits: string; toneMs: number; gapMs: number; status: DialStatus; played: number };
  rebooted: { mode: McuMode; bootId: number; reason: BootReason };
  failSafe: Record<string, never>;
}

export interface SimDial {
  digits: string;
  toneMs: number;
  gapMs: number;
  status: DialStatus;
  played: number;
}

/** Fault injection for tests (§7 failure paths). */
export interface SimFirmwareFaults {
  /** Flash writes that come out wrong (caught by the per-block read-back: NAK BLOCK_CRC). */
  corruptBlockWrites: number;
  /** Flip one bit of the staged image after it was written (caught only by FW_VERIFY: NAK IMAGE_CRC). */
  corruptImageSilently: boolean;
}

/** The byte stream as the firmware's UART sees it: deaf and mute while resetting or unplugged. */
class GatedStream extends EventEmitter implements McuByteStream {
  deaf = false;
  mute = false;
  readonly #onData = (chunk: Uint8Array): void => {
    if (!this.deaf) this.emit('data', chunk);
  };
  constructor(private readonly inner: McuByteStream) {
    super();
  }
  attach(): void {
    this.inner.on('data', this.#onData);
  }
  detach(): void {
    this.inner.removeListener('data', this.#onData);
  }
  write(chunk: Uint8Array): boolean {
    if (!this.mute) this.inner.write(chunk);
    return true;
  }
}

function defaultVersionOf(image: Uint8Array): string {
  // Sim convention: "DLFW" + length u8 + ASCII name, else the image CRC.
  if (image.length > 5 && image[0] === 0x44 && image[1] === 0x4c && image[2] === 0x46 && image[3] === 0x57) {
    return String.fromCharCode(...image.subarray(5, 5 + Math.min(image[4], 32)));
  }
  return `sim-app-${crc32(image).toString(16).padStart(8, '0')}`;
}

export class SimMcuFirmware extends TypedEmitter<SimFirmwareEvents> {
  readonly displayWidth: number;
  readonly displayHeight: number;
  /** What the display shows: 1 bit per pixel, rows padded to bytes, MSB leftmost. */
  pixels: Uint8Array;
  contrast = 50;
  backlight = 100;
  ringer: { cadence: number[]; volume: number } = { cadence: [], volume: 0 };
  readonly leds = Object.fromEntries(LED_IDS.map((id) => [id, 'off'])) as Record<LedId, LedState>;
  route: { device: AudioDevice; line: boolean } = { device: 'none', line: false };
  /** Physical state (survives resets). */
  offHook = false;
  loopCurrent = false;
  polarityReversed = false;
  ringing = false;
  seized = false;
  /** Every DTMF string the host had played, in order. */
  readonly dialed: SimDial[] = [];
  /** Line relay actions, in order. */
  readonly lineActions: Array<'seize' | 'release'> = [];
  /** The installed application image (null until an update installed one). */
  image: Uint8Array | null = null;
  readonly faults: SimFirmwareFaults = { corruptBlockWrites: 0, corruptImageSilently: false };
  /** Host heartbeat interval from the last HELLO (0 = fail-safe off). */
  heartbeatMs = 0;
  /** Number of blit frames received. */
  blitCount = 0;

  readonly #stream: GatedStream;
  readonly #link: McuLink;
  readonly #timers: McuTimers;
  readonly #log: McuLog;
  readonly #options: Required<Pick<SimMcuFirmwareOptions, 'protocol' | 'maxPayload' | 'longPressMs' | 'timeScale' | 'rebootDelayMs' | 'flashSize'>>;
  readonly #capabilities: number;
  readonly #versionOf: (image: Uint8Array) => string;
  #firmware: string;
  readonly #bootloaderName: string;
  #mode: McuMode;
  #bootId = 0;
  #bootedAt = Date.now();
  #started = false;
  #appValid = true;
  #dial: { dialId: number; digits: string; toneMs: number; gapMs: number; played: number; timer: unknown } | null = null;
  #failSafeTimer: unknown = null;
  #rebootTimer: unknown = null;
  #update: { begin: FwBegin; staging: Uint8Array; written: number; lastOffset: number; verified: boolean } | null = null;

  constructor(stream: McuByteStream, options: SimMcuFirmwareOptions = {}) {
    super();
    this.displayWidth = options.displayWidth ?? 240;
    this.displayHeight = options.displayHeight ?? 128;
    this.pixels = new Uint8Array(regionStride(this.displayWidth) * this.displayHeight);
    this.#timers = options.timers ?? systemTimers;
    this.#log = options.log ?? silentLog;
    this.#options = {
      protocol: options.protocol ?? { min: PROTOCOL_VERSION_MIN, max: PROTOCOL_VERSION_MAX },
      maxPayload: options.maxPayload ?? MAX_PAYLOAD,
      longPressMs: options.longPressMs ?? 800,
      timeScale: options.timeScale ?? 1,
      rebootDelayMs: options.rebootDelayMs ?? 20,
      flashSize: options.flashSize ?? 256 * 1024,
    };
    this.#capabilities = capabilityBits(options.capabilities ?? CAPABILITIES);
    this.#versionOf = options.versionOf ?? defaultVersionOf;
    this.#firmware = options.firmware ?? 'deskline-mcu-sim 1.0.0';
    this.#bootloaderName = options.bootloader ?? 'deskline-boot-sim 1.0';
    this.#mode = options.mode ?? 'application';
    this.#appValid = this.#mode === 'application';
    this.#stream = new GatedStream(stream);
    const eventPolicy = options.eventPolicy ?? EVENT_POLICY;
    this.#link = new McuLink({ transport: streamTransport(this.#stream, 'sim firmware'), role: 'mcu', timers: this.#timers, log: this.#log, policyFor: () => eventPolicy });
    this.#link.serve((frame) => this.serve(frame));
    this.#link.on('received', () => this.armFailSafe());
  }

  get mode(): McuMode {
    return this.#mode;
  }
  get bootId(): number {
    return this.#bootId;
  }
  get firmware(): string {
    return this.#mode === 'bootloader' ? this.#bootloaderName : this.#firmware;
  }
  get dialing(): boolean {
    return this.#dial !== null;
  }
  get linkStats(): McuLink['stats'] {
    return this.#link.stats;
  }

  /** Power on: attach to the stream and announce the boot. */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    this.#stream.attach();
    await this.#link.open();
    this.powerOn('power-on');
  }

  async stop(): Promise<void> {
    if (!this.#started) return;
    this.#started = false;
    this.clearTimers();
    this.#stream.detach();
    await this.#link.close();
  }

  /** Unplug (true) or reconnect (false) the UART: the host hears nothing and is not heard. */
  unplug(unplugged: boolean): void {
    this.#stream.deaf = unplugged;
    this.#stream.mute = unplugged;
  }

  /** Reset the MCU (watchdog, brown-out, ...): outputs and display are lost, EVT_BOOTED follows. */
  reboot(reason: BootReason = 'watchdog', mode: McuMode = this.#appValid ? 'application' : 'bootloader'): void {
    this.clearTimers();
    this.#mode = mode;
    this.resetOutputs();
    this.pixels = new Uint8Array(this.pixels.length);
    this.contrast = 50;
    this.backlight = 100;
    this.heartbeatMs = 0;
    this.#link.reset();
    this.#link.restartSequence();
    this.#stream.deaf = true;
    this.#stream.mute = true;
    this.#rebootTimer = this.#timers.setTimeout(() => {
      this.#rebootTimer = null;
      this.#stream.deaf = false;
      this.#stream.mute = false;
      this.powerOn(reason);
    }, this.#options.rebootDelayMs * this.#options.timeScale);
  }

  getPixel(x: number, y: number): boolean {
    return (this.pixels[y * regionStride(this.displayWidth) + (x >> 3)] & (0x80 >> (x & 7))) !== 0;
  }

  // ---- the physical world (test injection); each resolves once the host acknowledged ----------

  setHook(offHook: boolean): Promise<void> {
    if (offHook === this.offHook) return Promise.resolve();
    this.offHook = offHook;
    return this.sendEvent(MSG.EVT_HOOK, encodeFlag(offHook));
  }

  /** Press and release a key; `long` holds it past the long-press threshold. */
  async pressKey(key: PhoneKey, options: { long?: boolean } = {}): Promise<void> {
    const long = options.long ?? false;
    const held = long ? this.#options.longPressMs + 200 : 120;
    await this.sendEvent(MSG.EVT_KEY, encodeKey({ key, action: 'down', heldMs: 0, long: false }));
    if (long) await this.sendEvent(MSG.EVT_KEY, encodeKey({ key, action: 'long', heldMs: this.#options.longPressMs, long: true }));
    await this.sendEvent(MSG.EVT_KEY, encodeKey({ key, action: 'up', heldMs: held, long }));
  }

  ring(on: boolean): Promise<void> {
    this.ringing = on;
    return this.sendEvent(MSG.EVT_RING, encodeFlag(on));
  }

  reversePolarity(): Promise<void> {
    this.polarityReversed = !this.polarityReversed;
    return this.sendEvent(MSG.EVT_POLARITY, encodeFlag(this.polarityReversed));
  }

  setLoopCurrent(present: boolean, milliamps = present ? 25 : 0): Promise<void> {
    this.loopCurrent = present;
    return this.sendEvent(MSG.EVT_LOOP_CURRENT, encodeLoopCurrent({ present, milliamps }));
  }

  detectTone(tone: LineTone): Promise<void> {
    return this.sendEvent(MSG.EVT_TONE, encodeTone(tone));
  }

  detectDtmf(digit: string, durationMs = 80): Promise<void> {
    return this.sendEvent(MSG.EVT_DTMF, encodeDtmf({ digit, durationMs }));
  }

  reportError(code: number, detail = 0, text = ''): Promise<void> {
    return this.sendEvent(MSG.EVT_ERROR, encodeErrorEvent({ code, detail, text }));
  }

  // ---- internals -------------------------------------------------------------------------------

  /** Send any event (tests: also malformed ones); resolves on the host's ACK, rejects on NAK/timeout. */
  sendEvent(type: number, payload: Uint8Array): Promise<void> {
    // The bootloader scans no keys and watches no line.
    if (this.#mode === 'bootloader' && type !== MSG.EVT_BOOTED) return Promise.resolve();
    return this.#link.request(type, payload).then(() => undefined);
  }

  private powerOn(reason: BootReason): void {
    this.#bootId = (Math.floor(Math.random() * 0xfffffff0) + 1) >>> 0;
    this.#bootedAt = Date.now();
    this.emit('rebooted', { mode: this.#mode, bootId: this.#bootId, reason });
    this.sendEvent(MSG.EVT_BOOTED, encodeBooted({ bootId: this.#bootId, reason, mode: this.#mode })).catch(() => undefined);
  }

  private clearTimers(): void {
    for (const t of [this.#failSafeTimer, this.#rebootTimer, this.#dial?.timer]) if (t) this.#timers.clear(t);
    this.#failSafeTimer = null;
    this.#rebootTimer = null;
    this.#dial = null;
  }

  /** Power-on outputs (§5.1 RESET_OUTPUTS): ringer off, LEDs off, route none, line released. */
  private resetOutputs(): void {
    this.ringer = { cadence: [], volume: 0 };
    for (const led of LED_IDS) this.leds[led] = 'off';
    this.route = { device: 'none', line: false };
    this.releaseLine();
  }

  private releaseLine(): void {
    if (this.#dial) this.finishDial('aborted');
    if (this.seized) this.lineActions.push('release');
    this.seized = false;
  }

  /** §2.8: no valid frame from the host for 4 heartbeat intervals -> outputs to a safe state. */
  private armFailSafe(): void {
    if (this.#failSafeTimer) this.#timers.clear(this.#failSafeTimer);
    this.#failSafeTimer = null;
    if (this.heartbeatMs <= 0 || this.#mode !== 'application') return;
    this.#failSafeTimer = this.#timers.setTimeout(() => {
      this.#failSafeTimer = null;
      this.resetOutputs();
      this.emit('failSafe', {});
      this.sendEvent(MSG.EVT_ERROR, encodeErrorEvent({ code: ERR.HOST_TIMEOUT, detail: 0, text: 'host silent: outputs reset' })).catch(() => undefined);
    }, this.heartbeatMs * 4);
  }

  private serve(frame: McuFrame): IncomingAnswer {
    this.emit('command', frame);
    const p = frame.payload;
    switch (frame.type) {
      case MSG.HELLO: return this.hello(p);
      case MSG.PING: return { ack: encodePingReply({ uptimeMs: (Date.now() - this.#bootedAt) >>> 0, bootId: this.#bootId }) };
      case MSG.FW_ENTER_BOOTLOADER: {
        if (decodeMagic(p) !== BOOTLOADER_MAGIC) return { nak: ERR.BAD_ARGUMENT };
        if (this.#mode === 'bootloader') return {};
        return { after: () => this.reboot('commanded', 'bootloader') };
      }
      case MSG.FW_REBOOT: return this.fwReboot();
    }
    return this.#mode === 'bootloader' ? this.serveBootloader(frame) : this.serveApplication(frame);
  }

  private hello(p: Uint8Array): IncomingAnswer {
    const h = decodeHello(p);
    const { min, max } = this.#options.protocol;
    const chosen = Math.min(h.protoMax, max);
    if (chosen < Math.max(h.protoMin, min)) return { nak: ERR.VERSION, detail: encodeVersionDetail(min, max) };
    if (h.resetOutputs && this.#mode === 'application') this.resetOutputs();
    this.heartbeatMs = h.heartbeatMs;
    this.armFailSafe();
    const boot = this.#mode === 'bootloader';
    return {
      ack: encodeHelloReply({
        proto: chosen,
        mode: this.#mode,
        bootId: this.#bootId,
        capabilities: boot ? capabilityBits(['firmware-update']) : this.#capabilities,
        displayWidth: boot ? 0 : this.displayWidth,
        displayHeight: boot ? 0 : this.displayHeight,
        maxPayload: this.#options.maxPayload,
        longPressMs: this.#options.longPressMs,
        firmware: this.firmware,
      }),
    };
  }

  private serveApplication(frame: McuFrame): IncomingAnswer {
    const p = frame.payload;
    switch (frame.type) {
      case MSG.GET_STATE:
        return {
          ack: encodeState({
            offHook: this.offHook, seized: this.seized, loopCurrent: this.loopCurrent, ringing: this.ringing,
            polarityReversed: this.polarityReversed, ringerOn: this.ringer.cadence.length > 0, dialing: this.#dial !== null,
          }),
        };
      case MSG.RINGER:
        this.ringer = decodeRinger(p);
        return {};
      case MSG.LED: {
        const c = decodeLed(p);
        this.leds[c.led] = c.mode === 'blink' ? { blink: { onMs: c.onMs, offMs: c.offMs } } : c.mode;
        return {};
      }
      case MSG.DISPLAY_BLIT: return this.blit(p);
      case MSG.DISPLAY_CONTRAST:
        this.contrast = decodePercent(p, 'DISPLAY_CONTRAST');
        return {};
      case MSG.DISPLAY_BACKLIGHT:
        this.backlight = decodePercent(p, 'DISPLAY_BACKLIGHT');
        return {};
      case MSG.AUDIO_ROUTE:
        this.route = decodeRoute(p);
        return {};
      case MSG.LINE_HOOK: {
        const seize = decodeFlag(p, 'LINE_HOOK');
        if (seize && !this.seized) {
          this.seized = true;
          this.lineActions.push('seize');
        } else if (!seize) {
          this.releaseLine();
        }
        return {};
      }
      case MSG.LINE_DIAL: return this.dial(p);
      case MSG.FW_BEGIN:
      case MSG.FW_BLOCK:
      case MSG.FW_VERIFY:
        return { nak: ERR.WRONG_MODE };
      default:
        return { nak: ERR.UNKNOWN_MESSAGE };
    }
  }

  private blit(p: Uint8Array): IncomingAnswer {
    const b = decodeBlit(p);
    if (b.x + b.width > this.displayWidth || b.y + b.height > this.displayHeight) return { nak: ERR.BAD_ARGUMENT };
    const stride = regionStride(b.width);
    const displayStride = regionStride(this.displayWidth);
    for (let row = 0; row < b.height; row++) {
      for (let col = 0; col < b.width; col++) {
        const on = (b.bits[row * stride + (col >> 3)] & (0x80 >> (col & 7))) !== 0;
        const x = b.x + col;
        const index = (b.y + row) * displayStride + (x >> 3);
        const mask = 0x80 >> (x & 7);
        this.pixels[index] = on ? this.pixels[index] | mask : this.pixels[index] & ~mask;
      }
    }
    this.blitCount++;
    this.emit('blitted', b);
    return {};
  }

  private dial(p: Uint8Array): IncomingAnswer {
    const c = decodeDial(p);
    if (!this.seized) return { nak: ERR.BAD_STATE };
    if (this.#dial) return { nak: ERR.BUSY };
    const dial = { ...c, played: 0, timer: null as unknown };
    this.#dial = dial;
    const step = (): void => {
      if (this.#dial !== dial) return;
      dial.played++;
      if (dial.played === dial.digits.length) this.finishDial('complete');
      else dial.timer = this.#timers.setTimeout(step, (c.toneMs + c.gapMs) * this.#options.timeScale);
    };
    return { after: () => (dial.timer = this.#timers.setTimeout(step, (c.toneMs + c.gapMs) * this.#options.timeScale)) };
  }

  private finishDial(status: DialStatus): void {
    const dial = this.#dial;
    if (!dial) return;
    this.#dial = null;
    if (dial.timer) this.#timers.clear(dial.timer);
    const record = { digits: dial.digits, toneMs: dial.toneMs, gapMs: dial.gapMs, status, played: dial.played };
    this.dialed.push(record);
    this.emit('dialed', record);
    this.sendEvent(MSG.EVT_DIAL_DONE, encodeDialDone({ dialId: dial.dialId, status, played: dial.played })).catch(() => undefined);
  }

  // ---- bootloader (§7) ---------------------------------------------------------------------------

  private serveBootloader(frame: McuFrame): IncomingAnswer {
    const p = frame.payload;
    switch (frame.type) {
      case MSG.FW_BEGIN: {
        const begin = decodeFwBegin(p);
        if (begin.imageSize > this.#options.flashSize) return { nak: ERR.TOO_LARGE };
        if (begin.blockSize + 6 > this.#options.maxPayload) return { nak: ERR.BAD_ARGUMENT };
        // Erasing the application: from here on only a verified image makes it bootable again.
        this.#appValid = false;
        this.#update = { begin, staging: new Uint8Array(begin.imageSize).fill(0xff), written: 0, lastOffset: -1, verified: false };
        return {};
      }
      case MSG.FW_BLOCK: {
        const u = this.#update;
        if (!u) return { nak: ERR.BAD_STATE };
        const block = decodeFwBlock(p);
        if (crc16(block.data) !== block.crc16) return { nak: ERR.BLOCK_CRC };
        // A repeat of the block written last (its ACK was lost) is acknowledged again.
        if (block.offset === u.lastOffset && block.offset + block.data.length === u.written) return {};
        const last = block.offset + block.data.length === u.begin.imageSize;
        if (block.offset !== u.written || block.offset + block.data.length > u.begin.imageSize || (!last && block.data.length !== u.begin.blockSize)) {
          return { nak: ERR.BAD_ARGUMENT };
        }
        u.staging.set(block.data, block.offset);
        if (this.faults.corruptBlockWrites > 0) {
          this.faults.corruptBlockWrites--;
          u.staging[block.offset] ^= 0x01;
        }
        // Read back what was programmed.
        if (crc16(u.staging.subarray(block.offset, block.offset + block.data.length)) !== block.crc16) {
          u.staging.fill(0xff, block.offset, block.offset + block.data.length);
          return { nak: ERR.BLOCK_CRC };
        }
        if (this.faults.corruptImageSilently) {
          this.faults.corruptImageSilently = false;
          u.staging[block.offset] ^= 0x80;
        }
        u.lastOffset = block.offset;
        u.written = block.offset + block.data.length;
        return {};
      }
      case MSG.FW_VERIFY: {
        const u = this.#update;
        if (!u || u.written !== u.begin.imageSize) return { nak: ERR.BAD_STATE };
        const crc = crc32(u.staging);
        if (crc !== u.begin.imageCrc32) return { nak: ERR.IMAGE_CRC, detail: encodeCrc32(crc) };
        u.verified = true;
        return { ack: encodeCrc32(crc) };
      }
      case MSG.GET_STATE:
      default:
        return { nak: isKnownApplicationMessage(frame.type) ? ERR.WRONG_MODE : ERR.UNKNOWN_MESSAGE };
    }
  }

  private fwReboot(): IncomingAnswer {
    if (this.#mode === 'application') return { after: () => this.reboot('commanded', 'application') };
    const u = this.#update;
    if (u?.verified) {
      return {
        after: () => {
          this.image = u.staging;
          this.#firmware = this.#versionOf(u.staging);
          this.#appValid = true;
          this.#update = null;
          this.reboot('firmware-update', 'application');
        },
      };
    }
    if (!this.#appValid) return { nak: ERR.BAD_STATE };
    return { after: () => this.reboot('commanded', 'application') };
  }
}

function isKnownApplicationMessage(type: number): boolean {
  return type >= MSG.GET_STATE && type <= MSG.LINE_DIAL;
}
