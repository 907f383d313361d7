/**
 * The durable event outbox: every event for the cloud (calls, SMS, orders, call-list outcomes, alarms,
 * peripheral changes, the audit trail) is written to disk before it is published, and removed only after the
 * broker acknowledged it (PUBACK). Events survive outages and reboots; each carries a unique `id` (the cloud
 * drops duplicates: an event acknowledged just before a power cut is sent again) and a per-stream `seq` (the
 * cloud sees gaps).
 *
 * Storage: a sequence collection of the local store, so an append is one journal line and one fdatasync.
 * An acknowledged event is deleted, except the newest of its stream, which stays as an `acked` marker until a
 * newer one of that stream is acknowledged: the stream counters and the record numbering can always be folded
 * back from the files, even when the snapshot holding the digest is lost. The digest keeps the last `seq` of
 * every stream, the highest record number and the records still to send, so an open reads no old segment.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import { DesklineError, errorMessage } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { Collection, CollectionSpec, DigestSpec, Store } from '../store/types.js';
import { deviceTopics, type CloudPayloads } from './topics.js';
import type { CloudLink } from './types.js';

export type CloudEvent = CloudPayloads['event'];

/** One queued event: the store's record number is its id, the event travels as is. */
interface OutboxRecord {
  id: string;
  event: CloudEvent;
  /** acknowledged, kept as the newest of its stream */
  acked?: true;
}

interface OutboxEntry {
  stream: string;
  seq: number;
  acked: boolean;
}

interface OutboxDigest {
  /** the highest record number written */
  last: number;
  lastSeq: Map<string, number>;
  /** the acknowledged marker record of each stream */
  marker: Map<string, number>;
  /** record numbers still to send, oldest first (a Set keeps insertion order; records are added in order) */
  pending: Set<number>;
}

const outboxDigest: DigestSpec<OutboxEntry, OutboxDigest> = {
  version: 1,
  create: () => ({ last: 0, lastSeq: new Map(), marker: new Map(), pending: new Set() }),
  apply(state, id, entry) {
    const number = Number(id);
    state.last = Math.max(state.last, number);
    if ((state.lastSeq.get(entry.stream) ?? 0) < entry.seq) state.lastSeq.set(entry.stream, entry.seq);
    if (entry.acked) {
      state.pending.delete(number);
      if ((state.marker.get(entry.stream) ?? 0) < number) state.marker.set(entry.stream, number);
    } else {
      state.pending.add(number);
    }
  },
  remove(state, id, previous) {
    const number = Number(id);
    state.pending.delete(number);
    if (state.marker.get(previous.stream) === number) state.marker.delete(previous.stream);
  },
  save: (state) => ({
    last: state.last, lastSeq: Object.fromEntries(state.lastSeq), marker: Object.fromEntries(state.marker),
    pending: [...state.pending].sort((a, b) => a - b),
  }),
  load(json) {
    const j = json as { last?: unknown; lastSeq?: unknown; marker?: unknown; pending?: unknown } | null;
    if (!j || typeof j.last !== 'number' || !isNumberMap(j.lastSeq) || !isNumberMap(j.marker) || !Array.isArray(j.pending)) return undefined;
    return {
      last: j.last, lastSeq: new Map(Object.entries(j.lastSeq)), marker: new Map(Object.entries(j.marker)),
      pending: new Set(j.pending.filter((n): n is number => Number.isSafeInteger(n))),
    };
  },
};

function isNumberMap(value: unknown): value is Record<string, number> {
  return typeof value === 'object' && value !== null && Object.values(value).every((v) => typeof v === 'number');
}

function isOutboxRecord(doc: unknown): doc is OutboxRecord {
  const d = doc as Partial<OutboxRecord> | null;
  const e = d?.event as Partial<CloudEvent> | undefined;
  return typeof d?.id === 'string' && typeof e === 'object' && e !== null && typeof e.id === 'string' && typeof e.stream === 'string' &&
    typeof e.seq === 'number' && typeof e.type === 'string' && typeof e.data === 'object' && e.data !== null;
}

export const OUTBOX_COLLECTION: CollectionSpec<OutboxRecord, OutboxEntry, OutboxDigest> = {
  name: 'cloud-outbox',
  placement: { kind: 'sequence', segmentSize: 64, resident: 4 },
  entryOf: (doc) => ({ stream: doc.event.stream, seq: doc.event.seq, acked: doc.acked === true }),
  isValid: isOutboxRecord,
  digest: outboxDigest,
};

/** An event's data larger than this (as JSON) is refused: events are facts, files go through the uploader. */
export const MAX_EVENT_BYTES = 64 * 1024;

export interface EventOutboxContext {
  store: Store;
  clock: Clock;
  log: Logger;
  /** events published at most this many at a time while unacknowledged (default 64) */
  window?: number;
}

export class EventOutbox {
  #collection: Collection<OutboxRecord, OutboxEntry, OutboxDigest> | null = null;
  #link: CloudLink | null = null;
  #topics: ReturnType<typeof deviceTopics> | null = null;
  /** record numbers handed to the link and not yet acknowledged */
  readonly #inFlight = new Set<number>();
  #pumping = false;
  #unlisten: (() => void) | null = null;

