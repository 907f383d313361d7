import type { PoleDisplayDriver } from '../../drivers/pole-display/types.js';
import type { BarcodeScannerDriver } from '../../drivers/scanner/types.js';
import type { Config } from '../config/schema.js';
import type { EventBus } from '../core/bus.js';
import type { Clock, TimerHandle } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';
import type { BusEvents } from '../core/events.js';
import type { Logger } from '../core/log.js';
import type { Service } from '../core/services.js';
import { formatMoney } from '../orders/money.js';
import { shopOf } from '../orders/shop.js';

export interface PosServiceContext {
  bus: EventBus<BusEvents>;
  clock: Clock;
  log: Logger;
  config: () => Config;
  /** null: the board has none */
  scanner: BarcodeScannerDriver | null;
  poleDisplay: PoleDisplayDriver | null;
}

/** How long the total and the thanks stay on the pole display after an order. */
export const THANKS_MS = 20_000;

type Draft = NonNullable<BusEvents['orderDraftChanged']['draft']>;

/** `left` and `right` on one line of `columns`: the right part stays whole, the left is cut. */
export function poleLine(left: string, right: string, columns: number): string {
  if (!right) return left.slice(0, columns);
  const room = columns - right.length - 1;
  if (room < 1) return right.slice(-columns);
  const cut = left.length > room ? left.slice(0, room) : left;
  return `${cut}${' '.repeat(columns - cut.length - right.length)}${right}`;
}

/** What the customer sees while the clerk enters an order: the newest line and the running total. */
export function draftScreen(draft: Draft, columns: number, rows: number): string[] {
  const total = poleLine('TOTAL', formatMoney(draft.total, draft.currency), columns);
  const last = draft.lines.at(-1);
  if (!last) return rows > 1 ? [poleLine('Your order', '', columns), total] : [total];
  const line = poleLine(`${last.qty}x ${last.name}`, formatMoney(last.amount, draft.currency), columns);
  return rows > 1 ? [line, total] : [total];
}

/**
 * The point-of-sale peripherals (issue #7 item 6): owns the barcode scanner and the customer pole display.
 * Scans become `barcodeScanned` facts (the phone's order entry takes them); the pole display shows the order
 * being entered on the phone, the total and thanks once it is placed, and the shop's name otherwise.
 */
export class PosService implements Service {
  readonly #off: Array<() => void> = [];
  #thanks: TimerHandle | null = null;
  /** an order being entered: it keeps the display until it is placed or dropped */
  #entering = false;

  constructor(private readonly ctx: PosServiceContext) {}

  async start(): Promise<void> {
    const { scanner, poleDisplay, bus, log } = this.ctx;
    if (scanner) {
      this.#off.push(
        scanner.on('deviceAttached', (device) => {
          log.info({ device: device.id, product: device.product, vendorId: device.vendorId, productId: device.productId }, 'barcode scanner attached');
          bus.emit('peripheralChanged', { kind: 'scanner', id: device.id, attached: true, product: device.product });
        }),
        scanner.on('deviceDetached', ({ id }) => {
          log.info({ device: id }, 'barcode scanner detached');
          bus.emit('peripheralChanged', { kind: 'scanner', id, attached: false, product: null });
        }),
        scanner.on('barcodeScanned', ({ deviceId, code }) => {
          log.debug({ device: deviceId, length: code.length }, 'barcode scanned');
          bus.emit('barcodeScanned', { deviceId, code });
        }),
        scanner.on('scanRejected', ({ deviceId, reason, length }) => log.warn({ device: deviceId, reason, length }, `scan dropped: ${reason}`)),
        scanner.on('deviceError', ({ path, error }) => log.warn({ path, code: error.code }, `barcode scanner unusable: ${error.message}`)),
      );
      // a scanner that cannot be listed (no udev, no hidraw access) leaves the pole display working
      await scanner.open().catch((error: unknown) => log.error({ err: errorMessage(error) }, `barcode scanners unavailable: ${errorMessage(error)}`));
    }
    if (poleDisplay) {
      this.#off.push(
        poleDisplay.on('connectionChanged', ({ connected, path }) => {
          log.info({ path, connected }, connected ? 'pole display connected' : 'pole display disconnected');
          bus.emit('peripheralChanged', { kind: 'pole-display', id: path ?? 'pole-display', attached: connected, product: null });
        }),
        poleDisplay.on('deviceError', ({ path, error }) => log.warn({ path, code: error.code }, `pole display unusable: ${error.message}`)),
        bus.on('pos', 'orderDraftChanged', ({ draft }) => this.#draftChanged(draft)),
        bus.on('pos', 'orderPlaced', ({ total, currency }) => this.#placed(total, currency)),
      );
      await poleDisplay.open();
      this.#show(this.#welcome());
    }
  }

  async stop(): Promise<void> {
    for (const off of this.#off.splice(0)) off();
    this.#endThanks();
    await this.ctx.scanner?.close();
    await this.ctx.poleDisplay?.close();
  }

  #welcome(): string[] {
    return ['Welcome', shopOf(this.ctx.config()).name];
  }

  #draftChanged(draft: BusEvents['orderDraftChanged']['draft']): void {
    const display = this.ctx.poleDisplay!;
    // 'done' and 'sending' leave the screen to orderPlaced; a dropped order goes back to the welcome
    if (draft && (draft.phase === 'entry' || draft.phase === 'review' || draft.phase === 'note')) {
      this.#entering = true;
      this.#endThanks();
      this.#show(draftScreen(draft, display.columns, display.rows));
    } else if (!draft && this.#entering) {
      this.#entering = false;
      if (!this.#thanks) this.#show(this.#welcome());
    }
  }

  #placed(total: number, currency: string): void {
    const display = this.ctx.poleDisplay!;
    this.#entering = false;
    this.#show([poleLine('TOTAL', formatMoney(total, currency), display.columns), 'Thank you!']);
    this.#endThanks();
    this.#thanks = this.ctx.clock.setTimeout(() => {
      this.#thanks = null;
      if (!this.#entering) this.#show(this.#welcome());
    }, THANKS_MS);
  }

  #endThanks(): void {
    this.ctx.clock.clear(this.#thanks);
    this.#thanks = null;
  }

  #show(lines: string[]): void {
    this.ctx.poleDisplay!.show(lines).catch((error: unknown) => this.ctx.log.warn({ err: errorMessage(error) }, 'pole display write failed'));
  }
}
