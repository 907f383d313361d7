import { chmod, mkdir, unlink } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { DesklineError, errorCode, errorMessage } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { RuntimeMonitor } from '../core/perf.js';
import type { Service } from '../core/services.js';
import { MAX_LINE_BYTES, type ControlRegistry, type ControlRequest, type ControlResponse } from './protocol.js';
import { connectControl } from './client.js';

export interface ControlServiceContext {
  log: Logger;
  control: ControlRegistry;
  socketPath: string;
  /** event-loop/CPU/memory figures served as `runtime.stats`; default a RuntimeMonitor of its own */
  runtime?: RuntimeMonitor;
}

/** Parameters of `runtime.stats`: `reset` starts a new event-loop window after reading. */
export interface RuntimeStatsParams {
  reset?: boolean;
}

/**
 * Serves the control registry on a Unix socket (mode 0660) so CLI commands reach the running daemon.
 * Owns `runtime.stats`: the main thread's event-loop delay (p50/p99/max ms since the last reset),
 * RSS and CPU seconds of the process.
 */
export class ControlService implements Service {
  #server: Server | null = null;
  readonly #sockets = new Set<Socket>();
  #runtime: RuntimeMonitor | null = null;
  #unregister: (() => void) | null = null;

  constructor(private readonly ctx: ControlServiceContext) {}

  async start(): Promise<void> {
    const path = this.ctx.socketPath;
    await mkdir(dirname(path), { recursive: true, mode: 0o750 });
    await this.removeStaleSocket(path);
    const server = createServer((socket) => this.serve(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    await chmod(path, 0o660);
    this.#server = server;
    const runtime = this.ctx.runtime ?? new RuntimeMonitor();
    runtime.start();
    this.#runtime = runtime;
    this.#unregister = this.ctx.control.register('control', 'runtime.stats', (params) => runtime.stats({ reset: parseStatsParams(params).reset }));
    this.ctx.log.info({ socket: path }, 'control socket listening');
  }

  async stop(): Promise<void> {
    this.#unregister?.();
    this.#unregister = null;
    this.#runtime?.stop();
    this.#runtime = null;
    for (const socket of this.#sockets) socket.destroy();
    const server = this.#server;
    this.#server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** A socket file left by a crashed daemon is removed; one a live daemon answers on is an error. */
  private async removeStaleSocket(path: string): Promise<void> {
    try {
      const client = await connectControl(path, 500);
      client.close();
      throw new DesklineError('CONTROL_IN_USE', `another deskline daemon is already running (control socket ${path})`);
    } catch (error) {
      if (error instanceof DesklineError && error.code === 'CONTROL_IN_USE') throw error;
      await unlink(path).catch(() => undefined);
    }
  }

  private serve(socket: Socket): void {
    this.#sockets.add(socket);
    socket.on('close', () => this.#sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let buffer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      if (buffer.length > MAX_LINE_BYTES && !buffer.includes('\n')) {
        this.reply(socket, { id: 0, error: { code: 'CONTROL_TOO_LARGE', message: `request exceeds ${MAX_LINE_BYTES} bytes` } });
        socket.end();
        return;
      }
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        if (line.trim()) void this.handle(socket, line);
      }
    });
  }

  private async handle(socket: Socket, line: string): Promise<void> {
    let request: ControlRequest;
    try {
      request = JSON.parse(line) as ControlRequest;
      if (typeof request !== 'object' || request === null || typeof request.method !== 'string' || typeof request.id !== 'number') throw new Error('shape');
    } catch {
      this.reply(socket, { id: 0, error: { code: 'CONTROL_BAD_REQUEST', message: 'expected {"id": number, "method": string, "params"?: ...}' } });
      return;
    }
    const handler = this.ctx.control.get(request.method);
    if (!handler) {
      this.reply(socket, { id: request.id, error: { code: 'CONTROL_UNKNOWN_METHOD', message: `unknown method '${request.method}'; available: ${this.ctx.control.methods().join(', ')}` } });
      return;
    }
    try {
      this.reply(socket, { id: request.id, result: (await handler(request.params)) ?? null });
    } catch (error) {
      this.reply(socket, { id: request.id, error: { code: errorCode(error) ?? 'CONTROL_FAILED', message: errorMessage(error) } });
    }
  }

  private reply(socket: Socket, response: ControlResponse): void {
    if (!socket.destroyed) socket.write(`${JSON.stringify(response)}\n`);
  }
}

function parseStatsParams(params: unknown): RuntimeStatsParams {
  if (params === undefined || params === null) return {};
  if (typeof params !== 'object' || Array.isArray(params)) throw new DesklineError('CONTROL_BAD_PARAMS', 'runtime.stats takes {"reset"?: boolean}');
  const { reset } = params as Record<string, unknown>;
  if (reset !== undefined && typeof reset !== 'boolean') throw new DesklineError('CONTROL_BAD_PARAMS', 'runtime.stats: reset must be a boolean');
  return { reset: reset === true };
}