  constructor(private readonly context: EventOutboxContext) {}

  async open(): Promise<void> {
    this.#collection = await this.context.store.collection(OUTBOX_COLLECTION);
  }

  /** Events written and not yet acknowledged by the broker. */
  get pending(): number {
    return this.#digest().pending.size;
  }

  /** Starts publishing through `link` (whenever it is up) until `detach`. */
  attach(link: CloudLink): void {
    this.#link = link;
    this.#topics = deviceTopics(link.deviceId);
    this.#unlisten = link.on('connected', () => this.#pump());
    this.#pump();
  }

  detach(): void {
    this.#unlisten?.();
    this.#unlisten = null;
    this.#link = null;
    this.#inFlight.clear();
  }

  /**
   * Writes an event durably (resolves once it is on disk) and sends it when the link allows.
   * The event's `seq` is the stream's last plus one, across restarts.
   */
  async append(stream: string, type: string, data: Record<string, unknown>): Promise<CloudEvent> {
    const collection = this.#open();
    const bytes = Buffer.byteLength(JSON.stringify(data));
    if (bytes > MAX_EVENT_BYTES) throw new DesklineError('CLOUD_EVENT_TOO_LARGE', `a ${stream}/${type} event of ${bytes} bytes is over the ${MAX_EVENT_BYTES}-byte limit`);
    deviceTopics('x').event(stream); // the stream must be a valid topic level (throws CLOUD_BAD_TOPIC_LEVEL)
    const digest = this.#digest();
    const seq = (digest.lastSeq.get(stream) ?? 0) + 1;
    const number = digest.last + 1;
    const { clock } = this.context;
    const event: CloudEvent = { id: randomUUID(), stream, seq, at: clock.wallTimeTrusted ? clock.now() : null, type, data };
    // put applies to memory (and the digest) at once, so the next append in the same tick gets the next seq
    await collection.put({ id: String(number), event });
    this.#pump();
    return event;
  }

  #open(): Collection<OutboxRecord, OutboxEntry, OutboxDigest> {
    if (!this.#collection) throw new DesklineError('CLOUD_OUTBOX_CLOSED', 'the event outbox is not open');
    return this.#collection;
  }

  #digest(): OutboxDigest {
    return this.#open().digest;
  }

  /** Hands the oldest pending events to the link, up to the window; called on append, connect and each PUBACK. */
  #pump(): void {
    if (this.#pumping) return;
    const link = this.#link;
    const collection = this.#collection;
    if (!link?.connected || !collection) return;
    const room = (this.context.window ?? 64) - this.#inFlight.size;
    if (room <= 0) return;
    const next: number[] = [];
    for (const number of this.#digest().pending) {
      if (this.#inFlight.has(number)) continue;
      next.push(number);
      if (next.length >= room) break;
    }
    if (next.length === 0) return;
    for (const number of next) this.#inFlight.add(number);
    this.#pumping = true;
    collection.getMany(next.map(String)).then((records) => {
      this.#pumping = false;
      for (const record of records) this.#send(link, record);
      // records gone meanwhile (acknowledged twice after a redelivery) free their slot
      const found = new Set(records.map((r) => Number(r.id)));
      for (const number of next) if (!found.has(number)) this.#inFlight.delete(number);
      this.#pump();
    }, (error: unknown) => {
      this.#pumping = false;
      for (const number of next) this.#inFlight.delete(number);
      this.context.log.error({ err: errorMessage(error) }, 'outbox: reading queued events failed');
    });
  }

  /** Deletes an acknowledged event, or keeps it as its stream's marker when it is the stream's newest. */
  async #acknowledged(record: OutboxRecord): Promise<void> {
    const collection = this.#collection;
    if (!collection) return;
    const { stream, seq } = record.event;
    const digest = collection.digest;
    if (digest.lastSeq.get(stream) !== seq) {
      await collection.delete(record.id);
      return;
    }
    const previous = digest.marker.get(stream);
    await Promise.all([
      collection.update(record.id, (doc) => ({ ...doc, acked: true })),
      previous !== undefined && previous !== Number(record.id) ? collection.delete(String(previous)) : undefined,
    ]);
  }

  #send(link: CloudLink, record: OutboxRecord): void {
    const number = Number(record.id);
    const topic = this.#topics!.event(record.event.stream);
    link.publish(topic, JSON.stringify(record.event), { qos: 1 }).then(
      async () => {
        this.#inFlight.delete(number);
        await this.#acknowledged(record);
        this.#pump();
      },
      (error: unknown) => {
        // the link was closed: the event stays on disk and goes out after the next start
        this.#inFlight.delete(number);
        this.context.log.debug({ id: record.event.id, err: errorMessage(error) }, 'outbox: event not acknowledged');
      },
    ).catch((error: unknown) => this.context.log.error({ err: errorMessage(error) }, 'outbox: removing an acknowledged event failed'));
  }
}
