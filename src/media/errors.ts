import { DesklineError } from '../core/errors.js';

/** Error codes of the media path. Parsers throw only `MediaError`, never a bare `Error`/`RangeError`. */
export type MediaErrorCode =
  | 'RTP_MALFORMED'
  | 'RTP_TOO_LARGE'
  | 'RTCP_MALFORMED'
  | 'RTCP_TOO_LARGE'
  | 'DTMF_INVALID'
  | 'WAV_INVALID'
  | 'WAV_TOO_LARGE'
  | 'WAV_CLOSED'
  | 'MEDIA_BAD_REQUEST'
  | 'MEDIA_NO_STREAM'
  | 'MEDIA_STREAM_EXISTS'
  | 'MEDIA_RECORDING_EXISTS'
  | 'MEDIA_NOT_RECORDING'
  | 'MEDIA_SOCKET'
  | 'MEDIA_TIMEOUT'
  | 'MEDIA_WORKER_EXITED'
  | 'MEDIA_CODEC';

export class MediaError extends DesklineError {
  declare readonly code: MediaErrorCode;
  constructor(code: MediaErrorCode, message: string, options?: { cause?: unknown; details?: unknown }) {
    super(code, message, options);
    this.name = 'MediaError';
  }
}
