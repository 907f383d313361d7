// Caller-ID messages as a decoder chip delivers them after demodulating the FSK burst:
// Bell 202 / Telcordia GR-30-CORE (North America, after the first ring) and ETSI EN 300 659-3
// (V.23, Europe, China, Korea..., possibly before the first ring). Both use the same framing:
//
//   [type][length][payload × length][checksum]                         (GR-30 "Data message format")
//
//   checksum = (0x100 − (type + length + payload bytes)) & 0xFF, the two's complement of the
//   modulo-256 sum, so the whole message (type..checksum) sums to 0 mod 256. The check is exactly that
//   sum; Asterisk's `256 - (cksum & 0xff)` comparison misjudges a sum of 0 and is not copied here.
//
// Types: 0x04 SDMF call setup, 0x06 SDMF message waiting, 0x80 MDMF call setup, 0x82 MDMF message
// waiting. Before the type a chip may deliver channel-seizure bytes (0x55, alternating bits) and marks
// (all ones, 0xFF if the UART sees them at all); the stream decoder (stream.ts) skips them.
//
// Pure code: no I/O, no clock. A message is at most 255 + 3 bytes.

import type { AbsenceReason, CallerId } from './types.js';
import { CallerIdError } from './errors.js';

export const MESSAGE_TYPE = {
  /** SDMF: payload = 8 ASCII `MMDDhhmm` + number, or 'O' (unavailable) / 'P' (private) */
  sdmf: 0x04,
  /** SDMF message waiting (VMWI): payload 'BBB' (0x42 ×3) = on, 'ooo' (0x6F ×3) = off */
  sdmfMessageWaiting: 0x06,
  /** MDMF: payload = parameters [param][plen][data] */
  mdmf: 0x80,
  /** MDMF message waiting: parameters, with 0x0B (visual indicator) */
  mdmfMessageWaiting: 0x82,
} as const;

/** MDMF parameter types (GR-30 and ETSI EN 300 659-3 table "parameter types"). */
export const PARAM = {
  /** 8 ASCII digits MMDDhhmm */
  dateTime: 0x01,
  /** calling line number (ASCII digits) */
  number: 0x02,
  /** GR-30: dialable directory number (ETSI: called line identity) */
  dialableNumber: 0x03,
  /** reason number absent: 'O' out of area / unavailable, 'P' private */
  numberAbsent: 0x04,
  /** call qualifier: 'L' long distance */
  qualifier: 0x06,
  /** calling party name (ASCII; ETSI allows 8-bit characters) */
  name: 0x07,
  /** reason name absent: 'O' / 'P' */
  nameAbsent: 0x08,
  /** visual indicator (message waiting): 0x00 off, 0xFF on (other values: treated as on) */
  messageWaiting: 0x0b,
  /** ETSI call type: 0x01 voice, 0x02 ring-back-when-free, 0x81 message waiting call, ... */
  callType: 0x11,
  /** ETSI redirecting number */
  redirectingNumber: 0x1a,
  /** ETSI extension for network operator use */
  operatorInfo: 0xe0,
} as const;

/** Largest message: type + length + 255 payload bytes + checksum. */
export const MAX_MESSAGE_BYTES = 255 + 3;
/** Channel-seizure byte (alternating 0/1 bits, 30 bytes in GR-30, 300 bits in ETSI). */
export const CHANNEL_SEIZURE = 0x55;
/** Marks (continuous 1 bits) as a UART may see them. */
export const MARK = 0xff;

const SDMF_MWI_ON = 0x42; // 'B'
const SDMF_MWI_OFF = 0x6f; // 'o'

export function isMessageType(byte: number): boolean {
  return byte === MESSAGE_TYPE.sdmf || byte === MESSAGE_TYPE.sdmfMessageWaiting || byte === MESSAGE_TYPE.mdmf || byte === MESSAGE_TYPE.mdmfMessageWaiting;
}

/** The checksum byte for type..last payload byte: (0x100 − sum) & 0xFF. */
export function checksum(bytes: Uint8Array): number {
  let sum = 0;
  for (const b of bytes) sum += b;
  return (0x100 - (sum & 0xff)) & 0xff;
}

/** true when the complete message (type..checksum) sums to 0 mod 256. */
export function checksumValid(message: Uint8Array): boolean {
  let sum = 0;
  for (const b of message) sum += b;
  return (sum & 0xff) === 0;
}

/** [type][len][payload][checksum]; payload of at most 255 bytes. */
export function encodeMessage(type: number, payload: Uint8Array): Uint8Array {
  if (payload.length > 255) throw new CallerIdError('CALLERID_MALFORMED', `a caller-ID payload is at most 255 bytes, got ${payload.length}`);
  const message = new Uint8Array(payload.length + 3);
  message[0] = type & 0xff;
  message[1] = payload.length;
  message.set(payload, 2);
  message[message.length - 1] = checksum(message.subarray(0, message.length - 1));
  return message;
}

