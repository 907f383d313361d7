import { describe, expect, it } from '@jest/globals';
import { EventBus } from '../../../src/core/bus.js';
import { captureLogger } from '../../support/log.js';

type Events = { [event: string]: unknown; hookChanged: { offHook: boolean }; keyPressed: { key: string } };

describe('EventBus', () => {
  it('delivers typed payloads in registration order', () => {
    const bus = new EventBus<Events>(captureLogger().log);
    const seen: string[] = [];
    bus.on('a', 'hookChanged', ({ offHook }) => void seen.push(`a:${offHook}`));
    bus.on('b', 'hookChanged', ({ offHook }) => void seen.push(`b:${offHook}`));
    bus.emit('hookChanged', { offHook: true });
    expect(seen).toEqual(['a:true', 'b:true']);
  });

  it('logs a throwing listener and keeps delivering to the others', () => {
    const { log, lines } = captureLogger();
    const bus = new EventBus<Events>(log);
    const seen: string[] = [];
    bus.on('broken', 'keyPressed', () => {
      throw new Error('boom');
    });
    bus.on('good', 'keyPressed', ({ key }) => void seen.push(key));
    expect(() => bus.emit('keyPressed', { key: '5' })).not.toThrow();
    expect(seen).toEqual(['5']);
    expect(lines().some((l) => l.owner === 'broken' && l.event === 'keyPressed' && l.level === 50)).toBe(true);
  });

  it('logs a rejecting async listener', async () => {
    const { log, lines } = captureLogger();
    const bus = new EventBus<Events>(log);
    bus.on('async', 'keyPressed', async () => {
      throw new Error('later');
    });
    bus.emit('keyPressed', { key: '1' });
    await new Promise((r) => setImmediate(r));
    expect(lines().some((l) => l.owner === 'async' && String(l.msg).includes('failed'))).toBe(true);
  });

  it('removes all listeners of an owner, and single listeners by their handle', () => {
    const bus = new EventBus<Events>(captureLogger().log);
    const seen: string[] = [];
    bus.on('phone', 'keyPressed', () => void seen.push('phone1'));
    bus.on('phone', 'hookChanged', () => void seen.push('phone2'));
    const off = bus.on('web', 'keyPressed', () => void seen.push('web'));
    bus.removeOwner('phone');
    expect(bus.listenerCount()).toBe(1);
    bus.emit('keyPressed', { key: '1' });
    off();
    bus.emit('keyPressed', { key: '1' });
    expect(seen).toEqual(['web']);
  });
});
