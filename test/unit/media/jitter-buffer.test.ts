import { describe, expect, it } from '@jest/globals';
import { JitterBuffer } from '../../../src/media/jitter-buffer.js';
import { seededRandom } from '../../support/random.js';

const FRAME = 160;
/** Frame i carries the constant value (i + 1) * 50, so played frames identify themselves. */
const frameOf = (i: number) => new Int16Array(FRAME).fill((i + 1) * 50);
/** The index of a real (unconcealed) frame, or null for silence/concealment. */
function identify(f: Int16Array): number | null {
  const v = f[0];
  if (v === 0 || v % 50 !== 0 || !f.every((x) => x === v)) return null;
  return v / 50 - 1;
}

interface Arrival {
  at: number;
  i: number;
  ssrc?: number;
}

/** Runs a schedule: pulls every 20 ms (at 5 + 20k), delivering the arrivals due before each pull. */
function run(jb: JitterBuffer, arrivals: Arrival[], until: number, base = { seq: 65000, ts: 0xfffff000 }) {
  const sorted = [...arrivals].sort((a, b) => a.at - b.at);
  const out: Int16Array[] = [];
  let next = 0;
  for (let t = 5; t <= until; t += 20) {
    while (next < sorted.length && sorted[next].at <= t) {
      const a = sorted[next++];
      jb.push({ ssrc: a.ssrc ?? 1234, sequenceNumber: (base.seq + a.i) & 0xffff, timestamp: (base.ts + a.i * FRAME) >>> 0, samples: frameOf(a.i) }, a.at);
    }
    out.push(jb.pull(t));
  }
  return out;
}

