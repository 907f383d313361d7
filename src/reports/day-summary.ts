/**
 * The end-of-day summary, gathered from the history: the day's calls, orders, money taken, best sellers and SMS,
 * as the `day-summary` slip template takes them (DaySummaryInput).
 *
 * Which records are in the day: those whose trusted wall time (`at`) falls in [local 00:00, next local 00:00) of
 * the time zone (business-day.ts). Records filed while the clock was not trusted (`at: null`) are in no day.
 *
 * Reading is bounded: the history is walked from the newest record backwards and the walk stops at the first record
 * older than the day by more than CLOCK_SLACK_MS. That relies on records being appended in time order, which holds
 * for what files them: a call's record is appended on the call's first event with that event's time, an order's
 * with the time it is placed. Two things bend it, and the walk allows for both:
 *  - `at: null` records (filed before NTP synchronised, e.g. right after a boot) sit anywhere: they are skipped and
 *    never end the walk (the records before them may still be in the day);
 *  - the wall clock may be stepped back while it is trusted (an NTP correction, a manual set), so a record can be a
 *    little older than the one filed before it: the walk goes on CLOCK_SLACK_MS past the day's start.
 * Records in the newest segments are judged by their in-memory entry (time and kind) and read whole only when they
 * count; older ones are read from disk a segment at a time (the store caches the segment).
 */
import type { HistoryRepository } from '../history/repository.js';
import type { CallRecord, SmsRecord, TimelineRecord } from '../history/types.js';
import type { StoredOrder } from '../orders/types.js';
import type { DaySummaryInput, SlipShop } from '../printing/templates/types.js';
import { DesklineError } from '../core/errors.js';
import { ZoneClock, isCalendarDate } from './business-day.js';

/** How far before the day's start the walk goes on, for records filed after the clock was stepped back. */
export const CLOCK_SLACK_MS = 60 * 60_000;
/** Most best sellers on the slip (the template prints at most 20). */
export const MAX_TOP_ITEMS = 20;

/** What the summary reads of the history. */
export type HistorySource = Pick<HistoryRepository, 'size' | 'entry' | 'get'>;

export interface DaySummaryOptions {
  /** the business day, YYYY-MM-DD */
  date: string;
  /** IANA time zone of the business day */
  timeZone: string;
  /** ISO 4217: only orders in this currency are added up (see `gatherDay`) */
  currency: string;
  shop: SlipShop;
  /** when it is printed (ms), or null when the clock is not trusted */
  now: number | null;
  /** best sellers listed (0-20; default 5) */
  topItems?: number;
}

export interface GatheredDay {
  summary: DaySummaryInput;
  /** Orders of the day in other currencies, by currency: not in the summary's counts and totals (see gatherDay). */
  otherCurrencies: Record<string, { count: number; total: number }>;
  /** records read or judged by their entry (how far the walk went) */
  walked: number;
}

const isStoredOrder = (record: TimelineRecord): record is StoredOrder => {
  const order = record as Partial<StoredOrder>;
  return record.kind === 'order' && Array.isArray(order.items) && Number.isSafeInteger(order.total) && typeof order.currency === 'string';
};

/** The day's summary (see `gatherDay`). */
export async function gatherDaySummary(history: HistorySource, options: DaySummaryOptions): Promise<DaySummaryInput> {
  return (await gatherDay(history, options)).summary;
}

/**
 * The day's summary and what it left out.
 *
 * Calls: inbound and outbound; answered (either way, including a call still going on that was answered); missed
 * as the history says it (an inbound call that rang out unanswered; one the clerk rejected is not missed); missed
 * and not called back: a missed call after which, that same day, no call to or from its number key was answered
 * and no call was placed to it (a missed call without a number can never be called back, so it counts).
 * Orders: those in `currency` are counted and totalled, and make the best sellers (by quantity, then amount, then
 * name). An order in another currency (the shop's currency was changed during the day) cannot be added to these
 * totals: it is left out of the summary and reported in `otherCurrencies`. Order records without lines (not
 * filed by the orders service) are left out too.
 * SMS: sent and failed outbound messages; null when the day has no SMS record at all.
 */
