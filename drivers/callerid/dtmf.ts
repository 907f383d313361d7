// DTMF caller ID (Nordics, India, Brazil, Taiwan...): the exchange plays DTMF digits before the first
// ring. The conventions (shared/reference/protocols.md, and what common CPE such as Asterisk accepts):
//
//   A <digits> C      (or # as the end digit)     calling number
//   D <digits> C / #                              calling number (D as the start digit)
//   D1#                                           number withheld (private)
//   D2#, D3#                                      number unavailable
//   B00 [C]                                       information: number unknown (unavailable)
//   B10 [C]                                       information: number private
//
// The digits reach the runtime one by one from the MCU's DTMF detector; DtmfCallerIdCollector turns
// them into a CallerId. Pure code: the caller supplies each digit's timestamp and runs any timer.

import { CallerIdError } from './errors.js';
import type { CallerId } from './types.js';

/** Longest number accepted (ETSI numbers have at most 20 digits). */
export const DTMF_MAX_DIGITS = 20;

export type DtmfDecodeResult = { ok: true; callerId: CallerId } | { ok: false; error: CallerIdError };

function dtmfCallerId(number: string | null, numberAbsent: CallerId['numberAbsent']): CallerId {
  return { format: 'dtmf', number, name: null, numberAbsent, nameAbsent: null };
}

const DTMF_CID = new RegExp(`^([AD])([0-9]{1,${DTMF_MAX_DIGITS}})([C#])$`);

/** Decodes one complete DTMF caller-ID string, e.g. `A5551234C`, `D1#`, `B10`. Never throws. */
export function decodeDtmfCallerId(text: string): DtmfDecodeResult {
  const s = text.trim().toUpperCase();
  const info = /^B([0-9]{2})[C#]?$/.exec(s);
  if (info) {
    if (info[1] === '00') return { ok: true, callerId: dtmfCallerId(null, 'unavailable') };
    if (info[1] === '10') return { ok: true, callerId: dtmfCallerId(null, 'private') };
    return { ok: false, error: new CallerIdError('CALLERID_MALFORMED', `unknown DTMF caller-ID information code B${info[1]} (known: B00 unknown, B10 private)`) };
  }
  const m = DTMF_CID.exec(s);
  if (!m) {
    return {
      ok: false,
      error: new CallerIdError('CALLERID_BAD_INPUT', `'${text}' is not DTMF caller ID: A or D, 1-${DTMF_MAX_DIGITS} digits, then C or # (or D1#, D2#, D3#, B00, B10)`),
    };
  }
  const [, start, digits, end] = m;
  if (start === 'D' && end === '#' && digits.length === 1 && '123'.includes(digits)) {
    return { ok: true, callerId: dtmfCallerId(null, digits === '1' ? 'private' : 'unavailable') };
  }
  return { ok: true, callerId: dtmfCallerId(digits, null) };
}

/** true when the text looks like DTMF caller ID (used to tell it from hex on the command line). */
export function looksLikeDtmfCallerId(text: string): boolean {
  return /^\s*[ABD][0-9]*[C#]?\s*$/i.test(text);
}

export interface DtmfCollectorOptions {
  /** A digit arriving more than this long after the previous one starts over (default 1000 ms). */
  interDigitTimeoutMs?: number;
}

/**
 * Collects DTMF caller ID from digits heard one by one.
 * - `push(digit, atMs)` returns the CallerId when the digit completes a sequence, else null. `atMs`
 *   is the caller's clock (any monotonic ms); a gap above the inter-digit timeout drops what was pending.
 * - Digits outside a sequence (before A/B/D) are ignored; a new A/B/D restarts the sequence; more than
 *   DTMF_MAX_DIGITS digits drop it.
 * - The caller's own timer may call `expire(nowMs)` (e.g. at `deadline`) to drop a stale sequence.
 */
export class DtmfCallerIdCollector {
  readonly interDigitTimeoutMs: number;
  #pending = '';
  #lastAt = 0;

  constructor(options: DtmfCollectorOptions = {}) {
    this.interDigitTimeoutMs = options.interDigitTimeoutMs ?? 1000;
  }

  /** The digits of the sequence being collected ('' when none). */
  get pending(): string {
    return this.#pending;
  }

  /** When the pending sequence goes stale (ms on the caller's clock), or null when nothing is pending. */
  get deadline(): number | null {
    return this.#pending ? this.#lastAt + this.interDigitTimeoutMs : null;
  }

  push(digit: string, atMs: number): CallerId | null {
    const d = digit.toUpperCase();
    if (d.length !== 1 || !/[0-9A-D*#]/.test(d)) return null;
    if (this.#pending && atMs - this.#lastAt > this.interDigitTimeoutMs) this.#pending = '';
    this.#lastAt = atMs;
    if (d === 'A' || d === 'B' || d === 'D') {
      this.#pending = d;
      return null;
    }
    if (!this.#pending) return null;
    if (d === '*') {
      this.#pending = '';
      return null;
    }
    this.#pending += d;
    const start = this.#pending[0];
    const body = this.#pending.slice(1);
    if (start === 'B') {
      // B + two digits is complete; an end digit after it is optional (and ignored when it comes)
      if (body.length < 2) return /^[0-9]$/.test(d) ? null : this.drop();
      return this.complete();
    }
    if (d === 'C' || d === '#') return this.complete();
    if (!/[0-9]/.test(d) || body.length > DTMF_MAX_DIGITS) return this.drop();
    return null;
  }

  /** Drops a pending sequence whose last digit is older than the timeout; true when one was dropped. */
  expire(nowMs: number): boolean {
    if (!this.#pending || nowMs - this.#lastAt <= this.interDigitTimeoutMs) return false;
    this.#pending = '';
    return true;
  }

  reset(): void {
    this.#pending = '';
  }

  private complete(): CallerId | null {
    const result = decodeDtmfCallerId(this.#pending);
    this.#pending = '';
    return result.ok ? result.callerId : null;
  }

  private drop(): null {
    this.#pending = '';
    return null;
  }
}
