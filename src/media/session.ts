// One call's media: 20 ms pacing of outgoing RTP (audio or RFC 4733 events), the receive path
// (symmetric RTP latching, jitter buffer, DTMF, RTCP statistics) and recording. Pure of sockets and
// threads: the worker gives it a transport and a clock, tests give it fakes.
import { randomBytes } from 'node:crypto';
import type { Clock, TimerHandle } from '../core/clock.js';
import { MediaError } from './errors.js';
import { FRAME_MS, FRAME_SAMPLES, codecForPayloadType, decodeG711, encodeG711, type G711Codec } from './g711.js';
import { JitterBuffer, type JitterBufferOptions, type JitterBufferStats } from './jitter-buffer.js';
import { DtmfReceiver, dtmfPackets, type DtmfDigit, type DtmfSendPacket } from './rfc4733.js';
import { ReceiveStats, buildRtcpCompound, ntpFromUnixMs, parseRtcp, roundTripMs, type ReportBlock } from './rtcp.js';
import type { RecordingFinished } from './messages.js';
import { looksLikeRtcp, parseRtp, serializeRtp } from './rtp.js';
import type { WavRecorder } from './wav-recorder.js';

export interface Endpoint {
  address: string;
  port: number;
}

export interface SessionTransport {
  sendRtp(buf: Uint8Array, to: Endpoint): void;
  sendRtcp(buf: Uint8Array, to: Endpoint): void;
}

export interface SessionOptions {
  callId: string;
  /** Where the SDP says to send (RTCP goes to port + 1 unless rtcpMux). */
  remote: Endpoint;
  payloadType: number;
  dtmfPayloadType: number | null;
  rtcpMux?: boolean;
  rtcpIntervalMs?: number;
  cname?: string;
  jitter?: JitterBufferOptions;
  /** Post every received (played-out) frame to the owner. */
  tapReceived?: boolean;
}

export interface SessionStats {
  callId: string;
  localSsrc: number;
  remoteSsrc: number | null;
  sent: { packets: number; octets: number; dtmfEvents: number };
  received: { packets: number; invalid: number; ignored: number; rtcp: number; dtmfEvents: number };
  /** RFC 3550 receiver statistics of the remote source. */
  rtcp: { cumulativeLost: number; jitterMs: number; extendedHighestSeq: number; roundTripMs: number | null; remoteFractionLost: number | null; remoteCumulativeLost: number | null };
  jitterBuffer: JitterBufferStats;
  remote: Endpoint;
  latched: boolean;
}

export type SessionEvent =
  | { type: 'dtmfReceived'; callId: string; digit: string; durationMs: number; endLost: boolean }
  | { type: 'audio'; callId: string; samples: Int16Array }
  | { type: 'error'; callId: string; code: string; message: string }
  | { type: 'recordingStarted'; callId: string; path: string }
  | RecordingFinished;

