import type { ControlRegistry } from '../control/protocol.js';
import type { EventBus } from '../core/bus.js';
import type { Clock } from '../core/clock.js';
import { DesklineError, errorMessage } from '../core/errors.js';
import type { BusEvents, CallEndReason } from '../core/events.js';
import type { Logger } from '../core/log.js';
import type { Service } from '../core/services.js';
import { formatNumberForDisplay, numberKey } from '../numbers/numbers.js';
import type { Store } from '../store/types.js';
import { HistoryRepository, type NewRecord } from './repository.js';
import type { CallRecord, CallResult } from './types.js';

/** Who a number belongs to, as the contacts know it. */
export type ContactLookup = (number: string) => { id: string; name: string } | null;

export interface HistoryServiceContext {
  bus: EventBus<BusEvents>;
  clock: Clock;
  log: Logger;
  store: Store;
  control: ControlRegistry;
  /** The line's country (device.country), for number keys and display. */
  country: () => string;
  contactFor: ContactLookup;
}

/** Missed calls listed in `missedCallsChanged` (the phone's list shows a screenful or two). */
const MISSED_LISTED = 20;
const MAX_NOTE = 2000;
const MAX_DISPOSITION = 64;

interface OpenCall {
  callId: string;
  recordId: string;
  write: Promise<unknown>;
  startedMono: number;
  answeredMono: number | null;
}

/** What the history calls a call's end, from who ended it and whether it was answered. */
export function callResult(direction: 'inbound' | 'outbound', answered: boolean, reason: CallEndReason | undefined): CallResult {
  if (answered) return 'answered';
  if (direction === 'inbound') return reason === 'rejected' ? 'rejected' : 'missed';
  switch (reason) {
    case 'busy': return 'busy';
    case 'rejected': return 'rejected';
    case 'failed': return 'failed';
    default: return 'no-answer';
  }
}

/**
 * The call history and customer timelines: files every call (and later SMS, orders, call-list outcomes)
 * as it happens, keeps the missed-calls list, and answers the timeline queries of the screen pop,
 * the web UI and the CLI.
 */
export class HistoryService implements Service {
  #repository: HistoryRepository | null = null;
  readonly #open = new Map<string, OpenCall>();
  /** History writes not yet on disk, by call (the last one of each call's chain). */
  readonly #writing = new Map<string, Promise<unknown>>();
  readonly #off: Array<() => void> = [];

  constructor(private readonly ctx: HistoryServiceContext) {}

  get repository(): HistoryRepository {
    if (!this.#repository) throw new DesklineError('SERVICE_NOT_STARTED', 'the history service has not started');
    return this.#repository;
  }

  async start(): Promise<void> {
    const { bus, control } = this.ctx;
    this.#repository = await HistoryRepository.open(this.ctx.store);
    this.#off.push(
      bus.on('history', 'callStateChanged', (event) => this.onCall(event)),
      bus.on('history', 'recordingSaved', ({ callId, recordingId }) => this.attachRecording(callId, recordingId)),
      control.register('history', 'history.recent', (params) => this.repository.recent(limitOf(params))),
      control.register('history', 'history.missed', (params) => this.repository.missedCalls(limitOf(params))),
      control.register('history', 'history.timeline', (params) => this.timelineFromCli(params)),
      control.register('history', 'history.dismissMissed', async () => {
        await this.repository.markHandled(this.repository.missedCalls(Infinity).map((m) => m.id));
        this.publishMissed();
        return { missed: this.repository.missedCount };
      }),
      control.register('history', 'history.annotate', (params) => this.annotateFromCli(params)),
    );
    this.publishMissed();
  }

