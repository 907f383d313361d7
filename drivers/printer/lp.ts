/**
 * ESC/POS printers through the kernel's usblp driver: /dev/usb/lpN (or a udev symlink to it).
 * The char device is opened read/write and non-blocking: writes go to the bulk OUT endpoint, reads
 * return what the printer sent on bulk IN (DLE EOT replies) when it is bidirectional, or EAGAIN.
 * Reads are polled on the injected timers (fast right after a write, slowly when idle) so no libuv
 * thread ever sits in a blocking read. Unplug shows as ENODEV/EIO (ENXIO) on a read or write; the
 * node then vanishes, and the reconnect poll opens it again once it reappears.
 */
import { constants } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { DriverError } from '../common/errors.js';
import { systemTimers, type DriverTimers } from '../common/timers.js';
import { ConnectionListeners, EscPosPrinter, type EscPosPrinterOptions, type PrinterConnection, type PrinterConnector } from './escpos-printer.js';

export interface LpReceiptPrinterOptions extends EscPosPrinterOptions {
  /** e.g. /dev/usb/lp0 or /dev/deskline/printer */
  path: string;
  /** read poll right after a write (replies expected); default 10 ms */
  fastReadPollMs?: number;
  /** read poll when idle (also notices an unplug); default 500 ms */
  idleReadPollMs?: number;
  /** how long a write may find the device busy (EAGAIN: paper out, buffer full) before failing; default 30 000 ms */
  writeTimeoutMs?: number;
}

/** errno codes that mean the device is gone (unplugged, or the pty's other end closed). */
const GONE = new Set(['ENODEV', 'EIO', 'ENXIO', 'EBADF', 'ENOENT']);

/** Whether `path` still names the device the handle has open. */
async function sameNode(handle: FileHandle, path: string): Promise<boolean> {
  try {
    const [open, now] = await Promise.all([handle.stat(), stat(path)]);
    return open.rdev === now.rdev && open.ino === now.ino;
  } catch {
    return false;
  }
}

const codeOf = (error: unknown): string | undefined => (error as NodeJS.ErrnoException | null)?.code;

export class LpReceiptPrinter extends EscPosPrinter {
  constructor(options: LpReceiptPrinterOptions) {
    if (!options.path) throw new DriverError('DRIVER_INVALID_ARGUMENT', 'an lp printer needs a device path');
    // The device node comes back when the printer is plugged in again: look for it every second.
    super(lpConnector(options, options.timers), { backoff: { initialMs: 1000, maxMs: 1000 }, ...options });
  }
}

function lpConnector(options: LpReceiptPrinterOptions, injected: DriverTimers | undefined): PrinterConnector {
  return {
    description: options.path,
    connect: async () => {
      let handle: FileHandle;
      try {
        handle = await open(options.path, constants.O_RDWR | constants.O_NONBLOCK | constants.O_NOCTTY);
      } catch (error) {
        throw new DriverError('DRIVER_OPEN_FAILED', `cannot open ${options.path}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      }
      return fileConnection(handle, options, injected ?? systemTimers);
    },
  };
}

function fileConnection(handle: FileHandle, options: LpReceiptPrinterOptions, timers: DriverTimers): PrinterConnection {
  const fastMs = options.fastReadPollMs ?? 10;
  const idleMs = options.idleReadPollMs ?? 500;
  const writeTimeoutMs = options.writeTimeoutMs ?? 30_000;
  const buffer = Buffer.alloc(256);
  const listeners = new ConnectionListeners();
  let fastUntil = 0;
  let elapsed = 0;
  let readTimer: unknown = null;
  let reading = false;

  const stop = (): void => {
    timers.clear(readTimer);
    readTimer = null;
  };
  const end = (error?: Error): void => {
    if (listeners.ended) return;
    stop();
    void handle.close().catch(() => undefined);
    listeners.end(error);
  };

  const schedule = (): void => {
    if (listeners.ended) return;
    timers.clear(readTimer);
    const delay = elapsed < fastUntil ? fastMs : idleMs;
    readTimer = timers.setTimeout(() => {
      readTimer = null;
      elapsed += delay;
      void readOnce();
    }, delay);
  };

  const readOnce = async (): Promise<void> => {
    if (listeners.ended || reading) return;
    reading = true;
    try {
      for (;;) {
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
        if (bytesRead === 0) {
          // End of file: a pty whose other end closed reads 0 (usblp would say ENODEV), and so may a
          // zero-length bulk IN packet. It is an unplug when the node is gone or is another device now.
          if (!(await sameNode(handle, options.path))) {
            end(new Error(`${options.path} vanished`));
            return;
          }
          break;
        }
        const chunk = new Uint8Array(buffer.subarray(0, bytesRead));
        listeners.data(chunk);
        if (listeners.ended) return;
      }
    } catch (error) {
      const code = codeOf(error);
      if (code !== 'EAGAIN' && code !== 'EWOULDBLOCK') {
        end(error instanceof Error ? error : new Error(String(error)));
        return;
      }
    } finally {
      reading = false;
    }
    schedule();
  };

  const wait = (ms: number): Promise<void> => new Promise((resolve) => timers.setTimeout(resolve, ms));

  schedule();
  return {
    write: async (bytes) => {
      let offset = 0;
      let busyMs = 0;
      while (offset < bytes.length) {
        if (listeners.ended) throw new DriverError('DRIVER_IO', `${options.path}: the printer is gone`);
        try {
          const { bytesWritten } = await handle.write(bytes, offset, bytes.length - offset, null);
          offset += bytesWritten;
          busyMs = 0;
        } catch (error) {
          const code = codeOf(error);
          if (code === 'EAGAIN' || code === 'EWOULDBLOCK') {
            if (busyMs >= writeTimeoutMs) throw new DriverError('DRIVER_TIMEOUT', `${options.path}: the printer took no data for ${writeTimeoutMs} ms`);
            await wait(fastMs);
            busyMs += fastMs;
            continue;
          }
          const failure = new DriverError('DRIVER_IO', `${options.path}: write failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
          if (code && GONE.has(code)) end(failure);
          throw failure;
        }
      }
      // Replies (DLE EOT) follow writes: read quickly for the next second.
      fastUntil = elapsed + 1000;
      schedule();
    },
    onData: listeners.onData,
    onClose: listeners.onClose,
    close: async () => {
      if (!listeners.end(undefined, false)) return;
      stop();
      await handle.close().catch(() => undefined);
    },
  };
}