/** The code and words of a recording failure: the file system's code (ENOSPC, EIO) when there is one. */
function recordingError(error: unknown): { code: string; message: string } {
  const cause = (error as { cause?: { code?: unknown } } | null)?.cause;
  const code = typeof cause?.code === 'string' ? cause.code : (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? (cause instanceof Error ? `${error.message}: ${cause.message}` : error.message) : String(error);
  return { code: typeof code === 'string' ? code : 'WAV_INVALID', message };
}

/** Upper bound of the tone source accepted per stream (10 minutes). */
export const MAX_SOURCE_SAMPLES = 8000 * 600;

export class MediaSession {
  readonly callId: string;
  readonly #clock: Clock;
  readonly #transport: SessionTransport;
  readonly #emit: (e: SessionEvent) => void;
  readonly #codec: G711Codec;
  readonly #pt: number;
  readonly #dtmfPt: number | null;
  readonly #rtcpMux: boolean;
  readonly #rtcpInterval: number;
  readonly #cname: string;
  readonly #tap: boolean;
  #remote: Endpoint;
  #latched = false;
  readonly #ssrc = randomBytes(4).readUInt32BE(0);
  #seq = randomBytes(2).readUInt16BE(0);
  #ts = randomBytes(4).readUInt32BE(0);
  #firstPacket = true;
  #source: { samples: Int16Array; pos: number; loop: boolean } | null = null;
  readonly #dtmfQueue: Array<{ digit: string; durationMs: number }> = [];
  #dtmfActive: { packets: DtmfSendPacket[]; next: number; startTs: number; startedAt: number } | null = null;
  readonly #jb: JitterBuffer;
  readonly #dtmfRx = new DtmfReceiver();
  #rx: ReceiveStats | null = null;
  #remoteSsrc: number | null = null;
  #recorder: WavRecorder | null = null;
  #timer: TimerHandle | null = null;
  #startedAt = 0;
  #ticks = 0;
  #lastRtcpAt = 0;
  #rtt: number | null = null;
  #remoteReport: ReportBlock | null = null;
  #sent = { packets: 0, octets: 0, dtmfEvents: 0 };
  #received = { packets: 0, invalid: 0, ignored: 0, rtcp: 0, dtmfEvents: 0 };
  #stopped = false;

  constructor(o: SessionOptions, deps: { clock: Clock; transport: SessionTransport; emit: (e: SessionEvent) => void }) {
    const codec = codecForPayloadType(o.payloadType);
    if (!codec) throw new MediaError('MEDIA_CODEC', `payload type ${o.payloadType} is not G.711 (0 PCMU, 8 PCMA)`);
    this.callId = o.callId;
    this.#codec = codec;
    this.#pt = o.payloadType;
    this.#dtmfPt = o.dtmfPayloadType;
    this.#remote = { ...o.remote };
    this.#rtcpMux = o.rtcpMux ?? false;
    this.#rtcpInterval = o.rtcpIntervalMs ?? 5000;
    this.#cname = o.cname ?? `deskline-${this.#ssrc.toString(16)}`;
    this.#tap = o.tapReceived ?? false;
    this.#jb = new JitterBuffer(o.jitter);
    this.#clock = deps.clock;
    this.#transport = deps.transport;
    this.#emit = deps.emit;
  }

  get localSsrc(): number {
    return this.#ssrc;
  }

  /** The file being recorded to, or null. */
  get recordingPath(): string | null {
    return this.#recorder?.path ?? null;
  }

  /** Records every tick from now on into `recorder` (at stream start or mid-call); one recording at a time. */
  attachRecorder(recorder: WavRecorder): void {
    if (this.#stopped) throw new MediaError('MEDIA_NO_STREAM', `stream ${this.callId} is stopped`);
    if (this.#recorder) throw new MediaError('MEDIA_RECORDING_EXISTS', `stream ${this.callId} is already recording to ${this.#recorder.path}`);
    this.#recorder = recorder;
    this.#emit({ type: 'recordingStarted', callId: this.callId, path: recorder.path });
  }

  /** Stops recording while the stream goes on; resolves once the file is closed (and `recordingFinished` sent). */
  async stopRecording(): Promise<void> {
    const recorder = this.#recorder;
    if (!recorder) throw new MediaError('MEDIA_NOT_RECORDING', `stream ${this.callId} is not recording`);
    this.#recorder = null;
    await this.#closeRecorder(recorder, null);
  }

  /** Closes a detached recorder and reports it; never rejects (a failed file must not end the call). */
  async #closeRecorder(recorder: WavRecorder, failure: unknown): Promise<void> {
    let error = failure;
    try {
      await recorder.close();
    } catch (closeError) {
      error ??= closeError;
    }
    this.#emit({ type: 'recordingFinished', callId: this.callId, path: recorder.path, seconds: recorder.secondsWritten, error: error ? recordingError(error) : null });
  }

  /** Starts the 20 ms heartbeat (drift-corrected against the monotonic clock). */
  start(): void {
    this.#startedAt = this.#clock.monotonic();
    this.#lastRtcpAt = this.#startedAt;
    this.#schedule();
  }

  #schedule(): void {
    if (this.#stopped) return;
    const due = this.#startedAt + (this.#ticks + 1) * FRAME_MS;
    this.#timer = this.#clock.setTimeout(() => {
      this.#ticks++;
      // After a long stall (suspend, debugger), skip ahead instead of bursting.
      const now = this.#clock.monotonic();
      if (now - (this.#startedAt + this.#ticks * FRAME_MS) > 200) this.#ticks = Math.floor((now - this.#startedAt) / FRAME_MS);
      try {
        this.tick(now);
      } catch (error) {
        this.#emit({ type: 'error', callId: this.callId, code: (error as { code?: string }).code ?? 'MEDIA_INTERNAL', message: String((error as Error).message ?? error) });
      }
      this.#schedule();
    }, Math.max(0, due - this.#clock.monotonic()));
  }

  /** Plays these samples (once, or looped) instead of silence. */
  play(samples: Int16Array, loop = false): void {
    if (samples.length > MAX_SOURCE_SAMPLES) throw new MediaError('MEDIA_BAD_REQUEST', `audio source of ${samples.length} samples is too long`);
    this.#source = samples.length ? { samples, pos: 0, loop } : null;
  }

  sendDtmf(digits: string, durationMs = 100): void {
    for (const d of digits) {
      dtmfPackets(d, { durationMs }); // validates
      if (this.#dtmfQueue.length >= 64) throw new MediaError('MEDIA_BAD_REQUEST', 'DTMF queue full');
      this.#dtmfQueue.push({ digit: d, durationMs });
    }
  }

  /** One 20 ms heartbeat. */
  tick(now: number): void {
    this.#sendTick(now);
    const remote = this.#jb.pull(now);
    const local = this.#lastSent;
    const recorder = this.#recorder;
    if (recorder) {
      try {
        recorder.write(local, remote);
      } catch (error) {
        // the file failed (disk full, I/O error): the call goes on unrecorded
        this.#recorder = null;
        this.#emit({ type: 'error', callId: this.callId, code: (error as { code?: string }).code ?? 'WAV_INVALID', message: (error as Error).message });
        void this.#closeRecorder(recorder, error);
      }
    }
    if (this.#tap) this.#emit({ type: 'audio', callId: this.callId, samples: remote });
    for (const d of this.#dtmfRx.poll(now)) this.#digit(d);
    if (now - this.#lastRtcpAt >= this.#rtcpInterval) {
      this.#lastRtcpAt = now;
      this.#sendRtcp(false);
    }
  }

  #lastSent: Int16Array | null = null;

  #sendTick(now: number): void {
    const frame = this.#nextFrame();
    this.#lastSent = frame;
    // RFC 4733 2.5.1: while an event is sent, its packets replace the audio packets of those ticks.
    if (!this.#dtmfActive && this.#dtmfQueue.length && this.#dtmfPt !== null) {
      const next = this.#dtmfQueue.shift()!;
      this.#dtmfActive = { packets: dtmfPackets(next.digit, { durationMs: next.durationMs }), next: 0, startTs: this.#ts, startedAt: now };
      this.#sent.dtmfEvents++;
    }
    const ev = this.#dtmfActive;
    if (ev) {
      while (ev.next < ev.packets.length && ev.packets[ev.next].atMs <= now - ev.startedAt + 0.5) {
        const p = ev.packets[ev.next++];
        this.#sendPacket(this.#dtmfPt!, p.marker, ev.startTs, p.payload);
      }
      if (ev.next >= ev.packets.length) this.#dtmfActive = null;
    } else {
      // RFC 3551 4.1: marker on the first packet of a talkspurt (here: of the stream).
      this.#sendPacket(this.#pt, this.#firstPacket, this.#ts, encodeG711(this.#codec, frame));
      this.#firstPacket = false;
    }
    this.#ts = (this.#ts + FRAME_SAMPLES) >>> 0;
  }

  #nextFrame(): Int16Array {
    const out = new Int16Array(FRAME_SAMPLES);
    const src = this.#source;
    if (!src) return out;
    let i = 0;
    while (i < FRAME_SAMPLES) {
      if (src.pos >= src.samples.length) {
        if (!src.loop) {
          this.#source = null;
          break;
        }
        src.pos = 0;
      }
      const n = Math.min(FRAME_SAMPLES - i, src.samples.length - src.pos);
      out.set(src.samples.subarray(src.pos, src.pos + n), i);
      i += n;
      src.pos += n;
    }
    return out;
  }

  #sendPacket(pt: number, marker: boolean, timestamp: number, payload: Uint8Array): void {
    const buf = serializeRtp({ payloadType: pt, marker, sequenceNumber: this.#seq, timestamp, ssrc: this.#ssrc, payload });
    this.#seq = (this.#seq + 1) & 0xffff;
    this.#sent.packets++;
    this.#sent.octets += payload.length;
    this.#transport.sendRtp(buf, this.#remote);
  }

  /** A datagram on the RTP port (RTCP too, when multiplexed: RFC 5761 4). */
  onRtpDatagram(buf: Uint8Array, from: Endpoint, now: number): void {
    if (this.#stopped) return;
    if (looksLikeRtcp(buf)) {
      this.onRtcpDatagram(buf, from, now);
      return;
    }
    let pkt;
    try {
      pkt = parseRtp(buf);
    } catch {
      this.#received.invalid++;
      return;
    }
    const isAudio = pkt.payloadType === this.#pt;
    const isDtmf = this.#dtmfPt !== null && pkt.payloadType === this.#dtmfPt;
    if (!isAudio && !isDtmf) {
      this.#received.ignored++;
      return;
    }
    // Symmetric RTP (RFC 4961): once the far end's RTP is seen, send to where it comes from.
    // A different address with a new SSRC is the far end moving (re-INVITE, NAT rebinding): re-latch.
    const moved = this.#remote.address !== from.address || this.#remote.port !== from.port;
    if (!this.#latched || (moved && pkt.ssrc !== this.#remoteSsrc)) {
      this.#remote = { address: from.address, port: from.port };
      this.#latched = true;
    }
    this.#received.packets++;
    if (this.#rx === null || pkt.ssrc !== this.#remoteSsrc) {
      this.#remoteSsrc = pkt.ssrc;
      this.#rx = new ReceiveStats(pkt.ssrc, pkt.sequenceNumber);
    }
    this.#rx.update(pkt.sequenceNumber, pkt.timestamp, now);
    if (isDtmf) {
      try {
        for (const d of this.#dtmfRx.push(pkt, now)) this.#digit(d);
      } catch {
        this.#received.invalid++;
      }
      return;
    }
    this.#jb.push({ ssrc: pkt.ssrc, sequenceNumber: pkt.sequenceNumber, timestamp: pkt.timestamp, samples: decodeG711(this.#codec, pkt.payload.subarray(0, 8 * FRAME_SAMPLES)) }, now);
  }

  onRtcpDatagram(buf: Uint8Array, _from: Endpoint, now: number): void {
    let packets;
    try {
      packets = parseRtcp(buf);
    } catch {
      this.#received.invalid++;
      return;
    }
    this.#received.rtcp++;
    for (const p of packets) {
      if (p.type === 'sr' && this.#rx && p.ssrc === this.#remoteSsrc) this.#rx.onSenderReport(p.sender, now);
      if (p.type === 'sr' || p.type === 'rr') {
        const mine = p.reports.find((r) => r.ssrc === this.#ssrc);
        if (mine) {
          this.#remoteReport = mine;
          const rtt = roundTripMs(mine, this.#clock.now());
          if (rtt !== null) this.#rtt = rtt;
        }
      }
    }
  }

  #digit(d: DtmfDigit): void {
    this.#received.dtmfEvents++;
    this.#emit({ type: 'dtmfReceived', callId: this.callId, digit: d.digit, durationMs: d.durationMs, endLost: d.endLost });
  }

  #sendRtcp(bye: boolean): void {
    const wall = this.#clock.now();
    const reports = this.#rx && this.#rx.received > 0 ? [this.#rx.reportBlock(this.#clock.monotonic())] : [];
    const ntp = ntpFromUnixMs(wall);
    const sender = this.#sent.packets > 0 ? { ntpSeconds: ntp.seconds, ntpFraction: ntp.fraction, rtpTimestamp: this.#ts, packetCount: this.#sent.packets >>> 0, octetCount: this.#sent.octets >>> 0 } : undefined;
    const buf = buildRtcpCompound({ ssrc: this.#ssrc, sender, reports, cname: this.#cname, bye: bye ? { reason: 'call ended' } : undefined });
    const to = this.#rtcpMux ? this.#remote : { address: this.#remote.address, port: this.#remote.port + 1 };
    this.#transport.sendRtcp(buf, to);
  }

  get stats(): SessionStats {
    const rx = this.#rx;
    return {
      callId: this.callId,
      localSsrc: this.#ssrc,
      remoteSsrc: this.#remoteSsrc,
      sent: { ...this.#sent },
      received: { ...this.#received },
      rtcp: {
        cumulativeLost: rx?.cumulativeLost ?? 0,
        jitterMs: rx?.jitterMs ?? 0,
        extendedHighestSeq: rx?.extendedHighestSeq ?? 0,
        roundTripMs: this.#rtt,
        remoteFractionLost: this.#remoteReport ? this.#remoteReport.fractionLost / 256 : null,
        remoteCumulativeLost: this.#remoteReport?.cumulativeLost ?? null,
      },
      jitterBuffer: this.#jb.stats,
      remote: { ...this.#remote },
      latched: this.#latched,
    };
  }

  /** Stops the heartbeat, sends RTCP BYE (RFC 3550 6.6), closes the recording. */
  async stop(): Promise<SessionStats> {
    if (!this.#stopped) {
      this.#stopped = true;
      this.#clock.clear(this.#timer);
      try {
        this.#sendRtcp(true);
      } catch {
        /* socket already gone */
      }
      const recorder = this.#recorder;
      this.#recorder = null;
      if (recorder) await this.#closeRecorder(recorder, null);
    }
    return this.stats;
  }
}