  async stop(): Promise<void> {
    for (const off of this.#off.splice(0)) off();
    await this.settled();
    this.#open.clear();
  }

  /** Resolves when what was filed so far (for one call, or all) is on disk. */
  async settled(callId?: string): Promise<void> {
    const writes = callId ? [this.#writing.get(callId)] : [...this.#writing.values()];
    await Promise.allSettled(writes);
  }

  /** Sets a call's disposition code and note (after the call, by the clerk or the call list). */
  async annotateCall(callId: string, annotation: { disposition?: string | null; note?: string | null }): Promise<CallRecord> {
    const id = await this.recordIdOf(callId);
    if (!id) throw new DesklineError('HISTORY_NOT_FOUND', `no call '${callId}' in the history`);
    const disposition = annotation.disposition === undefined ? undefined : checkText(annotation.disposition, 'disposition', MAX_DISPOSITION);
    const note = annotation.note === undefined ? undefined : checkText(annotation.note, 'note', MAX_NOTE);
    return this.repository.update<CallRecord>(id, (r) => ({
      ...r, ...(disposition === undefined ? {} : { disposition }), ...(note === undefined ? {} : { note }),
    }));
  }

  /** Files the recording of a call once it is saved. */
  async attachRecording(callId: string, recordingId: string): Promise<void> {
    await this.#open.get(callId)?.write;
    const id = await this.recordIdOf(callId);
    if (id) await this.repository.update<CallRecord>(id, (r) => ({ ...r, recordingId }));
  }

  private async recordIdOf(callId: string): Promise<string | null> {
    return this.#open.get(callId)?.recordId ?? (await this.repository.recordIdOfCall(callId)) ?? null;
  }

  private onCall(event: BusEvents['callStateChanged']): void {
    const { clock, log } = this.ctx;
    const open = this.#open.get(event.callId);
    if (!open) {
      if (event.state === 'ended' && !event.number) return;
      const country = this.ctx.country();
      const number = event.number || null;
      const key = number ? numberKey(number, country) : null;
      const record: NewRecord = {
        kind: 'call', callId: event.callId, lineId: event.lineId, lineKind: event.lineKind, direction: event.direction,
        at: clock.wallTimeTrusted ? event.at : null, number, numberKey: key,
        contactId: number ? this.ctx.contactFor(number)?.id ?? null : null,
        answeredAfterMs: null, durationMs: null, result: null, endedAt: null,
        disposition: null, note: null, recordingId: null, handled: false,
      };
      const { record: { id: recordId }, written } = this.repository.append(record);
      const call: OpenCall = { callId: event.callId, recordId, write: written, startedMono: clock.monotonic(), answeredMono: null };
      this.#open.set(event.callId, call);
      this.track(call);
      written.catch((error: unknown) => log.error({ callId: event.callId, err: error }, `call not saved in the history: ${errorMessage(error)}`));
      this.ctx.bus.emit('timelineChanged', { id: recordId, kind: 'call', change: 'added', number, contactId: record.contactId });
      // calling a customer back (or being reached by them) handles their missed calls
      if (key && event.direction === 'outbound') this.handleMissedFrom(key);
      if (event.state !== 'ended') return this.onCall(event);
    }
    const call = this.#open.get(event.callId)!;
    if (event.state === 'active' && call.answeredMono === null) {
      call.answeredMono = clock.monotonic();
      this.chain(call, (r) => ({ ...r, answeredAfterMs: call.answeredMono! - call.startedMono }));
      const key = this.repository.entry(call.recordId)?.numberKey;
      if (key && event.direction === 'inbound') this.handleMissedFrom(key);
    } else if (event.state === 'ended') {
      this.#open.delete(event.callId);
      const now = clock.monotonic();
      const result = callResult(event.direction, call.answeredMono !== null, event.reason);
      this.chain(call, (r) => ({
        ...r, result, endedAt: clock.wallTimeTrusted ? event.at : null,
        durationMs: call.answeredMono === null ? 0 : now - call.answeredMono,
        // a number from caller ID that came after the first ring
        ...(r.number === null && event.number ? { number: event.number, numberKey: numberKey(event.number, this.ctx.country()), contactId: this.ctx.contactFor(event.number)?.id ?? null } : {}),
      }));
      void call.write.then(() => {
        this.ctx.bus.emit('timelineChanged', { id: call.recordId, kind: 'call', change: 'updated', number: event.number || null, contactId: this.repository.entry(call.recordId)?.contactId ?? null });
        if (result === 'missed') this.publishMissed();
      }, () => undefined);
    }
  }

  /** Updates of one call's record are applied in order. */
  private chain(call: OpenCall, fn: (record: CallRecord) => CallRecord): void {
    call.write = call.write
      .then(() => this.repository.update<CallRecord>(call.recordId, fn))
      .catch((error: unknown) => this.ctx.log.error({ record: call.recordId, err: error }, `call history not updated: ${errorMessage(error)}`));
    this.track(call);
  }

  private track(call: OpenCall): void {
    const callId = call.callId;
    const write = call.write;
    this.#writing.set(callId, write);
    void write.finally(() => {
      if (this.#writing.get(callId) === write) this.#writing.delete(callId);
    }).catch(() => undefined);
  }


  private handleMissedFrom(key: string): void {
    const ids = this.repository.missedFrom(key);
    if (ids.length === 0) return;
    this.repository.markHandled(ids)
      .then(() => this.publishMissed())
      .catch((error: unknown) => this.ctx.log.error({ err: error }, `missed calls not marked handled: ${errorMessage(error)}`));
  }

  private publishMissed(): void {
    const country = this.ctx.country();
    const repo = this.repository;
    this.ctx.bus.emit('missedCallsChanged', {
      count: repo.missedCount,
      calls: repo.missedCalls(MISSED_LISTED).map((m) => ({
        id: m.id, number: m.number, displayNumber: formatNumberForDisplay(m.number, country),
        name: this.ctx.contactFor(m.number)?.name ?? null, at: m.at,
      })),
    });
  }

  private async timelineFromCli(params: unknown): Promise<unknown> {
    const p = (params ?? {}) as { number?: unknown; contactId?: unknown; limit?: unknown };
    const numberKeys: string[] = [];
    if (typeof p.number === 'string') {
      const key = numberKey(p.number, this.ctx.country());
      if (!key) throw new DesklineError('HISTORY_BAD_QUERY', `'${p.number}' is not a phone number`);
      numberKeys.push(key);
    }
    // a number's customer: calls filed under the contact that has it, and those from before it was saved
    const owner = typeof p.number === 'string' ? this.ctx.contactFor(p.number)?.id : undefined;
    const contactId = typeof p.contactId === 'string' ? p.contactId : (owner ?? null);
    if (!contactId && numberKeys.length === 0) throw new DesklineError('HISTORY_BAD_QUERY', 'give a number or a contactId');
    const limit = limitOf(params);
    if (!owner) return this.repository.timeline({ contactId, numberKeys }, limit);
    // the records with that number among its contact's (who may have other numbers too)
    const records = await this.repository.timeline({ contactId, numberKeys }, Infinity);
    return records.filter((r) => r.numberKey === numberKeys[0]).slice(0, limit);
  }

  private annotateFromCli(params: unknown): Promise<CallRecord> {
    const p = (params ?? {}) as { callId?: unknown; disposition?: unknown; note?: unknown };
    if (typeof p.callId !== 'string') throw new DesklineError('HISTORY_BAD_QUERY', 'give the callId of the call to annotate');
    return this.annotateCall(p.callId, { disposition: p.disposition as string | null | undefined, note: p.note as string | null | undefined });
  }
}

function limitOf(params: unknown): number {
  const limit = (params as { limit?: unknown } | null)?.limit;
  if (limit === undefined) return 50;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > 1000) {
    throw new DesklineError('HISTORY_BAD_QUERY', `limit must be a whole number from 1 to 1000, not ${JSON.stringify(limit)}`);
  }
  return limit;
}

function checkText(value: unknown, field: string, max: number): string | null {
  if (value === null) return null;
  if (typeof value !== 'string') throw new DesklineError('HISTORY_BAD_QUERY', `${field} must be text or null`);
  if (value.length > max) throw new DesklineError('HISTORY_BAD_QUERY', `${field} is ${value.length} characters; at most ${max}`);
  return value;
}
