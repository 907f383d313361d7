/**
 * Typed keys -> scans, with the rules both scanner drivers (hidraw and sim) apply: a scan is the
 * characters typed before a terminator, at most MAX_SCAN_LENGTH of them, all printable ASCII;
 * anything else is rejected whole, never passed on in part.
 */
import type { KeyAction } from './keyboard.js';
import { MAX_SCAN_LENGTH, type BarcodeScannerEvents } from './types.js';

export type ScanRejectReason = BarcodeScannerEvents['scanRejected']['reason'];

export type ScanOutcome = { type: 'scanned'; code: string } | { type: 'rejected'; reason: ScanRejectReason; length: number };

/** Printable ASCII: space (0x20) to tilde (0x7E). */
const isPrintable = (char: string): boolean => {
  const c = char.charCodeAt(0);
  return char.length === 1 && c >= 0x20 && c <= 0x7e;
};

/**
 * The outcomes of a scanner typing `text` and then Enter, as the sim driver reports them: each
 * character is a key through the same `ScanAssembler` the hidraw driver feeds with typed keys (CR
 * and Tab are the Enter and Tab keys that end a code; other characters outside printable ASCII are
 * keys that type nothing), so the rules are the same by construction: no outcome for an empty code,
 * 'too-long' before 'unprintable', and keys that type nothing before a code's first character are
 * ignored.
 */
export function scansOf(text: string): ScanOutcome[] {
  const assembler = new ScanAssembler();
  const outcomes: ScanOutcome[] = [];
  const push = (action: KeyAction): void => {
    const outcome = assembler.push(action);
    if (outcome) outcomes.push(outcome);
  };
  for (const char of text) {
    if (char === '\r' || char === '\t') push({ kind: 'end', key: char === '\r' ? 'enter' : 'tab' });
    else push(isPrintable(char) ? { kind: 'char', char } : { kind: 'other', usage: 0 });
  }
  push({ kind: 'end', key: 'enter' });
  return outcomes;
}

/**
 * Assembles one device's key presses into scans. Characters are counted but never more than
 * MAX_SCAN_LENGTH of them kept. A key that types no printable character rejects the scan in
 * progress as 'unprintable' (and counts in its length); before a scan starts such keys are ignored.
 * The caller runs the inter-key timeout and calls `timeout()` when it expires.
 */
export class ScanAssembler {
  #chars: string[] = [];
  #length = 0;
  #unprintable = false;

  /** True while a code has started and not ended. */
  get inProgress(): boolean {
    return this.#length > 0;
  }

  /** Feed one key press; returns the outcome when the key ends a scan, else null. */
  push(action: KeyAction): ScanOutcome | null {
    switch (action.kind) {
      case 'char':
        if (this.#length < MAX_SCAN_LENGTH) this.#chars.push(action.char);
        this.#length++;
        return null;
      case 'other':
        if (this.#length > 0) {
          this.#unprintable = true;
          this.#length++;
        }
        return null;
      case 'end': {
        if (this.#length === 0) return null; // a bare Enter or Tab
        const outcome: ScanOutcome =
          this.#length > MAX_SCAN_LENGTH
            ? { type: 'rejected', reason: 'too-long', length: this.#length }
            : this.#unprintable
              ? { type: 'rejected', reason: 'unprintable', length: this.#length }
              : { type: 'scanned', code: this.#chars.join('') };
        this.reset();
        return outcome;
      }
    }
  }

  /** The inter-key timeout expired: a scan in progress is dropped as 'unterminated'. */
  timeout(): ScanOutcome | null {
    if (this.#length === 0) return null;
    const outcome: ScanOutcome = { type: 'rejected', reason: 'unterminated', length: this.#length };
    this.reset();
    return outcome;
  }

  reset(): void {
    this.#chars = [];
    this.#length = 0;
    this.#unprintable = false;
  }
}
