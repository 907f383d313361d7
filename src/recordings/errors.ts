import { DesklineError } from '../core/errors.js';

export type RecordingErrorCode =
  /** no recording (or call) with that id */
  | 'RECORDING_NOT_FOUND'
  /** the recording is still being written */
  | 'RECORDING_IN_PROGRESS'
  /** recording is not possible now: no media for the call, the call ended, or recording is off for it */
  | 'RECORDING_UNAVAILABLE'
  /** new recordings are suspended: quota used up or the disk nearly full */
  | 'RECORDING_SUSPENDED'
  /** the file is not a WAV the phone can play */
  | 'RECORDING_FORMAT'
  /** reading or writing a recording's file failed */
  | 'RECORDING_IO'
  | 'RECORDING_BAD_REQUEST';

export class RecordingError extends DesklineError {
  declare readonly code: RecordingErrorCode;
  constructor(code: RecordingErrorCode, message: string, options?: { cause?: unknown; details?: unknown }) {
    super(code, message, options);
    this.name = 'RecordingError';
  }
}
