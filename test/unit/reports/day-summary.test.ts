import { describe, expect, it } from '@jest/globals';
import type { CallDirection } from '../../../src/core/events.js';
import { HistoryRepository, type NewRecord } from '../../../src/history/repository.js';
import type { CallResult } from '../../../src/history/types.js';
import type { OrderLine, StoredOrder } from '../../../src/orders/types.js';
import { ZoneClock, addDays, isCalendarDate } from '../../../src/reports/business-day.js';
import { CLOCK_SLACK_MS, gatherDay, gatherDaySummary, type DaySummaryOptions } from '../../../src/reports/day-summary.js';
import { fileStoresForTests } from '../../support/file-store.js';

const fileStores = fileStoresForTests();

async function openHistory(): Promise<HistoryRepository> {
  return HistoryRepository.open(fileStores.open(await fileStores.tempDir()));
}

const H = 3_600_000;
const SHANGHAI = 'Asia/Shanghai';
const NEW_YORK = 'America/New_York';
/** An instant by its wall time in Shanghai (UTC+8, no DST). */
const sh = (date: string, time: string) => Date.parse(`${date}T${time}+08:00`);
const SHOP = { name: 'Wang Noodle House', phone: '021 5555 0100', address: null };

let callN = 0;
function call(at: number | null, number: string | null, direction: CallDirection, result: CallResult | null, answered = result === 'answered'): NewRecord {
  callN += 1;
  return {
    kind: 'call', callId: `call-${callN}`, lineId: 'sim', lineKind: 'sim', direction, at, number, numberKey: number,
    contactId: null, answeredAfterMs: answered ? 4000 : null, durationMs: result === null ? null : answered ? 60_000 : 0, result,
    endedAt: result === null || at === null ? null : at + 60_000, disposition: null, note: null, recordingId: null, handled: false,
  };
}

let orderN = 0;
function order(at: number | null, lines: Array<[name: string, qty: number, unitPrice: number]>, currency = 'CNY'): NewRecord {
  orderN += 1;
  const items: OrderLine[] = lines.map(([name, qty, unitPrice], i) => ({ code: String(i + 1), name, qty, unitPrice, amount: qty * unitPrice }));
  const total = items.reduce((sum, line) => sum + line.amount, 0);
  const record: Omit<StoredOrder, 'id' | 'seq'> = {
    kind: 'order', orderId: `order-${orderN}`, summary: `${items.length} lines`, at, number: '+8613800138000', numberKey: '+8613800138000',
    contactId: null, items, total, currency, note: null, callId: null,
  };
  return record;
}

function sms(at: number | null, status: 'sent' | 'failed' | 'queued' | 'received'): NewRecord {
  return { kind: 'sms', at, number: '+8613800138000', numberKey: '+8613800138000', contactId: null, direction: status === 'received' ? 'inbound' : 'outbound', text: 'Our address: 1 Main St', status };
}

/** Appends the records in the order given (the history's order) and waits until they are on disk. */
async function file(history: HistoryRepository, records: NewRecord[]): Promise<void> {
  await Promise.all(records.map((record) => history.append(record).written));
}

const options = (date: string, timeZone = SHANGHAI, more: Partial<DaySummaryOptions> = {}): DaySummaryOptions => ({
  date, timeZone, currency: 'CNY', shop: SHOP, now: sh('2026-11-24', '21:00'), ...more,
});

