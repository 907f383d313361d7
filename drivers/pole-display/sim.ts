import { TypedEmitter } from '../common/typed-emitter.js';
import { checkGeometry, encodeInit, encodeScreen, fitLines, type PoleDisplayBrightness } from './commands.js';
import { PoleDisplayDecoder } from './decoder.js';
import type { PoleDisplayDriver, PoleDisplayEvents } from './types.js';

export interface SimPoleDisplayEvents extends PoleDisplayEvents {
  /** What the simulated display shows changed (text shown, plugged in, or unplugged: dark), for a page that draws it. */
  screenChanged: { rows: string[] };
}

export interface SimPoleDisplayOptions {
  /** default 20 */
  columns?: number;
  /** default 2 */
  rows?: number;
  brightness?: PoleDisplayBrightness;
  /** whether the display is plugged in at the start; default true */
  connected?: boolean;
}

/**
 * A simulated pole display: the same command bytes as the serial driver, fed to a
 * PoleDisplayDecoder that stands for the display. `setConnected(false)` unplugs it (the screen
 * goes dark); plugging it back in initialises it and shows the last text again. `screenChanged` tells a viewer
 * (the virtual phone page) each time what the display shows changes.
 */
export class SimPoleDisplay extends TypedEmitter<SimPoleDisplayEvents> implements PoleDisplayDriver {
  static readonly PATH = 'sim:pole-display';
  readonly columns: number;
  readonly rows: number;
  readonly #brightness: PoleDisplayBrightness | undefined;
  #plugged: boolean;
  #open = false;
  #connected = false;
  #text: string[];
  #decoder: PoleDisplayDecoder;
  #bytesWritten = 0;
  /** the screen as last reported by `screenChanged` */
  #reported: string;

  constructor(options: SimPoleDisplayOptions = {}) {
    super();
    this.columns = options.columns ?? 20;
    this.rows = options.rows ?? 2;
    checkGeometry(this);
    encodeInit({ brightness: options.brightness }); // validates
    this.#brightness = options.brightness;
    this.#plugged = options.connected ?? true;
    this.#text = fitLines([], this);
    this.#decoder = new PoleDisplayDecoder(this);
    this.#reported = this.#decoder.screen().join('\n');
  }

  connected(): boolean {
    return this.#connected;
  }

  /** What the display shows now (blank while unplugged). */
  screen(): string[] {
    return this.#decoder.screen();
  }

  /** The simulated display's state (cursor, brightness, counters). */
  get decoder(): PoleDisplayDecoder {
    return this.#decoder;
  }

  /** Bytes sent to the display since the start. */
  get bytesWritten(): number {
    return this.#bytesWritten;
  }

  async open(): Promise<void> {
    if (this.#open) return;
    this.#open = true;
    if (this.#plugged) this.connect();
  }

  async close(): Promise<void> {
    if (!this.#open) return;
    this.#open = false;
    this.disconnect();
  }

  async show(lines: readonly string[]): Promise<void> {
    this.#text = fitLines(lines, this);
    if (this.#connected) this.send(encodeScreen(this.#text, this));
    this.screenMaybeChanged();
  }

  /** Plug the display in or pull it out. */
  setConnected(connected: boolean): void {
    if (connected === this.#plugged) return;
    this.#plugged = connected;
    if (!connected) {
      this.#decoder = new PoleDisplayDecoder(this); // power gone: the screen is dark
      this.disconnect();
      this.screenMaybeChanged();
    } else if (this.#open) this.connect();
  }

  private connect(): void {
    this.send(encodeInit({ brightness: this.#brightness }));
    this.send(encodeScreen(this.#text, this));
    this.#connected = true;
    this.emit('connectionChanged', { connected: true, path: SimPoleDisplay.PATH });
    this.screenMaybeChanged();
  }

  private disconnect(): void {
    if (!this.#connected) return;
    this.#connected = false;
    this.emit('connectionChanged', { connected: false, path: SimPoleDisplay.PATH });
  }

  private screenMaybeChanged(): void {
    const rows = this.#decoder.screen();
    const text = rows.join('\n');
    if (text === this.#reported) return;
    this.#reported = text;
    this.emit('screenChanged', { rows });
  }

  private send(bytes: Uint8Array): void {
    this.#bytesWritten += bytes.length;
    this.#decoder.write(bytes);
  }
}
