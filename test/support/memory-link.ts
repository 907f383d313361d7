// An in-memory CloudLink for unit tests: the device's session and the broker in one object. It keeps the
// contract of src/cloud/types.ts (publish resolves on "PUBACK" and queues in call order while the link is down,
// subscriptions survive reconnects, retained messages, `retainedOnEveryConnect`), routes with the real
// `topicMatches`, and delivers asynchronously (setImmediate) like a socket would. The test plays the cloud
// (`deliver`), the network (`setConnected`) and, when it wants, the broker's PUBACKs (`autoAck: false` + `ack`).
// Real brokers are in the integration suite; this is for the features written against CloudLink.
import { topicMatches } from '../../src/cloud/link.js';
import type { CloudLink, CloudLinkEvents, CloudMessage, MessageHandler, PublishAck, PublishOptions, PublishProperties, SubscribeOptions } from '../../src/cloud/types.js';
import { DesklineError } from '../../src/core/errors.js';

/** A message the broker received from the device. */
export interface SentMessage {
  topic: string;
  payload: Buffer;
  qos: 0 | 1;
  retain: boolean;
  properties?: PublishProperties;
  /** sent again after a reconnect because its PUBACK had not come */
  dup: boolean;
}

export interface MemoryLinkOptions {
  deviceId?: string;
  /** default true */
  connected?: boolean;
  /** default 5 */
  protocolVersion?: 4 | 5;
  /** answer every publish at once (default true); false: publishes wait for `ack()` */
  autoAck?: boolean;
}

interface Outgoing {
  topic: string;
  payload: Buffer;
  qos: 0 | 1;
  retain: boolean;
  properties?: PublishProperties;
  resolve(ack: PublishAck): void;
  reject(error: Error): void;
  dup: boolean;
  /** what the broker recorded when it got it */
  sentAs?: SentMessage;
}

interface Subscription {
  filter: string;
  handler: MessageHandler;
  options: SubscribeOptions;
  /** the broker has it (false while it was made with the link down: it is sent at the next connect) */
  active: boolean;
}

export class MemoryLink implements CloudLink {
  readonly deviceId: string;
  /** every message the broker received from the device, in order (a resend appears again with `dup`) */
  readonly sent: SentMessage[] = [];
  /** the broker's retained messages, by topic */
  readonly retained = new Map<string, CloudMessage>();
  /** handler errors (a throwing handler never reaches the link's caller; the others still run) */
  readonly handlerErrors: unknown[] = [];
  /** the PUBACK reason code of a publish (>= 0x80 refuses it: the publish rejects with CLOUD_PUBLISH_REFUSED) */
  pubackFor: (message: SentMessage) => number = () => 0;
  autoAck: boolean;
  #connected: boolean;
  #protocolVersion: 4 | 5 | null = null;
  readonly #version: 4 | 5;
  #closed = false;
  /** publishes waiting for the link to come up, in call order */
  readonly #queue: Outgoing[] = [];
  /** publishes the broker has and has not acknowledged yet (autoAck false) */
  readonly #unacked: Outgoing[] = [];
  readonly #subscriptions = new Set<Subscription>();
  /** QoS 1 messages for our subscriptions that arrived while we were away (the persistent session's queue) */
  readonly #inbox: CloudMessage[] = [];
  #deliveries = 0;
  readonly #listeners: { [K in keyof CloudLinkEvents]: Set<(payload: CloudLinkEvents[K]) => void> } = { connected: new Set(), disconnected: new Set() };

