/**
 * Checking a template's input. A problem is a DesklineError 'SLIP_INVALID_INPUT' saying which slip, which field
 * (a path like items[2].qty), what is wrong with it and what to do; `details` holds {template, path, problem}.
 * Text fields come back as one plain line cut to the length the slip prints (see markup.ts).
 */
import { DesklineError } from '../../core/errors.js';
import { plainLine, truncate } from './markup.js';
import { currencyFractionDigits } from './format.js';
import type { SlipTemplateName } from './types.js';

const SLIP_NAMES: Record<SlipTemplateName, string> = {
  order: 'order slip',
  'customer-card': 'customer card',
  'call-list': 'call-list slip',
  'day-summary': 'end-of-day summary',
};

/** Largest money amount accepted (minor units): safe integers, and far beyond any shop's day. */
export const MAX_MONEY = 1e13;

export class InputCheck {
  constructor(readonly template: SlipTemplateName) {}

  fail(path: string, problem: string, todo: string): never {
    throw new DesklineError('SLIP_INVALID_INPUT', `${SLIP_NAMES[this.template]}: ${path} ${problem}; ${todo}`, {
      details: { template: this.template, path, problem },
    });
  }

  object(value: unknown, path: string): Record<string, unknown> {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) this.fail(path, `is ${describe(value)}, not an object`, 'pass an object');
    return value as Record<string, unknown>;
  }

  optionalObject(value: unknown, path: string): Record<string, unknown> | null {
    return value === undefined || value === null ? null : this.object(value, path);
  }

  list(value: unknown, path: string, limits: { min?: number; max: number }): unknown[] {
    if (value === undefined || value === null) {
      if ((limits.min ?? 0) === 0) return [];
      this.fail(path, 'is missing', `give at least ${limits.min} entr${limits.min === 1 ? 'y' : 'ies'}`);
    }
    if (!Array.isArray(value)) this.fail(path, `is ${describe(value)}, not a list`, 'pass an array');
    if (value.length < (limits.min ?? 0)) this.fail(path, 'is empty', `give at least ${limits.min} entr${limits.min === 1 ? 'y' : 'ies'}`);
    if (value.length > limits.max) this.fail(path, `has ${value.length} entries`, `print at most ${limits.max} (split it into several slips)`);
    return value;
  }

  /** Required text: a non-empty string (after white space is tidied), cut to `max` characters for printing. */
  text(value: unknown, path: string, max: number): string {
    const text = this.optionalText(value, path, max);
    if (text === null) this.fail(path, value === undefined || value === null ? 'is missing' : 'is empty', 'give a non-empty text');
    return text;
  }

  /** Optional text: null when absent or empty. */
  optionalText(value: unknown, path: string, max: number): string | null {
    if (value === undefined || value === null) return null;
    if (typeof value !== 'string') this.fail(path, `is ${describe(value)}, not a text`, 'pass a string');
    const line = plainLine(value);
    return line === '' ? null : truncate(line, max);
  }

  /** An identifier printed as it is: never cut (a cut order number is a wrong order number). */
  id(value: unknown, path: string, max: number): string {
    const text = this.text(value, path, Number.MAX_SAFE_INTEGER);
    if (Array.from(text).length > max) this.fail(path, `is ${Array.from(text).length} characters long`, `use at most ${max}`);
    return text;
  }

  integer(value: unknown, path: string, min: number, max: number, what = 'a whole number'): number {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      this.fail(path, `is ${describe(value)}`, `it must be ${what} from ${min} to ${max}`);
    }
    return value;
  }

  /** Money: an integer in minor units (12800 = 128.00 CNY), never a float. */
  money(value: unknown, path: string, allowNegative = false): number {
    return this.integer(value, path, allowNegative ? -MAX_MONEY : 0, MAX_MONEY, 'an integer in minor units (12800 for 128.00)');
  }

  currency(value: unknown, path: string): string {
    if (typeof value !== 'string' || !/^[A-Z]{3}$/.test(value)) this.fail(path, `is ${describe(value)}`, "give an ISO 4217 code such as 'CNY' or 'KRW'");
    if (!knownCurrencies().has(value)) this.fail(path, `is ${describe(value)}, which is not a known currency`, "give an ISO 4217 code such as 'CNY' or 'KRW'");
    currencyFractionDigits(value);
    return value;
  }

  /** Wall time in ms, or null when it is not trusted. */
  time(value: unknown, path: string): number | null {
    if (value === null) return null;
    return this.integer(value, path, 0, 8.64e15, 'ms since the epoch (or null when the clock is not trusted)');
  }

  date(value: unknown, path: string): string {
    if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(value) || Number.isNaN(Date.parse(`${value}T00:00:00Z`))) {
      this.fail(path, `is ${describe(value)}`, 'give a calendar date as YYYY-MM-DD');
    }
    return value;
  }

  /** An http(s) link without white space, at most `max` characters (it is printed as a QR code). */
  url(value: unknown, path: string, max: number): string {
    if (typeof value !== 'string') this.fail(path, `is ${describe(value)}, not a link`, 'give an http:// or https:// link');
    let ok = false;
    try {
      const url = new URL(value);
      // eslint-disable-next-line no-control-regex
      ok = (url.protocol === 'https:' || url.protocol === 'http:') && !/[\s\u0000-\u001f\u007f]/.test(value);
    } catch {
      ok = false;
    }
    if (!ok) this.fail(path, `is ${describe(value)}`, 'give an http:// or https:// link without spaces');
    if (value.length > max) this.fail(path, `is ${value.length} characters long`, `a QR code on the slip holds at most ${max}; use a shorter link`);
    return value;
  }
}

let currencies: Set<string> | undefined;
/** ISO 4217 codes ICU knows (any three letters would otherwise pass as a currency). */
function knownCurrencies(): Set<string> {
  return (currencies ??= new Set(Intl.supportedValuesOf('currency')));
}

export function describe(value: unknown): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  if (typeof value === 'object') return 'an object';
  return String(value);
}
