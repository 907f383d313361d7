/**
 * ESC/POS printers on the network: raw TCP on port 9100 ("JetDirect"/AppSocket). Bytes to the
 * socket are printed; DLE EOT replies come back on the same socket. Reconnects with back-off when
 * the printer is off or the network is gone.
 */
import { Socket } from 'node:net';
import { DriverError } from '../common/errors.js';
import { ConnectionListeners, EscPosPrinter, type EscPosPrinterOptions, type PrinterConnection, type PrinterConnector } from './escpos-printer.js';

export interface NetworkReceiptPrinterOptions extends EscPosPrinterOptions {
  host: string;
  /** default 9100 */
  port?: number;
  /** give up a connection attempt after this long; default 3000 ms */
  connectTimeoutMs?: number;
}

export class NetworkReceiptPrinter extends EscPosPrinter {
  constructor(options: NetworkReceiptPrinterOptions) {
    const port = options.port ?? 9100;
    if (!options.host) throw new DriverError('DRIVER_INVALID_ARGUMENT', 'a network printer needs a host');
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new DriverError('DRIVER_INVALID_ARGUMENT', `invalid printer port ${port}`);
    super(tcpConnector(options.host, port, options.connectTimeoutMs ?? 3000), options);
  }
}

function tcpConnector(host: string, port: number, connectTimeoutMs: number): PrinterConnector {
  const description = `tcp://${host.includes(':') ? `[${host}]` : host}:${port}`;
  return {
    description,
    connect: () =>
      new Promise<PrinterConnection>((resolve, reject) => {
        const socket = new Socket();
        const fail = (error: Error): void => {
          socket.destroy();
          reject(new DriverError('DRIVER_OPEN_FAILED', `${description}: ${error.message}`, { cause: error }));
        };
        socket.setTimeout(connectTimeoutMs, () => fail(new Error(`no connection within ${connectTimeoutMs} ms`)));
        socket.once('error', fail);
        socket.connect({ host, port }, () => {
          socket.off('error', fail);
          socket.setTimeout(0);
          socket.setNoDelay(true);
          // A printer switched off does not close the connection: keep-alive notices it eventually,
          // a failing status poll or write sooner.
          socket.setKeepAlive(true, 10_000);
          resolve(socketConnection(socket));
        });
      }),
  };
}

function socketConnection(socket: Socket): PrinterConnection {
  let lastError: Error | undefined;
  const listeners = new ConnectionListeners();
  socket.on('error', (error) => (lastError = error));
  socket.on('close', () => listeners.end(lastError));
  return {
    write: (bytes) =>
      new Promise<void>((resolve, reject) => {
        if (listeners.ended || socket.destroyed) return reject(new DriverError('DRIVER_IO', 'the printer connection is closed'));
        socket.write(bytes, (error) => (error ? reject(new DriverError('DRIVER_IO', `write to the printer failed: ${error.message}`, { cause: error })) : resolve()));
      }),
    onData: (listener) => socket.on('data', (data: Buffer) => listener(new Uint8Array(data.buffer, data.byteOffset, data.length))),
    onClose: listeners.onClose,
    close: () =>
      new Promise<void>((resolve) => {
        if (listeners.ended) return resolve();
        socket.once('close', () => resolve());
        socket.destroy();
      }),
  };
}
