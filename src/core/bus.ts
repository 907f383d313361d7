import type { Logger } from './log.js';

type Listener<P> = (payload: P) => void | Promise<void>;

interface Registration {
  owner: string;
  listener: Listener<unknown>;
}

/**
 * The typed event bus: facts travel here under past-tense names (`hookChanged`, `callStateChanged`).
 * - Listeners are registered by an owner (a service name) and removed together with `removeOwner`.
 * - A listener that throws, or whose promise rejects, is logged with its owner and event; the
 *   emitter and the other listeners carry on.
 * - Delivery is synchronous and in registration order; `emit` never throws.
 */
export class EventBus<E extends { [event: string]: unknown }> {
  readonly #listeners = new Map<keyof E, Registration[]>();

  constructor(private readonly log: Logger) {}

  on<K extends keyof E & string>(owner: string, event: K, listener: Listener<E[K]>): () => void {
    const registration: Registration = { owner, listener: listener as Listener<unknown> };
    const list = this.#listeners.get(event) ?? [];
    list.push(registration);
    this.#listeners.set(event, list);
    return () => {
      const current = this.#listeners.get(event);
      if (current) this.#listeners.set(event, current.filter((r) => r !== registration));
    };
  }

  removeOwner(owner: string): void {
    for (const [event, list] of this.#listeners) {
      this.#listeners.set(event, list.filter((r) => r.owner !== owner));
    }
  }

  listenerCount(event?: keyof E): number {
    if (event !== undefined) return this.#listeners.get(event)?.length ?? 0;
    let count = 0;
    for (const list of this.#listeners.values()) count += list.length;
    return count;
  }

  emit<K extends keyof E & string>(event: K, payload: E[K]): void {
    const list = this.#listeners.get(event);
    if (!list) return;
    for (const { owner, listener } of [...list]) {
      try {
        const result = listener(payload);
        if (result && typeof (result as Promise<void>).then === 'function') {
          (result as Promise<void>).catch((error: unknown) => this.reportFailure(owner, event, error));
        }
      } catch (error) {
        this.reportFailure(owner, event, error);
      }
    }
  }

  private reportFailure(owner: string, event: string, error: unknown): void {
    this.log.error({ owner, event, err: error }, `listener of ${owner} failed on ${event}`);
  }
}
