import { DesklineError } from '../../core/errors.js';

export type SipTransportErrorCode =
  /** the message could not be routed (no Via / no destination / unresolvable name) */
  | 'SIP_ROUTE_FAILED'
  /** the socket refused the message (closed, too big, connect failed) */
  | 'SIP_SEND_FAILED'
  /** send() while the transport is not connected */
  | 'SIP_NOT_CONNECTED'
  /** the listening socket could not be bound */
  | 'SIP_LISTEN_FAILED'
  /** a TCP flow to the outbound proxy was lost (closed, or no keep-alive pong) */
  | 'SIP_FLOW_FAILED';

/** Errors of the SIP transport layer (RFC 3261 §18). */
export class SipTransportError extends DesklineError {
  declare readonly code: SipTransportErrorCode;
  constructor(code: SipTransportErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'SipTransportError';
  }
}