  constructor(options: MemoryLinkOptions = {}) {
    this.deviceId = options.deviceId ?? 'd1';
    this.#connected = options.connected ?? true;
    this.#version = options.protocolVersion ?? 5;
    if (this.#connected) this.#protocolVersion = this.#version;
    this.autoAck = options.autoAck ?? true;
  }

  get connected(): boolean {
    return this.#connected;
  }

  get protocolVersion(): 4 | 5 | null {
    return this.#protocolVersion;
  }

  /** Filters subscribed now (one entry per handler). */
  get subscriptions(): string[] {
    return [...this.#subscriptions].map((s) => s.filter);
  }

  /** Publishes the broker holds without a PUBACK yet (autoAck false). */
  get unacked(): number {
    return this.#unacked.length;
  }

  /** Publishes waiting for the link to come up. */
  get queued(): number {
    return this.#queue.length;
  }

  publish(topic: string, payload: string | Buffer, options: PublishOptions = {}): Promise<PublishAck> {
    if (this.#closed) return Promise.reject(new DesklineError('CLOUD_LINK_CLOSED', 'the cloud link is closed'));
    if (topic.length === 0 || /[+#]/.test(topic)) return Promise.reject(new Error(`not a topic name: '${topic}'`));
    return new Promise<PublishAck>((resolve, reject) => {
      const outgoing: Outgoing = {
        topic, payload: Buffer.from(payload), qos: options.qos ?? 1, retain: options.retain ?? false, properties: options.properties, resolve, reject, dup: false,
      };
      if (this.#connected) this.#send(outgoing);
      else this.#queue.push(outgoing);
    });
  }

  async subscribe(filter: string, handler: MessageHandler, options: SubscribeOptions = {}): Promise<() => Promise<void>> {
    if (this.#closed) throw new DesklineError('CLOUD_LINK_CLOSED', 'the cloud link is closed');
    const subscription: Subscription = { filter, handler, options, active: false };
    this.#subscriptions.add(subscription);
    if (this.#connected) this.#activate(subscription);
    return async () => {
      this.#subscriptions.delete(subscription);
    };
  }

  on<K extends keyof CloudLinkEvents>(event: K, listener: (payload: CloudLinkEvents[K]) => void): () => void {
    const set = this.#listeners[event] as Set<(payload: CloudLinkEvents[K]) => void>;
    set.add(listener);
    return () => void set.delete(listener);
  }

  /**
   * The cloud publishes (QoS 1). `retain`: the broker keeps it (an empty payload clears it). Subscribers get it
   * now when the link is up, else when it comes back (the persistent session's queue).
   */
  deliver(topic: string, payload: unknown, options: { retain?: boolean; properties?: PublishProperties } = {}): void {
    const bytes = Buffer.isBuffer(payload) ? payload : Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload));
    const message: CloudMessage = { topic, payload: bytes, retain: false, ...(options.properties ? { properties: options.properties } : {}) };
    if (options.retain) {
      if (bytes.length === 0) this.retained.delete(topic);
      else this.retained.set(topic, { ...message, retain: true });
    }
    this.#route(message);
  }

  /**
   * Simulates the network: false drops the connection (publishes without a PUBACK go back to the queue and are
   * sent again at the next connect, as MQTT does with a session); true connects (re-subscribing: the retained
   * messages come again for `retainedOnEveryConnect` subscriptions, or for all when `sessionPresent` is false),
   * sends the queued publishes in order, delivers what the session queued, then says `connected`.
   */
  setConnected(up: boolean, o: { sessionPresent?: boolean; reason?: string } = {}): void {
    if (this.#closed || up === this.#connected) return;
    if (!up) {
      this.#connected = false;
      this.#queue.unshift(...this.#unacked.splice(0).map((m) => ({ ...m, dup: true, sentAs: undefined })));
      this.#emit('disconnected', { reason: o.reason ?? 'connection lost (test)', retryInMs: 1000 });
      return;
    }
    const sessionPresent = o.sessionPresent ?? true;
    this.#connected = true;
    this.#protocolVersion = this.#version;
    for (const subscription of this.#subscriptions) {
      if (!sessionPresent || !subscription.active || subscription.options.retainedOnEveryConnect) this.#activate(subscription);
    }
    for (const outgoing of this.#queue.splice(0)) this.#send(outgoing);
    for (const message of this.#inbox.splice(0)) this.#route(message);
    this.#emit('connected', { sessionPresent, protocolVersion: this.#version });
  }

  /** Sends the broker's PUBACK for the oldest `count` unacknowledged publishes (default all); returns how many. */
  ack(count = Infinity): number {
    const acked = this.#unacked.splice(0, Math.min(count, this.#unacked.length));
    for (const outgoing of acked) this.#answer(outgoing);
    return acked.length;
  }

  /** Closes the link: queued and unacknowledged publishes reject with CLOUD_LINK_CLOSED. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const wasUp = this.#connected;
    this.#connected = false;
    for (const outgoing of [...this.#unacked.splice(0), ...this.#queue.splice(0)]) outgoing.reject(new DesklineError('CLOUD_LINK_CLOSED', 'the cloud link is closed'));
    if (wasUp) this.#emit('disconnected', { reason: 'closed', retryInMs: null });
  }

  /** Messages the broker received on topics matching `filter`. */
  sentTo(filter: string): SentMessage[] {
    return this.sent.filter((m) => topicMatches(filter, m.topic));
  }

  /** The JSON payloads the broker received on topics matching `filter`. */
  jsonSentTo<T = Record<string, unknown>>(filter: string): T[] {
    return this.sentTo(filter).map((m) => JSON.parse(m.payload.toString()) as T);
  }

  /** The retained message of a topic, parsed as JSON (undefined when none). */
  retainedJson<T = Record<string, unknown>>(topic: string): T | undefined {
    const message = this.retained.get(topic);
    return message ? (JSON.parse(message.payload.toString()) as T) : undefined;
  }

  /** Resolves once every message scheduled for delivery has reached its handlers (handlers' own async work is theirs). */
  async settle(): Promise<void> {
    do await new Promise<void>((resolve) => setImmediate(resolve));
    while (this.#deliveries > 0);
  }

  #send(outgoing: Outgoing): void {
    const message: SentMessage = { topic: outgoing.topic, payload: outgoing.payload, qos: outgoing.qos, retain: outgoing.retain, dup: outgoing.dup, ...(outgoing.properties ? { properties: outgoing.properties } : {}) };
    this.sent.push(message);
    outgoing.sentAs = message;
    if (outgoing.retain) {
      if (outgoing.payload.length === 0) this.retained.delete(outgoing.topic);
      else this.retained.set(outgoing.topic, { topic: outgoing.topic, payload: outgoing.payload, retain: true, ...(outgoing.properties ? { properties: outgoing.properties } : {}) });
    }
    // the device's own publishes reach its own matching subscriptions too (MQTT's No Local is off)
    this.#route({ topic: outgoing.topic, payload: outgoing.payload, retain: false, ...(outgoing.properties ? { properties: outgoing.properties } : {}) });
    if (outgoing.qos === 0 || this.autoAck) this.#answer(outgoing);
    else this.#unacked.push(outgoing);
  }

  #answer(outgoing: Outgoing): void {
    const reasonCode = outgoing.qos === 0 || !outgoing.sentAs ? 0 : this.pubackFor(outgoing.sentAs);
    setImmediate(() => {
      if (reasonCode >= 0x80) outgoing.reject(new DesklineError('CLOUD_PUBLISH_REFUSED', `the broker refused the publish to ${outgoing.topic} (reason 0x${reasonCode.toString(16)})`, { details: { reasonCode } }));
      else outgoing.resolve({ reasonCode });
    });
  }

  /** The broker takes a subscription: it sends the retained messages its filter matches. */
  #activate(subscription: Subscription): void {
    subscription.active = true;
    for (const message of this.retained.values()) {
      if (topicMatches(subscription.filter, message.topic)) this.#dispatch(subscription, message);
    }
  }

  #route(message: CloudMessage): void {
    const matching = [...this.#subscriptions].filter((s) => topicMatches(s.filter, message.topic));
    if (matching.length === 0) return;
    if (!this.#connected) {
      this.#inbox.push(message);
      return;
    }
    for (const subscription of matching) this.#dispatch(subscription, message);
  }

  #dispatch(subscription: Subscription, message: CloudMessage): void {
    this.#deliveries += 1;
    setImmediate(() => {
      this.#deliveries -= 1;
      if (!this.#subscriptions.has(subscription)) return;
      try {
        subscription.handler({ ...message, payload: Buffer.from(message.payload) });
      } catch (error) {
        this.handlerErrors.push(error);
      }
    });
  }

  #emit<K extends keyof CloudLinkEvents>(event: K, payload: CloudLinkEvents[K]): void {
    for (const listener of [...this.#listeners[event]] as Array<(payload: CloudLinkEvents[K]) => void>) {
      try {
        listener(payload);
      } catch (error) {
        this.handlerErrors.push(error);
      }
    }
  }
}
