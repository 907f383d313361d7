/**
 * Calendar days and wall-clock times in an IANA time zone, found with Intl (no time zone data of our own).
 *
 * A business day is [00:00, next day's 00:00) of local time. Its length is not always 24 h: on a DST switch day it
 * is 23 or 25 h, and in the few zones that switch at midnight (America/Santiago, America/Havana, ...) 00:00 itself
 * may not exist: the day then begins at the switch. So bounds are never computed as "midnight UTC - offset" with one
 * offset, but by asking Intl which offset is in force at the candidate instants (see `instantOf`).
 */
import { DesklineError } from '../core/errors.js';

export const DATE_PATTERN = /^\d{4}-\d{2}-\d{2}$/;
export const TIME_PATTERN = /^([01]\d|2[0-3]):[0-5]\d$/;

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** The local calendar and clock of one time zone. */
export class ZoneClock {
  readonly #format: Intl.DateTimeFormat;

  /** @throws DesklineError REPORTS_BAD_TIME_ZONE when the runtime does not know the zone */
  constructor(readonly timeZone: string) {
    try {
      this.#format = new Intl.DateTimeFormat('en-US', {
        timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
      });
    } catch (error) {
      throw new DesklineError('REPORTS_BAD_TIME_ZONE', `unknown time zone '${timeZone.slice(0, 64)}': give an IANA name such as Asia/Shanghai (printing.timeZone)`, { cause: error });
    }
  }

  /** Local wall time at an instant, as the ms since the epoch the same wall time has in UTC. */
  #wall(at: number): number {
    const parts: Record<string, number> = {};
    for (const part of this.#format.formatToParts(at)) if (part.type !== 'literal') parts[part.type] = Number(part.value);
    return Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute, parts.second);
  }

  /** The zone's offset from UTC at an instant (ms; +8 h in Shanghai). Offsets are whole seconds. */
  offset(at: number): number {
    const second = Math.floor(at / 1000) * 1000;
    return this.#wall(second) - second;
  }

  /** The local calendar date (YYYY-MM-DD) at an instant. */
  dateOf(at: number): string {
    return new Date(this.#wall(at)).toISOString().slice(0, 10);
  }

  /**
   * The first instant at which local time reads `date` `time` (HH:MM): the earlier of the two when the clocks
   * fall back over it, and the switch itself when they spring forward over it (02:30 on a day that goes from
   * 02:00 to 03:00 is reached at 03:00).
   */
  instantOf(date: string, time = '00:00'): number {
    const wall = Date.parse(`${date}T${time}:00Z`);
    // at most one switch is near (they are months apart): the offsets a day either side are the two candidates
    const offsets = [...new Set([this.offset(wall - DAY), this.offset(wall + DAY)])];
    const candidates = offsets.map((offset) => wall - offset).filter((at) => this.#wall(at) === wall);
    if (candidates.length > 0) return Math.min(...candidates);
    // a gap: the local time never reads `time` that day; the switch is between the two candidates
    const [before, after] = offsets;
    if (after === undefined) return wall - before;
    let lo = wall - after; // still on the old offset
    let hi = wall - before; // already on the new one
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (this.offset(mid) === before) lo = mid;
      else hi = mid;
    }
    return hi;
  }

  /** The business day `date`: [its local 00:00, the next day's local 00:00). */
  dayBounds(date: string): { start: number; end: number } {
    return { start: this.instantOf(date), end: this.instantOf(addDays(date, 1)) };
  }
}

/** True for a real calendar date written YYYY-MM-DD. */
export function isCalendarDate(value: string): boolean {
  if (!DATE_PATTERN.test(value)) return false;
  const at = Date.parse(`${value}T00:00:00Z`);
  return !Number.isNaN(at) && new Date(at).toISOString().slice(0, 10) === value;
}

export function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY).toISOString().slice(0, 10);
}

/** The system's time zone (TZ, /etc/localtime), as Intl sees it. */
export function systemTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}
