// Adaptive jitter buffer with simple packet-loss concealment, for 8 kHz audio in 20 ms frames.
//
// Time model. The caller pulls one frame per 20 ms tick and passes its monotonic clock (ms) to both
// push() and pull(); the buffer never reads a clock itself, so tests drive it with crafted schedules.
// Frames are keyed by extended RTP timestamp (a packet carrying n*160 samples is split into n frames).
// A frame with timestamp T is played at the tick where the playout point reaches T; it is "late" if
// it arrives after that tick and is dropped.
//
// Delay adaptation. Interarrival jitter J is estimated as in RFC 3550 A.8 (J += (|D| - J) / 16, in
// timestamp units). The target delay is clamp(minDelay, maxDelay, frame + 3 J) rounded up to whole
// frames. The current delay is measured as the playout offset (tick time - T/8) minus the smallest
// transit (arrival - T/8) seen in the last few seconds, i.e. how much later than the fastest packet
// we play. When it is a frame or more below target, one concealment frame is inserted without
// advancing playout (expand); when it is more than a frame and a half above, one buffered frame is
// discarded (accelerate). At most one adjustment per ADJUST_EVERY ticks.
//
// Underrun: when the slot is empty and nothing newer has arrived, the tick is concealed but counted as
// an underrun; a later packet turns those slots into losses (or the packet itself arrives late).
//
// Concealment: the last good frame repeated with a fade (1 -> 0.7 -> 0.4 -> 0 over three frames),
// then silence.
//
// Resync: a new SSRC, or a timestamp jump beyond `resyncMs` from the playout point, or a sequence jump
// beyond 3000 (RFC 3550 A.1 MAX_DROPOUT), resets the buffer and re-buffers from that packet.
import { FRAME_SAMPLES } from './g711.js';
import { Unwrapper } from './rtp.js';

const SAMPLES_PER_MS = 8;
const ADJUST_EVERY = 10;
const FADE = [1, 0.7, 0.4, 0] as const;
const SEQ_WINDOW = 1024;
const TRANSIT_WINDOW_MS = 5000;
const MAX_DROPOUT = 3000;

export interface JitterBufferOptions {
  /** Lowest target delay, ms (rounded up to whole frames). Default 40. */
  minDelayMs?: number;
  /** Highest target delay, ms. Default 200. */
  maxDelayMs?: number;
  /** A timestamp this far (ms) from the playout point restarts the buffer. Default 2000. */
  resyncMs?: number;
  /** Most frames held. Default: maxDelay + 1 s worth. */
  capacityFrames?: number;
}

export interface JitterPacket {
  ssrc: number;
  sequenceNumber: number;
  timestamp: number;
  /** Decoded PCM, a multiple of 160 samples (a short tail is zero-padded). */
  samples: Int16Array;
}

export interface JitterBufferStats {
  /** Packets accepted (not duplicates). */
  received: number;
  /** Frames concealed whose packet never came. */
  lost: number;
  /** Packets that came after their playout time (dropped). */
  late: number;
  duplicate: number;
  reordered: number;
  /** Frames produced by concealment because the slot was empty (lost + late ones). */
  concealed: number;
  /** Frames inserted to grow the delay. */
  expanded: number;
  /** Frames discarded to shrink the delay. */
  accelerated: number;
  /** Packets dropped because the buffer was full. */
  overflow: number;
  /** Concealed ticks with nothing newer received (end of stream or talkspurt; not counted as loss). */
  underrun: number;
  resyncs: number;
  /** Frames pulled in total (one per tick). */
  pulled: number;
  targetDelayMs: number;
  /** Current playout delay over the fastest recent packet, ms (0 before playout starts). */
  currentDelayMs: number;
  /** RFC 3550 A.8 interarrival jitter, ms. */
  jitterMs: number;
}

