/**
 * The device's MQTT session to the cloud broker (mqtt.js 5), implementing `CloudLink` (types.ts).
 *
 * - MQTT 5 with a persistent session (clean start off, session expiry of a week), falling back to 3.1.1 when
 *   the broker refuses protocol version 5 (CONNACK 0x84 "unsupported protocol version" / 3.1.1 return code 1).
 * - Client id = device id; TLS with a client certificate (mqtts://) or user name and password.
 * - Reconnects are ours, not mqtt.js's fixed period: exponential back-off with "equal jitter" (half the window
 *   plus a random half; AWS architecture blog "Exponential Backoff And Jitter") on the injected clock, reset
 *   after a connection that stayed up.
 * - Presence: a retained `offline` Last Will, and a retained `online` published on every (re)connect.
 * - QoS 1 publishes made while the link is down wait in mqtt.js's outgoing store and go out, in order, once it
 *   is up (in memory: events that must survive a reboot go through the durable outbox, outbox.ts).
 */
import { connect, type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import { DesklineError, errorCode, errorMessage } from '../core/errors.js';
import type { Clock, TimerHandle } from '../core/clock.js';
import type { Logger } from '../core/log.js';
import { deviceTopics } from './topics.js';
import type { CloudPayloads } from './topics.js';
import type { CloudLink, CloudLinkEvents, CloudMessage, MessageHandler, PublishAck, PublishOptions, SubscribeOptions } from './types.js';

export interface LinkBackoff {
  /** first retry waits up to this long (default 1 s) */
  initialMs: number;
  /** the cap (default 5 min) */
  maxMs: number;
  /** a connection that stayed up this long resets the back-off (default 60 s) */
  stableMs: number;
}

export interface MqttLinkOptions {
  deviceId: string;
  /** mqtt://host:port or mqtts://host:port */
  url: string;
  username?: string;
  password?: string;
  /** PEM contents (not paths): the CA that signed the broker, and the device's certificate and key */
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer };
  clock: Clock;
  log: Logger;
  /** default Math.random (tests inject their own) */
  random?: () => number;
  backoff?: Partial<LinkBackoff>;
  /** keep-alive in seconds (default 30) */
  keepaliveS?: number;
  /** seconds the broker keeps our session while we are away (MQTT 5; default one week) */
  sessionExpiryS?: number;
  /** runtime version for the presence document */
  version?: string;
  /** how long one connect attempt may take (default 15 s) */
  connectTimeoutMs?: number;
}

const DEFAULT_BACKOFF: LinkBackoff = { initialMs: 1000, maxMs: 5 * 60_000, stableMs: 60_000 };
/** MQTT 5 CONNACK 0x84 and MQTT 3.1.1 return code 1: the broker does not speak this protocol version */
const UNSUPPORTED_PROTOCOL = new Set([0x84, 1]);
/** An incoming payload larger than this is dropped before any handler sees it. */
export const MAX_INCOMING_BYTES = 1024 * 1024;

/** Does an MQTT topic filter ('a/+/c', 'a/#', '$share/g/a/#') match a topic? (MQTT 5 section 4.7) */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.startsWith('$share/') ? filter.split('/').slice(2) : filter.split('/');
  const t = topic.split('/');
  // 4.7.2: wildcards at the first level never match topics that start with '$'
  if ((f[0] === '#' || f[0] === '+') && topic.startsWith('$')) return false;
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

/** The delay before retry number `attempt` (0-based): half an exponentially growing window plus a random half. */
export function backoffDelay(attempt: number, backoff: LinkBackoff, random: () => number): number {
  const window = Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.min(attempt, 30));
  return Math.round(window / 2 + random() * (window / 2));
}

export class MqttLink implements CloudLink {
  readonly deviceId: string;
  #client: MqttClient | null = null;
  #protocolVersion: 4 | 5 = 5;
  #everConnected = false;
  #attempt = 0;
  #connectedAt: number | null = null;
  #retry: TimerHandle | null = null;
  #closed = false;
  readonly #backoff: LinkBackoff;
  readonly #handlers = new Map<string, Set<MessageHandler>>();
  /** filters subscribed again on every reconnect (their retained message is wanted each time) */
  readonly #refreshed = new Set<string>();
  /** filters the broker acknowledged in the current session */
  readonly #acknowledged = new Set<string>();
  readonly #listeners: { [K in keyof CloudLinkEvents]: Set<(payload: CloudLinkEvents[K]) => void> } = { connected: new Set(), disconnected: new Set() };
  readonly #topics;

  constructor(private readonly options: MqttLinkOptions) {
    this.deviceId = options.deviceId;
    this.#topics = deviceTopics(options.deviceId);
    this.#backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
  }

  get connected(): boolean {
    return this.#client?.connected ?? false;
  }

  get protocolVersion(): 4 | 5 | null {
    return this.#everConnected ? this.#protocolVersion : null;
  }

