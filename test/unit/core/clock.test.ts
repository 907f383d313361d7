import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { SystemClock } from '../../../src/core/clock.js';
import { FakeClock } from '../../support/fake-clock.js';

describe('clocks', () => {
  it('SystemClock trusts wall time per policy and by the timesyncd flag file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'clock-'));
    const flag = join(dir, 'synchronized');
    expect(new SystemClock('always').wallTimeTrusted).toBe(true);
    expect(new SystemClock('never').wallTimeTrusted).toBe(false);
    expect(new SystemClock('timesync', flag).wallTimeTrusted).toBe(false);
    writeFileSync(flag, '');
    expect(new SystemClock('timesync', flag).wallTimeTrusted).toBe(true);
  });

  it('SystemClock timers fire and can be cleared', async () => {
    const clock = new SystemClock('always');
    const fired: string[] = [];
    clock.setTimeout(() => fired.push('a'), 5);
    const b = clock.setTimeout(() => fired.push('b'), 5);
    clock.clear(b);
    await new Promise((r) => setTimeout(r, 30));
    clock.dispose();
    expect(fired).toEqual(['a']);
  });

  it('FakeClock fires timers in order as time advances and tells when wall time becomes trusted', () => {
    const clock = new FakeClock({ trusted: false });
    const fired: number[] = [];
    clock.setTimeout(() => fired.push(clock.monotonic()), 300);
    const every = clock.setInterval(() => fired.push(clock.monotonic()), 100);
    clock.advance(250);
    expect(fired).toEqual([100, 200]);
    clock.clear(every);
    clock.advance(100);
    expect(fired).toEqual([100, 200, 300]);
    let trusted = false;
    clock.onWallTimeTrusted(() => (trusted = true));
    expect(trusted).toBe(false);
    clock.trustWallTime();
    expect(trusted).toBe(true);
  });
});
