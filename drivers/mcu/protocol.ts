import { DriverError, type DriverErrorCode } from '../common/errors.js';
import { MAX_PAYLOAD } from './frame.js';
import { DIGIT_KEYS, FUNCTION_KEYS, LED_IDS, LINE_TONES, type AudioDevice, type LedId, type LineTone, type PhoneKey } from './types.js';

/**
 * MCU protocol messages (board/mcu-protocol.md §4–§8): ids, codes and payload layouts.
 * Pure code shared by the host driver (serial.ts) and the simulated firmware (sim-firmware.ts).
 * Every multi-byte field is little-endian (§2.5); the frame CRC is the only big-endian field.
 */

/** Protocol versions this code speaks (§3). */
export const PROTOCOL_VERSION_MIN = 1;
export const PROTOCOL_VERSION_MAX = 1;

/** Message ids (§4 table). 0x01–0x0F link control, 0x10–0x7F host→MCU requests, 0x80–0xFF MCU→host events. */
export const MSG = {
  ACK: 0x01,
  NAK: 0x02,
  // host -> MCU requests
  HELLO: 0x10,
  PING: 0x11,
  GET_STATE: 0x12,
  RINGER: 0x20,
  LED: 0x21,
  DISPLAY_BLIT: 0x30,
  DISPLAY_CONTRAST: 0x31,
  DISPLAY_BACKLIGHT: 0x32,
  AUDIO_ROUTE: 0x40,
  LINE_HOOK: 0x50,
  LINE_DIAL: 0x51,
  FW_ENTER_BOOTLOADER: 0x60,
  FW_BEGIN: 0x61,
  FW_BLOCK: 0x62,
  FW_VERIFY: 0x63,
  FW_REBOOT: 0x64,
  // MCU -> host events
  EVT_BOOTED: 0x80,
  EVT_HOOK: 0x81,
  EVT_KEY: 0x82,
  EVT_RING: 0x90,
  EVT_POLARITY: 0x91,
  EVT_LOOP_CURRENT: 0x92,
  EVT_TONE: 0x93,
  EVT_DTMF: 0x94,
  EVT_DIAL_DONE: 0x95,
  EVT_ERROR: 0xa0,
} as const;
export type MessageName = keyof typeof MSG;

const NAMES = new Map<number, MessageName>(Object.entries(MSG).map(([name, id]) => [id, name as MessageName]));
export function messageName(type: number): string {
  return NAMES.get(type) ?? `0x${type.toString(16).padStart(2, '0')}`;
}
export function isKnownMessage(type: number): boolean {
  return NAMES.has(type);
}
/** Requests go host→MCU and are answered with ACK (+ reply data) or NAK. */
export function isRequest(type: number): boolean {
  return type >= 0x10 && type <= 0x7f;
}
/** Events go MCU→host and are answered with an empty ACK, or NAK. */
export function isEvent(type: number): boolean {
  return type >= 0x80;
}

/** Error codes carried by NAK and EVT_ERROR (§6). */
export const ERR = {
  BAD_LENGTH: 0x01,
  BAD_ARGUMENT: 0x02,
  UNKNOWN_MESSAGE: 0x03,
  BAD_STATE: 0x04,
  BUSY: 0x05,
  VERSION: 0x06,
  WRONG_MODE: 0x07,
  BLOCK_CRC: 0x08,
  IMAGE_CRC: 0x09,
  FLASH: 0x0a,
  TOO_LARGE: 0x0b,
  HARDWARE: 0x0c,
  // asynchronous only (EVT_ERROR)
  UART: 0x20,
  FRAMES_DROPPED: 0x21,
  DISPLAY_FAULT: 0x22,
  RINGER_FAULT: 0x23,
  LINE_FAULT: 0x24,
  HOST_TIMEOUT: 0x25,
  EVENTS_DROPPED: 0x26,
} as const;
export type ErrorName = keyof typeof ERR;
const ERR_NAMES = new Map<number, ErrorName>(Object.entries(ERR).map(([name, id]) => [id, name as ErrorName]));
export function errorName(code: number): string {
  return ERR_NAMES.get(code) ?? `ERROR_0x${code.toString(16).padStart(2, '0')}`;
}