function ascii(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => c.charCodeAt(0) & 0xff);
}

function two(n: number): string {
  return String(n).padStart(2, '0');
}

export interface DateTimeFields {
  month: number;
  day: number;
  hour: number;
  minute: number;
}

/** An SDMF call-setup message (0x04): date-time and a number, or an absence reason. */
export function encodeSdmf(o: DateTimeFields & ({ number: string } | { absent: AbsenceReason })): Uint8Array {
  const date = `${two(o.month)}${two(o.day)}${two(o.hour)}${two(o.minute)}`;
  return encodeMessage(MESSAGE_TYPE.sdmf, ascii(date + ('number' in o ? o.number : o.absent === 'private' ? 'P' : 'O')));
}

/** An SDMF message-waiting message (0x06). */
export function encodeSdmfMessageWaiting(on: boolean): Uint8Array {
  const b = on ? SDMF_MWI_ON : SDMF_MWI_OFF;
  return encodeMessage(MESSAGE_TYPE.sdmfMessageWaiting, Uint8Array.of(b, b, b));
}

/** An MDMF message from parameters in the given order (strings are sent as 8-bit characters). */
export function encodeMdmf(params: Array<[type: number, data: Uint8Array | string]>, type: number = MESSAGE_TYPE.mdmf): Uint8Array {
  const parts: number[] = [];
  for (const [param, data] of params) {
    const bytes = typeof data === 'string' ? ascii(data) : data;
    if (bytes.length > 255) throw new CallerIdError('CALLERID_MALFORMED', `an MDMF parameter holds at most 255 bytes, got ${bytes.length}`);
    parts.push(param & 0xff, bytes.length, ...bytes);
  }
  return encodeMessage(type, Uint8Array.from(parts));
}

/**
 * Checks the framing of a message or of the first bytes of one (from the type byte on). Returns the
 * error as soon as the bytes seen break the framing rules, null while they could still be (or are) a
 * well-framed message. Only rules a complete message would fail too are checked here, so a stream
 * decoder may give up on a false start early and its verdict never depends on how bytes were chunked.
 *
 * - SDMF 0x04: length 1 ('O'/'P') or >= 8; the first 8 payload bytes are the ASCII digits MMDDhhmm,
 *   the rest printable ASCII.
 * - SDMF 0x06: length 3, 'BBB' or 'ooo'.
 * - MDMF 0x80/0x82: length >= 2; the parameters [param][plen][data] tile the payload exactly.
 */
export function framingError(prefix: Uint8Array): CallerIdError | null {
  if (prefix.length === 0) return null;
  const type = prefix[0];
  if (!isMessageType(type)) return new CallerIdError('CALLERID_UNEXPECTED_DATA', `0x${hex2(type)} is not a caller-ID message type (0x04, 0x06, 0x80, 0x82)`);
  if (prefix.length < 2) return null;
  const length = prefix[1];
  const end = Math.min(prefix.length, length + 2); // payload bytes available: [2, end)
  switch (type) {
    case MESSAGE_TYPE.sdmf: {
      if (length !== 1 && length < 8) return malformed(`an SDMF message has a 1-byte or 8+-byte payload, not ${length}`);
      for (let i = 2; i < end; i++) {
        const b = prefix[i];
        if (length === 1 && b !== 0x4f && b !== 0x50) return malformed(`a 1-byte SDMF payload is 'O' or 'P', not 0x${hex2(b)}`);
        if (i < 10 && length >= 8 && (b < 0x30 || b > 0x39)) return malformed(`SDMF date-time byte ${i - 1} is not an ASCII digit (0x${hex2(b)})`);
        if (b < 0x20 || b > 0x7e) return malformed(`SDMF payload byte ${i - 1} is not printable ASCII (0x${hex2(b)})`);
      }
      return null;
    }
    case MESSAGE_TYPE.sdmfMessageWaiting: {
      if (length !== 3) return malformed(`an SDMF message-waiting message has a 3-byte payload, not ${length}`);
      for (let i = 2; i < end; i++) {
        const b = prefix[i];
        if ((b !== SDMF_MWI_ON && b !== SDMF_MWI_OFF) || b !== prefix[2]) return malformed(`an SDMF message-waiting payload is 'BBB' or 'ooo'`);
      }
      return null;
    }
    default: {
      if (length < 2) return malformed(`an MDMF message needs at least one parameter, payload length ${length}`);
      // walk the parameter headers that are available
      let i = 0; // offset within the payload
      while (i < length) {
        if (i + 1 >= length) return malformed(`MDMF parameter at payload offset ${i} has no length byte`);
        if (2 + i + 1 >= end) return null; // its length byte has not arrived yet
        const plen = prefix[2 + i + 1];
        if (i + 2 + plen > length) return malformed(`MDMF parameter 0x${hex2(prefix[2 + i])} (${plen} bytes) overruns the message`);
        i += 2 + plen;
      }
      return null;
    }
  }
}

