/**
 * Contact sync on the device (protocol.ts has the topics and payloads, stamps.ts the merge rule).
 *
 * - Change sets from the cloud are applied in revision order: one whose `prevRev` is our revision is applied
 *   (merged field by field, written to disk) and only then is its `rev` persisted as ours; one already applied
 *   is ignored; one further ahead means sets were missed (a revision gap): it is held and a full resync asked for.
 * - A full resync: the cloud sends the whole set at revision R in pages; each page is merged as it comes (the
 *   store writes pages together while the next ones are merged), and when the last is in, contacts the cloud no
 *   longer has are deleted, R is persisted, and held change sets after R are applied. Local data is kept where it
 *   is newer: fields stamped after the cloud's (per-field merge), contacts edited on the device while the resync
 *   ran or still waiting to be sent, and absent contacts that carry a field written on this device (they are sent
 *   up again; the cloud answers with its delete if it deleted them). A resync without pages for
 *   `resyncTimeoutMs` is asked for again.
 * - Edits made on the device (repository.onLocalEdit) are written to a small queue in the store in the tick they
 *   are made (one document per contact, coalesced by stamp), sent up in messages of up to
 *   CONTACTS_SYNC_LIMITS.maxEditsPerMessage, and removed only when the broker acknowledged them with success; a
 *   message no subscriber took (PUBACK 0x10) or the broker refused is tried again after `retryMs` and on every
 *   reconnect. The queue survives restarts. (When the general event outbox, src/cloud/outbox.ts, takes
 *   arbitrary topics, this queue can become one of its streams; its per-contact coalescing would then move into
 *   the producer.)
 * - Contacts deleted on the device or by the cloud leave a tombstone (the delete's stamp; the newest
 *   MAX_TOMBSTONES are kept), so an older change arriving later does not bring the contact back.
 * - `contacts/state` (retained) tells the cloud our revision on every connect and change, so it can send sets
 *   the broker lost with our session.
 */