describe('business days in a time zone', () => {
  it('finds local midnight with Intl, also on DST switch days (23 h and 25 h days) and where midnight is skipped', () => {
    const shanghai = new ZoneClock(SHANGHAI).dayBounds('2026-11-24');
    expect(shanghai).toEqual({ start: Date.parse('2026-11-23T16:00:00Z'), end: Date.parse('2026-11-24T16:00:00Z') });
    const ny = new ZoneClock(NEW_YORK);
    const spring = ny.dayBounds('2026-03-08');
    expect(spring).toEqual({ start: Date.parse('2026-03-08T05:00:00Z'), end: Date.parse('2026-03-09T04:00:00Z') });
    expect((spring.end - spring.start) / H).toBe(23);
    const fall = ny.dayBounds('2026-11-01');
    expect((fall.end - fall.start) / H).toBe(25);
    // 02:30 does not exist on the spring day: it is reached at the switch (03:00 EDT); 01:30 happens twice in the fall: the first one
    expect(ny.instantOf('2026-03-08', '02:30')).toBe(Date.parse('2026-03-08T07:00:00Z'));
    expect(ny.instantOf('2026-11-01', '01:30')).toBe(Date.parse('2026-11-01T05:30:00Z'));
    // Havana springs forward at midnight: the day begins at 01:00 CDT
    expect(new ZoneClock('America/Havana').dayBounds('2026-03-08').start).toBe(Date.parse('2026-03-08T05:00:00Z'));
    expect(ny.dateOf(Date.parse('2026-03-09T03:59:59.999Z'))).toBe('2026-03-08');
    expect(ny.dateOf(Date.parse('2026-03-09T04:00:00Z'))).toBe('2026-03-09');
    expect(() => new ZoneClock('Mars/Olympus')).toThrow(expect.objectContaining({ code: 'REPORTS_BAD_TIME_ZONE' }));
    expect([isCalendarDate('2026-02-28'), isCalendarDate('2026-02-29'), isCalendarDate('2026-2-1'), addDays('2026-12-31', 1)]).toEqual([true, false, false, '2027-01-01']);
  });
});

