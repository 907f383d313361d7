import { EventEmitter } from 'node:events';

/** Event name -> payload type. Every event carries exactly one payload object. */
export type EventMap = { [event: string]: unknown };

export type Unsubscribe = () => void;

/**
 * A small typed wrapper over EventEmitter for driver events.
 * - `on` returns an unsubscribe function.
 * - `emit` is protected: only the driver itself reports facts.
 * - A listener that throws is reported on the `listenerError` hook (never rethrown into the driver's
 *   I/O path), so a bad consumer cannot break a byte parser.
 */
export class TypedEmitter<E extends EventMap> {
  readonly #emitter = new EventEmitter();
  /** Called when a listener throws; drivers default to rethrowing nothing. */
  listenerError: (event: string, error: unknown) => void = () => undefined;

  constructor() {
    this.#emitter.setMaxListeners(50);
  }

  on<K extends keyof E & string>(event: K, listener: (payload: E[K]) => void): Unsubscribe {
    this.#emitter.on(event, listener);
    return () => this.#emitter.off(event, listener);
  }

  once<K extends keyof E & string>(event: K, listener: (payload: E[K]) => void): Unsubscribe {
    this.#emitter.once(event, listener);
    return () => this.#emitter.off(event, listener);
  }

  removeAllListeners(): void {
    this.#emitter.removeAllListeners();
  }

  protected emit<K extends keyof E & string>(event: K, payload: E[K]): void {
    for (const listener of this.#emitter.listeners(event)) {
      try {
        (listener as (p: E[K]) => void)(payload);
      } catch (error) {
        this.listenerError(event, error);
      }
    }
  }
}
