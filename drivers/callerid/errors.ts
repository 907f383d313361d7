/** Why a caller-ID message or input was not accepted. Drivers report these; services decide. */
export type CallerIdErrorCode =
  /** the message's bytes (type..checksum) do not sum to 0 mod 256 */
  | 'CALLERID_BAD_CHECKSUM'
  /** a text-line unit flagged the message's checksum as Bad */
  | 'CALLERID_UNIT_BAD_CHECKSUM'
  /** the message ended (or the line went idle) before its length was complete */
  | 'CALLERID_TRUNCATED'
  /** length or parameter structure does not follow the spec */
  | 'CALLERID_MALFORMED'
  /** bytes after a complete message, or a message type this decoder does not know */
  | 'CALLERID_UNEXPECTED_DATA'
  /** a text line longer than the bound */
  | 'CALLERID_TOO_LONG'
  /** a text unit's group had neither number nor name nor message waiting */
  | 'CALLERID_INCOMPLETE'
  /** input that is none of the known caller-ID forms (hex, DTMF, text lines) */
  | 'CALLERID_BAD_INPUT';

export class CallerIdError extends Error {
  constructor(
    readonly code: CallerIdErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'CallerIdError';
  }
}
