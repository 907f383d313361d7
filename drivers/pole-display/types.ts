import type { DriverError } from '../common/errors.js';
import type { TypedEmitter } from '../common/typed-emitter.js';

export interface PoleDisplayEvents {
  [event: string]: unknown;
  /** The display became usable (opened, or plugged back in) or stopped being usable. */
  connectionChanged: { connected: boolean; path: string | null };
  /** The display could not be opened or written; retried on the next hot-plug or poll. */
  deviceError: { path: string | null; error: DriverError };
}

/**
 * A customer-facing pole display (VFD/LCD, typically 2 x 20 characters) on a serial line or a
 * USB-serial adapter, speaking the Epson ESC/POS customer-display command set.
 * - `show` replaces the whole text: each line is cut or padded to `columns`; missing lines are blank;
 *   characters the display cannot show become '?' (never raw multi-byte bytes on the wire).
 * - `show` while disconnected MUST NOT throw: the last text is kept and shown again on (re)connect.
 * - MUST emit `connectionChanged` on hot-plug without a restart.
 */
export interface PoleDisplayDriver extends Pick<TypedEmitter<PoleDisplayEvents>, 'on' | 'once'> {
  readonly columns: number;
  readonly rows: number;
  connected(): boolean;
  show(lines: readonly string[]): Promise<void>;
  open(): Promise<void>;
  close(): Promise<void>;
}

export type PoleDisplayTimerHandle = { readonly id: number };

/**
 * The timers the serial driver needs (device poll, write timeout). The runtime's Clock satisfies
 * it and tests pass a fake clock; declared here because drivers/ never imports src/.
 */
export interface PoleDisplayTimer {
  setInterval(fn: () => void, ms: number): PoleDisplayTimerHandle;
  setTimeout(fn: () => void, ms: number): PoleDisplayTimerHandle;
  clear(handle: PoleDisplayTimerHandle | null | undefined): void;
}
