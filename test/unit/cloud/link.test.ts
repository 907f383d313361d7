import { describe, expect, it } from '@jest/globals';
import { backoffDelay, topicMatches, type LinkBackoff } from '../../../src/cloud/link.js';
import type { CloudMessage } from '../../../src/cloud/types.js';
import { MemoryLink } from '../../support/memory-link.js';

describe('topicMatches (MQTT 5 section 4.7)', () => {
  it('matches names level by level, exactly', () => {
    expect(topicMatches('dl/v1/d1/presence', 'dl/v1/d1/presence')).toBe(true);
    expect(topicMatches('dl/v1/d1/presence', 'dl/v1/d2/presence')).toBe(false);
    expect(topicMatches('dl/v1/d1', 'dl/v1/d1/presence')).toBe(false);
    expect(topicMatches('dl/v1/d1/presence', 'dl/v1/d1')).toBe(false);
    expect(topicMatches('a/b', 'a/b/')).toBe(false);
    expect(topicMatches('a/b', 'A/b')).toBe(false);
  });

  it("'+' matches exactly one level, an empty one too", () => {
    expect(topicMatches('dl/v1/+/presence', 'dl/v1/d1/presence')).toBe(true);
    expect(topicMatches('dl/v1/d1/cmd/+', 'dl/v1/d1/cmd/ping')).toBe(true);
    expect(topicMatches('dl/v1/d1/cmd/+', 'dl/v1/d1/cmd/ping/result')).toBe(false);
    expect(topicMatches('dl/v1/d1/cmd/+', 'dl/v1/d1/cmd')).toBe(false);
    expect(topicMatches('a/+/c', 'a//c')).toBe(true);
    expect(topicMatches('+', 'a')).toBe(true);
    expect(topicMatches('+', 'a/b')).toBe(false);
    expect(topicMatches('+/+', '/finance')).toBe(true);
    expect(topicMatches('+/+/+', 'a/b')).toBe(false);
  });

  it("'#' matches the parent level and any number of levels below", () => {
    expect(topicMatches('dl/v1/d1/#', 'dl/v1/d1/events/calls')).toBe(true);
    expect(topicMatches('dl/v1/d1/#', 'dl/v1/d1')).toBe(true);
    expect(topicMatches('dl/v1/d1/#', 'dl/v1/d2/presence')).toBe(false);
    expect(topicMatches('dl/v1/d1/#', 'dl/v1/d10/presence')).toBe(false);
    expect(topicMatches('#', 'a/b/c')).toBe(true);
    expect(topicMatches('dl/+/#', 'dl/v1/d1/cmd/ping')).toBe(true);
  });

  it('reads a shared subscription $share/{group}/{filter} as its filter', () => {
    expect(topicMatches('$share/cloud/dl/v1/+/events/#', 'dl/v1/d1/events/calls')).toBe(true);
    expect(topicMatches('$share/cloud/dl/v1/+/events/#', 'dl/v1/d1/presence')).toBe(false);
    expect(topicMatches('$share/cloud/#', 'dl/v1/d1/presence')).toBe(true);
    // the group name is not a topic level
    expect(topicMatches('$share/dl/v1/d1/presence', 'dl/v1/d1/presence')).toBe(false);
  });

  it("never lets a first-level wildcard match a topic starting with '$'", () => {
    expect(topicMatches('#', '$SYS/broker/uptime')).toBe(false);
    expect(topicMatches('+/broker/uptime', '$SYS/broker/uptime')).toBe(false);
    expect(topicMatches('+/#', '$SYS/broker')).toBe(false);
    expect(topicMatches('$share/g/#', '$SYS/broker/uptime')).toBe(false);
    expect(topicMatches('$SYS/#', '$SYS/broker/uptime')).toBe(true);
    expect(topicMatches('$SYS/+/uptime', '$SYS/broker/uptime')).toBe(true);
  });
});

describe('backoffDelay', () => {
  const backoff: LinkBackoff = { initialMs: 1000, maxMs: 60_000, stableMs: 60_000 };

  it('lies between half the window and the window, the window doubling from initialMs', () => {
    for (const [attempt, window] of [[0, 1000], [1, 2000], [2, 4000], [3, 8000], [5, 32_000]] as const) {
      expect(backoffDelay(attempt, backoff, () => 0)).toBe(window / 2);
      expect(backoffDelay(attempt, backoff, () => 1)).toBe(window);
      const mid = backoffDelay(attempt, backoff, () => 0.5);
      expect(mid).toBe(window * 0.75);
    }
  });

  it('grows with each attempt and is capped at maxMs', () => {
    const delays = Array.from({ length: 12 }, (_, attempt) => backoffDelay(attempt, backoff, () => 1));
    for (let i = 1; i < delays.length; i++) expect(delays[i]).toBeGreaterThanOrEqual(delays[i - 1]);
    expect(delays[5]).toBe(32_000);
    expect(delays[6]).toBe(60_000);
    expect(delays.at(-1)).toBe(60_000);
    expect(backoffDelay(6, backoff, () => 0)).toBe(30_000);
  });

  it('stays finite and capped for very large attempt numbers', () => {
    for (const attempt of [31, 100, 10_000, Number.MAX_SAFE_INTEGER]) {
      const delay = backoffDelay(attempt, { initialMs: 1000, maxMs: 5 * 60_000, stableMs: 60_000 }, () => 1);
      expect(delay).toBe(5 * 60_000);
    }
  });

  it('returns whole milliseconds', () => {
    expect(Number.isInteger(backoffDelay(0, { initialMs: 333, maxMs: 10_000, stableMs: 1 }, () => 0.3333))).toBe(true);
  });
});