import { randomUUID } from 'node:crypto';
import type { Clock, TimerHandle } from '../../core/clock.js';
import { DesklineError, errorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import type { Service } from '../../core/services.js';
import type { ContactsRepository } from '../../contacts/repository.js';
import { compareStamps, newerStamp, type FieldStamp, type StampedChange, type StampedFields } from '../../contacts/stamps.js';
import type { Contact, ContactFieldName } from '../../contacts/types.js';
import type { Collection, CollectionSpec, Store } from '../../store/types.js';
import type { CloudLink, CloudMessage } from '../types.js';
import {
  CONTACTS_SYNC_LIMITS,
  contactsTopics,
  decodeChangeSet,
  decodeResyncPage,
  toStampedChange,
  toWireChange,
  type ContactsChangeSet,
  type ContactsEditBatch,
  type ContactsResyncRequest,
  type ContactsState,
  type WireChange,
  type WireField,
} from './protocol.js';

/** MQTT 5 PUBACK reason "no matching subscribers": the broker took the message but nobody received it. */
const NO_MATCHING_SUBSCRIBERS = 0x10;
export const MAX_TOMBSTONES = 20_000;
/** Change sets held while a resync runs (or ahead of a gap); more are dropped (the resync's result covers them, or the next gap asks again). */
const MAX_HELD_SETS = 100;
const MAX_LISTED_ERRORS = 20;

/** The sync's own documents in the store: where it is, the edits to send, the tombstones. */
type SyncDoc =
  | { id: 'state'; rev: number }
  | { id: string; kind: 'edit'; change: WireChange }
  | { id: string; kind: 'tombstone'; at: number; origin: string };

export const CONTACTS_SYNC_COLLECTION: Readonly<CollectionSpec<SyncDoc, SyncDoc>> = Object.freeze({
  name: 'contacts-sync',
  placement: Object.freeze({ kind: 'hash', shards: 16 } as const),
  // small documents: each is its own entry
  entryOf: (doc: SyncDoc) => doc,
  isValid: (doc: unknown): doc is SyncDoc => typeof doc === 'object' && doc !== null && typeof (doc as { id?: unknown }).id === 'string',
});

const EDIT_PREFIX = 'edit:';
const TOMBSTONE_PREFIX = 'tomb:';

export interface ContactsSyncContext {
  link: CloudLink;
  contacts: ContactsRepository;
  store: Store;
  clock: Clock;
  log: Logger;
  /** the line's country (config device.country): cloud numbers are normalised with it */
  country: () => string;
  /** a resync with no page for this long is asked for again (default 60 s) */
  resyncTimeoutMs?: number;
  /** edits the broker did not deliver are sent again after this long (default 30 s) */
  retryMs?: number;
}

interface ResyncRun {
  id: string;
  reason: string;
  /** the revision the pages are of (from the first page) */
  rev: number | null;
  pages: number | null;
  received: Set<number>;
  /** ids of the contacts in the cloud's set */
  present: Set<string>;
  /** ids edited on the device since the resync began */
  editedMeanwhile: Set<string>;
  durable: Array<Promise<void>>;
  timer: TimerHandle | null;
}

export class ContactsSync implements Service {
  #collection: Collection<SyncDoc, SyncDoc> | null = null;
  #rev = 0;
  #everSynced = false;
  /** contact id -> the change waiting to go up */
  readonly #pending = new Map<string, WireChange>();
  /** contact id -> stamp of its delete */
  readonly #tombstones = new Map<string, FieldStamp>();
  /** prevRev -> change set, held for later */
  readonly #held = new Map<number, ContactsChangeSet>();
  #resync: ResyncRun | null = null;
  /** incoming messages and resync steps, one at a time */
  #work: Promise<void> = Promise.resolve();
  #flushing: Promise<void> | null = null;
  #retry: TimerHandle | null = null;
  #refused = 0;
  readonly #errors: ContactsState['errors'] = [];
  readonly #off: Array<() => void | Promise<void>> = [];
  #stopped = true;

  constructor(private readonly ctx: ContactsSyncContext) {}

  /** The cloud revision the device's contacts are at. */
  get rev(): number {
    return this.#rev;
  }

  get resyncing(): boolean {
    return this.#resync !== null;
  }

  get pendingEdits(): number {
    return this.#pending.size;
  }

  async start(): Promise<void> {
    const { ctx } = this;
    const collection = await ctx.store.collection(CONTACTS_SYNC_COLLECTION);
    this.#collection = collection;
    for (const [, doc] of collection.entries()) {
      if (doc.id === 'state' && 'rev' in doc) {
        this.#rev = doc.rev;
        this.#everSynced = true;
      } else if ('kind' in doc && doc.kind === 'edit') this.#pending.set(doc.id.slice(EDIT_PREFIX.length), doc.change);
      else if ('kind' in doc && doc.kind === 'tombstone') this.#tombstones.set(doc.id.slice(TOMBSTONE_PREFIX.length), { at: doc.at, origin: doc.origin });
    }
    this.#stopped = false;
    const topics = contactsTopics(ctx.link.deviceId);
    this.#off.push(
      ctx.contacts.onLocalEdit((edit) => this.localEdit(edit)),
      ctx.link.on('connected', () => {
        this.publishState();
        this.flushSoon();
      }),
      await ctx.link.subscribe(topics.changes, (message) => this.enqueue(() => this.onChangeSet(message))),
      await ctx.link.subscribe(topics.pages, (message) => this.enqueue(() => this.onPage(message))),
    );
    ctx.log.info({ rev: this.#rev, pendingEdits: this.#pending.size }, `contacts sync: at revision ${this.#rev}, ${this.#pending.size} edits to send`);
    // never synced: the cloud's set is fetched whole (local contacts it lacks are kept and sent up)
    if (!this.#everSynced) this.requestResync('first sync');
    this.publishState();
    this.flushSoon();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.ctx.clock.clear(this.#retry);
    this.ctx.clock.clear(this.#resync?.timer);
    this.#resync = null;
    for (const off of this.#off.splice(0).reverse()) await off();
    await this.#work.catch(() => undefined);
  }

  /** Resolves when every message received so far is handled (tests, shutdown). */
  settled(): Promise<void> {
    return this.#work;
  }

  /**
   * Ask the cloud for the whole set (the `contacts.resync` command, a revision gap, a first sync). Returns the
   * resync's id; while one runs, a new request only restarts it when `restart` is true.
   */
  requestResync(reason: string, restart = false): string {
    if (this.#resync && !restart) return this.#resync.id;
    this.ctx.clock.clear(this.#resync?.timer);
    const run: ResyncRun = {
      id: randomUUID(),
      reason,
      rev: null,
      pages: null,
      received: new Set(),
      present: new Set(),
      editedMeanwhile: new Set(this.#resync?.editedMeanwhile ?? []),
      durable: [],
      timer: null,
    };
    this.#resync = run;
    this.armResyncTimer(run);
    const request: ContactsResyncRequest = { resyncId: run.id, rev: this.#rev, reason: reason.slice(0, CONTACTS_SYNC_LIMITS.reasonLength) };
    this.ctx.log.info({ resyncId: run.id, rev: this.#rev, reason }, `contacts sync: full resync requested (${reason})`);
    this.send(contactsTopics(this.ctx.link.deviceId).resync, request, 'resync request');
    this.publishState();
    return run.id;
  }

  /** Send the queued edits now (resolves when the queue is empty or the broker did not take them). */
  flushEdits(): Promise<void> {
    this.#flushing ??= this.sendPending().finally(() => (this.#flushing = null));
    return this.#flushing;
  }

  // ---- incoming --------------------------------------------------------------------------------------------

  private enqueue(task: () => Promise<void>): void {
    this.#work = this.#work.then(task).catch((error: unknown) => {
      this.ctx.log.error({ err: error }, `contacts sync: ${errorMessage(error)}`);
    });
  }

  private async onChangeSet(message: CloudMessage): Promise<void> {
    if (this.#stopped) return;
    let set: ContactsChangeSet;
    try {
      set = decodeChangeSet(message.payload);
    } catch (error) {
      this.ctx.log.warn({ err: error, topic: message.topic }, `contacts sync: change set refused: ${errorMessage(error)}`);
      return;
    }
    await this.applyOrHold(set);
  }

  private async applyOrHold(set: ContactsChangeSet): Promise<void> {
    if (set.rev <= this.#rev && !this.#resync) return; // applied already (a redelivery)
    if (this.#resync || set.prevRev !== this.#rev) {
      this.hold(set);
      if (!this.#resync) this.requestResync(`revision gap: at ${this.#rev}, received change set ${set.prevRev} -> ${set.rev}`);
      return;
    }
    const changes = this.readChanges(set.changes.map((change) => ({ change, id: change.id })));
    const result = await this.ctx.contacts.applyRemote(changes, (id) => this.#tombstones.get(id));
    this.afterApply(result);
    await result.durable;
    await this.saveRev(set.rev);
    this.ctx.log.info({ rev: set.rev, changes: set.changes.length, written: result.written, deleted: result.deleted.length }, `contacts sync: change set ${set.prevRev} -> ${set.rev} applied`);
    this.publishState();
    await this.applyHeld();
  }

  private hold(set: ContactsChangeSet): void {
    if (this.#held.size >= MAX_HELD_SETS && !this.#held.has(set.prevRev)) return;
    this.#held.set(set.prevRev, set);
  }

  /** Held change sets that now follow our revision, in order; those behind it are dropped. */
  private async applyHeld(): Promise<void> {
    for (const [prevRev, set] of this.#held) if (set.rev <= this.#rev || prevRev < this.#rev) this.#held.delete(prevRev);
    const next = this.#held.get(this.#rev);
    if (next) {
      this.#held.delete(this.#rev);
      await this.applyOrHold(next);
    } else if (this.#held.size > 0 && !this.#resync) {
      // held sets, none of them next: what lies between was missed
      const first = Math.min(...this.#held.keys());
      this.requestResync(`revision gap: at ${this.#rev}, holding change sets from ${first}`);
    }
  }

  private async onPage(message: CloudMessage): Promise<void> {
    const run = this.#resync;
    if (this.#stopped || !run) return;
    let page;
    try {
      page = decodeResyncPage(message.payload);
    } catch (error) {
      this.ctx.log.warn({ err: error }, `contacts sync: resync page refused: ${errorMessage(error)}`);
      return;
    }
    if (page.resyncId !== run.id || run.received.has(page.page)) return; // another resync's, or a redelivery
    if ((run.rev !== null && page.rev !== run.rev) || (run.pages !== null && page.pages !== run.pages)) {
      this.requestResync(`resync pages disagree (revision ${run.rev} vs ${page.rev}, ${run.pages} vs ${page.pages} pages)`, true);
      return;
    }
    run.rev = page.rev;
    run.pages = page.pages;
    run.received.add(page.page);
    this.armResyncTimer(run);
    for (const contact of page.contacts) run.present.add(contact.id);
    const changes = this.readChanges(page.contacts.map((change) => ({ change, id: change.id })));
    const result = await this.ctx.contacts.applyRemote(changes, (id) => this.#tombstones.get(id));
    this.afterApply(result);
    run.durable.push(result.durable);
    if (this.#resync !== run || run.received.size < page.pages) return;
    await this.finishResync(run);
  }

  private async finishResync(run: ResyncRun): Promise<void> {
    this.ctx.clock.clear(run.timer);
    await Promise.all(run.durable);
    // absent from the cloud's set: deleted there, unless the device has something the cloud has not seen
    const absent = this.ctx.contacts.ids().filter((id) => !run.present.has(id));
    const keep = new Set<string>();
    const origin = this.ownOrigin();
    for (let i = 0; i < absent.length; i += 500) {
      const contacts = await this.ctx.contacts.getMany(absent.slice(i, i + 500));
      for (const contact of contacts) {
        const edited = run.editedMeanwhile.has(contact.id) || this.#pending.has(contact.id);
        const writtenHere = Object.keys(contact.updatedAt).some((field) => (contact.updatedBy?.[field] ?? '') === '' || contact.updatedBy?.[field] === origin);
        if (!edited && !writtenHere) continue;
        keep.add(contact.id);
        if (!edited) this.queueEdit(toWireChange({ id: contact.id, fields: stampedAll(contact) }));
      }
    }
    const deleted = await this.ctx.contacts.deleteAbsent(run.present, keep);
    if (this.#resync !== run) return;
    this.#resync = null;
    await this.saveRev(run.rev ?? this.#rev);
    this.ctx.log.info(
      { rev: this.#rev, contacts: run.present.size, deleted: deleted.length, kept: keep.size, reason: run.reason },
      `contacts sync: full resync done at revision ${this.#rev}: ${run.present.size} contacts, ${deleted.length} deleted, ${keep.size} local ones kept`,
    );
    this.publishState();
    this.flushSoon();
    await this.applyHeld();
  }

  private armResyncTimer(run: ResyncRun): void {
    this.ctx.clock.clear(run.timer);
    run.timer = this.ctx.clock.setTimeout(() => {
      if (this.#resync !== run || this.#stopped) return;
      this.ctx.log.warn({ resyncId: run.id, received: run.received.size, pages: run.pages }, 'contacts sync: resync stalled, asking again');
      this.requestResync(`${run.reason} (asked again: no page for ${this.ctx.resyncTimeoutMs ?? 60_000} ms)`, true);
    }, this.ctx.resyncTimeoutMs ?? 60_000);
  }

  /** Wire changes checked by the contact rules; a bad one is counted, reported and skipped. */
  private readChanges(items: Array<{ change: WireChange; id: string }>): StampedChange[] {
    const country = this.ctx.country();
    const out: StampedChange[] = [];
    for (const { change, id } of items) {
      const read = toStampedChange(change, country);
      if (read.change) out.push(read.change);
      else {
        this.#refused++;
        for (const issue of read.issues) {
          if (this.#errors.length >= MAX_LISTED_ERRORS) this.#errors.shift();
          this.#errors.push({ id, path: issue.path, message: issue.message.slice(0, 500) });
        }
        this.ctx.log.warn({ id, issues: read.issues }, `contacts sync: change to contact ${id} refused: ${read.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
      }
    }
    return out;
  }

  private afterApply(result: Awaited<ReturnType<ContactsRepository['applyRemote']>>): void {
    for (const { id, stamp } of [...result.deleted, ...result.tombstones]) this.addTombstone(id, stamp);
    for (const change of result.localNewer) this.queueEdit(toWireChange(change));
    if (result.unknown.length > 0) this.ctx.log.warn({ ids: result.unknown.slice(0, 20) }, `contacts sync: ${result.unknown.length} changes to contacts this device does not have`);
    if (result.localNewer.length > 0) this.flushSoon();
  }

  // ---- outgoing --------------------------------------------------------------------------------------------

  private localEdit(edit: StampedChange): void {
    if (this.#stopped) return;
    this.#resync?.editedMeanwhile.add(edit.id);
    if (edit.deleted) this.addTombstone(edit.id, edit.deleted);
    this.queueEdit(toWireChange(edit));
    this.flushSoon();
  }

  /** Coalesce a change into the contact's queued one (newer stamps win per field; a delete replaces fields older than it). */
  private queueEdit(change: WireChange): void {
    const queued = this.#pending.get(change.id);
    const merged = queued ? mergeWire(queued, change) : change;
    this.#pending.set(change.id, merged);
    this.persist(this.#collection?.put({ id: EDIT_PREFIX + change.id, kind: 'edit', change: merged }), 'queued edit');
  }

  private addTombstone(id: string, stamp: FieldStamp): void {
    const current = this.#tombstones.get(id);
    const newest = current ? newerStamp(current, stamp) : stamp;
    this.#tombstones.delete(id); // re-inserted: the map's order is the order of arrival, oldest first
    this.#tombstones.set(id, newest);
    this.persist(this.#collection?.put({ id: TOMBSTONE_PREFIX + id, kind: 'tombstone', at: newest.at, origin: newest.origin }), 'tombstone');
    while (this.#tombstones.size > MAX_TOMBSTONES) {
      const oldest = this.#tombstones.keys().next().value as string;
      this.#tombstones.delete(oldest);
      this.persist(this.#collection?.delete(TOMBSTONE_PREFIX + oldest), 'tombstone');
    }
  }

  private flushSoon(): void {
    if (this.#stopped) return;
    queueMicrotask(() => void this.flushEdits());
  }

  private async sendPending(): Promise<void> {
    const topic = contactsTopics(this.ctx.link.deviceId).edits;
    while (!this.#stopped && this.#pending.size > 0) {
      const batch = [...this.#pending].slice(0, CONTACTS_SYNC_LIMITS.maxEditsPerMessage);
      const message: ContactsEditBatch = { id: randomUUID(), edits: batch.map(([, change]) => change) };
      let delivered = false;
      try {
        const ack = await this.ctx.link.publish(topic, JSON.stringify(message), { qos: 1 });
        delivered = ack.reasonCode < 0x80 && ack.reasonCode !== NO_MATCHING_SUBSCRIBERS;
        if (!delivered) this.ctx.log.warn({ reasonCode: ack.reasonCode, reason: ack.reasonString }, `contacts sync: ${batch.length} edits not delivered (PUBACK 0x${ack.reasonCode.toString(16)}), sending again later`);
      } catch (error) {
        if (this.#stopped) return;
        this.ctx.log.warn({ err: error }, `contacts sync: edits not sent: ${errorMessage(error)}`);
      }
      if (!delivered) {
        this.scheduleRetry();
        return;
      }
      for (const [id, change] of batch) {
        // edited again while this was in flight: the newer change stays queued
        if (this.#pending.get(id) !== change) continue;
        this.#pending.delete(id);
        this.persist(this.#collection?.delete(EDIT_PREFIX + id), 'sent edit');
      }
      this.publishState();
    }
  }

  private scheduleRetry(): void {
    if (this.#retry || this.#stopped) return;
    this.#retry = this.ctx.clock.setTimeout(() => {
      this.#retry = null;
      this.flushSoon();
    }, this.ctx.retryMs ?? 30_000);
  }

  private async saveRev(rev: number): Promise<void> {
    const collection = this.#collection;
    if (!collection) throw new DesklineError('CONTACTS_SYNC_NOT_STARTED', 'contacts sync is not running');
    await collection.put({ id: 'state', rev });
    this.#rev = rev;
    this.#everSynced = true;
  }

  private publishState(): void {
    if (this.#stopped) return;
    const state: ContactsState = {
      rev: this.#rev,
      resyncing: this.#resync !== null,
      pendingEdits: this.#pending.size,
      refused: this.#refused,
      at: this.ctx.clock.wallTimeTrusted ? this.ctx.clock.now() : null,
      errors: [...this.#errors],
    };
    this.send(contactsTopics(this.ctx.link.deviceId).state, state, 'state', true);
  }

  private send(topic: string, payload: unknown, what: string, retain = false): void {
    this.ctx.link.publish(topic, JSON.stringify(payload), { qos: 1, retain }).catch((error: unknown) => {
      if (!this.#stopped) this.ctx.log.warn({ err: error, topic }, `contacts sync: ${what} not sent: ${errorMessage(error)}`);
    });
  }

  private persist(written: Promise<unknown> | undefined, what: string): void {
    written?.catch((error: unknown) => this.ctx.log.error({ err: error }, `contacts sync: ${what} not written: ${errorMessage(error)}`));
  }

  private ownOrigin(): string {
    return this.ctx.contacts.origin;
  }
}

/** Every stamped field of a contact (those it has a stamp for). */
function stampedAll(contact: Contact): StampedFields {
  const fields: Record<string, unknown> = {};
  for (const field of Object.keys(contact.updatedAt) as ContactFieldName[]) {
    fields[field] = { value: contact[field], stamp: { at: contact.updatedAt[field], origin: contact.updatedBy?.[field] ?? '' } };
  }
  return fields as StampedFields;
}

/** Two queued changes of one contact as one: per field the newer; a delete wins over fields not newer than it. */
export function mergeWire(older: WireChange, newer: WireChange): WireChange {
  const stampOf = (f: { at: number; origin: string }): FieldStamp => ({ at: f.at, origin: f.origin });
  if ('deleted' in newer) {
    if ('deleted' in older) return compareStamps(stampOf(newer.deleted), stampOf(older.deleted)) >= 0 ? newer : older;
    const survivors = Object.entries(older.fields).filter(([, f]) => compareStamps(stampOf(f), stampOf(newer.deleted)) > 0);
    return survivors.length > 0 ? { id: older.id, fields: Object.fromEntries(survivors) } : newer;
  }
  if ('deleted' in older) {
    const survivors = Object.entries(newer.fields).filter(([, f]) => compareStamps(stampOf(f), stampOf(older.deleted)) > 0);
    return survivors.length > 0 ? { id: newer.id, fields: Object.fromEntries(survivors) } : older;
  }
  const fields = { ...older.fields };
  for (const [name, field] of Object.entries(newer.fields) as Array<[ContactFieldName, WireField]>) {
    const current = fields[name];
    if (!current || compareStamps(stampOf(field), stampOf(current)) >= 0) fields[name] = field;
  }
  return { id: newer.id, fields };
}