function malformed(message: string): CallerIdError {
  return new CallerIdError('CALLERID_MALFORMED', message);
}

function hex2(b: number): string {
  return b.toString(16).padStart(2, '0').toUpperCase();
}

/** What a message announced. */
export type MessageKind = 'call' | 'messageWaiting';

export interface DecodedMessage {
  kind: MessageKind;
  /** message type byte */
  type: number;
  callerId: CallerId;
  /** MDMF parameter types that were skipped (unknown, or content this decoder cannot use) */
  skippedParams: number[];
}

export type DecodeResult = { ok: true; message: DecodedMessage } | { ok: false; error: CallerIdError };

/** Bytes to text: printable ASCII and 8-bit (Latin-1) characters kept, control characters dropped, trimmed. */
export function bytesToText(data: Uint8Array): string {
  let text = '';
  for (const b of data) if ((b >= 0x20 && b <= 0x7e) || b >= 0xa0) text += String.fromCharCode(b);
  return text.trim();
}

/** `MMDDhhmm` (or `MMDD` + `hhmm` from a text unit) to fields, or null when not a real date-time. */
export function parseDateTime(digits: string): DateTimeFields | null {
  if (!/^\d{8}$/.test(digits)) return null;
  const [month, day, hour, minute] = [0, 2, 4, 6].map((i) => Number(digits.slice(i, i + 2)));
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59) return null;
  return { month, day, hour, minute };
}

/** 'O' = out of area / unavailable, 'P' = private (GR-30, ETSI). */
export function absenceReason(code: string): AbsenceReason | null {
  return code === 'P' ? 'private' : code === 'O' ? 'unavailable' : null;
}

/** A caller ID being assembled from parameters (shared with the text units' MESG = <hex>). */
export interface CallerIdBuilder {
  callerId: CallerId;
  /** parameter types already applied (the first occurrence of a parameter counts) */
  seen: Set<number>;
  skipped: number[];
}

export function newBuilder(format: CallerId['format']): CallerIdBuilder {
  return { callerId: { format, number: null, name: null, numberAbsent: null, nameAbsent: null }, seen: new Set(), skipped: [] };
}

/** Applies one MDMF parameter; unknown parameters and unusable content are skipped (recorded in `skipped`). */
export function applyParameter(builder: CallerIdBuilder, param: number, data: Uint8Array): void {
  const cid = builder.callerId;
  const skip = () => void builder.skipped.push(param);
  if (builder.seen.has(param)) return skip();
  builder.seen.add(param);
  const text = bytesToText(data);
  switch (param) {
    case PARAM.dateTime: {
      const dt = parseDateTime(text);
      if (!dt || data.length !== 8) return skip();
      Object.assign(cid, dt);
      return;
    }
    case PARAM.number:
      cid.number = text || null;
      return;
    case PARAM.dialableNumber:
      if (text) cid.dialableNumber = text;
      return;
    case PARAM.numberAbsent: {
      const reason = absenceReason(text);
      if (!reason) return skip();
      cid.numberAbsent = reason;
      return;
    }
    case PARAM.qualifier:
      if (text !== 'L') return skip();
      cid.longDistance = true;
      return;
    case PARAM.name:
      cid.name = text || null;
      return;
    case PARAM.nameAbsent: {
      const reason = absenceReason(text);
      if (!reason) return skip();
      cid.nameAbsent = reason;
      return;
    }
    case PARAM.messageWaiting:
      if (data.length < 1) return skip();
      cid.messageWaiting = data[0] !== 0x00;
      return;
    case PARAM.callType:
      if (data.length !== 1) return skip();
      cid.callType = data[0];
      return;
    case PARAM.redirectingNumber:
      if (text) cid.redirectingNumber = text;
      return;
    case PARAM.operatorInfo:
      cid.operatorInfo = Array.from(data, hex2).join('');
      return;
    default:
      return skip();
  }
}

/** After all parameters: a number that only came as 0x03 (dialable) counts as the number. */
export function finishBuilder(builder: CallerIdBuilder): CallerId {
  const cid = builder.callerId;
  if (cid.number === null && cid.numberAbsent === null && cid.dialableNumber) cid.number = cid.dialableNumber;
  return cid;
}

/**
 * Decodes exactly one complete message (type..checksum, no seizure bytes, nothing after it).
 * Order of checks: length, framing, checksum, content. Never throws.
 */
