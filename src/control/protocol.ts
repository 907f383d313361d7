/**
 * The local control socket: newline-delimited JSON over a Unix socket in the runtime directory.
 * Request  {"id": 1, "method": "dial", "params": {...}}
 * Response {"id": 1, "result": ...} or {"id": 1, "error": {"code": "...", "message": "..."}}
 * A line longer than MAX_LINE_BYTES closes the connection.
 */
export const MAX_LINE_BYTES = 64 * 1024;

export interface ControlRequest {
  id: number;
  method: string;
  params?: unknown;
}

export type ControlResponse =
  | { id: number; result: unknown }
  | { id: number; error: { code: string; message: string } };

export type ControlHandler = (params: unknown) => Promise<unknown> | unknown;

/** Methods services offer to the CLI. Each method has exactly one owner. */
export class ControlRegistry {
  readonly #handlers = new Map<string, { owner: string; handler: ControlHandler }>();

  register(owner: string, method: string, handler: ControlHandler): () => void {
    const existing = this.#handlers.get(method);
    if (existing) throw new Error(`control method '${method}' is already registered by ${existing.owner}`);
    this.#handlers.set(method, { owner, handler });
    return () => {
      if (this.#handlers.get(method)?.handler === handler) this.#handlers.delete(method);
    };
  }

  get(method: string): ControlHandler | undefined {
    return this.#handlers.get(method)?.handler;
  }

  methods(): string[] {
    return [...this.#handlers.keys()].sort();
  }
}
