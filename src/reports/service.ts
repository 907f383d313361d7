/**
 * Reports: the end-of-day summary slip (day-summary.ts), on request (`reports.daySummary`, `deskline summary`) and
 * printed by itself at closing time (config `printing.daySummaryAt`, local time in `printing.timeZone`).
 *
 * Closing-time printing:
 *  - it waits for trusted wall time (the board has no battery-backed clock): before NTP nothing is printed;
 *  - the clock is looked at every minute (and exactly at closing time when that is nearer), so a wall clock that
 *    is set or jumps is followed within a minute: a jump forward past closing time prints, a jump back after the
 *    day's slip was printed does not print it again;
 *  - the day printed last is kept in <data>/reports/day-summary.json (written atomically), so the slip comes out
 *    once per business day across restarts; the slip is queued first and the day recorded after, so a crash in
 *    between prints it twice rather than not at all;
 *  - only today's summary is ever printed by itself: a device started after closing time prints it late the same
 *    day, but one that was off (or had no trusted time) for the rest of the day never prints that day's summary
 *    the next day (a stale slip on the next morning's printer is more confusing than useful; `deskline summary
 *    --date ... --print` prints any day on request).
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../config/schema.js';
import type { ControlRegistry } from '../control/protocol.js';
import type { EventBus } from '../core/bus.js';
import type { Clock, TimerHandle } from '../core/clock.js';
import { DesklineError, errorMessage } from '../core/errors.js';
import type { BusEvents } from '../core/events.js';
import type { Logger } from '../core/log.js';
import type { Service } from '../core/services.js';
import { shopOf } from '../orders/shop.js';
import type { DaySummaryInput } from '../printing/templates/types.js';
import { readJson, writeFileAtomic } from '../store/durable-file.js';
import { TIME_PATTERN, ZoneClock, isCalendarDate, systemTimeZone } from './business-day.js';
import { gatherDay, type HistorySource } from './day-summary.js';

export interface ReportsServiceContext {
  bus: EventBus<BusEvents>;
  clock: Clock;
  log: Logger;
  config: () => Config;
  control: ControlRegistry;
  /** the history the summary is gathered from (the history service's repository) */
  history: () => HistorySource;
  /** the print queue */
  printing: { print(request: { template: 'day-summary'; input: DaySummaryInput; by: string; copies?: number }): Promise<{ jobIds: string[] }> };
  /** the data directory: the day printed last is kept in <dataDir>/reports/day-summary.json */
  dataDir: string;
}

export interface DaySummaryResult {
  summary: DaySummaryInput;
  /** the print jobs queued (empty unless printing was asked for) */
  jobIds: string[];
}

/** How often the closing-time printer looks at the clock. */
export const CHECK_MS = 60_000;
/** Tries to print the closing-time summary per day (a failure is logged and tried again a minute later). */
export const MAX_ATTEMPTS = 3;
export const MAX_COPIES = 5;
const PARAMS = ['date', 'print', 'copies'];

interface PrintedState {
  /** the business day (YYYY-MM-DD) whose summary was printed last at closing time */
  lastPrinted: string;
  jobIds: string[];
  at: number;
}

const isPrintedState = (value: unknown): value is PrintedState => {
  const v = value as Partial<PrintedState> | null;
  return typeof v === 'object' && v !== null && typeof v.lastPrinted === 'string' && isCalendarDate(v.lastPrinted);
};

const bad = (message: string) => new DesklineError('REPORTS_BAD_PARAMS', message);

export class ReportsService implements Service {
  #timer: TimerHandle | null = null;
  #stopped = true;
  #lastPrinted: string | null = null;
  /** failed closing-time prints of one day */
  #failures = { date: '', count: 0 };
  #printing: Promise<void> | null = null;
  #zoneWarned = '';
  readonly #off: Array<() => void> = [];

  constructor(private readonly ctx: ReportsServiceContext) {}