export function decodeMessage(message: Uint8Array): DecodeResult {
  const fail = (error: CallerIdError): DecodeResult => ({ ok: false, error });
  if (message.length < 3) return fail(new CallerIdError('CALLERID_TRUNCATED', `a caller-ID message has at least 3 bytes, got ${message.length}`));
  const total = message[1] + 3;
  if (message.length < total) return fail(new CallerIdError('CALLERID_TRUNCATED', `message length says ${total} bytes, got ${message.length}`));
  if (message.length > total) return fail(new CallerIdError('CALLERID_UNEXPECTED_DATA', `${message.length - total} bytes after the end of the ${total}-byte message`));
  const framing = framingError(message);
  if (framing) return fail(framing);
  if (!checksumValid(message)) {
    const sum = message.reduce((a, b) => a + b, 0) & 0xff;
    return fail(new CallerIdError('CALLERID_BAD_CHECKSUM', `bad checksum: the message sums to 0x${hex2(sum)} mod 256, not 0 (checksum byte 0x${hex2(message[total - 1])}, expected 0x${hex2(checksum(message.subarray(0, total - 1)))})`));
  }
  const type = message[0];
  const payload = message.subarray(2, total - 1);
  switch (type) {
    case MESSAGE_TYPE.sdmf: {
      const builder = newBuilder('sdmf');
      const cid = builder.callerId;
      if (payload.length === 1) {
        cid.numberAbsent = absenceReason(String.fromCharCode(payload[0]));
      } else {
        const dt = parseDateTime(String.fromCharCode(...payload.subarray(0, 8)));
        if (dt) Object.assign(cid, dt);
        const rest = bytesToText(payload.subarray(8));
        const reason = rest.length === 1 ? absenceReason(rest) : null;
        if (reason) cid.numberAbsent = reason;
        else cid.number = rest || null;
      }
      return { ok: true, message: { kind: 'call', type, callerId: cid, skippedParams: [] } };
    }
    case MESSAGE_TYPE.sdmfMessageWaiting: {
      const cid = newBuilder('sdmf').callerId;
      cid.messageWaiting = payload[0] === SDMF_MWI_ON;
      return { ok: true, message: { kind: 'messageWaiting', type, callerId: cid, skippedParams: [] } };
    }
    default: {
      const builder = newBuilder('mdmf');
      for (let i = 0; i < payload.length; ) {
        const plen = payload[i + 1];
        applyParameter(builder, payload[i], payload.subarray(i + 2, i + 2 + plen));
        i += 2 + plen;
      }
      const cid = finishBuilder(builder);
      if (type === MESSAGE_TYPE.mdmfMessageWaiting && cid.messageWaiting === undefined) {
        return fail(malformed('an MDMF message-waiting message without a message-waiting (0x0B) parameter'));
      }
      return { ok: true, message: { kind: type === MESSAGE_TYPE.mdmf ? 'call' : 'messageWaiting', type, callerId: cid, skippedParams: builder.skipped } };
    }
  }
}

/**
 * Hex text to bytes: pairs of hex digits, optionally separated by spaces, commas or colons, each pair
 * optionally prefixed with 0x. At most `maxBytes` bytes.
 */
export function parseHex(text: string, maxBytes = 4096): Uint8Array {
  const tokens = text.trim().split(/[\s,:;]+/).filter(Boolean);
  const digits = tokens.map((t) => t.replace(/^0x/i, '')).join('');
  if (!digits) throw new CallerIdError('CALLERID_BAD_INPUT', 'no hex bytes given');
  const bad = /[^0-9a-f]/i.exec(digits);
  if (bad) throw new CallerIdError('CALLERID_BAD_INPUT', `'${bad[0]}' is not a hex digit`);
  if (digits.length % 2 !== 0) throw new CallerIdError('CALLERID_BAD_INPUT', `an odd number of hex digits (${digits.length}): bytes are two digits each`);
  if (digits.length / 2 > maxBytes) throw new CallerIdError('CALLERID_BAD_INPUT', `more than ${maxBytes} bytes of hex`);
  const bytes = new Uint8Array(digits.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(digits.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}

/**
 * Decodes the one message in `bytes`, after any leading channel-seizure (0x55) and mark (0xFF) bytes
 * (what a decoder chip delivers for one burst). Bytes after the message are an error.
 */
export function decodeBurst(bytes: Uint8Array): DecodeResult {
  let start = 0;
  while (start < bytes.length && (bytes[start] === CHANNEL_SEIZURE || bytes[start] === MARK)) start++;
  if (start === bytes.length) return { ok: false, error: new CallerIdError('CALLERID_TRUNCATED', bytes.length ? 'only channel-seizure/mark bytes, no message' : 'no bytes') };
  if (!isMessageType(bytes[start])) {
    return { ok: false, error: new CallerIdError('CALLERID_UNEXPECTED_DATA', `byte ${start} (0x${hex2(bytes[start])}) is not a caller-ID message type (0x04, 0x06, 0x80, 0x82)`) };
  }
  return decodeMessage(bytes.subarray(start));
}
