// DTMF as RTP telephone-events, RFC 4733 section 2.3 (payload) and 2.5 (procedures).
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |     event     |E|R| volume    |          duration             |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Every packet of one event carries the same RTP timestamp (the event's start); the first has the
// marker bit (2.5.1.1); updates carry the duration so far (2.5.1.2); the final packet has E set and
// is sent three times (2.5.1.4). Receivers identify an event by its timestamp (2.5.2.1).
import { MediaError } from './errors.js';

export const DTMF_EVENTS = '0123456789*#ABCD';
/** RFC 4733 2.3.5: the duration field is 16 bits of timestamp units (8.19 s at 8 kHz). */
export const MAX_EVENT_DURATION = 0xffff;

export function eventForDigit(digit: string): number {
  const code = DTMF_EVENTS.indexOf(digit.toUpperCase());
  if (digit.length !== 1 || code < 0) throw new MediaError('DTMF_INVALID', `not a DTMF digit: ${JSON.stringify(digit)}`);
  return code;
}

export interface TelephoneEvent {
  event: number;
  end: boolean;
  /** 0..63, -dBm0 (2.3.4). */
  volume: number;
  /** Timestamp units. */
  duration: number;
}

export function encodeTelephoneEvent(e: TelephoneEvent): Uint8Array {
  if (!Number.isInteger(e.event) || e.event < 0 || e.event > 255) throw new MediaError('DTMF_INVALID', `event ${e.event}`);
  if (!Number.isInteger(e.volume) || e.volume < 0 || e.volume > 63) throw new MediaError('DTMF_INVALID', `volume ${e.volume}`);
  if (!Number.isInteger(e.duration) || e.duration < 0 || e.duration > MAX_EVENT_DURATION) throw new MediaError('DTMF_INVALID', `duration ${e.duration}`);
  return Uint8Array.of(e.event, (e.end ? 0x80 : 0) | e.volume, e.duration >> 8, e.duration & 0xff);
}

/** Parses the first event block; extra bytes (RFC 2198 redundancy is not negotiated) are ignored. */
export function decodeTelephoneEvent(payload: Uint8Array): TelephoneEvent {
  if (payload.length < 4) throw new MediaError('DTMF_INVALID', `telephone-event payload of ${payload.length} bytes < 4`);
  return { event: payload[0], end: (payload[1] & 0x80) !== 0, volume: payload[1] & 0x3f, duration: (payload[2] << 8) | payload[3] };
}

export interface DtmfSendPacket {
  /** When to send, ms after the event starts. */
  atMs: number;
  marker: boolean;
  payload: Uint8Array;
}

export interface DtmfSendOptions {
  /** Tone length, ms (default 100, at least 40). */
  durationMs?: number;
  /** Update interval, ms (default 50). */
  intervalMs?: number;
  /** Spacing of the three end packets, ms (default 20). */
  endSpacingMs?: number;
  volume?: number;
  clockRate?: number;
}

/**
 * The packets for one digit, all to be sent with the same RTP timestamp and consecutive sequence
 * numbers: a start packet with the marker, an update every `intervalMs` carrying the duration so
 * far, then the final duration three times with E set.
 */
export function dtmfPackets(digit: string, options: DtmfSendOptions = {}): DtmfSendPacket[] {
  const event = eventForDigit(digit);
  const durationMs = options.durationMs ?? 100;
  const interval = options.intervalMs ?? 50;
  const endSpacing = options.endSpacingMs ?? 20;
  const volume = options.volume ?? 10;
  const perMs = (options.clockRate ?? 8000) / 1000;
  const total = Math.round(durationMs * perMs);
  if (!(durationMs >= 40) || total > MAX_EVENT_DURATION) throw new MediaError('DTMF_INVALID', `duration ${durationMs} ms out of range`);
  if (!(interval >= 10)) throw new MediaError('DTMF_INVALID', `interval ${interval} ms`);
  const out: DtmfSendPacket[] = [];
  let t = 0;
  for (; t < durationMs; t += interval) {
    out.push({ atMs: t, marker: t === 0, payload: encodeTelephoneEvent({ event, end: false, volume, duration: Math.round(t * perMs) }) });
  }
  for (let i = 0; i < 3; i++) {
    out.push({ atMs: durationMs + i * endSpacing, marker: false, payload: encodeTelephoneEvent({ event, end: true, volume, duration: total }) });
  }
  return out;
}

export interface DtmfDigit {
  digit: string;
  durationMs: number;
  /** RTP timestamp of the event. */
  timestamp: number;
  /** True when no end packet was seen (the event was closed by a later one or by timeout). */
  endLost: boolean;
}

/**
 * Turns received telephone-event packets into digits, each exactly once.
 * - An event is keyed by (SSRC, timestamp); repeated end packets and retransmissions are ignored.
 * - A lost start packet does not matter: any packet of a new timestamp opens the event.
 * - A lost end: the event is closed when a packet of another timestamp arrives, or by `poll(now)`
 *   once nothing was heard for `timeoutMs`.
 */
export class DtmfReceiver {
  readonly #timeoutMs: number;
  readonly #perMs: number;
  #active: { ssrc: number; timestamp: number; event: number; duration: number; lastAt: number } | null = null;
  /** Recently finished events, "ssrc:timestamp" (bounded). */
  readonly #done: string[] = [];

  constructor(options: { timeoutMs?: number; clockRate?: number } = {}) {
    this.#timeoutMs = options.timeoutMs ?? 250;
    this.#perMs = (options.clockRate ?? 8000) / 1000;
  }

  /** Feeds one packet (invalid payloads throw DTMF_INVALID); returns digits completed by it. */
  push(packet: { ssrc: number; timestamp: number; payload: Uint8Array }, nowMs: number): DtmfDigit[] {
    const e = decodeTelephoneEvent(packet.payload);
    const out: DtmfDigit[] = [];
    const key = `${packet.ssrc}:${packet.timestamp}`;
    if (this.#done.includes(key)) return out;
    const a = this.#active;
    if (a && (a.ssrc !== packet.ssrc || a.timestamp !== packet.timestamp)) {
      out.push(...this.#finish(true));
    }
    if (e.event >= DTMF_EVENTS.length) return out; // not a DTMF event (e.g. 16 flash): ignored
    if (!this.#active) this.#active = { ssrc: packet.ssrc, timestamp: packet.timestamp, event: e.event, duration: 0, lastAt: nowMs };
    const cur = this.#active;
    cur.duration = Math.max(cur.duration, e.duration);
    cur.lastAt = nowMs;
    if (e.end) out.push(...this.#finish(false));
    return out;
  }

  /** Closes an event whose end packets were all lost, once `timeoutMs` passed without packets. */
  poll(nowMs: number): DtmfDigit[] {
    if (this.#active && nowMs - this.#active.lastAt >= this.#timeoutMs) return this.#finish(true);
    return [];
  }

  #finish(endLost: boolean): DtmfDigit[] {
    const a = this.#active;
    if (!a) return [];
    this.#active = null;
    this.#done.push(`${a.ssrc}:${a.timestamp}`);
    if (this.#done.length > 16) this.#done.shift();
    return [{ digit: DTMF_EVENTS[a.event], durationMs: a.duration / this.#perMs, timestamp: a.timestamp, endLost }];
  }
}
