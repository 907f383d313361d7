import { DriverError } from '../common/errors.js';
import { TypedEmitter } from '../common/typed-emitter.js';
import {
  type AnalogLineDriver, type AnalogLineEvents, type AudioDevice, type AudioRouteDriver, type BitmapRegion,
  type DisplayDriver, type IndicatorDriver, type KeypadDriver, type KeypadEvents, type LedId, type LedState, type LineTone,
  type McuDriver, type McuEvents, type McuInfo, type PhoneKey, type RingCadence, LED_IDS, regionStride,
} from './types.js';

/**
 * The simulated MCU: a complete stand-in for the phone's keypad, display, ringer, LEDs, analog line
 * and audio route. It records what the runtime sent and lets tests and the virtual phone inject events.
 */

export class SimKeypad extends TypedEmitter<KeypadEvents> implements KeypadDriver {
  #offHook = false;
  get offHook(): boolean {
    return this.#offHook;
  }
  /** Inject: lift (true) or replace (false) the handset. Repeating the current state emits nothing. */
  setHook(offHook: boolean): void {
    if (offHook === this.#offHook) return;
    this.#offHook = offHook;
    this.emit('hookChanged', { offHook });
  }
  /** Inject: press and release a key. */
  press(key: PhoneKey, options: { long?: boolean } = {}): void {
    this.emit('keyPressed', { key, long: options.long ?? false });
  }
}

export interface SimDisplayEvents {
  [event: string]: unknown;
  blitted: BitmapRegion;
}

export class SimDisplay extends TypedEmitter<SimDisplayEvents> implements DisplayDriver {
  /** What the display shows, rebuilt from every blit: 1 bit per pixel, rows padded to bytes. */
  readonly pixels: Uint8Array;
  readonly blits: BitmapRegion[] = [];
  contrast = 50;
  backlight = 100;
  /** Bound the recorded history so a long run on the sim board does not grow without limit. */
  maxRecordedBlits = 1000;

  constructor(readonly width: number, readonly height: number) {
    super();
    this.pixels = new Uint8Array(regionStride(width) * height);
  }

  async blit(region: BitmapRegion): Promise<void> {
    const { x, y, width, height, bits } = region;
    if (![x, y, width, height].every(Number.isInteger) || x < 0 || y < 0 || width <= 0 || height <= 0 || x + width > this.width || y + height > this.height) {
      throw new DriverError('DRIVER_INVALID_ARGUMENT', `region ${width}x${height}+${x}+${y} is outside the ${this.width}x${this.height} display`);
    }
    if (bits.length < regionStride(width) * height) {
      throw new DriverError('DRIVER_INVALID_ARGUMENT', `region ${width}x${height} needs ${regionStride(width) * height} bytes, got ${bits.length}`);
    }
    const copy = { x, y, width, height, bits: Uint8Array.from(bits.subarray(0, regionStride(width) * height)) };
    for (let row = 0; row < height; row++) {
      for (let col = 0; col < width; col++) {
        this.setPixel(x + col, y + row, (copy.bits[row * regionStride(width) + (col >> 3)] & (0x80 >> (col & 7))) !== 0);
      }
    }
    this.blits.push(copy);
    if (this.blits.length > this.maxRecordedBlits) this.blits.splice(0, this.blits.length - this.maxRecordedBlits);
    this.emit('blitted', copy);
  }

  getPixel(x: number, y: number): boolean {
    return (this.pixels[y * regionStride(this.width) + (x >> 3)] & (0x80 >> (x & 7))) !== 0;
  }

  private setPixel(x: number, y: number, on: boolean): void {
    const index = y * regionStride(this.width) + (x >> 3);
    const mask = 0x80 >> (x & 7);
    this.pixels[index] = on ? this.pixels[index] | mask : this.pixels[index] & ~mask;
  }