  get #statePath(): string {
    return join(this.ctx.dataDir, 'reports', 'day-summary.json');
  }

  async start(): Promise<void> {
    const { control, clock } = this.ctx;
    this.#stopped = false;
    this.#lastPrinted = await this.#readState();
    this.#off.push(
      control.register('reports', 'reports.daySummary', (params) => this.daySummary(params)),
      clock.onWallTimeTrusted(() => this.#tick()),
    );
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.ctx.clock.clear(this.#timer);
    this.#timer = null;
    for (const off of this.#off.splice(0)) off();
    await this.#printing;
  }

  /** Resolves when a closing-time print under way (gathering, queueing, recording the day) is done. */
  async settled(): Promise<void> {
    await this.#printing;
  }

  /** The day printed last at closing time (null: none yet). */
  get lastPrinted(): string | null {
    return this.#lastPrinted;
  }

  /** `reports.daySummary {date?, print?, copies?}`: a day's summary (default today), queued on the printer on request. */
  async daySummary(params: unknown): Promise<DaySummaryResult> {
    const p = parseParams(params);
    const { clock } = this.ctx;
    const zone = this.#zone();
    const today = clock.wallTimeTrusted ? zone.dateOf(clock.now()) : null;
    if (p.date === undefined && today === null) throw new DesklineError('REPORTS_NO_TIME', 'today is not known yet (the clock is not synchronised): give the date');
    if (p.date !== undefined && today !== null && p.date > today) throw bad(`date ${p.date} is after today (${today})`);
    const summary = await this.#gather(p.date ?? today!, zone);
    const jobIds = p.print ? (await this.ctx.printing.print({ template: 'day-summary', input: summary, by: 'cli', copies: p.copies })).jobIds : [];
    return { summary, jobIds };
  }

  #zone(): ZoneClock {
    return new ZoneClock(this.ctx.config().printing.timeZone || systemTimeZone());
  }

  async #gather(date: string, zone: ZoneClock): Promise<DaySummaryInput> {
    const { clock, log } = this.ctx;
    const config = this.ctx.config();
    const { summary, otherCurrencies } = await gatherDay(this.ctx.history(), {
      date, timeZone: zone.timeZone, currency: config.orders.currency, shop: shopOf(config), now: clock.wallTimeTrusted ? clock.now() : null,
    });
    if (Object.keys(otherCurrencies).length > 0) {
      log.warn({ date, currency: config.orders.currency, otherCurrencies }, `orders in other currencies than ${config.orders.currency} are not in the day summary of ${date}`);
    }
    return summary;
  }

  /** Prints the closing-time summary when it is due, then looks again in a minute (or at closing time). */
  #tick(): void {
    const { clock } = this.ctx;
    clock.clear(this.#timer);
    this.#timer = null;
    if (this.#stopped || this.#printing) return;
    let wait = CHECK_MS;
    try {
      const due = this.#due();
      if (due.date) {
        this.#printing = this.#printClosing(due.date).finally(() => {
          this.#printing = null;
          if (!this.#stopped) this.#timer = clock.setTimeout(() => this.#tick(), CHECK_MS);
        });
        return;
      }
      wait = Math.min(CHECK_MS, Math.max(1, due.inMs));
    } catch (error) {
      this.ctx.log.error({ err: errorMessage(error) }, 'closing-time summary not checked');
    }
    if (!this.#stopped) this.#timer = clock.setTimeout(() => this.#tick(), wait);
  }

  /** Today's date when its summary is to be printed now; else how long until closing time (Infinity: not today). */
  #due(): { date: string | null; inMs: number } {
    const { clock, config, log } = this.ctx;
    const at = config().printing.daySummaryAt;
    if (!at || !clock.wallTimeTrusted) return { date: null, inMs: Infinity };
    if (!TIME_PATTERN.test(at)) return { date: null, inMs: Infinity }; // the schema says so; a config from elsewhere may not
    let zone: ZoneClock;
    try {
      zone = this.#zone();
    } catch (error) {
      if (this.#zoneWarned !== errorMessage(error)) log.warn({ err: errorMessage(error) }, 'no closing-time summary: the time zone is not known');
      this.#zoneWarned = errorMessage(error);
      return { date: null, inMs: Infinity };
    }
    const now = clock.now();
    const today = zone.dateOf(now);
    // printed already (or, after the clock was set back a day, a later day was)
    if (this.#lastPrinted !== null && this.#lastPrinted >= today) return { date: null, inMs: Infinity };
    if (this.#failures.date === today && this.#failures.count >= MAX_ATTEMPTS) return { date: null, inMs: Infinity };
    const closing = zone.instantOf(today, at);
    return now >= closing ? { date: today, inMs: 0 } : { date: null, inMs: closing - now };
  }

  async #printClosing(date: string): Promise<void> {
    const { log } = this.ctx;
    let jobIds: string[];
    try {
      const summary = await this.#gather(date, this.#zone());
      ({ jobIds } = await this.ctx.printing.print({ template: 'day-summary', input: summary, by: 'reports' }));
    } catch (error) {
      this.#failures = { date, count: this.#failures.date === date ? this.#failures.count + 1 : 1 };
      log.error({ date, err: errorMessage(error), attempt: this.#failures.count }, `day summary of ${date} not printed: ${errorMessage(error)}`);
      return;
    }
    this.#lastPrinted = date;
    log.info({ date, jobIds }, `day summary of ${date} queued for printing`);
    try {
      await mkdir(join(this.ctx.dataDir, 'reports'), { recursive: true, mode: 0o700 });
      const state: PrintedState = { lastPrinted: date, jobIds, at: this.ctx.clock.now() };
      await writeFileAtomic(this.#statePath, `${JSON.stringify(state)}\n`);
    } catch (error) {
      log.error({ date, err: errorMessage(error) }, `the printed day summary was not recorded: after a restart today it may print again (${errorMessage(error)})`);
    }
  }

  async #readState(): Promise<string | null> {
    const read = await readJson(this.#statePath, { is: isPrintedState, shape: 'a day summary state {lastPrinted: YYYY-MM-DD}' }).catch((error: unknown) => {
      this.ctx.log.warn({ err: errorMessage(error) }, 'day summary state not read');
      return null;
    });
    if (read?.kind === 'damaged') this.ctx.log.warn({ file: this.#statePath, problem: read.problem }, 'day summary state damaged: today\'s summary may print again');
    return read?.kind === 'ok' ? read.data.lastPrinted : null;
  }
}

function parseParams(params: unknown): { date?: string; print: boolean; copies: number } {
  if (params === undefined || params === null) return { print: false, copies: 1 };
  if (typeof params !== 'object' || Array.isArray(params)) throw bad('params must be an object {date?, print?, copies?}');
  const p = params as Record<string, unknown>;
  const unknown = Object.keys(p).find((key) => !PARAMS.includes(key));
  if (unknown !== undefined) throw bad(`unknown param '${unknown.slice(0, 40)}': the params are date, print and copies`);
  if (p.date !== undefined && (typeof p.date !== 'string' || !isCalendarDate(p.date))) {
    throw bad(`date must be a calendar date YYYY-MM-DD, not ${JSON.stringify(p.date).slice(0, 40)}`);
  }
  if (p.print !== undefined && typeof p.print !== 'boolean') throw bad(`print must be true or false, not ${JSON.stringify(p.print).slice(0, 40)}`);
  if (p.copies !== undefined) {
    if (typeof p.copies !== 'number' || !Number.isInteger(p.copies) || p.copies < 1 || p.copies > MAX_COPIES) {
      throw bad(`copies must be a whole number from 1 to ${MAX_COPIES}, not ${JSON.stringify(p.copies).slice(0, 40)}`);
    }
    if (p.print !== true) throw bad('copies needs print: true');
  }
  return { date: p.date as string | undefined, print: p.print === true, copies: (p.copies as number | undefined) ?? 1 };
}
