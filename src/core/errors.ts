/** Typed errors of the runtime. Every error a user or admin may see carries a stable `code`. */
export class DesklineError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown; details?: unknown },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DesklineError';
    if (options?.details !== undefined) this.details = options.details;
  }
  details?: unknown;
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