describe('gatherDaySummary', () => {
  it('counts the calls and orders of each of two days in Asia/Shanghai, by local midnight', async () => {
    const history = await openHistory();
    await file(history, [
      call(sh('2026-11-23', '09:00'), '+8613900000001', 'inbound', 'answered'),
      order(sh('2026-11-23', '09:05'), [['Noodles', 2, 1800]]),
      call(sh('2026-11-23', '23:59:59'), '+8613900000002', 'inbound', 'missed'),
      call(sh('2026-11-24', '00:00'), '+8613900000003', 'outbound', 'answered'),
      order(sh('2026-11-24', '00:00:30'), [['Soup', 1, 650], ['Noodles', 1, 1800]]),
      call(sh('2026-11-24', '12:00'), '+8613900000004', 'outbound', 'busy'),
      call(sh('2026-11-24', '12:30'), '+8613900000005', 'inbound', 'rejected'),
      order(sh('2026-11-24', '18:00'), [['Rice', 3, 300]]),
    ]);
    const day1 = await gatherDaySummary(history, options('2026-11-23'));
    expect(day1).toEqual({
      shop: SHOP, date: '2026-11-23', at: sh('2026-11-24', '21:00'), currency: 'CNY',
      calls: { inbound: 2, outbound: 0, answered: 1, missed: 1, missedNotCalledBack: 1 },
      orders: { count: 1, total: 3600 },
      sms: null, callList: null,
      topItems: [{ name: 'Noodles', qty: 2, total: 3600 }],
    });
    const day2 = await gatherDaySummary(history, options('2026-11-24'));
    // a rejected call is inbound but not missed (as the history's missed list has it)
    expect(day2.calls).toEqual({ inbound: 1, outbound: 2, answered: 1, missed: 0, missedNotCalledBack: 0 });
    expect(day2.orders).toEqual({ count: 2, total: 650 + 1800 + 900 });
    expect(day2.topItems).toEqual([{ name: 'Rice', qty: 3, total: 900 }, { name: 'Noodles', qty: 1, total: 1800 }, { name: 'Soup', qty: 1, total: 650 }]);
    const empty = await gatherDaySummary(history, options('2026-11-25'));
    expect(empty).toMatchObject({ calls: { inbound: 0, outbound: 0, answered: 0, missed: 0, missedNotCalledBack: 0 }, orders: { count: 0, total: 0 }, topItems: [] });
  });

  it('takes a 23-hour and a 25-hour day in America/New_York whole, and nothing of the next day', async () => {
    const history = await openHistory();
    await file(history, [
      call(Date.parse('2026-03-08T04:59:59Z'), '+12125550001', 'inbound', 'answered'), // 23:59:59 EST on the 7th
      call(Date.parse('2026-03-08T05:00:00Z'), '+12125550002', 'inbound', 'answered'), // 00:00 EST
      call(Date.parse('2026-03-08T07:30:00Z'), '+12125550003', 'inbound', 'missed'), // 03:30 EDT, just after the switch
      call(Date.parse('2026-03-09T03:30:00Z'), '+12125550004', 'outbound', 'answered'), // 23:30 EDT
      call(Date.parse('2026-03-09T04:10:00Z'), '+12125550005', 'inbound', 'answered'), // 00:10 EDT on the 9th (24 h after 00:00 would still be the 8th)
      call(Date.parse('2026-11-01T03:59:00Z'), '+12125550006', 'inbound', 'answered'), // 23:59 EDT on Oct 31
      call(Date.parse('2026-11-01T05:30:00Z'), '+12125550007', 'inbound', 'missed'), // 01:30 EDT
      call(Date.parse('2026-11-01T06:30:00Z'), '+12125550007', 'outbound', 'no-answer'), // 01:30 EST: the same wall time, an hour later
      call(Date.parse('2026-11-02T04:30:00Z'), '+12125550008', 'outbound', 'answered'), // 23:30 EST (24 h after 00:00 would be the 2nd)
      call(Date.parse('2026-11-02T05:00:00Z'), '+12125550009', 'inbound', 'answered'), // 00:00 EST on the 2nd
    ]);
    const spring = await gatherDaySummary(history, options('2026-03-08', NEW_YORK, { currency: 'USD' }));
    expect(spring.calls).toEqual({ inbound: 2, outbound: 1, answered: 2, missed: 1, missedNotCalledBack: 1 });
    const fall = await gatherDaySummary(history, options('2026-11-01', NEW_YORK, { currency: 'USD' }));
    expect(fall.calls).toEqual({ inbound: 1, outbound: 2, answered: 1, missed: 1, missedNotCalledBack: 0 });
    expect((await gatherDaySummary(history, options('2026-03-09', NEW_YORK))).calls.inbound).toBe(1);
    expect((await gatherDaySummary(history, options('2026-10-31', NEW_YORK))).calls.inbound).toBe(1);
  });

  it('counts a missed call as not called back unless a later call that day was answered or placed to its number', async () => {
    const history = await openHistory();
    const d = '2026-11-24';
    await file(history, [
      call(sh('2026-11-23', '18:00'), '+8613900000005', 'inbound', 'missed'), // yesterday's, called back today: not today's business
      call(sh(d, '08:00'), '+8613900000003', 'outbound', 'answered'), // C was called before it missed: no call back
      call(sh(d, '09:00'), '+8613900000005', 'outbound', 'answered'),
      call(sh(d, '10:00'), '+8613900000001', 'inbound', 'missed'), // A: called back (no answer, but placed)
      call(sh(d, '10:05'), '+8613900000002', 'inbound', 'missed'), // B: called again and answered
      call(sh(d, '10:10'), null, 'inbound', 'missed'), // no number: can never be called back
      call(sh(d, '11:00'), '+8613900000001', 'outbound', 'no-answer'),
      call(sh(d, '12:00'), '+8613900000002', 'inbound', 'answered'),
      call(sh(d, '13:00'), '+8613900000003', 'inbound', 'missed'), // C
      call(sh(d, '14:00'), '+8613900000004', 'inbound', 'missed'), // D twice, both unanswered
      call(sh(d, '14:30'), '+8613900000004', 'inbound', 'missed'),
      call(sh(d, '15:00'), '+8613900000006', 'inbound', 'missed'), // E: a call from E later that day, still going on and answered
      call(sh(d, '15:10'), '+8613900000006', 'inbound', null, true),
      call(sh(d, '23:00'), '+8613900000007', 'inbound', 'missed'), // F: called back only tomorrow
      call(sh('2026-11-25', '08:00'), '+8613900000007', 'outbound', 'answered'),
    ]);
    const summary = await gatherDaySummary(history, options(d));
    expect(summary.calls).toEqual({ inbound: 10, outbound: 3, answered: 4, missed: 8, missedNotCalledBack: 5 });
    expect((await gatherDaySummary(history, options('2026-11-23'))).calls.missedNotCalledBack).toBe(1);
  });

  it('adds up orders in the configured currency only; others are left out and reported apart', async () => {
    const history = await openHistory();
    const d = '2026-11-24';
    await file(history, [
      order(sh(d, '10:00'), [['Noodles', 2, 1800]]),
      order(sh(d, '11:00'), [['Burger', 9, 500]], 'USD'), // the shop's currency was changed for a while
      order(sh(d, '11:30'), [['Burger', 1, 500]], 'USD'),
      order(sh(d, '12:00'), [['Soup', 1, 650]]),
      // an order record without lines (not filed by the orders service): not an order the summary can count
      { kind: 'order', orderId: 'cloud-1', summary: 'from elsewhere', at: sh(d, '12:30'), number: null, numberKey: null, contactId: null },
    ]);
    const { summary, otherCurrencies } = await gatherDay(history, options(d));
    expect(summary.orders).toEqual({ count: 2, total: 4250 });
    expect(summary.topItems!.map((item) => item.name)).toEqual(['Noodles', 'Soup']);
    expect(otherCurrencies).toEqual({ USD: { count: 2, total: 5000 } });
    const inUsd = await gatherDay(history, options(d, SHANGHAI, { currency: 'USD' }));
    expect(inUsd.summary.orders).toEqual({ count: 2, total: 5000 });
    expect(inUsd.summary.topItems).toEqual([{ name: 'Burger', qty: 10, total: 5000 }]);
    expect(inUsd.otherCurrencies).toEqual({ CNY: { count: 2, total: 4250 } });
  });

  it('lists best sellers by quantity, then amount, then name, as many as asked', async () => {
    const history = await openHistory();
    const d = '2026-11-24';
    await file(history, [
      order(sh(d, '10:00'), [['Tea', 4, 100], ['Noodles', 2, 1800], ['Dumplings', 2, 900]]),
      order(sh(d, '11:00'), [['Soup', 4, 650], ['Buns', 2, 900], ['Rice', 1, 300]]),
      order(sh(d, '12:00'), [['Noodles', 1, 1800], ['Cola', 1, 300]]),
    ]);
    const top = await gatherDaySummary(history, options(d));
    // Soup and Tea 4 each: Soup took more; Noodles 3; Buns and Dumplings 2 each for 1800: by name
    expect(top.topItems).toEqual([
      { name: 'Soup', qty: 4, total: 2600 }, { name: 'Tea', qty: 4, total: 400 }, { name: 'Noodles', qty: 3, total: 5400 },
      { name: 'Buns', qty: 2, total: 1800 }, { name: 'Dumplings', qty: 2, total: 1800 },
    ]);
    expect((await gatherDaySummary(history, options(d, SHANGHAI, { topItems: 7 }))).topItems!.map((i) => i.name))
      .toEqual(['Soup', 'Tea', 'Noodles', 'Buns', 'Dumplings', 'Cola', 'Rice']);
    expect((await gatherDaySummary(history, options(d, SHANGHAI, { topItems: 0 }))).topItems).toEqual([]);
    await expect(gatherDaySummary(history, options(d, SHANGHAI, { topItems: 21 }))).rejects.toMatchObject({ code: 'REPORTS_BAD_PARAMS', message: expect.stringMatching(/topItems/) });
    await expect(gatherDaySummary(history, options('2026-02-30'))).rejects.toMatchObject({ code: 'REPORTS_BAD_PARAMS', message: expect.stringMatching(/date/) });
    await expect(gatherDaySummary(history, options(d, 'Nowhere/Town'))).rejects.toMatchObject({ code: 'REPORTS_BAD_TIME_ZONE' });
  });

  it('counts SMS when the day has any, else says null', async () => {
    const history = await openHistory();
    await file(history, [
      sms(sh('2026-11-23', '10:00'), 'sent'),
      call(sh('2026-11-24', '09:00'), '+8613900000001', 'inbound', 'answered'),
      sms(sh('2026-11-25', '10:00'), 'sent'), sms(sh('2026-11-25', '10:01'), 'sent'), sms(sh('2026-11-25', '10:02'), 'failed'),
      sms(sh('2026-11-25', '10:03'), 'queued'), sms(sh('2026-11-25', '10:04'), 'received'),
    ]);
    expect((await gatherDaySummary(history, options('2026-11-23'))).sms).toEqual({ sent: 1, failed: 0 });
    expect((await gatherDaySummary(history, options('2026-11-24'))).sms).toBeNull();
    expect((await gatherDaySummary(history, options('2026-11-25'))).sms).toEqual({ sent: 2, failed: 1 });
  });

  it('leaves records without a trusted time out of every day, and walks on past them', async () => {
    const history = await openHistory();
    const d = '2026-11-24';
    await file(history, [
      call(sh('2026-11-23', '20:00'), '+8613900000009', 'inbound', 'answered'),
      call(sh(d, '08:00'), '+8613900000001', 'inbound', 'missed'),
      order(sh(d, '08:30'), [['Noodles', 1, 1800]]),
      // a reboot: the clock is not trusted until NTP answers
      call(null, '+8613900000001', 'outbound', 'answered'),
      order(null, [['Soup', 5, 650]]),
      call(sh(d, '09:00'), '+8613900000002', 'inbound', 'answered'),
      call(null, '+8613900000003', 'inbound', 'missed'),
    ]);
    const summary = await gatherDaySummary(history, options(d));
    // the untimed call back is in no day: the missed call counts as not called back
    expect(summary.calls).toEqual({ inbound: 2, outbound: 0, answered: 1, missed: 1, missedNotCalledBack: 1 });
    expect(summary.orders).toEqual({ count: 1, total: 1800 });
    expect((await gatherDaySummary(history, options('2026-11-23'))).calls.inbound).toBe(1);
  });

  it('reads back only as far as the day (plus the clock slack), also when a clock step put a record out of order', async () => {
    const history = await openHistory();
    const d = '2026-11-24';
    const start = sh(d, '00:00');
    // 20 days of older history, 40 records a day: more than the segments kept in memory
    const old: NewRecord[] = [];
    for (let day = 20; day >= 1; day--) {
      for (let i = 0; i < 40; i++) old.push(call(start - day * 24 * H + i * 15 * 60_000, `+86139000${String(i).padStart(5, '0')}`, 'inbound', 'answered'));
    }
    await file(history, old);
    await file(history, [
      call(start - 2 * H, '+8613900000001', 'inbound', 'missed'), // the day before
      call(start + 20 * 60_000, '+8613900000001', 'inbound', 'missed'),
      call(start - 10 * 60_000, '+8613900000001', 'outbound', 'answered'), // the clock was stepped back half an hour
      call(start + 30 * 60_000, '+8613900000002', 'inbound', 'answered'),
      order(start + 40 * 60_000, [['Noodles', 1, 1800]]),
    ]);
    const reads: string[] = [];
    const counting = { get size() { return history.size; }, entry: (id: string) => history.entry(id), get: (id: string) => { reads.push(id); return history.get(id); } };
    const { summary, walked } = await gatherDay(counting, options(d));
    expect(summary.calls).toEqual({ inbound: 2, outbound: 0, answered: 1, missed: 1, missedNotCalledBack: 1 });
    expect(summary.orders.count).toBe(1);
    // the 5 newest records, and the first one more than the slack before the day ends the walk
    expect(CLOCK_SLACK_MS).toBeLessThan(2 * H);
    expect(walked).toBe(5);
    expect(reads.length).toBeLessThanOrEqual(5);

    // a day well back: records before it are not read, those after it only by their entries where in memory
    reads.length = 0;
    const back = await gatherDay(counting, options(addDays(d, -15)));
    expect(back.summary.calls.inbound).toBe(40);
    // the 5 newest, 14 days after it, its 40, and the first record of the day before it
    expect(back.walked).toBe(5 + 14 * 40 + 40 + 1);
    // the records in memory were judged by their entries: only the older ones and the day's were read
    expect(reads.length).toBeLessThan(back.walked / 2);
  });
});
