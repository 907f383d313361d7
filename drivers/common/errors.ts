/** Errors raised by drivers. Drivers report; services decide. */
export class DriverError extends Error {
  constructor(
    readonly code: DriverErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'DriverError';
  }
}

export type DriverErrorCode =
  | 'DRIVER_NOT_OPEN'
  | 'DRIVER_OPEN_FAILED'
  | 'DRIVER_TIMEOUT'
  | 'DRIVER_INVALID_ARGUMENT'
  | 'DRIVER_UNSUPPORTED'
  | 'DRIVER_IO';