/** What a NAK code means to a driver caller. */
function driverCodeFor(code: number): DriverErrorCode {
  switch (code) {
    case ERR.BAD_LENGTH:
    case ERR.BAD_ARGUMENT:
    case ERR.TOO_LARGE:
      return 'DRIVER_INVALID_ARGUMENT';
    case ERR.UNKNOWN_MESSAGE:
    case ERR.VERSION:
    case ERR.WRONG_MODE:
      return 'DRIVER_UNSUPPORTED';
    default:
      return 'DRIVER_IO';
  }
}

/** The peer answered a request with NAK. `mcuCode` is the protocol's error name (e.g. 'BLOCK_CRC'). */
export class McuNakError extends DriverError {
  readonly mcuCode: string;
  constructor(
    readonly request: number,
    readonly nakCode: number,
    readonly detail: Uint8Array,
    message?: string,
  ) {
    super(driverCodeFor(nakCode), message ?? `MCU refused ${messageName(request)}: ${errorName(nakCode)}`);
    this.name = 'McuNakError';
    this.mcuCode = errorName(nakCode);
  }
}

/** A payload that does not match its layout; the receiver answers NAK with `code`. */
export class PayloadError extends DriverError {
  constructor(
    readonly nakCode: number,
    message: string,
  ) {
    super(nakCode === ERR.BAD_LENGTH || nakCode === ERR.BAD_ARGUMENT ? 'DRIVER_INVALID_ARGUMENT' : 'DRIVER_IO', message);
    this.name = 'PayloadError';
  }
}

// ---- byte helpers ------------------------------------------------------------------------------

