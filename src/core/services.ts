import type { EventBus } from './bus.js';
import { DesklineError, errorCode, errorMessage } from './errors.js';
import type { BusEvents } from './events.js';
import type { Logger } from './log.js';

/** A feature of the runtime: a folder under src/ with start/stop and one injected context. */
export interface Service {
  start(): Promise<void> | void;
  stop(): Promise<void> | void;
}

export interface ServiceSpec {
  name: string;
  /** Services that must have started before this one. */
  deps?: readonly string[];
  /** Build the service with its one injected context (the composition root knows each context). */
  create(): Service;
}

export type ServiceStatus = 'pending' | 'running' | 'failed' | 'blocked' | 'stopped';

export interface ServiceReport {
  name: string;
  status: ServiceStatus;
  error?: string;
}

/**
 * Starts services in dependency order and stops them in reverse.
 * A service that fails to start is reported (log + `serviceFailed`); services that depend on it are
 * `blocked`; the others still start. A stop that fails or hangs past `stopTimeoutMs` is reported and
 * the remaining services are still stopped.
 */
export class ServiceHost {
  readonly #specs: ServiceSpec[] = [];
  readonly #running: Array<{ name: string; service: Service }> = [];
  readonly #status = new Map<string, ServiceReport>();

  constructor(private readonly options: { log: Logger; bus: EventBus<BusEvents>; stopTimeoutMs?: number }) {}

  add(spec: ServiceSpec): this {
    if (this.#specs.some((s) => s.name === spec.name)) throw new DesklineError('SERVICE_DUPLICATE', `service '${spec.name}' is registered twice`);
    this.#specs.push(spec);
    this.#status.set(spec.name, { name: spec.name, status: 'pending' });
    return this;
  }

  /** Topological order; unknown dependencies and cycles are programming errors. */
  order(): ServiceSpec[] {
    const byName = new Map(this.#specs.map((s) => [s.name, s]));
    const ordered: ServiceSpec[] = [];
    const state = new Map<string, 'visiting' | 'done'>();
    const visit = (spec: ServiceSpec, path: string[]) => {
      if (state.get(spec.name) === 'done') return;
      if (state.get(spec.name) === 'visiting') throw new DesklineError('SERVICE_CYCLE', `service dependency cycle: ${[...path, spec.name].join(' -> ')}`);
      state.set(spec.name, 'visiting');
      for (const dep of spec.deps ?? []) {
        const target = byName.get(dep);
        if (!target) throw new DesklineError('SERVICE_UNKNOWN_DEP', `service '${spec.name}' depends on unknown service '${dep}'`);
        visit(target, [...path, spec.name]);
      }
      state.set(spec.name, 'done');
      ordered.push(spec);
    };
    for (const spec of this.#specs) visit(spec, []);
    return ordered;
  }

  async startAll(): Promise<ServiceReport[]> {
    for (const spec of this.order()) {
      const blockedBy = (spec.deps ?? []).find((dep) => this.#status.get(dep)?.status !== 'running');
      if (blockedBy) {
        this.#status.set(spec.name, { name: spec.name, status: 'blocked', error: `needs '${blockedBy}', which is not running` });
        this.options.log.warn({ service: spec.name, blockedBy }, `service ${spec.name} not started: ${blockedBy} is not running`);
        continue;
      }
      try {
        const service = spec.create();
        await service.start();
        this.#running.push({ name: spec.name, service });
        this.#status.set(spec.name, { name: spec.name, status: 'running' });
        this.options.bus.emit('serviceStarted', { service: spec.name });
      } catch (error) {
        this.#status.set(spec.name, { name: spec.name, status: 'failed', error: errorMessage(error) });
        this.options.log.error({ service: spec.name, err: error }, `service ${spec.name} failed to start: ${errorMessage(error)}`);
        this.options.bus.emit('serviceFailed', { service: spec.name, phase: 'start', error: errorMessage(error), code: errorCode(error) });
      }
    }
    return this.report();
  }

  async stopAll(): Promise<void> {
    const timeoutMs = this.options.stopTimeoutMs ?? 5000;
    while (this.#running.length > 0) {
      const { name, service } = this.#running.pop()!;
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          Promise.resolve().then(() => service.stop()),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new DesklineError('SERVICE_STOP_TIMEOUT', `did not stop within ${timeoutMs} ms`)), timeoutMs);
          }),
        ]);
        this.#status.set(name, { name, status: 'stopped' });
      } catch (error) {
        this.#status.set(name, { name, status: 'failed', error: errorMessage(error) });
        this.options.log.error({ service: name, err: error }, `service ${name} failed to stop: ${errorMessage(error)}`);
        this.options.bus.emit('serviceFailed', { service: name, phase: 'stop', error: errorMessage(error), code: errorCode(error) });
      } finally {
        clearTimeout(timer);
      }
    }
  }

  report(): ServiceReport[] {
    return this.order().map((spec) => ({ ...this.#status.get(spec.name)! }));
  }
}
