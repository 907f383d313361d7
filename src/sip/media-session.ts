// The SDP handler's MediaSession (src/sip/sdp/handler.ts) on the media engine: negotiated
// parameters become startStream/stopStream requests, DTMF goes both ways.
//
// Port ownership: the SDP handler needs our RTP port for the offer/answer before media starts,
// while the engine binds its sockets in startStream. RtpPortAllocator therefore picks a free even
// port with port + 1 free too (both probed by binding on the main thread and closed again), keeps
// it reserved in-process until released, and the session passes it as `localPort` to the engine.

import { createSocket, type Socket } from 'node:dgram';
import type { Logger } from 'pino';
import type { MediaEngine } from '../media/engine.js';
import type { MediaSession, DtmfDigit, DtmfTiming } from './sdp/handler.js';
import type { MediaParams } from './sdp/negotiate.js';

function bindUdp(address: string, port: number): Promise<Socket | null> {
  return new Promise((resolve) => {
    const sock = createSocket({ type: address.includes(':') ? 'udp6' : 'udp4' });
    sock.once('error', () => {
      sock.close();
      resolve(null);
    });
    sock.bind(port, address, () => resolve(sock));
  });
}

function closeUdp(sock: Socket | null): Promise<void> {
  return new Promise((resolve) => (sock ? sock.close(() => resolve()) : resolve()));
}

/** Free even RTP ports (RTCP on port + 1), reserved in this process until released. */
export class RtpPortAllocator {
  readonly #reserved = new Set<number>();

  constructor(private readonly bindAddress = '0.0.0.0') {}

  async allocate(): Promise<number> {
    for (let attempt = 0; attempt < 50; attempt++) {
      const rtp = await bindUdp(this.bindAddress, 0);
      if (!rtp) break;
      const port = rtp.address().port;
      if (port % 2 !== 0 || port >= 65535 || this.#reserved.has(port)) {
        await closeUdp(rtp);
        continue;
      }
      this.#reserved.add(port); // before any await: a concurrent allocate() must not take it
      const rtcp = await bindUdp(this.bindAddress, port + 1);
      await Promise.all([closeUdp(rtp), closeUdp(rtcp)]);
      if (rtcp) return port;
      this.#reserved.delete(port);
    }
    throw new Error(`no free RTP port pair on ${this.bindAddress}`);
  }

  release(port: number): void {
    this.#reserved.delete(port);
  }

  get reservedCount(): number {
    return this.#reserved.size;
  }
}

export interface EngineMediaSessionOptions {
  engine: MediaEngine;
  /** the call's id, used as the engine's stream id (read when media starts) */
  callId: () => string;
  /** address the engine binds (default 0.0.0.0) */
  bindAddress?: string;
  /** where to record the call (stereo: left ours, right theirs), or null; asked at each media start */
  recordPath: () => string | null;
  onDtmf?: (event: { digit: string; durationMs: number }) => void;
  log: Logger;
}

/** One call's media on the engine. */
export class EngineMediaSession implements MediaSession {
  readonly #o: EngineMediaSessionOptions;
  #streamId: string | null = null;
  #params: MediaParams | null = null;
  #offDtmf: (() => void) | null = null;

  constructor(options: EngineMediaSessionOptions) {
    this.#o = options;
  }

  /** the engine stream id while media runs */
  get streamId(): string | null {
    return this.#streamId;
  }

  async start(params: MediaParams): Promise<void> {
    const callId = this.#o.callId();
    const record = this.#recordPath(callId);
    const onDtmf = this.#o.onDtmf;
    if (onDtmf && !this.#offDtmf) {
      const listener = (m: { callId: string; digit: string; durationMs: number }): void => {
        if (m.callId === this.#streamId) onDtmf({ digit: m.digit, durationMs: m.durationMs });
      };
      this.#o.engine.on('dtmfReceived', listener);
      this.#offDtmf = () => this.#o.engine.off('dtmfReceived', listener);
    }
    this.#streamId = callId;
    this.#params = params;
    await this.#o.engine.startStream({
      callId,
      localPort: params.localPort,
      localAddress: this.#o.bindAddress,
      remote: { address: params.remoteAddress, port: params.remotePort },
      payloadType: params.payloadType,
      dtmfPayloadType: params.dtmfPayloadType ?? params.dtmfReceivePayloadType,
      record: record ? { path: record, stereo: true } : undefined,
    });
    this.#o.log.debug({ callId, local: params.localPort, remote: `${params.remoteAddress}:${params.remotePort}`, codec: params.codec }, 'media started');
  }

  /** Where to record; a failing decision leaves the call unrecorded rather than without media. */
  #recordPath(callId: string): string | null {
    try {
      return this.#o.recordPath();
    } catch (error) {
      this.#o.log.warn({ callId, err: (error as Error).message }, 'recording decision failed: call not recorded');
      return null;
    }
  }

  async update(params: MediaParams): Promise<void> {
    const prev = this.#params;
    this.#params = params;
    if (
      prev &&
      prev.remoteAddress === params.remoteAddress &&
      prev.remotePort === params.remotePort &&
      prev.payloadType === params.payloadType &&
      prev.dtmfPayloadType === params.dtmfPayloadType
    ) {
      return; // hold/resume only: the engine keeps streaming (the far end ignores or mutes it)
    }
    // a new address or codec: restart the stream (the recording restarts too)
    const callId = this.#streamId;
    if (callId) await this.#o.engine.stopStream(callId).catch(() => undefined);
    this.#streamId = null;
    await this.start(params);
  }

  async stop(): Promise<void> {
    this.#offDtmf?.();
    this.#offDtmf = null;
    const callId = this.#streamId;
    this.#streamId = null;
    if (callId) await this.#o.engine.stopStream(callId);
  }

  sendDtmf(digit: DtmfDigit, timing: DtmfTiming): boolean {
    const callId = this.#streamId;
    if (!callId) return false;
    this.#o.engine.sendDtmf(callId, digit, timing.durationMs).catch((error: unknown) => {
      this.#o.log.warn({ callId, err: (error as Error).message }, 'DTMF not sent');
    });
    return true;
  }
}
