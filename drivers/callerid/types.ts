import type { TypedEmitter } from '../common/typed-emitter.js';

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
  messageWaiting?: boolean;
}

export interface CallerIdSourceEvents {
  [event: string]: unknown;
  callerIdReceived: CallerId;
  /** A message arrived but failed validation (bad checksum, truncated): it never yields a caller ID. */
  callerIdRejected: { reason: string; bytes: Uint8Array };
}

/**
 * Where caller ID comes from on the analog line (a decoder chip or text-line unit on a UART).
 * - MUST NOT emit `callerIdReceived` for a message whose checksum fails.
 */
export interface CallerIdSource extends Pick<TypedEmitter<CallerIdSourceEvents>, 'on' | 'once'> {
  open(): Promise<void>;
  close(): Promise<void>;
}