export class JitterBuffer {
  readonly #minDelay: number;
  readonly #maxDelay: number;
  readonly #resyncTs: number;
  readonly #capacity: number;
  readonly #frames = new Map<number, Int16Array>();
  #seq = new Unwrapper(16);
  #ts = new Unwrapper(32);
  #ssrc: number | null = null;
  #highestSeq = -1;
  #highestTs = -Infinity;
  readonly #seen = new Set<number>();
  /** Extended timestamps concealed and not (yet) arrived late, oldest first (bounded). */
  readonly #concealedSlots = new Set<number>();
  /** Extended timestamps concealed while nothing newer had arrived (bounded). */
  readonly #underrunSlots = new Set<number>();
  #playoutTs: number | null = null;
  #firstArrival = 0;
  #lastPullAt = 0;
  #lastFrame: Int16Array | null = null;
  #concealRun = 0;
  #ticksSinceAdjust = 0;
  #jitter = 0;
  #lastTransit: number | null = null;
  /** (arrival ms, transit ms) of recent packets, for the minimum transit. */
  #transits: Array<[number, number]> = [];
  #stats: Omit<JitterBufferStats, 'targetDelayMs' | 'jitterMs' | 'currentDelayMs'> = {
    received: 0, lost: 0, late: 0, duplicate: 0, reordered: 0, concealed: 0, expanded: 0, accelerated: 0, overflow: 0, underrun: 0, resyncs: 0, pulled: 0,
  };

  constructor(options: JitterBufferOptions = {}) {
    const frames = (ms: number) => Math.max(1, Math.ceil(ms / 20)) * 20;
    this.#minDelay = frames(options.minDelayMs ?? 40);
    this.#maxDelay = Math.max(this.#minDelay, frames(options.maxDelayMs ?? 200));
    this.#resyncTs = (options.resyncMs ?? 2000) * SAMPLES_PER_MS;
    this.#capacity = options.capacityFrames ?? this.#maxDelay / 20 + 50;
  }

  get targetDelayMs(): number {
    const raw = 20 + (3 * this.#jitter) / SAMPLES_PER_MS;
    const rounded = Math.ceil(raw / 20 - 1e-9) * 20;
    return Math.min(this.#maxDelay, Math.max(this.#minDelay, rounded));
  }

  /** Accepts one packet that arrived at `nowMs` (the caller's monotonic clock). */
  push(packet: JitterPacket, nowMs: number): void {
    if (this.#ssrc !== null && packet.ssrc !== this.#ssrc) this.#resync();
    else if (this.#ssrc !== null && this.#highestSeq >= 0) {
      const seqJump = Math.abs(this.#seq.unwrap(packet.sequenceNumber) - this.#highestSeq);
      const ref = this.#playoutTs ?? this.#minBufferedTs();
      const tsJump = ref === null ? 0 : Math.abs(this.#ts.unwrap(packet.timestamp) - ref);
      if (seqJump > MAX_DROPOUT || tsJump > this.#resyncTs) this.#resync();
    }
    const first = this.#ssrc === null;
    this.#ssrc = packet.ssrc;
    const seq = this.#seq.unwrap(packet.sequenceNumber);
    const ts = this.#ts.unwrap(packet.timestamp);
    if (first) this.#firstArrival = nowMs;

    // Duplicates: by extended sequence number within a window.
    if (this.#seen.has(seq)) {
      this.#stats.duplicate++;
      return;
    }
    this.#seen.add(seq);
    if (this.#seen.size > SEQ_WINDOW) {
      for (const s of this.#seen) {
        if (this.#seen.size <= SEQ_WINDOW) break;
        this.#seen.delete(s);
      }
    }
    this.#stats.received++;
    if (seq < this.#highestSeq) this.#stats.reordered++;
    else this.#highestSeq = seq;

    // RFC 3550 A.8: D(i-1,i) = (Rj - Rj-1) - (Sj - Sj-1) = transit difference, in timestamp units.
    const transitTs = nowMs * SAMPLES_PER_MS - ts;
    if (this.#lastTransit !== null) {
      const d = Math.abs(transitTs - this.#lastTransit);
      this.#jitter += (d - this.#jitter) / 16;
    }
    this.#lastTransit = transitTs;
    this.#transits.push([nowMs, transitTs / SAMPLES_PER_MS]);
    while (this.#transits.length > 1 && this.#transits[0][0] < nowMs - TRANSIT_WINDOW_MS) this.#transits.shift();

    const count = Math.max(1, Math.ceil(packet.samples.length / FRAME_SAMPLES));
    for (let i = 0; i < count; i++) {
      const frameTs = ts + i * FRAME_SAMPLES;
      let frame = packet.samples.subarray(i * FRAME_SAMPLES, (i + 1) * FRAME_SAMPLES);
      if (frame.length < FRAME_SAMPLES) {
        const padded = new Int16Array(FRAME_SAMPLES);
        padded.set(frame);
        frame = padded;
      }
      if (this.#playoutTs !== null && frameTs < this.#playoutTs) {
        if (i === 0) this.#stats.late++;
        if (this.#concealedSlots.delete(frameTs)) this.#stats.lost--;
        else if (this.#underrunSlots.delete(frameTs)) {
          this.#stats.underrun--;
          this.#stats.concealed++;
        }
      }
      if (this.#underrunSlots.size) this.#confirmLosses(frameTs);
      if (this.#playoutTs !== null && frameTs < this.#playoutTs) continue;
      if (this.#frames.size >= this.#capacity) {
        this.#stats.overflow++;
        continue;
      }
      this.#frames.set(frameTs, Int16Array.from(frame));
      if (frameTs > this.#highestTs) this.#highestTs = frameTs;
    }
  }

  /** The frame for this 20 ms tick: always 160 samples. */
  pull(nowMs: number): Int16Array {
    this.#stats.pulled++;
    if (this.#playoutTs === null) {
      const start = this.#minBufferedTs();
      if (start === null || nowMs - this.#firstArrival < this.targetDelayMs) return new Int16Array(FRAME_SAMPLES);
      this.#playoutTs = start;
      this.#lastPullAt = nowMs;
      this.#ticksSinceAdjust = 0;
      return this.#play();
    }
    this.#lastPullAt = nowMs;
    this.#ticksSinceAdjust++;
    if (this.#ticksSinceAdjust >= ADJUST_EVERY) {
      const current = this.currentDelayMs(nowMs);
      const target = this.targetDelayMs;
      if (current <= target - 20 && current + 20 <= this.#maxDelay) {
        // Expand: play a concealment frame without moving the playout point (delay grows by 20 ms).
        this.#ticksSinceAdjust = 0;
        this.#stats.expanded++;
        return this.#conceal();
      }
      if (current > target + 30 && this.#frames.has(this.#playoutTs) && this.#frames.has(this.#playoutTs + FRAME_SAMPLES)) {
        // Accelerate: drop the next buffered frame (delay shrinks by 20 ms).
        this.#ticksSinceAdjust = 0;
        this.#stats.accelerated++;
        this.#frames.delete(this.#playoutTs);
        this.#playoutTs += FRAME_SAMPLES;
      }
    }
    return this.#play();
  }

  /** Playout offset at `nowMs` minus the smallest recent transit, ms. */
  currentDelayMs(nowMs: number = this.#lastPullAt): number {
    if (this.#playoutTs === null || this.#transits.length === 0) return 0;
    let minTransit = Infinity;
    for (const [, t] of this.#transits) minTransit = Math.min(minTransit, t);
    return nowMs - this.#playoutTs / SAMPLES_PER_MS - minTransit;
  }

  get stats(): JitterBufferStats {
    return { ...this.#stats, targetDelayMs: this.targetDelayMs, currentDelayMs: this.currentDelayMs(), jitterMs: this.#jitter / SAMPLES_PER_MS };
  }

  #play(): Int16Array {
    const ts = this.#playoutTs!;
    const frame = this.#frames.get(ts);
    this.#playoutTs = ts + FRAME_SAMPLES;
    if (frame) {
      this.#frames.delete(ts);
      this.#lastFrame = frame;
      this.#concealRun = 0;
      return frame;
    }
    if (ts > this.#highestTs) {
      // Nothing newer has arrived yet: loss or the end of a talkspurt, we cannot tell. Counted as an
      // underrun until a newer packet confirms the loss (push) or the packet itself comes late.
      this.#stats.underrun++;
      this.#underrunSlots.add(ts);
      if (this.#underrunSlots.size > SEQ_WINDOW) this.#underrunSlots.delete(this.#underrunSlots.values().next().value!);
      return this.#conceal();
    }
    this.#stats.concealed++;
    this.#stats.lost++;
    this.#concealedSlots.add(ts);
    if (this.#concealedSlots.size > SEQ_WINDOW) this.#concealedSlots.delete(this.#concealedSlots.values().next().value!);
    return this.#conceal();
  }

  /** Repeat-and-fade of the last good frame, then silence. */
  #conceal(): Int16Array {
    const out = new Int16Array(FRAME_SAMPLES);
    const n = this.#concealRun;
    this.#concealRun++;
    const last = this.#lastFrame;
    if (!last || n >= FADE.length - 1) return out;
    const from = FADE[n];
    const to = FADE[n + 1];
    for (let i = 0; i < FRAME_SAMPLES; i++) {
      const gain = from + ((to - from) * i) / FRAME_SAMPLES;
      out[i] = Math.round(last[i] * gain);
    }
    return out;
  }

  /** A frame at `ts` arrived: the underrun slots before it were losses. */
  #confirmLosses(ts: number): void {
    for (const slot of this.#underrunSlots) {
      if (slot >= ts) continue;
      this.#underrunSlots.delete(slot);
      this.#stats.underrun--;
      this.#stats.concealed++;
      this.#stats.lost++;
      this.#concealedSlots.add(slot);
    }
  }

  #minBufferedTs(): number | null {
    let min: number | null = null;
    for (const ts of this.#frames.keys()) if (min === null || ts < min) min = ts;
    return min;
  }

  #resync(): void {
    this.#stats.resyncs++;
    this.#frames.clear();
    this.#seen.clear();
    this.#concealedSlots.clear();
    this.#underrunSlots.clear();
    this.#seq = new Unwrapper(16);
    this.#ts = new Unwrapper(32);
    this.#ssrc = null;
    this.#highestSeq = -1;
    this.#highestTs = -Infinity;
    this.#playoutTs = null;
    this.#lastTransit = null;
    this.#transits = [];
    this.#concealRun = 0;
  }
}
