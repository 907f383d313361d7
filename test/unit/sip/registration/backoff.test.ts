import { describe, expect, it } from '@jest/globals';
import { retryDelay } from '../../../../src/sip/registration/index.js';

describe('registration back-off policy', () => {
  it('doubles from its base up to its cap, longer for auth failures, and honours Retry-After', () => {
    const policy = { initialMs: 2000, maxMs: 300_000, authFailedInitialMs: 60_000, authFailedMaxMs: 1_800_000 };
    expect([1, 2, 3, 4, 8, 9, 50].map((n) => retryDelay('other', n, policy))).toEqual([2000, 4000, 8000, 16_000, 256_000, 300_000, 300_000]);
    expect([1, 2, 5, 6, 1000].map((n) => retryDelay('auth', n, policy))).toEqual([60_000, 120_000, 960_000, 1_800_000, 1_800_000]);
    expect(retryDelay('other', 1, policy, 30)).toBe(30_000);
    expect(retryDelay('other', 1, policy, 1)).toBe(2000);
    expect(retryDelay('other', 1, policy, 86_400)).toBe(300_000);
  });
});
