import type { PhoneKey } from '../../drivers/mcu/types.js';

/** Where a call runs. */
export type LineKind = 'sim' | 'analog' | 'sip';

export type CallDirection = 'inbound' | 'outbound';

/** Call progress as the line reports it. */
export type CallState = 'ringing' | 'dialing' | 'alerting' | 'active' | 'ended';

export type CallEndReason = 'local-hangup' | 'remote-hangup' | 'rejected' | 'busy' | 'no-answer' | 'cancelled' | 'failed';

export type AbsenceReason = 'private' | 'unavailable';

export interface CallInfo {
  callId: string;
  lineId: string;
  lineKind: LineKind;
  direction: CallDirection;
  /** Digits as the line gave them; '' while unknown (an analog call before its caller ID). */
  number: string;
  name: string | null;
  /** Why the caller's number or name is missing, when caller ID said so. */
  numberAbsent?: AbsenceReason | null;
  nameAbsent?: AbsenceReason | null;
  /** The number in E.164 (normalised with device.country) for lookups, or null when it cannot be. */
  e164?: string | null;
}

/** One line of a customer's timeline as the screen pop shows it. */
export interface InteractionBrief {
  kind: 'call' | 'sms' | 'order' | 'call-list';
  /** wall time (ms since epoch), or null when it was not trusted */
  at: number | null;
  /** 'missed', 'answered', 'sent', an order's total... in a few words */
  summary: string;
}

/** The customer record popped for a call: what the display, the web UI and the cloud show. */
export interface ScreenPop {
  callId: string;
  lineId: string;
  direction: CallDirection;
  /** the number as sent and as shown (national/international format) */
  number: string;
  displayNumber: string;
  /** null: unknown caller (the phone offers 'save contact') */
  contact: { id: string; name: string; company: string | null; tag: string | null; note: string | null } | null;
  /** interactions with this customer so far (all kinds) */
  interactionCount: number;
  /** newest first, at most 3 */
  recent: InteractionBrief[];
  lastOrder: InteractionBrief | null;
  /** open call-list items for this customer (reason, e.g. 'renewal due 2026-12-01') */
  openItems: string[];
}

export type PhoneStateName = 'idle' | 'dialing' | 'ringing' | 'calling' | 'talking' | 'missed' | 'saving';

/** The bus's event map: every fact the runtime publishes, with its payload. */
export interface BusEvents {
  [event: string]: unknown;
  hookChanged: { offHook: boolean; source: 'handset' | 'hid' };
  keyPressed: { key: PhoneKey; long: boolean; source?: 'keypad' | 'hid' };
  /** A line became ready, is connecting, or failed (with what a person should know). */
  lineStatusChanged: { lineId: string; lineKind: LineKind; state: 'ready' | 'connecting' | 'failed'; problem: string | null };
  /** Voicemail waiting on a line (caller-ID message-waiting indication), or no longer. */
  messageWaitingChanged: { lineId: string; waiting: boolean };
  /** A peripheral came or went: HID handsets and headsets, barcode scanners, the customer pole display. */
  peripheralChanged: { kind: 'hid' | 'scanner' | 'pole-display'; id: string; attached: boolean; product: string | null };
  /** A barcode scanner read a code (printable ASCII, at most 256 characters). */
  barcodeScanned: { deviceId: string; code: string };
  /** The order being entered on the phone changed (null: none open), for the customer's pole display. */
  orderDraftChanged: { draft: { customer: string | null; lines: Array<{ name: string; qty: number; amount: number }>; total: number; currency: string; phase: string } | null };
  callStateChanged: CallInfo & { state: CallState; reason?: CallEndReason; at: number };
  /** Caller ID arrived (or changed) for a call that is already known. */
  callerIdReceived: CallInfo;
  /** The far end sent a DTMF digit during a call (SIP: RFC 4733 telephone-event), once per key press. */
  dtmfReceived: { callId: string; lineId: string; digit: string; durationMs: number };
  phoneStateChanged: { state: PhoneStateName; previous: PhoneStateName; call: CallInfo | null };
  /** The display's text model after each render (what a screen reader or the web UI shows). */
  displayChanged: { rows: string[] };
  ringerChanged: { ringing: boolean };
  /** The customer record for a call was looked up (known or unknown caller): display, web UI and cloud. */
  screenPopped: ScreenPop;
  contactChanged: { id: string; change: 'created' | 'updated' | 'deleted' };
  /** A record was added to (or changed in) a customer's timeline. */
  timelineChanged: { id: string; kind: InteractionBrief['kind']; change: 'added' | 'updated'; number: string | null; contactId: string | null };
  /** The missed calls nobody called back yet changed (newest first, at most 20 listed). */
  missedCallsChanged: { count: number; calls: Array<{ id: string; number: string; displayNumber: string; name: string | null; at: number | null }> };
  /** A call recording was finished and indexed. */
  recordingSaved: { recordingId: string; callId: string; file: string; durationMs: number; bytes: number; sha256: string };
  /** New calls are not being recorded (disk quota or free space), or are again (`suspended: false`). The call itself goes on. */
  recordingSuspendedChanged: { suspended: boolean; reason: string | null; usedBytes: number; quotaBytes: number; freeBytes: number | null };
  /** The store repaired a damaged file when it opened (see RecoveryReport in src/store/types.ts). */
  storeRecovered: { collection: string; file: string; problem: string; action: string };
  /** The receipt printer came, went, or its real-time status changed (null: not asked yet). */
  printerChanged: { connected: boolean; status: { online: boolean; coverOpen: boolean; paperNearEnd: boolean; paperOut: boolean } | null };
  /** A print job was queued, started, printed, sent again or cancelled. */
  printJobChanged: { id: string; template: string; state: 'queued' | 'printing' | 'printed' | 'cancelled'; attempts: number; note: string | null; by: string };
  /** An order was taken on the phone (or through the API) and filed in the customer's timeline (src/orders). */
  orderPlaced: {
    orderId: string;
    /** its record in the history */
    recordId: string;
    /** wall time, or null while it is not trusted */
    at: number | null;
    number: string | null;
    contactId: string | null;
    callId: string | null;
    /** amounts in the currency's minor unit */
    items: Array<{ code: string; name: string; qty: number; unitPrice: number; amount: number }>;
    total: number;
    currency: string;
    note: string | null;
    /** '2x Noodles, 36.00' */
    summary: string;
  };
  serviceFailed: { service: string; phase: 'start' | 'stop'; error: string; code?: string };
  serviceStarted: { service: string };
}
