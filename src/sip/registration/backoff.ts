// Retry timing of a SIP registration that failed. A wrong password is not retried in a tight
// loop: registrars lock accounts (or ban addresses) that hammer them, and nothing changes until
// someone fixes the password, so auth failures back off from a minute up to half an hour.
// Other failures (timeout, 5xx, transport) retry sooner (RFC 5626 §4.5 uses a similar
// base-time-doubling-to-a-cap scheme), and honour Retry-After (RFC 3261 §20.33).

export interface BackoffPolicy {
  /** first retry after a timeout, a rejection or a transport failure */
  initialMs: number;
  /** cap for those */
  maxMs: number;
  /** first retry after the registrar refused our credentials (401/407/403) */
  authFailedInitialMs: number;
  /** cap for those */
  authFailedMaxMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = {
  initialMs: 2_000,
  maxMs: 300_000,
  authFailedInitialMs: 60_000,
  authFailedMaxMs: 1_800_000,
};

/**
 * Delay before retry number `attempt` (1 = the first retry after the first failure).
 * Retry-After (seconds) from a 500/503 wins when it asks for longer, bounded by the cap.
 */
export function retryDelay(kind: 'auth' | 'other', attempt: number, policy: BackoffPolicy, retryAfterSec?: number): number {
  const base = kind === 'auth' ? policy.authFailedInitialMs : policy.initialMs;
  const cap = kind === 'auth' ? policy.authFailedMaxMs : policy.maxMs;
  const n = Math.max(1, Math.floor(attempt));
  const doubled = base * 2 ** Math.min(n - 1, 30);
  let delay = Math.min(cap, doubled);
  if (retryAfterSec !== undefined && Number.isFinite(retryAfterSec) && retryAfterSec > 0) {
    delay = Math.min(cap, Math.max(delay, retryAfterSec * 1000));
  }
  return delay;
}