/** Little-endian writer. */
export class ByteWriter {
  #bytes: number[] = [];
  u8(v: number): this {
    this.#bytes.push(v & 0xff);
    return this;
  }
  u16(v: number): this {
    this.#bytes.push(v & 0xff, (v >>> 8) & 0xff);
    return this;
  }
  u32(v: number): this {
    this.#bytes.push(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);
    return this;
  }
  bytes(data: Uint8Array): this {
    for (const b of data) this.#bytes.push(b);
    return this;
  }
  ascii(text: string): this {
    for (let i = 0; i < text.length; i++) this.#bytes.push(text.charCodeAt(i) & 0x7f);
    return this;
  }
  finish(): Uint8Array {
    return Uint8Array.from(this.#bytes);
  }
}

/** Little-endian reader; reading past the end is BAD_LENGTH. Extra trailing bytes are ignored (§3.3). */
export class ByteReader {
  #at = 0;
  constructor(
    private readonly data: Uint8Array,
    private readonly what: string,
  ) {}
  get remaining(): number {
    return this.data.length - this.#at;
  }
  private need(n: number): void {
    if (this.#at + n > this.data.length) throw new PayloadError(ERR.BAD_LENGTH, `${this.what}: payload of ${this.data.length} bytes is too short`);
  }
  u8(): number {
    this.need(1);
    return this.data[this.#at++];
  }
  u16(): number {
    this.need(2);
    const v = this.data[this.#at] | (this.data[this.#at + 1] << 8);
    this.#at += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = (this.data[this.#at] | (this.data[this.#at + 1] << 8) | (this.data[this.#at + 2] << 16) | (this.data[this.#at + 3] << 24)) >>> 0;
    this.#at += 4;
    return v;
  }
  bytes(n: number): Uint8Array {
    this.need(n);
    const v = this.data.slice(this.#at, this.#at + n);
    this.#at += n;
    return v;
  }
  rest(): Uint8Array {
    const v = this.data.slice(this.#at);
    this.#at = this.data.length;
    return v;
  }
  ascii(n: number): string {
    return String.fromCharCode(...this.bytes(n));
  }
  flag(): boolean {
    const v = this.u8();
    if (v > 1) throw new PayloadError(ERR.BAD_ARGUMENT, `${this.what}: boolean byte must be 0 or 1, got ${v}`);
    return v === 1;
  }
}

function bad(what: string, message: string): PayloadError {
  return new PayloadError(ERR.BAD_ARGUMENT, `${what}: ${message}`);
}

// ---- ACK / NAK (§4.1) ------------------------------------------------------------------------

/** ACK payload: answered type u8, then the request's reply data (if any). */
export function encodeAck(answered: number, reply: Uint8Array = new Uint8Array(0)): Uint8Array {
  const out = new Uint8Array(1 + reply.length);
  out[0] = answered;
  out.set(reply, 1);
  return out;
}

/** NAK payload: answered type u8, error code u8, then code-specific detail. */
export function encodeNak(answered: number, code: number, detail: Uint8Array = new Uint8Array(0)): Uint8Array {
  const out = new Uint8Array(2 + detail.length);
  out[0] = answered;
  out[1] = code;
  out.set(detail, 2);
  return out;
}

export function decodeNak(payload: Uint8Array): { answered: number; code: number; detail: Uint8Array } {
  const r = new ByteReader(payload, 'NAK');
  return { answered: r.u8(), code: r.u8(), detail: r.rest() };
}

// ---- HELLO (§5.1) ------------------------------------------------------------------------------

export const HELLO_RESET_OUTPUTS = 0x01;

export interface HelloRequest {
  protoMin: number;
  protoMax: number;
  /** Put ringer, LEDs, audio route and line relay into their power-on state (a fresh host session). */
  resetOutputs: boolean;
  /** The host's heartbeat interval; the MCU applies its fail-safe after 4 intervals of silence. 0 = never. */
  heartbeatMs: number;
}

export function encodeHello(h: HelloRequest): Uint8Array {
  return new ByteWriter().u8(h.protoMin).u8(h.protoMax).u8(h.resetOutputs ? HELLO_RESET_OUTPUTS : 0).u16(h.heartbeatMs).finish();
}
export function decodeHello(p: Uint8Array): HelloRequest {
  const r = new ByteReader(p, 'HELLO');
  const protoMin = r.u8();
  const protoMax = r.u8();
  const flags = r.u8();
  const heartbeatMs = r.u16();
  if (protoMin > protoMax || protoMin === 0) throw bad('HELLO', `bad version range ${protoMin}..${protoMax}`);
  return { protoMin, protoMax, resetOutputs: (flags & HELLO_RESET_OUTPUTS) !== 0, heartbeatMs };
}

export type McuMode = 'application' | 'bootloader';

/** Capability bits (§5.1). */
export const CAPABILITIES = [
  'keypad', 'display', 'ringer', 'leds', 'fxo', 'dtmf', 'dtmf-detect', 'tone-detect', 'audio-route', 'polarity', 'firmware-update',
] as const;
export type Capability = (typeof CAPABILITIES)[number];
export function capabilityBits(names: readonly string[]): number {
  let bits = 0;
  CAPABILITIES.forEach((name, bit) => {
    if (names.includes(name)) bits |= 1 << bit;
  });
  return bits >>> 0;
}
export function capabilityNames(bits: number): Capability[] {
  return CAPABILITIES.filter((_, bit) => (bits & (1 << bit)) !== 0);
}

export interface HelloReply {
  proto: number;
  mode: McuMode;
  bootId: number;
  capabilities: number;
  displayWidth: number;
  displayHeight: number;
  maxPayload: number;
  longPressMs: number;
  firmware: string;
}

export const MAX_FIRMWARE_NAME = 32;
export const MIN_MAX_PAYLOAD = 64;

export function encodeHelloReply(h: HelloReply): Uint8Array {
  const name = h.firmware.slice(0, MAX_FIRMWARE_NAME);
  return new ByteWriter()
    .u8(h.proto).u8(h.mode === 'bootloader' ? 1 : 0).u32(h.bootId).u32(h.capabilities)
    .u16(h.displayWidth).u16(h.displayHeight).u16(h.maxPayload).u16(h.longPressMs)
    .u8(name.length).ascii(name)
    .finish();
}
export function decodeHelloReply(p: Uint8Array): HelloReply {
  const r = new ByteReader(p, 'HELLO reply');
  const proto = r.u8();
  const mode = r.u8();
  if (mode > 1) throw bad('HELLO reply', `unknown mode ${mode}`);
  const bootId = r.u32();
  const capabilities = r.u32();
  const displayWidth = r.u16();
  const displayHeight = r.u16();
  const maxPayload = r.u16();
  const longPressMs = r.u16();
  const nameLength = r.u8();
  if (nameLength > MAX_FIRMWARE_NAME) throw bad('HELLO reply', `firmware name of ${nameLength} bytes`);
  const firmware = r.ascii(nameLength);
  if (maxPayload < MIN_MAX_PAYLOAD || maxPayload > MAX_PAYLOAD) throw bad('HELLO reply', `maxPayload ${maxPayload} outside ${MIN_MAX_PAYLOAD}..${MAX_PAYLOAD}`);
  return { proto, mode: mode === 1 ? 'bootloader' : 'application', bootId, capabilities, displayWidth, displayHeight, maxPayload, longPressMs, firmware };
}

/** NAK VERSION detail: the MCU's supported range. */
export function encodeVersionDetail(min: number, max: number): Uint8Array {
  return Uint8Array.of(min, max);
}
export function decodeVersionDetail(detail: Uint8Array): { min: number; max: number } | null {
  return detail.length >= 2 ? { min: detail[0], max: detail[1] } : null;
}

// ---- PING / GET_STATE (§5.2, §5.3) ------------------------------------------------------------

export interface PingReply {
  uptimeMs: number;
  bootId: number;
}
export function encodePingReply(p: PingReply): Uint8Array {
  return new ByteWriter().u32(p.uptimeMs).u32(p.bootId).finish();
}
export function decodePingReply(p: Uint8Array): PingReply {
  const r = new ByteReader(p, 'PING reply');
  return { uptimeMs: r.u32(), bootId: r.u32() };
}

export interface McuStateSnapshot {
  offHook: boolean;
  seized: boolean;
  loopCurrent: boolean;
  ringing: boolean;
  polarityReversed: boolean;
  ringerOn: boolean;
  dialing: boolean;
}
const STATE_BITS = ['offHook', 'seized', 'loopCurrent', 'ringing', 'polarityReversed', 'ringerOn', 'dialing'] as const;
export function encodeState(s: McuStateSnapshot): Uint8Array {
  let bits = 0;
  STATE_BITS.forEach((key, bit) => {
    if (s[key]) bits |= 1 << bit;
  });
  return Uint8Array.of(bits);
}
export function decodeState(p: Uint8Array): McuStateSnapshot {
  const bits = new ByteReader(p, 'GET_STATE reply').u8();
  return Object.fromEntries(STATE_BITS.map((key, bit) => [key, (bits & (1 << bit)) !== 0])) as unknown as McuStateSnapshot;
}

// ---- ringer and LEDs (§5.4, §5.5) -------------------------------------------------------------

export const MAX_CADENCE = 8;

export interface RingerCommand {
  /** 0..100 */
  volume: number;
  /** Alternating on/off ms, an even count 2..8; empty = ringer off. */
  cadence: number[];
}
export function encodeRinger(c: RingerCommand): Uint8Array {
  const w = new ByteWriter().u8(c.volume).u8(c.cadence.length);
  for (const ms of c.cadence) w.u16(ms);
  return w.finish();
}
export function decodeRinger(p: Uint8Array): RingerCommand {
  const r = new ByteReader(p, 'RINGER');
  const volume = r.u8();
  const count = r.u8();
  if (volume > 100) throw bad('RINGER', `volume ${volume} > 100`);
  if (count % 2 !== 0 || count > MAX_CADENCE) throw bad('RINGER', `cadence count ${count} must be even and <= ${MAX_CADENCE}`);
  const cadence: number[] = [];
  for (let i = 0; i < count; i++) {
    const ms = r.u16();
    if (ms === 0) throw bad('RINGER', 'cadence durations must be positive');
    cadence.push(ms);
  }
  return { volume, cadence };
}

export const LED_MODE = { off: 0, on: 1, blink: 2 } as const;

export interface LedCommand {
  led: LedId;
  mode: 'off' | 'on' | 'blink';
  onMs: number;
  offMs: number;
}
export function encodeLed(c: LedCommand): Uint8Array {
  return new ByteWriter().u8(LED_IDS.indexOf(c.led)).u8(LED_MODE[c.mode]).u16(c.onMs).u16(c.offMs).finish();
}
export function decodeLed(p: Uint8Array): LedCommand {
  const r = new ByteReader(p, 'LED');
  const index = r.u8();
  const mode = r.u8();
  const onMs = r.u16();
  const offMs = r.u16();
  const led = LED_IDS[index];
  if (led === undefined) throw bad('LED', `unknown LED ${index}`);
  if (mode > 2) throw bad('LED', `unknown mode ${mode}`);
  if (mode === 2 && (onMs === 0 || offMs === 0)) throw bad('LED', 'blink times must be positive');
  return { led, mode: mode === 0 ? 'off' : mode === 1 ? 'on' : 'blink', onMs, offMs };
}

// ---- display (§5.6) ----------------------------------------------------------------------------

export const BLIT_HEADER = 8;

export interface BlitCommand {
  x: number;
  y: number;
  width: number;
  height: number;
  /** height rows of ceil(width/8) bytes, MSB = leftmost pixel. */
  bits: Uint8Array;
}
export function encodeBlit(c: BlitCommand): Uint8Array {
  return new ByteWriter().u16(c.x).u16(c.y).u16(c.width).u16(c.height).bytes(c.bits).finish();
}
export function decodeBlit(p: Uint8Array): BlitCommand {
  const r = new ByteReader(p, 'DISPLAY_BLIT');
  const x = r.u16();
  const y = r.u16();
  const width = r.u16();
  const height = r.u16();
  if (width === 0 || height === 0) throw bad('DISPLAY_BLIT', 'empty region');
  // The pixel data is the rest of the payload and must be exactly height rows.
  const size = Math.ceil(width / 8) * height;
  if (r.remaining !== size) throw new PayloadError(ERR.BAD_LENGTH, `DISPLAY_BLIT: ${width}x${height} needs ${size} bytes, got ${r.remaining}`);
  return { x, y, width, height, bits: r.bytes(size) };
}

export function encodePercent(percent: number): Uint8Array {
  return Uint8Array.of(percent);
}
export function decodePercent(p: Uint8Array, what: string): number {
  const v = new ByteReader(p, what).u8();
  if (v > 100) throw bad(what, `${v} > 100`);
  return v;
}

// ---- audio route (§5.7) ------------------------------------------------------------------------

export const AUDIO_DEVICES: readonly AudioDevice[] = ['none', 'handset', 'speaker', 'headset'];
export function encodeRoute(route: { device: AudioDevice; line: boolean }): Uint8Array {
  return Uint8Array.of(AUDIO_DEVICES.indexOf(route.device), route.line ? 1 : 0);
}
export function decodeRoute(p: Uint8Array): { device: AudioDevice; line: boolean } {
  const r = new ByteReader(p, 'AUDIO_ROUTE');
  const index = r.u8();
  const device = AUDIO_DEVICES[index];
  if (device === undefined) throw bad('AUDIO_ROUTE', `unknown device ${index}`);
  return { device, line: r.flag() };
}

// ---- analog line (§5.8) ------------------------------------------------------------------------

export const DTMF_DIGITS = '0123456789*#ABCD';
export const MAX_DIAL_DIGITS = 64;
export const DTMF_MIN_MS = 40;
export const DTMF_MAX_MS = 1000;

export interface DialCommand {
  dialId: number;
  toneMs: number;
  gapMs: number;
  digits: string;
}
export function encodeDial(c: DialCommand): Uint8Array {
  return new ByteWriter().u8(c.dialId).u16(c.toneMs).u16(c.gapMs).u8(c.digits.length).ascii(c.digits).finish();
}
export function decodeDial(p: Uint8Array): DialCommand {
  const r = new ByteReader(p, 'LINE_DIAL');
  const dialId = r.u8();
  const toneMs = r.u16();
  const gapMs = r.u16();
  const count = r.u8();
  const digits = r.ascii(count);
  if (count === 0 || count > MAX_DIAL_DIGITS) throw bad('LINE_DIAL', `digit count ${count} outside 1..${MAX_DIAL_DIGITS}`);
  if ([...digits].some((d) => !DTMF_DIGITS.includes(d))) throw bad('LINE_DIAL', `'${digits}' is not DTMF`);
  for (const [name, ms] of [['toneMs', toneMs], ['gapMs', gapMs]] as const) {
    if (ms < DTMF_MIN_MS || ms > DTMF_MAX_MS) throw bad('LINE_DIAL', `${name} ${ms} outside ${DTMF_MIN_MS}..${DTMF_MAX_MS}`);
  }
  return { dialId, toneMs, gapMs, digits };
}

// ---- firmware update (§7) ----------------------------------------------------------------------

/** FW_ENTER_BOOTLOADER magic, "DLBL" (bytes 44 4C 42 4C): a stray frame cannot wipe the application. */
export const BOOTLOADER_MAGIC = 0x4c424c44;
export const FW_BLOCK_HEADER = 6;

export function encodeMagic(magic = BOOTLOADER_MAGIC): Uint8Array {
  return new ByteWriter().u32(magic).finish();
}
export function decodeMagic(p: Uint8Array): number {
  return new ByteReader(p, 'FW_ENTER_BOOTLOADER').u32();
}

export interface FwBegin {
  imageSize: number;
  imageCrc32: number;
  blockSize: number;
}
export function encodeFwBegin(c: FwBegin): Uint8Array {
  return new ByteWriter().u32(c.imageSize).u32(c.imageCrc32).u16(c.blockSize).finish();
}
export function decodeFwBegin(p: Uint8Array): FwBegin {
  const r = new ByteReader(p, 'FW_BEGIN');
  const c = { imageSize: r.u32(), imageCrc32: r.u32(), blockSize: r.u16() };
  if (c.imageSize === 0) throw bad('FW_BEGIN', 'empty image');
  if (c.blockSize === 0) throw bad('FW_BEGIN', 'block size 0');
  return c;
}

export interface FwBlock {
  offset: number;
  /** CRC-16/CCITT-FALSE of data. */
  crc16: number;
  data: Uint8Array;
}
export function encodeFwBlock(c: FwBlock): Uint8Array {
  return new ByteWriter().u32(c.offset).u16(c.crc16).bytes(c.data).finish();
}
export function decodeFwBlock(p: Uint8Array): FwBlock {
  const r = new ByteReader(p, 'FW_BLOCK');
  const offset = r.u32();
  const crc = r.u16();
  const data = r.rest();
  if (data.length === 0) throw bad('FW_BLOCK', 'empty block');
  return { offset, crc16: crc, data };
}

export function encodeCrc32(crc: number): Uint8Array {
  return new ByteWriter().u32(crc).finish();
}
export function decodeCrc32(p: Uint8Array, what: string): number {
  return new ByteReader(p, what).u32();
}

// ---- events (§8) -------------------------------------------------------------------------------

export const BOOT_REASONS = ['power-on', 'watchdog', 'commanded', 'brown-out', 'firmware-update', 'fault'] as const;
export type BootReason = (typeof BOOT_REASONS)[number];

export interface BootedEvent {
  bootId: number;
  reason: BootReason;
  mode: McuMode;
}
export function encodeBooted(e: BootedEvent): Uint8Array {
  return new ByteWriter().u32(e.bootId).u8(BOOT_REASONS.indexOf(e.reason)).u8(e.mode === 'bootloader' ? 1 : 0).finish();
}
export function decodeBooted(p: Uint8Array): BootedEvent {
  const r = new ByteReader(p, 'EVT_BOOTED');
  const bootId = r.u32();
  const reason = BOOT_REASONS[r.u8()] ?? 'fault';
  return { bootId, reason, mode: r.u8() === 1 ? 'bootloader' : 'application' };
}

export function encodeFlag(on: boolean): Uint8Array {
  return Uint8Array.of(on ? 1 : 0);
}
export function decodeFlag(p: Uint8Array, what: string): boolean {
  return new ByteReader(p, what).flag();
}

/** Key codes (§8.3): digits and * # as their ASCII code, function keys 0x80 + index. */
export function keyCode(key: PhoneKey): number {
  if ((DIGIT_KEYS as readonly string[]).includes(key)) return key.charCodeAt(0);
  return 0x80 + (FUNCTION_KEYS as readonly string[]).indexOf(key);
}
export function keyFromCode(code: number): PhoneKey | null {
  if (code >= 0x80) return FUNCTION_KEYS[code - 0x80] ?? null;
  const ch = String.fromCharCode(code);
  return (DIGIT_KEYS as readonly string[]).includes(ch) ? (ch as PhoneKey) : null;
}

export const KEY_ACTION = { down: 0, up: 1, long: 2 } as const;
export type KeyAction = keyof typeof KEY_ACTION;

export interface KeyEvent {
  key: PhoneKey;
  action: KeyAction;
  /** ms the key has been held (0 for down). */
  heldMs: number;
  /** on `up`: the key was held past the long-press threshold. */
  long: boolean;
}
export function encodeKey(e: KeyEvent): Uint8Array {
  return new ByteWriter().u8(keyCode(e.key)).u8(KEY_ACTION[e.action]).u16(e.heldMs).u8(e.long ? 1 : 0).finish();
}
export function decodeKey(p: Uint8Array): KeyEvent {
  const r = new ByteReader(p, 'EVT_KEY');
  const code = r.u8();
  const action = r.u8();
  const heldMs = r.u16();
  const long = r.flag();
  const key = keyFromCode(code);
  if (key === null) throw bad('EVT_KEY', `unknown key code 0x${code.toString(16)}`);
  if (action > 2) throw bad('EVT_KEY', `unknown action ${action}`);
  return { key, action: action === 0 ? 'down' : action === 1 ? 'up' : 'long', heldMs, long };
}

export function encodeLoopCurrent(e: { present: boolean; milliamps: number }): Uint8Array {
  return Uint8Array.of(e.present ? 1 : 0, Math.min(255, Math.max(0, Math.round(e.milliamps))));
}
export function decodeLoopCurrent(p: Uint8Array): { present: boolean; milliamps: number } {
  const r = new ByteReader(p, 'EVT_LOOP_CURRENT');
  return { present: r.flag(), milliamps: r.u8() };
}

/** Tone codes (§8.7): 1 dial, 2 busy, 3 ringback, 4 congestion. */
export function encodeTone(tone: LineTone): Uint8Array {
  return Uint8Array.of(LINE_TONES.indexOf(tone) + 1);
}
export function decodeTone(p: Uint8Array): LineTone {
  const code = new ByteReader(p, 'EVT_TONE').u8();
  const tone = LINE_TONES[code - 1];
  if (tone === undefined) throw bad('EVT_TONE', `unknown tone ${code}`);
  return tone;
}

export function encodeDtmf(e: { digit: string; durationMs: number }): Uint8Array {
  return new ByteWriter().ascii(e.digit).u16(e.durationMs).finish();
}
export function decodeDtmf(p: Uint8Array): { digit: string; durationMs: number } {
  const r = new ByteReader(p, 'EVT_DTMF');
  const digit = r.ascii(1);
  if (!DTMF_DIGITS.includes(digit)) throw bad('EVT_DTMF', `'${digit}' is not a DTMF digit`);
  return { digit, durationMs: r.u16() };
}

export const DIAL_STATUS = ['complete', 'aborted', 'failed'] as const;
export type DialStatus = (typeof DIAL_STATUS)[number];
export function encodeDialDone(e: { dialId: number; status: DialStatus; played: number }): Uint8Array {
  return Uint8Array.of(e.dialId, DIAL_STATUS.indexOf(e.status), e.played);
}
export function decodeDialDone(p: Uint8Array): { dialId: number; status: DialStatus; played: number } {
  const r = new ByteReader(p, 'EVT_DIAL_DONE');
  const dialId = r.u8();
  const status = DIAL_STATUS[r.u8()];
  if (status === undefined) throw bad('EVT_DIAL_DONE', 'unknown status');
  return { dialId, status, played: r.u8() };
}

export const MAX_ERROR_TEXT = 48;
export function encodeErrorEvent(e: { code: number; detail: number; text: string }): Uint8Array {
  const text = e.text.slice(0, MAX_ERROR_TEXT);
  return new ByteWriter().u8(e.code).u16(e.detail).u8(text.length).ascii(text).finish();
}
export function decodeErrorEvent(p: Uint8Array): { code: number; detail: number; text: string } {
  const r = new ByteReader(p, 'EVT_ERROR');
  const code = r.u8();
  const detail = r.u16();
  const length = r.u8();
  if (length > MAX_ERROR_TEXT) throw bad('EVT_ERROR', `text of ${length} bytes`);
  return { code, detail, text: r.ascii(length) };
}

// ---- host timing (§2.6) ------------------------------------------------------------------------

export interface RetryPolicy {
  /** How long to wait for ACK/NAK after each transmission. */
  timeoutMs: number;
  /** Retransmissions after the first attempt. */
  retries: number;
}

/** Per-request timeouts and retries the host uses (§2.6 table). */
export const REQUEST_POLICY: Record<number, RetryPolicy> = {
  [MSG.HELLO]: { timeoutMs: 300, retries: 2 },
  [MSG.PING]: { timeoutMs: 250, retries: 2 },
  [MSG.GET_STATE]: { timeoutMs: 250, retries: 2 },
  [MSG.RINGER]: { timeoutMs: 250, retries: 3 },
  [MSG.LED]: { timeoutMs: 250, retries: 3 },
  [MSG.DISPLAY_BLIT]: { timeoutMs: 500, retries: 3 },
  [MSG.DISPLAY_CONTRAST]: { timeoutMs: 250, retries: 3 },
  [MSG.DISPLAY_BACKLIGHT]: { timeoutMs: 250, retries: 3 },
  [MSG.AUDIO_ROUTE]: { timeoutMs: 250, retries: 3 },
  [MSG.LINE_HOOK]: { timeoutMs: 250, retries: 3 },
  [MSG.LINE_DIAL]: { timeoutMs: 250, retries: 3 },
  [MSG.FW_ENTER_BOOTLOADER]: { timeoutMs: 500, retries: 2 },
  [MSG.FW_BEGIN]: { timeoutMs: 10_000, retries: 1 },
  [MSG.FW_BLOCK]: { timeoutMs: 1000, retries: 3 },
  [MSG.FW_VERIFY]: { timeoutMs: 5000, retries: 1 },
  [MSG.FW_REBOOT]: { timeoutMs: 500, retries: 2 },
};
/** The MCU's policy for its events (§2.6). */
export const EVENT_POLICY: RetryPolicy = { timeoutMs: 100, retries: 3 };
export const DEFAULT_POLICY: RetryPolicy = { timeoutMs: 250, retries: 3 };