  /** Starts connecting (in the background: a broker that is down is retried forever). */
  start(): void {
    if (this.#client || this.#closed) return;
    const { options } = this;
    const client = connect(options.url, this.#clientOptions());
    this.#client = client;
    client.on('connect', (connack) => {
      this.#everConnected = true;
      this.#connectedAt = options.clock.monotonic();
      this.#subscribeAll(client, connack.sessionPresent);
      options.log.info({ url: options.url, protocol: this.#protocolVersion, sessionPresent: connack.sessionPresent }, 'cloud link up');
      this.#publishPresence('online');
      this.#emit('connected', { sessionPresent: connack.sessionPresent, protocolVersion: this.#protocolVersion });
    });
    client.on('message', (topic, payload, packet) => this.#deliver(topic, payload, packet));
    client.on('error', (error) => {
      const code = (error as { code?: unknown }).code;
      if (typeof code === 'number' && UNSUPPORTED_PROTOCOL.has(code) && this.#protocolVersion === 5) {
        options.log.warn({ url: options.url }, 'the broker does not speak MQTT 5: falling back to 3.1.1');
        this.#protocolVersion = 4;
        Object.assign(client.options, this.#clientOptions());
        this.#attempt = 0;
        return;
      }
      options.log.warn({ url: options.url, err: errorMessage(error), code }, 'cloud link error');
    });
    client.on('close', () => this.#onClose());
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.options.clock.clear(this.#retry);
    this.#retry = null;
    const client = this.#client;
    if (!client) return;
    if (client.connected) {
      // a clean goodbye does not fire the Last Will: say offline ourselves
      await this.publish(this.#topics.presence, JSON.stringify(this.#presence('offline')), { retain: true }).catch(() => undefined);
    }
    await client.endAsync(!client.connected);
  }

  publish(topic: string, payload: string | Buffer, options: PublishOptions = {}): Promise<PublishAck> {
    const client = this.#client;
    if (!client || this.#closed && !client.connected) return Promise.reject(new DesklineError('CLOUD_LINK_CLOSED', 'the cloud link is closed'));
    const properties = this.#protocolVersion === 5 ? options.properties : undefined;
    return new Promise((resolve, reject) => {
      client.publish(topic, payload, { qos: options.qos ?? 1, retain: options.retain ?? false, properties }, (error, packet) => {
        if (error) {
          const reasonCode = (error as { code?: unknown }).code;
          reject(typeof reasonCode === 'number'
            ? new DesklineError('CLOUD_PUBLISH_REFUSED', `the broker refused a publish to ${topic}: ${error.message}`, { details: { reasonCode } })
            : new DesklineError('CLOUD_LINK_CLOSED', `publish to ${topic} abandoned: ${error.message}`, { cause: error }));
          return;
        }
        const ack = packet as { reasonCode?: number; properties?: { reasonString?: string } } | undefined;
        resolve({ reasonCode: ack?.reasonCode ?? 0, reasonString: ack?.properties?.reasonString });
      });
    });
  }

  async subscribe(filter: string, handler: MessageHandler, options: SubscribeOptions = {}): Promise<() => Promise<void>> {
    const client = this.#client;
    if (!client) throw new DesklineError('CLOUD_LINK_CLOSED', 'the cloud link is not started');
    if (options.retainedOnEveryConnect) this.#refreshed.add(filter);
    let handlers = this.#handlers.get(filter);
    if (!handlers) {
      handlers = new Set();
      this.#handlers.set(filter, handlers);
    }
    handlers.add(handler);
    // while the link is down the SUBSCRIBE goes out at the next connect (#subscribeAll), and so it does when the
    // connection drops before the SUBACK; only a refusal is the caller's to handle
    if (client.connected && !this.#acknowledged.has(filter)) {
      await this.#sendSubscribe(client, filter).catch((error: unknown) => {
        if (errorCode(error) !== 'CLOUD_SUBSCRIBE_REFUSED') return;
        this.#handlers.get(filter)?.delete(handler);
        throw error;
      });
    }
    return async () => {
      const set = this.#handlers.get(filter);
      if (!set?.delete(handler) || set.size > 0) return;
      this.#handlers.delete(filter);
      this.#refreshed.delete(filter);
      this.#acknowledged.delete(filter);
      if (client.connected) await client.unsubscribeAsync(filter).catch(() => undefined);
    };
  }

  /**
   * Our own subscriptions, not mqtt.js's: it fails a SUBSCRIBE queued while offline as soon as a connect attempt
   * fails, and only subscribes again to what was once acknowledged. After a connect without a session everything
   * is subscribed again; with one, what was never acknowledged and what wants its retained message each time.
   */
  #subscribeAll(client: MqttClient, sessionPresent: boolean): void {
    if (!sessionPresent) this.#acknowledged.clear();
    for (const filter of this.#handlers.keys()) {
      if (!this.#acknowledged.has(filter) || this.#refreshed.has(filter)) void this.#sendSubscribe(client, filter).catch(() => undefined);
    }
  }

  async #sendSubscribe(client: MqttClient, filter: string): Promise<void> {
    try {
      const [granted] = await client.subscribeAsync(filter, { qos: 1 });
      // MQTT 5 SUBACK reason codes >= 0x80 are refusals (mqtt.js reports them as the granted qos)
      if (granted && granted.qos >= 0x80) {
        throw new DesklineError('CLOUD_SUBSCRIBE_REFUSED', `the broker refused the subscription to ${filter} (reason 0x${granted.qos.toString(16)})`);
      }
      this.#acknowledged.add(filter);
    } catch (error) {
      this.options.log.warn({ filter, err: errorMessage(error) }, 'subscription not acknowledged (tried again at the next connect)');
      throw error;
    }
  }

  on<K extends keyof CloudLinkEvents>(event: K, listener: (payload: CloudLinkEvents[K]) => void): () => void {
    const set = this.#listeners[event] as Set<(payload: CloudLinkEvents[K]) => void>;
    set.add(listener);
    return () => void set.delete(listener);
  }

  #clientOptions(): IClientOptions {
    const { options } = this;
    const v5 = this.#protocolVersion === 5;
    const will = this.#presence('offline');
    return {
      clientId: options.deviceId,
      protocolVersion: this.#protocolVersion,
      clean: false,
      ...(v5 ? { properties: { sessionExpiryInterval: options.sessionExpiryS ?? 7 * 24 * 3600 } } : { properties: undefined }),
      keepalive: options.keepaliveS ?? 30,
      connectTimeout: options.connectTimeoutMs ?? 15_000,
      reconnectPeriod: 0,
      resubscribe: false,
      username: options.username || undefined,
      password: options.password || undefined,
      ca: options.tls?.ca,
      cert: options.tls?.cert,
      key: options.tls?.key,
      rejectUnauthorized: true,
      will: { topic: this.#topics.presence, payload: Buffer.from(JSON.stringify(will)), qos: 1, retain: true },
    };
  }

  #presence(state: 'online' | 'offline'): CloudPayloads['presence'] {
    const { clock, version } = this.options;
    return { state, at: clock.wallTimeTrusted ? clock.now() : null, ...(version ? { version } : {}) };
  }

  #publishPresence(state: 'online' | 'offline'): void {
    this.publish(this.#topics.presence, JSON.stringify(this.#presence(state)), { retain: true }).catch((error: unknown) => {
      this.options.log.debug({ err: errorMessage(error) }, 'presence not published');
    });
  }

  #onClose(): void {
    const { clock, log } = this.options;
    if (this.#closed) return;
    if (this.#retry) return; // already scheduled (close fires once per failed attempt)
    if (this.#connectedAt !== null && clock.monotonic() - this.#connectedAt >= this.#backoff.stableMs) this.#attempt = 0;
    this.#connectedAt = null;
    const delay = backoffDelay(this.#attempt++, this.#backoff, this.options.random ?? Math.random);
    log.info({ retryInMs: delay, attempt: this.#attempt }, 'cloud link down: retrying');
    this.#emit('disconnected', { reason: 'connection closed', retryInMs: delay });
    this.#retry = clock.setTimeout(() => {
      this.#retry = null;
      const client = this.#client;
      // mqtt.js's reconnect() starts with empty stores unless given its own: keep the unacknowledged publishes
      if (!this.#closed && client) client.reconnect({ incomingStore: client.incomingStore, outgoingStore: client.outgoingStore });
    }, delay);
  }

  #deliver(topic: string, payload: Buffer, packet: IPublishPacket): void {
    if (payload.length > MAX_INCOMING_BYTES) {
      this.options.log.warn({ topic, bytes: payload.length }, 'dropped an oversized cloud message');
      return;
    }
    const message: CloudMessage = { topic, payload, retain: packet.retain, properties: packet.properties as CloudMessage['properties'] };
    for (const [filter, handlers] of this.#handlers) {
      if (!topicMatches(filter, topic)) continue;
      for (const handler of handlers) {
        try {
          handler(message);
        } catch (error) {
          this.options.log.error({ topic, err: errorMessage(error) }, 'a cloud message handler threw');
        }
      }
    }
  }

  #emit<K extends keyof CloudLinkEvents>(event: K, payload: CloudLinkEvents[K]): void {
    for (const listener of this.#listeners[event] as Set<(payload: CloudLinkEvents[K]) => void>) {
      try {
        listener(payload);
      } catch (error) {
        this.options.log.error({ event, err: errorMessage(error) }, 'a cloud link listener threw');
      }
    }
  }
}

/**
 * Waits for a link to be up: `up` resolves true at once when it is, or when it connects, and false when
 * `deadlineMs` passes first or `cancel` is called (the health checks of a config or certificate on trial).
 */
export function linkUpWithin(link: CloudLink, clock: Clock, deadlineMs: number): { up: Promise<boolean>; cancel(): void } {
  if (link.connected) return { up: Promise.resolve(true), cancel: () => undefined };
  let finish: (up: boolean) => void = () => undefined;
  const up = new Promise<boolean>((resolve) => {
    const timer = clock.setTimeout(() => finish(false), deadlineMs);
    const off = link.on('connected', () => finish(true));
    finish = (result) => {
      clock.clear(timer);
      off();
      resolve(result);
    };
  });
  return { up, cancel: () => finish(false) };
}
