// A fleet of simulated devices in one process, for the cloud benchmark: each device is a real MqttLink (its own
// MQTT session: client id = device id, user name and password, clean start off) and a real CloudConfigSync (its
// own durable state file) whose runtime is a variable: apply() sets it, there is no restart, no SIP account.
// The cloud side is one admin session that publishes the group document and timestamps the devices' reports.
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { connect, type MqttClient } from 'mqtt';
import { CloudConfigSync, EMPTY_STATE, startupConfig } from '../../../src/cloud/config-sync.js';
import { MqttLink } from '../../../src/cloud/link.js';
import { deviceTopics, groupDesiredTopic, parseTopic } from '../../../src/cloud/topics.js';
import type { CloudLink, CloudLinkEvents, MessageHandler, PublishOptions, SubscribeOptions } from '../../../src/cloud/types.js';
import type { Config } from '../../../src/config/schema.js';
import type { Clock } from '../../../src/core/clock.js';
import type { Logger } from '../../../src/core/log.js';
import { ADMIN, deviceUsers } from '../../support/cloud.js';

/** dev-0000, dev-0001, ... */
export function fleetIds(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `dev-${String(i).padStart(4, '0')}`);
}

/** The device's link, counting the subscriptions the broker acknowledged (the link itself has no such event). */
class AcknowledgedLink implements CloudLink {
  readonly acknowledged = new Set<string>();
  readonly #waiters = new Set<() => void>();

  constructor(readonly inner: MqttLink) {}

  get deviceId(): string {
    return this.inner.deviceId;
  }
  get connected(): boolean {
    return this.inner.connected;
  }
  get protocolVersion(): 4 | 5 | null {
    return this.inner.protocolVersion;
  }
  publish(topic: string, payload: string | Buffer, options?: PublishOptions) {
    return this.inner.publish(topic, payload, options);
  }
  async subscribe(filter: string, handler: MessageHandler, options?: SubscribeOptions): Promise<() => Promise<void>> {
    // called while connected, so it resolves on the SUBACK
    const off = await this.inner.subscribe(filter, handler, options);
    this.acknowledged.add(filter);
    for (const w of [...this.#waiters]) w();
    return off;
  }
  on<K extends keyof CloudLinkEvents>(event: K, listener: (payload: CloudLinkEvents[K]) => void): () => void {
    return this.inner.on(event, listener);
  }

  waitSubscribed(filters: string[], timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!filters.every((f) => this.acknowledged.has(f))) return;
        done();
        resolve();
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${this.deviceId}: subscriptions not acknowledged within ${timeoutMs} ms (have ${[...this.acknowledged].join(', ') || 'none'})`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(check);
      };
      this.#waiters.add(check);
      check();
    });
  }
}

export interface SimulatedDevice {
  id: string;
  link: MqttLink;
  sync: CloudConfigSync;
  /** the config in effect */
  config: Config;
}

export interface FleetOptions {
  /** device ids (broker users with the passwords of deviceUsers()) */
  ids: readonly string[];
  group: string;
  brokerUrl: string;
  /** one subdirectory per device holds its config state file */
  dir: string;
  clock: Clock;
  log: Logger;
  /** devices connecting at once (default 100) */
  batch?: number;
  /** per batch: connect and subscribe within this long (default 30 s) */
  timeoutMs?: number;
}

function once<K extends keyof CloudLinkEvents>(link: CloudLink, event: K, timeoutMs: number): Promise<CloudLinkEvents[K]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`${link.deviceId}: no '${event}' within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = link.on(event, (payload) => {
      clearTimeout(timer);
      off();
      resolve(payload);
    });
  });
}

/** Starts one device: connected, its config sync started, its desired documents subscribed (SUBACKs in). */
async function startDevice(id: string, password: string, o: FleetOptions, timeoutMs: number): Promise<SimulatedDevice> {
  const fileLayer = { device: { id, groups: [o.group] } };
  const config = startupConfig(fileLayer, structuredClone(EMPTY_STATE));
  if (!config) throw new Error(`${id}: the file layer does not validate`);
  const stateDir = join(o.dir, id);
  await mkdir(stateDir, { recursive: true });
  const link = new MqttLink({ deviceId: id, url: o.brokerUrl, username: id, password, clock: o.clock, log: o.log });
  const counted = new AcknowledgedLink(link);
  const device: SimulatedDevice = { id, link, config, sync: undefined as unknown as CloudConfigSync };
  device.sync = new CloudConfigSync({
    link: counted,
    clock: o.clock,
    log: o.log,
    statePath: join(stateDir, 'config-state.json'),
    fileLayer,
    current: () => device.config,
    apply: (next) => {
      device.config = next;
    },
    sipRegistered: async () => null,
    audit: () => undefined,
  });
  const connected = once(link, 'connected', timeoutMs);
  link.start();
  await connected;
  // started once connected, so its subscribe() calls wait for the broker's SUBACKs
  await device.sync.start();
  await counted.waitSubscribed([deviceTopics(id).desired, groupDesiredTopic(o.group)], timeoutMs);
  return device;
}

