// The cloud side of the cloud-link tests: a Mosquitto set up as the issue asks (per-device ACL, persistence,
// queue limits raised above Mosquitto's silent-drop default, optionally TLS client certificates) and an admin
// client (mqtt.js) that reads what devices publish.

import { join } from 'node:path';
import { connect, type MqttClient } from 'mqtt';
import { startMosquitto, type Mosquitto, type MosquittoOptions } from './peers/mosquitto.js';
import { delay, spawnPeer, type PeerProcess } from './process.js';
import { topicMatches } from '../../src/cloud/link.js';
import { projectRoot } from '../../src/core/paths.js';

export const ADMIN = { username: 'cloud-admin', password: 'admin-pw-for-tests' };

/** Device ids and their passwords for the plain listener. */
export function deviceUsers(ids: readonly string[]): Record<string, string> {
  return Object.fromEntries(ids.map((id) => [id, `${id}-pw`]));
}

/**
 * The broker: each device reads and writes only dl/v1/<its user name>/# and reads the group documents;
 * the admin reads and writes everything under dl/v1. Offline queues hold 100k messages (the default 1000 drops
 * silently, which would hide a lost event).
 */
export function startCloudBroker(o: { devices?: readonly string[]; tls?: MosquittoOptions['tls']; persistence?: boolean; extraConfig?: string[] } = {}): Promise<Mosquitto> {
  return startMosquitto({
    users: { [ADMIN.username]: ADMIN.password, ...deviceUsers(o.devices ?? []) },
    acl: [
      'pattern readwrite dl/v1/%u/#',
      'pattern read dl/v1/groups/#',
      `user ${ADMIN.username}`,
      'topic readwrite dl/v1/#',
      'topic readwrite $share/#',
    ],
    persistence: o.persistence ?? true,
    tls: o.tls,
    extraConfig: ['max_queued_messages 100000', 'max_queued_bytes 0', 'max_inflight_messages 100', ...(o.extraConfig ?? [])],
  });
}

export interface ReceivedMessage {
  topic: string;
  payload: string;
  retain: boolean;
}

/** An admin connection that records every message it receives. */
export class AdminClient {
  readonly received: ReceivedMessage[] = [];
  readonly #waiters = new Set<() => void>();

  private constructor(readonly client: MqttClient) {
    client.on('message', (topic, payload, packet) => {
      this.received.push({ topic, payload: payload.toString(), retain: packet.retain });
      for (const w of [...this.#waiters]) w();
    });
  }

  /** Connects (MQTT 5). `session` set: a persistent session with that client id (it keeps queued messages). */
  static async connect(broker: Mosquitto, o: { session?: string; subscribe?: string[] } = {}): Promise<AdminClient> {
    const client = connect(broker.url, {
      ...ADMIN, protocolVersion: 5, reconnectPeriod: 200, connectTimeout: 5000,
      clientId: o.session ?? `admin-${process.pid}-${Math.random().toString(16).slice(2)}`,
      clean: !o.session, ...(o.session ? { properties: { sessionExpiryInterval: 3600 } } : {}),
    });
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    const admin = new AdminClient(client);
    for (const filter of o.subscribe ?? []) await client.subscribeAsync(filter, { qos: 1 });
    return admin;
  }

  messages(filter: string): ReceivedMessage[] {
    return this.received.filter((m) => topicMatches(filter, m.topic));
  }

  /** The first message on `filter` (from the start of the recording) that satisfies `test`. */
  async waitFor(filter: string, test: (payload: Record<string, unknown>, message: ReceivedMessage) => boolean = () => true, timeoutMs = 15_000): Promise<Record<string, unknown>> {
    const find = () => {
      for (const m of this.messages(filter)) {
        const payload = JSON.parse(m.payload) as Record<string, unknown>;
        if (test(payload, m)) return payload;
      }
      return undefined;
    };
    return this.#until(find, timeoutMs, () => `no message on ${filter} passed the test within ${timeoutMs} ms; got:\n${this.messages(filter).map((m) => `${m.topic} ${m.payload}`).join('\n').slice(-3000)}`);
  }

  /** Waits until `count()` reaches `n`. */
  async waitCount(count: () => number, n: number, timeoutMs: number): Promise<void> {
    await this.#until(() => (count() >= n ? true : undefined), timeoutMs, () => `only ${count()} of ${n} messages within ${timeoutMs} ms`);
  }

  #until<T>(find: () => T | undefined, timeoutMs: number, why: () => string): Promise<T> {
    const found = find();
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const check = () => {
        const hit = find();
        if (hit === undefined) return;
        cleanup();
        resolve(hit);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(why()));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.#waiters.delete(check);
      };
      this.#waiters.add(check);
    });
  }

  async publish(topic: string, payload: unknown, o: { retain?: boolean; expiryS?: number } = {}): Promise<void> {
    await this.client.publishAsync(topic, JSON.stringify(payload), {
      qos: 1, retain: o.retain ?? false, ...(o.expiryS ? { properties: { messageExpiryInterval: o.expiryS } } : {}),
    });
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}

/** A device stand-in with the runtime's own store, outbox and link in a process of its own (cloud-outbox-child.ts). */
export function startOutboxDevice(storeDir: string, url: string, id: string): Promise<PeerProcess> {
  return spawnPeer({
    name: 'outbox-device', command: process.execPath, debianPackage: 'nodejs', cwd: projectRoot(), stdin: 'pipe',
    args: ['--import', 'tsx', join(projectRoot(), 'test', 'support', 'cloud-outbox-child.ts'), storeDir, url, id, deviceUsers([id])[id]],
    ready: { line: /^ready$/ }, readyTimeoutMs: 20_000,
  });
}

/** Has the stand-in append `count` events to `stream` and waits until they are all on its disk. */
export async function emitEvents(device: PeerProcess, count: number, stream: string): Promise<void> {
  const done = () => device.output().split('\n').filter((l) => l.startsWith('pending ')).length;
  const before = done();
  device.child.stdin!.write(`emit ${count} ${stream}\n`);
  for (let waited = 0; done() === before; waited += 50) {
    if (waited > 60_000) throw new Error(`the device did not append ${count} ${stream} events:\n${device.output().slice(-2000)}`);
    await delay(50);
  }
}
