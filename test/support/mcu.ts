// MCU test helpers: an in-memory byte-stream pair (with fault injection) that stands in for the
// UART between SerialMcu and the simulated firmware, and a helper that wires the two together.

import { EventEmitter } from 'node:events';
import { SerialMcu, type SerialMcuOptions } from '../../drivers/mcu/serial.js';
import { SimMcuFirmware, type SimMcuFirmwareOptions } from '../../drivers/mcu/sim-firmware.js';
import { seededRandom } from './random.js';

export { seededRandom };

/**
 * One end of an in-memory "cable". What one end writes arrives at the other asynchronously
 * (setImmediate), in order. Fault injection applies to writes of this end, one write = one frame
 * for both link ends (the link writes each frame in one call).
 */
export class MemoryByteStream extends EventEmitter {
  peer: MemoryByteStream | null = null;
  /** Drop the next N writes. */
  dropWrites = 0;
  /** Drop writes matching this (e.g. only ACKs), while it returns true. */
  dropIf: ((chunk: Uint8Array) => boolean) | null = null;
  /** Flip one bit in the next N writes. */
  corruptWrites = 0;
  /** Deliver each write in pieces of 1..maxPiece bytes (0: whole). */
  maxPiece = 0;
  /** Everything written by this end (after faults). */
  readonly written: Uint8Array[] = [];
  bytesWritten = 0;

  write(chunk: Uint8Array): boolean {
    let data = Uint8Array.from(chunk);
    if (this.dropWrites > 0) {
      this.dropWrites--;
      return true;
    }
    if (this.dropIf?.(data)) return true;
    if (this.corruptWrites > 0) {
      this.corruptWrites--;
      data = Uint8Array.from(data);
      data[Math.floor(data.length / 2)] ^= 0x10;
    }
    this.written.push(data);
    this.bytesWritten += data.length;
    const peer = this.peer;
    if (!peer) return true;
    const pieces: Uint8Array[] = [];
    if (this.maxPiece > 0) {
      for (let i = 0; i < data.length; ) {
        const n = 1 + Math.floor(Math.random() * this.maxPiece);
        pieces.push(data.subarray(i, i + n));
        i += n;
      }
    } else {
      pieces.push(data);
    }
    for (const piece of pieces) setImmediate(() => peer.emit('data', Buffer.from(piece)));
    return true;
  }
}

export function memoryStreamPair(): { host: MemoryByteStream; mcu: MemoryByteStream } {
  const host = new MemoryByteStream();
  const mcu = new MemoryByteStream();
  host.peer = mcu;
  mcu.peer = host;
  return { host, mcu };
}

export interface McuRig {
  mcu: SerialMcu;
  fw: SimMcuFirmware;
  host: MemoryByteStream;
  wire: MemoryByteStream;
  /** Collected linkChanged events. */
  links: boolean[];
  stop(): Promise<void>;
}

/** Sim firmware + SerialMcu over an in-memory pair; the firmware is started, the driver is not opened. */
export async function mcuRig(o: { mcu?: Partial<SerialMcuOptions>; fw?: SimMcuFirmwareOptions } = {}): Promise<McuRig> {
  const { host, mcu: wire } = memoryStreamPair();
  const fw = new SimMcuFirmware(wire, { timeScale: 0.05, ...o.fw });
  await fw.start();
  const mcu = new SerialMcu({ stream: host, displayWidth: fw.displayWidth, displayHeight: fw.displayHeight, heartbeatMs: 0, ...o.mcu });
  const links: boolean[] = [];
  mcu.on('linkChanged', ({ up }) => links.push(up));
  return {
    mcu,
    fw,
    host,
    wire,
    links,
    stop: async () => {
      await mcu.close();
      await fw.stop();
    },
  };
}

export { waitFor } from './wait.js';


/** A test pattern bitmap (region bits) that differs per pixel position. */
export function patternBits(width: number, height: number, seed = 1): Uint8Array {
  const rnd = seededRandom(seed);
  const stride = Math.ceil(width / 8);
  const bits = new Uint8Array(stride * height);
  for (let i = 0; i < bits.length; i++) bits[i] = Math.floor(rnd() * 256);
  return bits;
}
