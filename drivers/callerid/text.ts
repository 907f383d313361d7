// Caller ID from text-line units on a serial port. Two families, told apart line by line:
//
// 1. Modems and modem-style units (AT#CID=1 / AT+VCID=1, Rockwell style): one `KEY = value` line per
//    field, a message's lines between RING lines:
//        RING
//        DATE = 1015          MMDD
//        TIME = 2038          hhmm (24 h)
//        NMBR = 8475550001    or P (private) / O (unavailable)
//        NAME = U.S.ROBOTICS  or P / O
//        MESG = 060142        a parameter the unit did not understand, as hex [param][len][data]
//        RING
//    A message ends at the first line that is not a field (RING, blank, OK...), when a field repeats
//    (the next message began), or when the caller says the line went idle (flush()).
//
// 2. Caller-ID boxes with one line per event (9600 8N1; CallerID.com "Whozz Calling?" comprehensive
//    format and its Ethernet units' `^^<U>nnnnnn<S>nnnnnn$` prefix):
//        01 I S 0000 G A1 09/26 11:28 AM 800-555-1212   ACME HARDWARE
//        ^  ^ ^ ^    ^ ^  ^     ^     ^  ^              ^
//        |  | | |    | |  date  time  |  number (14)   name (15)
//        |  | | |    | ring type + count (at the end of the call; may be absent)
//        |  | | |    checksum of the caller-ID message: G good, B bad
//        |  | | duration in seconds (at the end of the call)
//        |  | S start / E end of call
//        |  I inbound / O outbound
//        line number
//    and detail records `01 R 09/26 07:43:52` (R ring, F off hook, N on hook, H hook flash).
//    A `B` (bad checksum) record never yields a caller ID. An inbound call is reported once: from its
//    start record, or from its end record when no start record came for that line.
//
// Pure code: lines in, CallerIdDecoderEvents out. Lines are bounded (MAX_TEXT_LINE characters).

import { PARAM, absenceReason, applyParameter, finishBuilder, newBuilder } from './frame.js';
import { CallerIdError, type CallerIdErrorCode } from './errors.js';
import type { AbsenceReason, CallerId, CallerIdDecoderEvent } from './types.js';

/** Longest line a unit sends is well under this; longer lines are rejected unparsed. */
export const MAX_TEXT_LINE = 256;

/** Field keys of the modem style. */
export const MODEM_FIELDS = ['DATE', 'TIME', 'NMBR', 'NAME', 'MESG', 'DDN_NMBR'] as const;
export type ModemField = (typeof MODEM_FIELDS)[number];

export interface BoxCallRecord {
  /** line number on the unit (1..99) */
  line: number;
  direction: 'in' | 'out';
  phase: 'start' | 'end';
  durationSec: number;
  /** the unit's verdict on the caller-ID message's checksum */
  checksumGood: boolean;
  /** distinctive ring type (A..D) and rings counted, when reported */
  ring: { type: string; count: number } | null;
  month?: number;
  day?: number;
  hour?: number;
  minute?: number;
  number: string | null;
  numberAbsent: AbsenceReason | null;
  name: string | null;
  nameAbsent: AbsenceReason | null;
}

export interface BoxDetailRecord {
  line: number;
  event: 'ring' | 'offHook' | 'onHook' | 'flash';
  month?: number;
  day?: number;
  hour?: number;
  minute?: number;
  second?: number;
}

/** One line, classified. */
export type TextLine =
  | { kind: 'blank' }
  | { kind: 'field'; key: ModemField; value: string }
  /** `KEY = value` with a key this decoder does not use (kept in the message, ignored) */
  | { kind: 'otherField'; key: string; value: string }
  | { kind: 'boxCall'; record: BoxCallRecord }
  | { kind: 'boxDetail'; record: BoxDetailRecord }
  /** RING, OK, anything else */
  | { kind: 'other'; text: string };

const PRIVATE_WORDS = new Set(['P', 'PRIVATE', 'ANONYMOUS', 'BLOCKED', 'WITHHELD', 'RESTRICTED']);
const UNAVAILABLE_WORDS = new Set(['O', 'OUT OF AREA', 'OUT-OF-AREA', 'OUT_OF_AREA', 'UNAVAILABLE', 'UNKNOWN']);

