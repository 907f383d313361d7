import type { TypedEmitter, Unsubscribe } from '../common/typed-emitter.js';

/**
 * The phone MCU, seen from the runtime: one serial link, five device roles.
 * Each role (keypad, display, indicators, analog line, audio route) is owned by exactly one service.
 */

export const DIGIT_KEYS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '#'] as const;
export const FUNCTION_KEYS = [
  'speaker', 'headset', 'backspace', 'ok', 'cancel', 'up', 'down', 'left', 'right',
  'redial', 'hold', 'transfer', 'mute', 'volumeUp', 'volumeDown', 'print', 'sms',
  'contacts', 'history', 'menu', 'soft1', 'soft2', 'soft3', 'soft4',
] as const;
export type DigitKey = (typeof DIGIT_KEYS)[number];
export type FunctionKey = (typeof FUNCTION_KEYS)[number];
export type PhoneKey = DigitKey | FunctionKey;

export function isPhoneKey(value: unknown): value is PhoneKey {
  return typeof value === 'string' && ((DIGIT_KEYS as readonly string[]).includes(value) || (FUNCTION_KEYS as readonly string[]).includes(value));
}

export interface KeypadEvents {
  [event: string]: unknown;
  /** The handset's hook switch changed. */
  hookChanged: { offHook: boolean };
  /** A key was released (long: it was held past the MCU's long-press threshold). */
  keyPressed: { key: PhoneKey; long: boolean };
}

/**
 * Keypad and hook switch.
 * - MUST emit `hookChanged` once per change of the hook switch, never repeated for the same state.
 * - MUST report the current hook state through `offHook` as soon as it is open.
 */
export interface KeypadDriver extends Pick<TypedEmitter<KeypadEvents>, 'on' | 'once'> {
  readonly offHook: boolean;
}

/** A rectangle of 1-bit pixels, row-major, each row padded to whole bytes, MSB = leftmost pixel. */
export interface BitmapRegion {
  x: number;
  y: number;
  width: number;
  height: number;
  bits: Uint8Array;
}

export function regionStride(width: number): number {
  return Math.ceil(width / 8);
}

/**
 * Monochrome graphic display. The MCU holds no fonts: the runtime renders and blits regions.
 * - MUST reject a region outside `width` x `height` or with too few bytes (DRIVER_INVALID_ARGUMENT).
 * - `blit` resolves once the MCU has acknowledged the region.
 */
export interface DisplayDriver {
  readonly width: number;
  readonly height: number;
  blit(region: BitmapRegion): Promise<void>;
  /** 0..100 */
  setContrast(percent: number): Promise<void>;
  /** 0 = off .. 100 = full */
  setBacklight(percent: number): Promise<void>;
}

export const LED_IDS = ['line', 'message', 'speaker', 'headset', 'mute', 'hold'] as const;
export type LedId = (typeof LED_IDS)[number];
export type LedState = 'off' | 'on' | { blink: { onMs: number; offMs: number } };

/** Ringer cadence: alternating on/off durations in ms, repeated (e.g. [2000, 4000] for North America). */
export type RingCadence = readonly number[];

/**
 * Ringer and LEDs.
 * - `ring(cadence)` starts the ringer with that cadence (the MCU times it); `ring(null)` stops it.
 * - A cadence MUST have an even, non-zero number of positive durations.
 */
export interface IndicatorDriver {
  ring(cadence: RingCadence | null, volume?: number): Promise<void>;
  setLed(led: LedId, state: LedState): Promise<void>;
}

/** Call-progress tones the MCU's tone detector classifies on the analog line. */
export const LINE_TONES = ['dial', 'busy', 'ringback', 'congestion'] as const;
export type LineTone = (typeof LINE_TONES)[number];

export interface AnalogLineEvents {
  [event: string]: unknown;
  /** A ring burst started (on=true) or stopped (on=false). */
  ringDetected: { on: boolean };
  /** Line polarity reversed (ETSI caller ID before the first ring; far-end answer on some exchanges). */
  polarityReversed: Record<string, never>;
  /** Loop current appeared or dropped (a drop while seized = far-end disconnect). */
  loopCurrentChanged: { present: boolean };
  /** The MCU's DTMF detector heard a digit on the line (DTMF caller ID and in-call digits). */
  dtmfDetected: { digit: string; durationMs: number };
  /** The MCU's tone detector recognised a call-progress tone (by frequency and cadence). */
  toneDetected: { tone: LineTone };
}

/**
 * The analog (FXO) line behind the MCU.
 * - `seize()` closes the line relay (off-hook towards the exchange); `release()` opens it.
 * - `dialDtmf` resolves after the MCU has played every digit.
 */
export interface AnalogLineDriver extends Pick<TypedEmitter<AnalogLineEvents>, 'on' | 'once'> {
  readonly seized: boolean;
  seize(): Promise<void>;
  release(): Promise<void>;
  dialDtmf(digits: string, timing?: { toneMs: number; gapMs: number }): Promise<void>;
}

export type AudioDevice = 'none' | 'handset' | 'speaker' | 'headset';

/** Which transducer is live, and whether the analog line's audio is bridged to the codec. */
export interface AudioRouteDriver {
  setRoute(route: { device: AudioDevice; line: boolean }): Promise<void>;
}

export interface McuInfo {
  firmware: string;
  capabilities: string[];
}

export interface McuEvents {
  [event: string]: unknown;
  /**
   * The link to the MCU came up or went down. After `{ up: true }` following a loss (or an MCU
   * reboot) the owner should redraw what it shows: the MCU may have lost its state.
   */
  linkChanged: { up: boolean };
  /** The MCU reported a fault of its own (e.g. display controller, ringer, UART overrun). */
  faultReported: { code: string; detail: number; message: string };
}

/** The MCU link: open/close plus the five device roles behind it. */
export interface McuDriver extends Pick<TypedEmitter<McuEvents>, 'on' | 'once'> {
  readonly keypad: KeypadDriver;
  readonly display: DisplayDriver;
  readonly indicators: IndicatorDriver;
  readonly line: AnalogLineDriver;
  readonly audioRoute: AudioRouteDriver;
  open(): Promise<McuInfo>;
  close(): Promise<void>;
}

export type { Unsubscribe };