describe('JitterBuffer', () => {
  it('with 5% loss, up to 40 ms jitter, reordering, duplicates and late packets: exact counts, continuous output', () => {
    const N = 500;
    const r = seededRandom(4);
    const lost = new Set<number>();
    const late = new Set<number>();
    const reorderFirst = new Set<number>();
    const dup = new Set<number>();
    for (let i = 0; i < N; i++) {
      if (i % 20 === 7) lost.add(i); // 25 = 5%
      if (i % 100 === 61) late.add(i); // 5, 400 ms late (> max delay)
      if (i % 50 === 23) reorderFirst.add(i); // 10 pairs: i arrives after i + 1
      if (i % 100 === 80) dup.add(i); // 5 duplicates
    }
    const arrivals: Arrival[] = [];
    let prev = 0;
    for (let i = 0; i < N; i++) {
      // Delay in [0, 40] ms; never 20 ms less than the previous one, so the only reordering is constructed.
      let d = Math.max(0, prev - 19) + r() * (40 - Math.max(0, prev - 19));
      if (reorderFirst.has(i)) d = 40;
      if (reorderFirst.has(i - 1)) d = 0;
      prev = d;
      if (late.has(i)) d = 400;
      if (lost.has(i)) continue;
      arrivals.push({ at: i * 20 + d, i });
      if (dup.has(i)) arrivals.push({ at: i * 20 + d + 5, i });
    }
    const jb = new JitterBuffer({ minDelayMs: 60, maxDelayMs: 200 });
    const out = run(jb, arrivals, N * 20 + 600);
    const s = jb.stats;
    expect(s.received).toBe(N - lost.size);
    expect(s.duplicate).toBe(5);
    expect(s.late).toBe(5);
    expect(s.lost).toBe(25);
    expect(s.concealed).toBe(30);
    // The constructed pairs, plus every late packet (it arrives after higher sequence numbers).
    expect(s.reordered).toBe(10 + 5);
    expect(s.resyncs).toBe(0);
    expect(s.jitterMs).toBeGreaterThan(5);
    expect(s.targetDelayMs).toBeGreaterThanOrEqual(60);
    expect(s.targetDelayMs).toBeLessThanOrEqual(200);
    // Continuous: one full frame per pull; real frames in order, each once; what is missing is exactly
    // the lost, the late and the ones dropped to shrink the delay.
    expect(out.every((f) => f.length === FRAME)).toBe(true);
    const played = out.map(identify).filter((x): x is number => x !== null);
    for (let k = 1; k < played.length; k++) expect(played[k]).toBeGreaterThan(played[k - 1]);
    for (const i of [...lost, ...late]) expect(played).not.toContain(i);
    expect(played.length).toBe(N - lost.size - late.size - s.accelerated);
    expect(played[played.length - 1]).toBe(N - 1);
  });

  it('adapts the target delay to the measured jitter, within bounds', () => {
    const calm = new JitterBuffer({ minDelayMs: 40, maxDelayMs: 300 });
    run(calm, Array.from({ length: 300 }, (_, i) => ({ at: i * 20 + 3, i })), 300 * 20 + 200);
    expect(calm.stats.jitterMs).toBe(0);
    expect(calm.stats.targetDelayMs).toBe(40);
    expect(calm.stats.concealed).toBe(0);

    const r = seededRandom(9);
    const roughArrivals = Array.from({ length: 300 }, (_, i) => ({ at: i * 20 + r() * 100, i }));
    const rough = new JitterBuffer({ minDelayMs: 40, maxDelayMs: 300 });
    run(rough, roughArrivals, 300 * 20 + 400);
    const fixed = new JitterBuffer({ minDelayMs: 40, maxDelayMs: 40 });
    run(fixed, roughArrivals, 300 * 20 + 400);
    const s = rough.stats;
    // Uniform 0-100 ms delays: mean |D| = 33 ms, so J ~ 33 ms and the target ~ 20 + 3 J.
    expect(s.jitterMs).toBeGreaterThan(20);
    expect(s.targetDelayMs).toBeGreaterThanOrEqual(100);
    expect(s.expanded).toBeGreaterThan(0);
    // Growing the delay is what keeps packets from coming late.
    expect(fixed.stats.late).toBeGreaterThan(30);
    expect(s.late).toBeLessThan(fixed.stats.late / 3);

    const capped = new JitterBuffer({ minDelayMs: 40, maxDelayMs: 80 });
    run(capped, Array.from({ length: 300 }, (_, i) => ({ at: i * 20 + r() * 100, i })), 300 * 20 + 400);
    expect(capped.stats.targetDelayMs).toBe(80);
  });

  it('conceals a loss by repeating the last frame with a fade, then silence', () => {
    const jb = new JitterBuffer({ minDelayMs: 40 });
    const arrivals = [0, 1, 2, 8, 9, 10].map((i) => ({ at: i * 20 + 1, i }));
    const out = run(jb, arrivals, 14 * 20);
    const firstReal = out.findIndex((f) => identify(f) === 0);
    expect(firstReal).toBeGreaterThan(0);
    const seq = out.slice(firstReal, firstReal + 11);
    expect(seq.slice(0, 3).map(identify)).toEqual([0, 1, 2]);
    const last = 150; // frame 2's value
    expect(seq[3][0]).toBe(last); // fade starts at full level
    expect(seq[3][159]).toBeLessThan(last);
    expect(seq[3][159]).toBeGreaterThan(last * 0.6);
    expect(Math.max(...seq[4])).toBeLessThan(last * 0.75);
    expect(Math.max(...seq[4])).toBeGreaterThan(0);
    expect(Math.max(...seq[5].map(Math.abs))).toBeLessThanOrEqual(Math.round(last * 0.4));
    expect(seq[6].every((x) => x === 0)).toBe(true);
    expect(seq[7].every((x) => x === 0)).toBe(true);
    expect(seq.slice(8, 11).map(identify)).toEqual([8, 9, 10]);
    expect(jb.stats.lost).toBe(5);
  });

  it('resyncs on an SSRC change and on a big timestamp jump', () => {
    const jb = new JitterBuffer({ minDelayMs: 40 });
    const a = Array.from({ length: 20 }, (_, i) => ({ at: i * 20 + 1, i }));
    // A new source at 600 ms (after the first ended), numbered 300 frames further on.
    const b = Array.from({ length: 20 }, (_, k) => ({ at: 600 + k * 20 + 1, i: 300 + k, ssrc: 99 }));
    const out = run(jb, [...a, ...b], 1200);
    const played = out.map(identify).filter((x): x is number => x !== null);
    expect(played).toContain(19);
    expect(played).toContain(300 + 19);
    expect(played).toContain(300);
    expect(jb.stats.resyncs).toBe(1);
    expect(jb.stats.late).toBe(0);

    const jump = new JitterBuffer({ minDelayMs: 40 });
    const c = Array.from({ length: 20 }, (_, i) => ({ at: i * 20 + 1, i }));
    const d = Array.from({ length: 20 }, (_, k) => ({ at: 400 + k * 20 + 1, i: 20 + 500 + k })); // +10 s of timestamps, same SSRC
    run(jump, [...c, ...d], 900);
    expect(jump.stats.resyncs).toBe(1);
    expect(jump.stats.lost).toBeLessThan(3);
  });
});
