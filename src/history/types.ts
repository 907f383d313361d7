import type { CallDirection, LineKind } from '../core/events.js';

/** How a call ended, as the call history and the cloud report it. */
export type CallResult = 'answered' | 'missed' | 'rejected' | 'busy' | 'no-answer' | 'failed';

interface RecordBase {
  id: string;
  /** Order of records on this device (1, 2, ...): the timeline order, valid even without trusted wall time. */
  seq: number;
  /** Wall time (ms since the epoch) when it happened, or null while the clock was not trusted. */
  at: number | null;
  /** The customer's number as sent or dialled, and its lookup key (E.164, else digits); null when none. */
  number: string | null;
  numberKey: string | null;
  /** The contact it was filed under when it happened (null: unknown number). */
  contactId: string | null;
}

export interface CallRecord extends RecordBase {
  kind: 'call';
  callId: string;
  lineId: string;
  lineKind: LineKind;
  direction: CallDirection;
  /** Monotonic durations from the start (ringing or dialing) of the call; null until it happens. */
  answeredAfterMs: number | null;
  durationMs: number | null;
  /** null while the call goes on */
  result: CallResult | null;
  endedAt: number | null;
  /** Set by the clerk or the call list after the call ('ordered', 'callback', ...). */
  disposition: string | null;
  note: string | null;
  recordingId: string | null;
  /** A missed call that was called back (or dismissed): no longer on the missed-calls list. */
  handled: boolean;
}

export interface SmsRecord extends RecordBase {
  kind: 'sms';
  direction: CallDirection;
  text: string;
  status: 'queued' | 'sent' | 'failed' | 'received';
}

export interface OrderRecord extends RecordBase {
  kind: 'order';
  orderId: string;
  /** What the screen pop shows of the order ('2x rice, 1x soup - 128.00') */
  summary: string;
}

export interface CallListRecord extends RecordBase {
  kind: 'call-list';
  listId: string;
  itemId: string;
  outcome: string;
  note: string | null;
}

export type TimelineRecord = CallRecord | SmsRecord | OrderRecord | CallListRecord;
export type TimelineKind = TimelineRecord['kind'];

/**
 * What is kept in memory for each record (the store's compact entry): enough for lists and the screen pop,
 * and small (the newest segments' are in memory; the digest keeps a brief of each customer's newest few).
 */
export interface TimelineEntry {
  kind: TimelineKind;
  seq: number;
  at: number | null;
  /** E.164, else the digits: also what a call back dials */
  numberKey: string | null;
  contactId: string | null;
  /** A few words: 'missed', 'answered 3:12', the order's summary, the call-list outcome. */
  summary: string;
  /** calls only: result (null while the call goes on) and whether a missed call was handled */
  result?: CallResult | null;
  handled?: boolean;
}

/** A missed call as the phone's missed-calls list shows it. */
export interface MissedCall {
  id: string;
  /** what calling back dials (E.164, else the digits as sent) */
  number: string;
  contactId: string | null;
  at: number | null;
}