  async setContrast(percent: number): Promise<void> {
    this.contrast = checkPercent(percent, 'contrast');
  }
  async setBacklight(percent: number): Promise<void> {
    this.backlight = checkPercent(percent, 'backlight');
  }
}

function checkPercent(value: number, what: string): number {
  if (!Number.isFinite(value) || value < 0 || value > 100) {
    throw new DriverError('DRIVER_INVALID_ARGUMENT', `${what} must be 0..100, got ${value}`);
  }
  return value;
}

export interface SimIndicatorEvents {
  [event: string]: unknown;
  ringerChanged: { cadence: RingCadence | null; volume: number };
  ledChanged: { led: LedId; state: LedState };
}

export class SimIndicators extends TypedEmitter<SimIndicatorEvents> implements IndicatorDriver {
  ringer: { cadence: RingCadence | null; volume: number } = { cadence: null, volume: 0 };
  readonly leds = Object.fromEntries(LED_IDS.map((id) => [id, 'off'])) as Record<LedId, LedState>;

  async ring(cadence: RingCadence | null, volume = 80): Promise<void> {
    if (cadence !== null) {
      if (cadence.length === 0 || cadence.length % 2 !== 0 || cadence.some((ms) => !Number.isInteger(ms) || ms <= 0)) {
        throw new DriverError('DRIVER_INVALID_ARGUMENT', `ring cadence needs an even number of positive durations, got [${cadence.join(', ')}]`);
      }
    }
    this.ringer = { cadence: cadence === null ? null : [...cadence], volume: cadence === null ? 0 : volume };
    this.emit('ringerChanged', this.ringer);
  }

  async setLed(led: LedId, state: LedState): Promise<void> {
    if (!(LED_IDS as readonly string[]).includes(led)) throw new DriverError('DRIVER_INVALID_ARGUMENT', `unknown LED '${led}'`);
    this.leds[led] = state;
    this.emit('ledChanged', { led, state });
  }
}

export class SimAnalogLine extends TypedEmitter<AnalogLineEvents> implements AnalogLineDriver {
  #seized = false;
  /** Everything the runtime asked of the line, in order. */
  readonly actions: Array<{ action: 'seize' | 'release' } | { action: 'dial'; digits: string }> = [];

  get seized(): boolean {
    return this.#seized;
  }
  async seize(): Promise<void> {
    this.#seized = true;
    this.actions.push({ action: 'seize' });
  }
  async release(): Promise<void> {
    this.#seized = false;
    this.actions.push({ action: 'release' });
  }
  async dialDtmf(digits: string): Promise<void> {
    if (!/^[0-9A-D*#]+$/.test(digits)) throw new DriverError('DRIVER_INVALID_ARGUMENT', `cannot dial '${digits}' as DTMF`);
    if (!this.#seized) throw new DriverError('DRIVER_NOT_OPEN', 'the line must be seized before dialing');
    this.actions.push({ action: 'dial', digits });
  }
  /** Inject line events as the exchange would produce them. */
  injectRing(on: boolean): void {
    this.emit('ringDetected', { on });
  }
  injectPolarityReversal(): void {
    this.emit('polarityReversed', {});
  }
  injectLoopCurrent(present: boolean): void {
    this.emit('loopCurrentChanged', { present });
  }
  injectDtmf(digit: string, durationMs = 80): void {
    this.emit('dtmfDetected', { digit, durationMs });
  }
  injectTone(tone: LineTone): void {
    this.emit('toneDetected', { tone });
  }
}

export class SimAudioRoute implements AudioRouteDriver {
  route: { device: AudioDevice; line: boolean } = { device: 'none', line: false };
  readonly history: Array<{ device: AudioDevice; line: boolean }> = [];
  async setRoute(route: { device: AudioDevice; line: boolean }): Promise<void> {
    this.route = { ...route };
    this.history.push(this.route);
  }
}

export class SimMcu extends TypedEmitter<McuEvents> implements McuDriver {
  readonly keypad = new SimKeypad();
  readonly display: SimDisplay;
  readonly indicators = new SimIndicators();
  readonly line = new SimAnalogLine();
  readonly audioRoute = new SimAudioRoute();
  #open = false;

  constructor(options: { displayWidth: number; displayHeight: number }) {
    super();
    this.display = new SimDisplay(options.displayWidth, options.displayHeight);
  }

  get isOpen(): boolean {
    return this.#open;
  }

  async open(): Promise<McuInfo> {
    this.#open = true;
    this.emit('linkChanged', { up: true });
    return { firmware: 'sim-1.0', capabilities: ['keypad', 'display', 'ringer', 'leds', 'fxo', 'dtmf', 'audio-route'] };
  }

  async close(): Promise<void> {
    if (!this.#open) return;
    this.#open = false;
    this.emit('linkChanged', { up: false });
  }
}