// The double the cloud feature tests use (test/support/memory-link.ts): its contract is src/cloud/types.ts.
describe('MemoryLink (test double of CloudLink)', () => {
  const received = (into: CloudMessage[]) => (m: CloudMessage) => void into.push(m);

  it('resolves a publish on PUBACK and refuses one the broker refuses', async () => {
    const link = new MemoryLink({ autoAck: false });
    let acked = false;
    const publish = link.publish('dl/v1/d1/events/calls', 'x').then((ack) => {
      acked = true;
      return ack;
    });
    await link.settle();
    expect(acked).toBe(false);
    expect(link.ack()).toBe(1);
    await expect(publish).resolves.toEqual({ reasonCode: 0 });
    link.autoAck = true;
    link.pubackFor = () => 0x87;
    await expect(link.publish('dl/v1/d1/events/calls', 'y')).rejects.toMatchObject({ code: 'CLOUD_PUBLISH_REFUSED' });
  });

  it('queues publishes while down and sends them in call order at connect', async () => {
    const link = new MemoryLink({ connected: false });
    expect(link.protocolVersion).toBeNull();
    const done = [link.publish('a/1', '1'), link.publish('a/2', '2', { qos: 0 })];
    expect(link.sent).toEqual([]);
    expect(link.queued).toBe(2);
    link.setConnected(true);
    await Promise.all(done);
    expect(link.sent.map((m) => [m.topic, m.qos])).toEqual([['a/1', 1], ['a/2', 0]]);
    expect(link.protocolVersion).toBe(5);
  });

  it('delivers retained messages on subscribe, and again at every connect only for retainedOnEveryConnect', async () => {
    const link = new MemoryLink();
    link.deliver('dl/v1/d1/config/desired', { rev: 1 }, { retain: true });
    const every: CloudMessage[] = [];
    const once: CloudMessage[] = [];
    await link.subscribe('dl/v1/d1/config/+', received(every), { retainedOnEveryConnect: true });
    await link.subscribe('dl/v1/#', received(once));
    await link.settle();
    expect([every.length, once.length]).toEqual([1, 1]);
    expect(every[0]).toMatchObject({ topic: 'dl/v1/d1/config/desired', retain: true });
    link.setConnected(false);
    link.setConnected(true);
    await link.settle();
    expect([every.length, once.length]).toEqual([2, 1]);
    link.setConnected(false);
    link.setConnected(true, { sessionPresent: false });
    await link.settle();
    expect([every.length, once.length]).toEqual([3, 2]);
  });

  it('routes by filter, queues messages for the session while down, and keeps a throwing handler from the others', async () => {
    const link = new MemoryLink();
    const got: CloudMessage[] = [];
    await link.subscribe('dl/v1/d1/cmd/+', () => {
      throw new Error('handler bug');
    });
    await link.subscribe('dl/v1/d1/cmd/+', received(got));
    link.deliver('dl/v1/d1/cmd/ping', { id: 'c1' });
    link.deliver('dl/v1/d1/cmd/ping/result', { id: 'c1' });
    await link.settle();
    expect(got.map((m) => m.topic)).toEqual(['dl/v1/d1/cmd/ping']);
    expect(link.handlerErrors).toHaveLength(1);
    link.setConnected(false);
    link.deliver('dl/v1/d1/cmd/reboot', { id: 'c2' });
    await link.settle();
    expect(got).toHaveLength(1);
    link.setConnected(true);
    await link.settle();
    expect(got.map((m) => m.topic)).toEqual(['dl/v1/d1/cmd/ping', 'dl/v1/d1/cmd/reboot']);
  });

  it('says connected and disconnected, and rejects what is pending when closed', async () => {
    const link = new MemoryLink({ autoAck: false });
    const events: string[] = [];
    link.on('connected', (e) => events.push(`up:${e.sessionPresent}`));
    const off = link.on('disconnected', (e) => events.push(`down:${e.retryInMs}`));
    link.setConnected(false);
    link.setConnected(true);
    off();
    link.setConnected(false);
    expect(events).toEqual(['down:1000', 'up:true']);
    const pending = link.publish('a/b', 'x');
    link.close();
    await expect(pending).rejects.toMatchObject({ code: 'CLOUD_LINK_CLOSED' });
    await expect(link.publish('a/b', 'y')).rejects.toMatchObject({ code: 'CLOUD_LINK_CLOSED' });
  });
});
