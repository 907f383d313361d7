import { describe, expect, it } from '@jest/globals';
import { EventBus } from '../../../src/core/bus.js';
import type { BusEvents } from '../../../src/core/events.js';
import { ServiceHost, type Service } from '../../../src/core/services.js';
import { captureLogger } from '../../support/log.js';

function recorder() {
  const events: string[] = [];
  const service = (name: string, fail?: 'start' | 'stop'): Service => ({
    start: async () => {
      events.push(`start ${name}`);
      if (fail === 'start') throw new Error(`${name} cannot start`);
    },
    stop: async () => {
      events.push(`stop ${name}`);
      if (fail === 'stop') throw new Error(`${name} cannot stop`);
    },
  });
  return { events, service };
}

function host() {
  const { log, lines } = captureLogger();
  const bus = new EventBus<BusEvents>(log);
  const failures: BusEvents['serviceFailed'][] = [];
  bus.on('test', 'serviceFailed', (f) => void failures.push(f));
  return { host: new ServiceHost({ log, bus, stopTimeoutMs: 200 }), failures, lines };
}

describe('ServiceHost', () => {
  it('starts in dependency order and stops in reverse', async () => {
    const { events, service } = recorder();
    const { host: h } = host();
    h.add({ name: 'web', deps: ['phone'], create: () => service('web') })
      .add({ name: 'phone', deps: ['calls'], create: () => service('phone') })
      .add({ name: 'calls', create: () => service('calls') });
    await h.startAll();
    await h.stopAll();
    expect(events).toEqual(['start calls', 'start phone', 'start web', 'stop web', 'stop phone', 'stop calls']);
  });

  it('reports a failing service, blocks its dependents, and starts the rest', async () => {
    const { events, service } = recorder();
    const { host: h, failures } = host();
    h.add({ name: 'a', create: () => service('a', 'start') })
      .add({ name: 'b', deps: ['a'], create: () => service('b') })
      .add({ name: 'c', create: () => service('c') });
    const report = await h.startAll();
    expect(report).toEqual([
      { name: 'a', status: 'failed', error: 'a cannot start' },
      { name: 'b', status: 'blocked', error: "needs 'a', which is not running" },
      { name: 'c', status: 'running' },
    ]);
    expect(failures).toEqual([{ service: 'a', phase: 'start', error: 'a cannot start', code: undefined }]);
    await h.stopAll();
    expect(events).toEqual(['start a', 'start c', 'stop c']);
  });

  it('keeps stopping the others when one fails or hangs on stop', async () => {
    const { events, service } = recorder();
    const { host: h, failures } = host();
    h.add({ name: 'a', create: () => service('a') })
      .add({ name: 'hangs', create: () => ({ start: () => undefined, stop: () => new Promise<void>(() => undefined) }) })
      .add({ name: 'b', create: () => service('b', 'stop') });
    await h.startAll();
    await h.stopAll();
    expect(events).toEqual(['start a', 'start b', 'stop b', 'stop a']);
    expect(failures.map((f) => f.service)).toEqual(['b', 'hangs']);
    expect(failures[1].code).toBe('SERVICE_STOP_TIMEOUT');
  });

  it('rejects unknown dependencies and cycles', () => {
    const { host: h } = host();
    h.add({ name: 'x', deps: ['y'], create: () => ({ start() {}, stop() {} }) });
    expect(() => h.order()).toThrow(/unknown service 'y'/);
    const { host: h2 } = host();
    h2.add({ name: 'x', deps: ['y'], create: () => ({ start() {}, stop() {} }) })
      .add({ name: 'y', deps: ['x'], create: () => ({ start() {}, stop() {} }) });
    expect(() => h2.order()).toThrow(/cycle: x -> y -> x/);
  });
});