/** P/O and the words units print for them ('Private', 'Out-of-Area', ...). */
export function absenceWord(value: string): AbsenceReason | null {
  const v = value.trim().toUpperCase().replace(/\s+/g, ' ');
  return PRIVATE_WORDS.has(v) ? 'private' : UNAVAILABLE_WORDS.has(v) ? 'unavailable' : null;
}

/** A number as the unit printed it: separators a box inserts (800-555-1212) removed when what is left is dialable. */
function numberText(value: string): string | null {
  const v = value.trim();
  if (!v) return null;
  const compact = v.replace(/[-(). ]/g, '');
  return /^\+?[0-9*#]{1,32}$/.test(compact) ? compact : v.slice(0, 32);
}

function cleanLine(raw: string): string {
  // tabs count as spaces; other control characters never belong to a field
  // eslint-disable-next-line no-control-regex
  return raw.replace(/\t/g, ' ').replace(/[\u0000-\u001f\u007f]/g, '');
}

const FIELD = /^([A-Za-z][A-Za-z_]{1,15})\s*=\s*(.*)$/;
// Ethernet units prefix each line with ^^<U>unit<S>serial$; serial units may prefix '$' (toggle c)
const BOX_PREFIX = /^(?:\^\^<U>\d{1,8}<S>\d{1,8}\$|\$)/;
const BOX_CALL =
  /^(\d{1,2}) +([IO]) +([SE]) +(\d{1,4}) +([GB]) +(?:([A-Z])(\d) +)?([ \d]?\d)\/(\d{1,2}) +(\d{1,2}):(\d{2}) *([AP]M)(?: +(.*))?$/i;
const BOX_DETAIL = /^(\d{1,2}) +([RFNH]) +([ \d]?\d)\/(\d{1,2}) +(\d{1,2}):(\d{2})(?::(\d{2}))?$/i;
const DETAIL_EVENTS = { R: 'ring', F: 'offHook', N: 'onHook', H: 'flash' } as const;

function dateFields(month: number, day: number): { month: number; day: number } | Record<string, never> {
  return month >= 1 && month <= 12 && day >= 1 && day <= 31 ? { month, day } : {};
}

function timeFields(hour: number, minute: number): { hour: number; minute: number } | Record<string, never> {
  return hour <= 23 && minute <= 59 ? { hour, minute } : {};
}

/** `800-555-1212   ACME` / `Private` / `Out-of-Area NAME` / `   ACME` (no number): number and name. */
function splitNumberAndName(rest: string): Pick<BoxCallRecord, 'number' | 'numberAbsent' | 'name' | 'nameAbsent'> {
  const text = rest.trim();
  let numberPart = '';
  let namePart = text;
  const absent = /^(out[- _]of[- _]area|private|anonymous|unavailable|blocked)(?= |$)/i.exec(text);
  if (absent) {
    numberPart = absent[0];
    namePart = text.slice(absent[0].length);
  } else {
    const first = /^\S+/.exec(text)?.[0] ?? '';
    if (/^[+(]?[0-9][0-9\-().*#]*$/.test(first) || first === 'P' || first === 'O') {
      numberPart = first;
      namePart = text.slice(first.length);
    }
  }
  const numberAbsent = numberPart ? absenceWord(numberPart) : null;
  const nameText = namePart.trim();
  const nameAbsent = nameText ? absenceWord(nameText) : null;
  return {
    number: numberAbsent ? null : numberText(numberPart),
    numberAbsent,
    name: nameAbsent || !nameText ? null : nameText,
    nameAbsent,
  };
}

/** Classifies one line (without its line end). */
export function classifyTextLine(raw: string): TextLine {
  const line = cleanLine(raw).trim();
  if (!line) return { kind: 'blank' };
  const field = FIELD.exec(line);
  if (field) {
    const key = field[1].toUpperCase();
    const value = field[2].trim();
    return (MODEM_FIELDS as readonly string[]).includes(key) ? { kind: 'field', key: key as ModemField, value } : { kind: 'otherField', key, value };
  }
  const body = line.replace(BOX_PREFIX, '');
  const call = BOX_CALL.exec(body);
  if (call) {
    const [, lineNo, dir, phase, duration, sum, ringType, ringCount, month, day, hour12, minute, ampm, rest] = call;
    const h = Number(hour12);
    const hour = h === 12 ? (ampm.toUpperCase() === 'AM' ? 0 : 12) : ampm.toUpperCase() === 'PM' ? h + 12 : h;
    return {
      kind: 'boxCall',
      record: {
        line: Number(lineNo),
        direction: dir.toUpperCase() === 'I' ? 'in' : 'out',
        phase: phase.toUpperCase() === 'S' ? 'start' : 'end',
        durationSec: Number(duration),
        checksumGood: sum.toUpperCase() === 'G',
        ring: ringType ? { type: ringType.toUpperCase(), count: Number(ringCount) } : null,
        ...dateFields(Number(month.trim()), Number(day)),
        ...(h >= 1 && h <= 12 ? timeFields(hour, Number(minute)) : {}),
        ...splitNumberAndName(rest ?? ''),
      },
    };
  }
  const detail = BOX_DETAIL.exec(body);
  if (detail) {
    const [, lineNo, event, month, day, hour, minute, second] = detail;
    const time = timeFields(Number(hour), Number(minute));
    return {
      kind: 'boxDetail',
      record: {
        line: Number(lineNo),
        event: DETAIL_EVENTS[event.toUpperCase() as keyof typeof DETAIL_EVENTS],
        ...dateFields(Number(month.trim()), Number(day)),
        ...time,
        ...(second !== undefined && 'hour' in time && Number(second) <= 59 ? { second: Number(second) } : {}),
      },
    };
  }
  return { kind: 'other', text: line };
}

function latin1(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => c.charCodeAt(0) & 0xff);
}

function rejected(code: CallerIdErrorCode, reason: string, text: string): CallerIdDecoderEvent {
  return { type: 'rejected', code, reason, bytes: latin1(text) };
}

/** Parses `MESG = <hex>`: MDMF parameters [param][len][data]... that the unit passed on undecoded. */
function mesgBytes(value: string): Uint8Array | null {
  const digits = value.replace(/\s+/g, '');
  if (!digits || digits.length % 2 !== 0 || !/^[0-9a-f]+$/i.test(digits)) return null;
  return Uint8Array.from({ length: digits.length / 2 }, (_, i) => parseInt(digits.slice(2 * i, 2 * i + 2), 16));
}

/** The CallerId of a modem-style message, from its fields (at most one value per field). */
export function modemFieldsToCallerId(fields: ReadonlyMap<ModemField, string>): { callerId: CallerId; hasCall: boolean } | { error: CallerIdError } {
  const builder = newBuilder('text');
  const cid = builder.callerId;
  const date = fields.get('DATE');
  if (date !== undefined && /^\d{4}$/.test(date)) Object.assign(cid, dateFields(Number(date.slice(0, 2)), Number(date.slice(2))));
  const time = fields.get('TIME');
  if (time !== undefined && /^\d{4}$/.test(time)) Object.assign(cid, timeFields(Number(time.slice(0, 2)), Number(time.slice(2))));
  for (const [key, target] of [['NMBR', 'number'], ['NAME', 'name']] as const) {
    const value = fields.get(key);
    if (value === undefined) continue;
    const absent = value.length === 1 ? absenceReason(value.toUpperCase()) : absenceWord(value);
    if (absent) cid[target === 'number' ? 'numberAbsent' : 'nameAbsent'] = absent;
    else cid[target] = target === 'number' ? numberText(value) : value || null;
  }
  const ddn = fields.get('DDN_NMBR');
  if (ddn) cid.dialableNumber = numberText(ddn) ?? undefined;
  const mesg = fields.get('MESG');
  const bytes = mesg === undefined ? null : mesgBytes(mesg);
  if (bytes) {
    // apply only when the bytes tile into whole parameters; anything else is skipped
    let i = 0;
    while (i + 1 < bytes.length && i + 2 + bytes[i + 1] <= bytes.length) i += 2 + bytes[i + 1];
    if (i === bytes.length) {
      // the unit's own NMBR/NAME/DATE lines win over a copy inside MESG
      if (fields.has('NMBR')) builder.seen.add(PARAM.number).add(PARAM.numberAbsent);
      if (fields.has('NAME')) builder.seen.add(PARAM.name).add(PARAM.nameAbsent);
      if (fields.has('DATE') || fields.has('TIME')) builder.seen.add(PARAM.dateTime);
      for (let j = 0; j < bytes.length; j += 2 + bytes[j + 1]) applyParameter(builder, bytes[j], bytes.subarray(j + 2, j + 2 + bytes[j + 1]));
    }
  }
  finishBuilder(builder);
  const hasCall = cid.number !== null || cid.name !== null || cid.numberAbsent !== null || cid.nameAbsent !== null;
  if (!hasCall && cid.messageWaiting === undefined) {
    return { error: new CallerIdError('CALLERID_INCOMPLETE', `a caller-ID message without number, name or message waiting (fields: ${[...fields.keys()].join(', ') || 'none'})`) };
  }
  return { callerId: cid, hasCall };
}

function boxCallerId(r: BoxCallRecord): CallerId {
  const cid: CallerId = { format: 'text', number: r.number, name: r.name, numberAbsent: r.numberAbsent, nameAbsent: r.nameAbsent };
  for (const k of ['month', 'day', 'hour', 'minute'] as const) if (r[k] !== undefined) cid[k] = r[k];
  return cid;
}

/**
 * Lines in, events out. Keeps the modem-style message being assembled and, for caller-ID boxes, which
 * lines had a start record (at most 100 line numbers).
 */
export class TextLineCallerIdDecoder {
  #fields = new Map<ModemField, string>();
  #lines: string[] = [];
  readonly #started = new Set<number>();

  /** true while a modem-style message is being assembled (flush() ends it). */
  get pending(): boolean {
    return this.#fields.size > 0;
  }

  pushLine(raw: string): CallerIdDecoderEvent[] {
    if (raw.length > MAX_TEXT_LINE) {
      return [...this.flush(), rejected('CALLERID_TOO_LONG', `a caller-ID text line of ${raw.length} characters (at most ${MAX_TEXT_LINE})`, raw.slice(0, MAX_TEXT_LINE))];
    }
    const line = classifyTextLine(raw);
    switch (line.kind) {
      case 'field': {
        const out = this.#fields.has(line.key) ? this.flush() : [];
        this.#fields.set(line.key, line.value);
        this.#lines.push(raw.trim());
        return out;
      }
      case 'otherField':
        if (this.pending) this.#lines.push(raw.trim());
        return [];
      case 'boxCall':
        return [...this.flush(), ...this.boxCall(line.record, raw.trim())];
      default:
        return this.flush();
    }
  }

  /** Ends the modem-style message being assembled (at a non-field line, at idle, at the end of input). */
  flush(): CallerIdDecoderEvent[] {
    if (!this.pending) return [];
    const text = this.#lines.join('\n');
    const fields = this.#fields;
    this.#fields = new Map();
    this.#lines = [];
    const result = modemFieldsToCallerId(fields);
    if ('error' in result) return [rejected(result.error.code, result.error.message, text)];
    const bytes = latin1(text);
    return [result.hasCall ? { type: 'callerId', callerId: result.callerId, bytes } : { type: 'messageWaiting', messageWaiting: result.callerId.messageWaiting === true, callerId: result.callerId, bytes }];
  }

  private boxCall(r: BoxCallRecord, text: string): CallerIdDecoderEvent[] {
    if (r.direction === 'out') return []; // a dialed number, not caller ID
    if (r.phase === 'start') this.#started.add(r.line);
    else if (this.#started.delete(r.line)) return []; // already reported from its start record
    if (!r.checksumGood) return [rejected('CALLERID_UNIT_BAD_CHECKSUM', `the caller-ID unit reports a bad checksum for the call on line ${r.line}`, text)];
    return [{ type: 'callerId', callerId: boxCallerId(r), bytes: latin1(text) }];
  }
}
