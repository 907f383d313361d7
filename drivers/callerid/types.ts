import type { TypedEmitter } from '../common/typed-emitter.js';
import type { CallerIdErrorCode } from './errors.js';

export type AbsenceReason = 'private' | 'unavailable';

/** A decoded caller ID (Bell 202 SDMF/MDMF, ETSI EN 300 659, DTMF caller ID, or a text-line unit). */
export interface CallerId {
  format: 'sdmf' | 'mdmf' | 'dtmf' | 'text';
  /** Digits as sent by the exchange, or null when absent. */
  number: string | null;
  name: string | null;
  numberAbsent: AbsenceReason | null;
  nameAbsent: AbsenceReason | null;
  month?: number;
  day?: number;
  hour?: number;
  minute?: number;
  /**
   * Message-waiting indicator: true = messages waiting, false = none. Set by the message-waiting
   * messages (SDMF 0x06, MDMF 0x82) and by an MDMF 0x0B parameter inside a call-setup message.
   */
  messageWaiting?: boolean;
  /** MDMF 0x03 (GR-30 "dialable directory number"), when sent. */
  dialableNumber?: string;
  /** MDMF 0x06 call qualifier 'L': a long-distance call. */
  longDistance?: boolean;
  /** ETSI 0x11 call type (1 voice, 2 ring-back-when-free, 0x81 message waiting call, ...). */
  callType?: number;
  /** ETSI 0x1A redirecting number (the number the call was forwarded from). */
  redirectingNumber?: string;
  /** ETSI 0xE0 operator information, as hex (its meaning is the network operator's). */
  operatorInfo?: string;
}

/** What the decoders (frame stream, text lines, DTMF) report, in arrival order. */
export type CallerIdDecoderEvent =
  /** a call-setup message: who is calling */
  | { type: 'callerId'; callerId: CallerId; bytes: Uint8Array }
  /** a message-waiting message (no call): `callerId.messageWaiting` says on or off */
  | { type: 'messageWaiting'; messageWaiting: boolean; callerId: CallerId; bytes: Uint8Array }
  /** a message that failed validation; never a caller ID */
  | { type: 'rejected'; code: CallerIdErrorCode; reason: string; bytes: Uint8Array };

export interface CallerIdSourceEvents {
  [event: string]: unknown;
  /** A call-setup message (SDMF 0x04, MDMF 0x80, DTMF, a text unit's caller ID) was decoded. */
  callerIdReceived: CallerId;
  /**
   * A message-waiting message (SDMF 0x06, MDMF 0x82, or a text unit reporting only message waiting):
   * it announces no call, so it never comes as `callerIdReceived`.
   */
  messageWaitingChanged: { messageWaiting: boolean; callerId: CallerId };
  /**
   * A message arrived but failed validation (bad checksum, truncated, malformed, a text unit's `Bad`
   * checksum): it never yields a caller ID. `code` is a CallerIdErrorCode (drivers/callerid/errors.ts).
   */
  callerIdRejected: { reason: string; bytes: Uint8Array; code?: string };
  /** The source's device failed after it was opened (read error, unplugged); it is closed now. */
  sourceFailed: { code: string; message: string };
}

/**
 * Where caller ID comes from on the analog line (a decoder chip or text-line unit on a UART).
 * - MUST NOT emit `callerIdReceived` for a message whose checksum fails.
 */
export interface CallerIdSource extends Pick<TypedEmitter<CallerIdSourceEvents>, 'on' | 'once'> {
  open(): Promise<void>;
  close(): Promise<void>;
}