/** Connects the fleet in batches; resolves when every device is connected and subscribed. */
export async function startFleet(o: FleetOptions): Promise<SimulatedDevice[]> {
  const passwords = deviceUsers(o.ids);
  const batch = o.batch ?? 100;
  const timeoutMs = o.timeoutMs ?? 30_000;
  const devices: SimulatedDevice[] = [];
  try {
    for (let i = 0; i < o.ids.length; i += batch) {
      const started = await Promise.allSettled(o.ids.slice(i, i + batch).map((id) => startDevice(id, passwords[id], o, timeoutMs)));
      for (const s of started) if (s.status === 'fulfilled') devices.push(s.value);
      const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
      if (failed) throw failed.reason;
    }
  } catch (error) {
    await stopFleet(devices);
    throw error;
  }
  return devices;
}

/** Stops every device's config sync and closes its link (a clean goodbye: retained `offline`). */
export async function stopFleet(devices: readonly SimulatedDevice[], batch = 200): Promise<void> {
  for (let i = 0; i < devices.length; i += batch) {
    await Promise.all(devices.slice(i, i + batch).map(async (d) => {
      await d.sync.stop().catch(() => undefined);
      await d.link.close().catch(() => undefined);
    }));
  }
}

export interface PushResult {
  rev: number;
  /** ms from the admin's publish to its receipt of each device's `applied` report for this rev, by device */
  latencies: Map<string, number>;
  /** ms from the publish until the last device reported (NaN when some never did) */
  allAppliedMs: number;
  /** ms the broker took to acknowledge the publish (PUBACK) */
  pubackMs: number;
}

/** The cloud side: an admin session that timestamps the devices' config reports. */
export class FleetAdmin {
  #waiting: { rev: number; t0: number; latencies: Map<string, number>; expected: number; done: () => void } | null = null;

  private constructor(readonly client: MqttClient, readonly group: string) {
    client.on('message', (topic, payload) => this.#onReport(topic, payload));
  }

  static async connect(url: string, group: string): Promise<FleetAdmin> {
    const client = connect(url, { ...ADMIN, clientId: `bench-fleet-admin-${process.pid}`, protocolVersion: 5, clean: true, reconnectPeriod: 0, connectTimeout: 10_000 });
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    await client.subscribeAsync('dl/v1/+/config/reported', { qos: 1 });
    return new FleetAdmin(client, group);
  }

  #onReport(topic: string, payload: Buffer): void {
    const now = performance.now();
    const w = this.#waiting;
    if (!w) return;
    const parsed = parseTopic(topic);
    if (!parsed || !('deviceId' in parsed) || parsed.kind !== 'config/reported' || w.latencies.has(parsed.deviceId)) return;
    let report: { status?: unknown; groups?: Record<string, unknown> };
    try {
      report = JSON.parse(payload.toString()) as typeof report;
    } catch {
      return;
    }
    if (report.status !== 'applied' || report.groups?.[this.group] !== w.rev) return;
    w.latencies.set(parsed.deviceId, now - w.t0);
    if (w.latencies.size >= w.expected) w.done();
  }

  /**
   * Publishes the retained group document `{rev, config}` and waits until `expected` devices reported it applied
   * (or `timeoutMs` passed: the result then holds fewer latencies).
   */
  async push(rev: number, config: Record<string, unknown>, expected: number, timeoutMs: number): Promise<PushResult> {
    const latencies = new Map<string, number>();
    let done!: () => void;
    const all = new Promise<void>((resolve) => (done = resolve));
    const t0 = performance.now();
    this.#waiting = { rev, t0, latencies, expected, done };
    await this.client.publishAsync(groupDesiredTopic(this.group), JSON.stringify({ rev, config, by: 'bench@deskline' }), { qos: 1, retain: true });
    const pubackMs = performance.now() - t0;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([all, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
    this.#waiting = null;
    const allAppliedMs = latencies.size >= expected ? Math.max(...latencies.values()) : NaN;
    return { rev, latencies, allAppliedMs, pubackMs };
  }

  async close(): Promise<void> {
    await this.client.endAsync();
  }
}

/** Soft "Max open files" of a process (Linux /proc/<pid>/limits); null when it can't be read. */
export async function openFilesLimit(pid: number | 'self'): Promise<number | null> {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(await readFile(`/proc/${pid}/limits`, 'utf8'));
    if (!m) return null;
    return m[1] === 'unlimited' ? Infinity : Number(m[1]);
  } catch {
    return null;
  }
}