export async function gatherDay(history: HistorySource, options: DaySummaryOptions): Promise<GatheredDay> {
  const { date, currency, now } = options;
  const topItems = options.topItems ?? 5;
  if (!isCalendarDate(date)) throw new DesklineError('REPORTS_BAD_PARAMS', `date must be a calendar date YYYY-MM-DD, not ${JSON.stringify(date)}`);
  if (!Number.isInteger(topItems) || topItems < 0 || topItems > MAX_TOP_ITEMS) {
    throw new DesklineError('REPORTS_BAD_PARAMS', `topItems must be a whole number from 0 to ${MAX_TOP_ITEMS}, not ${String(topItems)}`);
  }
  const { start, end } = new ZoneClock(options.timeZone).dayBounds(date);
  const inDay = (at: number | null): at is number => at !== null && at >= start && at < end;
  const pastDay = (at: number | null) => at !== null && at < start - CLOCK_SLACK_MS;

  // newest first
  const records: TimelineRecord[] = [];
  let walked = 0;
  for (let n = history.size; n >= 1; n--) {
    const id = String(n);
    walked += 1;
    const entry = history.entry(id);
    if (entry) {
      if (pastDay(entry.at)) break;
      if (!inDay(entry.at) || entry.kind === 'call-list') continue;
    }
    const record = await history.get(id);
    if (!record) continue; // a number lost to a crash
    if (pastDay(record.at)) break;
    if (inDay(record.at)) records.push(record);
  }
  records.reverse();

  const calls = { inbound: 0, outbound: 0, answered: 0, missed: 0, missedNotCalledBack: 0 };
  const orders = { count: 0, total: 0 };
  const otherCurrencies: GatheredDay['otherCurrencies'] = {};
  const items = new Map<string, { name: string; qty: number; total: number }>();
  let sms: { sent: number; failed: number } | null = null;
  const missed: CallRecord[] = [];
  /** number key -> seq of the last call that reached or was placed to it */
  const reached = new Map<string, number>();

  for (const record of records) {
    if (record.kind === 'call') {
      if (record.direction === 'inbound') calls.inbound += 1;
      else calls.outbound += 1;
      const answered = record.result === 'answered' || (record.result === null && record.answeredAfterMs !== null);
      if (answered) calls.answered += 1;
      if (record.direction === 'inbound' && record.result === 'missed') {
        calls.missed += 1;
        missed.push(record);
      }
      if (record.numberKey && (answered || record.direction === 'outbound')) reached.set(record.numberKey, record.seq);
    } else if (record.kind === 'order') {
      if (!isStoredOrder(record)) continue;
      if (record.currency !== currency) {
        const other = (otherCurrencies[record.currency] ??= { count: 0, total: 0 });
        other.count += 1;
        other.total += record.total;
        continue;
      }
      orders.count += 1;
      orders.total += record.total;
      for (const line of record.items) {
        const item = items.get(line.name) ?? { name: line.name, qty: 0, total: 0 };
        item.qty += line.qty;
        item.total += line.amount;
        items.set(line.name, item);
      }
    } else if (record.kind === 'sms') {
      sms ??= { sent: 0, failed: 0 };
      countSms(sms, record);
    }
  }
  calls.missedNotCalledBack = missed.filter((call) => !(call.numberKey && (reached.get(call.numberKey) ?? 0) > call.seq)).length;

  const best = [...items.values()]
    .sort((a, b) => b.qty - a.qty || b.total - a.total || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .slice(0, topItems);
  return {
    summary: { shop: options.shop, date, at: now, currency, calls, orders, sms, callList: null, topItems: best },
    otherCurrencies,
    walked,
  };
}

function countSms(sms: { sent: number; failed: number }, record: SmsRecord): void {
  if (record.direction !== 'outbound') return;
  if (record.status === 'sent') sms.sent += 1;
  else if (record.status === 'failed') sms.failed += 1;
}
