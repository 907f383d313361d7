/** Errors raised by the display module (font loading, framebuffer, screen renderer). */
export class DisplayError extends Error {
  constructor(
    readonly code: DisplayErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'DisplayError';
  }
}

export type DisplayErrorCode =
  /** The font file does not exist (install the Debian package `unifont`). */
  | 'FONT_NOT_FOUND'
  /** The font file exists but could not be read (permissions, a directory, I/O error). */
  | 'FONT_READ_FAILED'
  /** The font file is not valid .hex data; the message names the line. */
  | 'FONT_INVALID'
  /** A caller passed a size, position, region or model the display cannot take. */
  | 'DISPLAY_INVALID_ARGUMENT';
