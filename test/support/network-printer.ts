// A receipt printer on TCP 9100 for tests: it records the bytes it receives, answers DLE EOT real-time status
// requests from a settable state (with a stray NUL first, as some printers do), and decodes what it prints with
// the virtual printer's decoder, so a test reads slips, QR payloads and cuts. It can be stopped and started on
// the same port (unplug, replug) and can hold back what it received for a while (a printer printing from its
// buffer after the host already handed the job over).

import { createServer, type Server, type Socket } from 'node:net';
import { EscPosDecoder } from '../../drivers/printer/virtual/decoder.js';
import type { DecoderOptions } from '../../drivers/printer/virtual/types.js';

/** DLE EOT replies: ok, and the roll paper sensor saying "out" (protocols.md, ESC/POS). */
export const STATUS_OK = 0x12;
export const STATUS_PAPER_OUT = 0x72;

export class TcpPrinter {
  received: number[] = [];
  replies: Record<number, number> = { 1: STATUS_OK, 2: STATUS_OK, 4: STATUS_OK };
  /** ms between receiving bytes and printing them */
  printDelayMs = 0;
  readonly #sockets = new Set<Socket>();
  #server: Server | null = null;
  readonly #decoder: EscPosDecoder;

  constructor(readonly port: number, decoderOptions: DecoderOptions = {}) {
    this.#decoder = new EscPosDecoder(decoderOptions);
  }

  async start(): Promise<void> {
    const server = createServer((socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
      socket.on('error', () => undefined);
      let tail: number[] = [];
      socket.on('data', (data: Buffer) => {
        this.received.push(...data);
        // DLE EOT may be split across TCP segments: keep the last two bytes for the next chunk
        const bytes = [...tail, ...data];
        for (let i = 0; i + 2 < bytes.length; i++) {
          if (bytes[i] === 0x10 && bytes[i + 1] === 0x04) socket.write(Uint8Array.of(0x00, this.replies[bytes[i + 2]] ?? STATUS_OK));
        }
        tail = bytes.slice(-2);
        const chunk = Uint8Array.from(data);
        if (this.printDelayMs > 0) setTimeout(() => this.#decoder.push(chunk), this.printDelayMs);
        else this.#decoder.push(chunk);
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.#server = server;
  }

  /** Pulls the plug: every connection is cut and the port closed. */
  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    for (const socket of this.#sockets) socket.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Connections open now (a driver that closed has none). */
  get connections(): number {
    return this.#sockets.size;
  }

  /** The printed slips (the text between cuts), in order. */
  slips(): string[] {
    const slips: string[][] = [[]];
    for (const item of this.#decoder.paper().items) {
      if (item.kind === 'cut') slips.push([]);
      else if (item.kind === 'text') slips[slips.length - 1].push(item.text);
      else if (item.kind === 'qr') slips[slips.length - 1].push(`[QR] ${item.payload}`);
    }
    return slips.filter((lines) => lines.length > 0).map((lines) => lines.join('\n'));
  }
}
