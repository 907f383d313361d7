import { connect, type Socket } from 'node:net';
import { DesklineError } from '../core/errors.js';
import { MAX_LINE_BYTES, type ControlResponse } from './protocol.js';

export interface ControlClient {
  call<T = unknown>(method: string, params?: unknown, timeoutMs?: number): Promise<T>;
  close(): void;
}

/** Connect to a running daemon's control socket; rejects with CONTROL_NO_DAEMON when none answers. */
export function connectControl(path: string, timeoutMs = 2000): Promise<ControlClient> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect(path);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new DesklineError('CONTROL_NO_DAEMON', `no daemon answered on ${path} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new DesklineError('CONTROL_NO_DAEMON', `no deskline daemon is running (${path}: ${error.code ?? error.message})`));
    });
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve(makeClient(socket));
    });
  });
}

function makeClient(socket: Socket): ControlClient {
  let nextId = 1;
  let buffer = '';
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  const failAll = (error: Error) => {
    for (const { reject, timer } of pending.values()) {
      clearTimeout(timer);
      reject(error);
    }
    pending.clear();
  };
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffer += chunk;
    if (buffer.length > 16 * MAX_LINE_BYTES) {
      failAll(new DesklineError('CONTROL_TOO_LARGE', 'daemon reply too large'));
      socket.destroy();
      return;
    }
    let newline: number;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      let response: ControlResponse;
      try {
        response = JSON.parse(line) as ControlResponse;
      } catch {
        continue;
      }
      const waiter = pending.get(response.id);
      if (!waiter) continue;
      pending.delete(response.id);
      clearTimeout(waiter.timer);
      if ('error' in response) waiter.reject(new DesklineError(response.error.code, response.error.message));
      else waiter.resolve(response.result);
    }
  });
  socket.on('close', () => failAll(new DesklineError('CONTROL_CLOSED', 'the daemon closed the control connection')));
  socket.on('error', () => undefined);
  return {
    call<T>(method: string, params?: unknown, timeoutMs = 10000): Promise<T> {
      const id = nextId++;
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new DesklineError('CONTROL_TIMEOUT', `daemon did not answer '${method}' within ${timeoutMs} ms`));
        }, timeoutMs);
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
        socket.write(`${JSON.stringify({ id, method, params })}\n`);
      });
    },
    close() {
      socket.end();
    },
  };
}
