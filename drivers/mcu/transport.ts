import { DriverError } from '../common/errors.js';
import type { McuByteStream, McuTransport } from './link.js';

/**
 * The MCU's UART through serialport (8N1, no flow control, board/mcu-protocol.md §1). serialport is
 * loaded on open, so code that only uses in-memory streams never loads its native binding.
 */
export function serialPortTransport(options: { path: string; baudRate: number }): McuTransport {
  let port: import('serialport').SerialPort | null = null;
  return {
    description: `${options.path} @ ${options.baudRate} baud`,
    async open(): Promise<McuByteStream> {
      const { SerialPort } = await import('serialport');
      const p = new SerialPort({ path: options.path, baudRate: options.baudRate, dataBits: 8, parity: 'none', stopBits: 1, autoOpen: false });
      await new Promise<void>((resolve, reject) => {
        p.open((error) => (error ? reject(new DriverError('DRIVER_OPEN_FAILED', `cannot open the MCU port ${options.path}: ${error.message}`, { cause: error })) : resolve()));
      });
      port = p;
      return p;
    },
    async close(): Promise<void> {
      const p = port;
      port = null;
      if (!p?.isOpen) return;
      await new Promise<void>((resolve) => p.close(() => resolve()));
    },
  };
}
