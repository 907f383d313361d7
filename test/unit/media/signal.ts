// Signal helpers for media tests.

/** A sine tone, 8 kHz. */
export function tone(frequency: number, seconds: number, amplitude = 0.3, rate = 8000): Int16Array {
  const n = Math.round(seconds * rate);
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.round(amplitude * 32767 * Math.sin((2 * Math.PI * frequency * i) / rate));
  return out;
}

/** Goertzel power of one frequency over a block (relative units). */
export function goertzelPower(x: ArrayLike<number>, frequency: number, rate = 8000): number {
  const w = (2 * Math.PI * frequency) / rate;
  const c = 2 * Math.cos(w);
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < x.length; i++) {
    const s0 = x[i] + c * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return s1 * s1 + s2 * s2 - c * s1 * s2;
}

export function rms(x: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += x[i] * x[i];
  return Math.sqrt(sum / Math.max(1, x.length));
}
