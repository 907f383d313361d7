// An in-process stand-in for a broker, for the file-transfer unit tests: a CloudLink for the device and the
// few mqtt.js MqttClient methods the FileReceiver uses, joined by topic filters. Real brokers are in the
// integration suite (test/integration/cloud-files.test.ts); this only routes messages, asynchronously, and
// lets a test answer a publish itself (an EMQX-like PUBACK reason code) or hold it back.
import { EventEmitter } from 'node:events';
import type { MqttClient } from 'mqtt';
import { topicMatches } from '../../../../src/cloud/link.js';
import type { CloudLink, CloudLinkEvents, MessageHandler, PublishAck } from '../../../../src/cloud/types.js';

export interface PublishRecord {
  topic: string;
  payload: Buffer;
  by: string;
}

/** What a test does with a publish: route it (default), answer it with a reason code instead, or hold it. */
export type Intercept = (record: PublishRecord) => { reasonCode: number } | 'hold' | 'drop' | undefined;

export class MemoryBroker {
  readonly published: PublishRecord[] = [];
  intercept: Intercept = () => undefined;
  readonly #subscribers = new Set<{ filter: string; deliver: (topic: string, payload: Buffer) => void }>();
  readonly #held: Array<() => void> = [];

  subscribe(filter: string, deliver: (topic: string, payload: Buffer) => void): () => void {
    const sub = { filter, deliver };
    this.#subscribers.add(sub);
    return () => void this.#subscribers.delete(sub);
  }

  publish(record: PublishRecord): Promise<PublishAck> {
    this.published.push(record);
    const decision = this.intercept(record);
    if (decision === 'hold') return new Promise((resolve) => this.#held.push(() => resolve(this.#route(record))));
    if (decision === 'drop') return Promise.resolve({ reasonCode: 0 });
    if (decision) return Promise.resolve({ reasonCode: decision.reasonCode });
    return Promise.resolve(this.#route(record));
  }

  /** Lets held publishes through (in order). */
  releaseHeld(): void {
    for (const release of this.#held.splice(0)) release();
  }

  get heldCount(): number {
    return this.#held.length;
  }

  /** Publishes of a topic kind, e.g. the segment offsets sent: `topicsMatching(/\/files\/f1\/(\d+)\//)`. */
  topicsMatching(re: RegExp): string[][] {
    return this.published.map((p) => re.exec(p.topic)).filter((m): m is RegExpExecArray => m !== null).map((m) => [...m].slice(1));
  }

  #route(record: PublishRecord): PublishAck {
    let matched = 0;
    for (const sub of this.#subscribers) {
      if (!topicMatches(sub.filter, record.topic)) continue;
      matched += 1;
      setImmediate(() => sub.deliver(record.topic, record.payload));
    }
    return { reasonCode: matched > 0 ? 0 : 0x10 };
  }

  link(deviceId: string, protocolVersion: 4 | 5 = 5): MemoryLink {
    return new MemoryLink(this, deviceId, protocolVersion);
  }

  /** The part of an mqtt.js client the receiver uses. */
  client(clientId = 'receiver'): MqttClient {
    const emitter = new EventEmitter();
    const unsubscribes = new Map<string, () => void>();
    const client = Object.assign(emitter, {
      connected: true,
      subscribeAsync: async (filter: string) => {
        unsubscribes.set(filter, this.subscribe(filter, (topic, payload) => emitter.emit('message', topic, payload, {})));
        return [];
      },
      unsubscribeAsync: async (filter: string) => {
        unsubscribes.get(filter)?.();
        unsubscribes.delete(filter);
      },
      publishAsync: async (topic: string, payload: string | Buffer) => {
        await this.publish({ topic, payload: Buffer.from(payload), by: clientId });
        return undefined;
      },
    });
    return client as unknown as MqttClient;
  }
}

export class MemoryLink implements CloudLink {
  connected = true;
  readonly #listeners = { connected: new Set<(p: CloudLinkEvents['connected']) => void>(), disconnected: new Set<(p: CloudLinkEvents['disconnected']) => void>() };

  constructor(
    private readonly broker: MemoryBroker,
    readonly deviceId: string,
    readonly protocolVersion: 4 | 5 | null,
  ) {}

  publish(topic: string, payload: string | Buffer): Promise<PublishAck> {
    return this.broker.publish({ topic, payload: Buffer.from(payload), by: this.deviceId });
  }

  async subscribe(filter: string, handler: MessageHandler): Promise<() => Promise<void>> {
    const off = this.broker.subscribe(filter, (topic, payload) => handler({ topic, payload, retain: false }));
    return async () => off();
  }

  on<K extends keyof CloudLinkEvents>(event: K, listener: (payload: CloudLinkEvents[K]) => void): () => void {
    const set = this.#listeners[event] as Set<(payload: CloudLinkEvents[K]) => void>;
    set.add(listener);
    return () => void set.delete(listener);
  }
}
