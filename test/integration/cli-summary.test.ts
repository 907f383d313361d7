// `deskline summary` through the built CLI (npm test builds before running the suites) against the built daemon on the
// sim board: the day's counts from its history (filed beforehand, plus a call missed on the running phone), and the
// slip printed on the sim board's virtual printer, read back from the virtual phone page's channel as a browser would.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { HistoryRepository, type NewRecord } from '../../src/history/repository.js';
import type { DaySummaryInput } from '../../src/printing/templates/types.js';
import { ZoneClock } from '../../src/reports/business-day.js';
import { FileStore } from '../../src/store/file-store.js';
import { stopAllPeers } from '../support/index.js';
import { waitFor } from '../support/wait.js';
import { runDeskline, startSimDaemon, type SimDaemon, type SimPage } from '../support/deskline.js';

const ZONE = 'Asia/Shanghai';


const deskline = (args: string[]) => runDeskline(['--config', configPath, '--data', data, ...args]);


const dir = mkdtempSync(join(tmpdir(), 'cli-summary-'));
const data = join(dir, 'data');
const configPath = join(dir, 'config.json');
let rig: SimDaemon;
let page: SimPage;
/** the business day the history was filed in */
let date: string;

function call(at: number, number: string, direction: 'inbound' | 'outbound', result: 'answered' | 'missed' | 'no-answer'): NewRecord {
  return {
    kind: 'call', callId: `seed-${at}-${number}`, lineId: 'sim', lineKind: 'sim', direction, at, number, numberKey: number, contactId: null,
    answeredAfterMs: result === 'answered' ? 3000 : null, durationMs: result === 'answered' ? 90_000 : 0, result, endedAt: at + 90_000,
    disposition: null, note: null, recordingId: null, handled: false,
  };
}

function order(at: number, items: Array<[string, number, number]>, currency = 'CNY'): NewRecord {
  const lines = items.map(([name, qty, unitPrice], i) => ({ code: String(i + 1), name, qty, unitPrice, amount: qty * unitPrice }));
  const total = lines.reduce((sum, line) => sum + line.amount, 0);
  return {
    kind: 'order', orderId: `seed-order-${at}`, summary: `${lines.length} lines`, at, number: '+8613800138000', numberKey: '+8613800138000', contactId: null,
    items: lines, total, currency, note: null, callId: null,
  } as NewRecord;
}

beforeAll(async () => {
  writeFileSync(configPath, JSON.stringify({
    device: { country: 'CN' },
    printing: { encoding: 'gb18030', timeZone: ZONE },
    orders: { currency: 'CNY', shop: { name: '王记小馆' } },
  }));
  // today's history in Shanghai, filed as the phone would have (before this start of the daemon)
  const now = Date.now();
  const zone = new ZoneClock(ZONE);
  date = zone.dateOf(now);
  const { start } = zone.dayBounds(date);
  const at = (i: number) => start + Math.floor(((now - start) * i) / 10);
  const store = new FileStore({ dir: join(data, 'store') });
  const history = await HistoryRepository.open(store);
  const yesterday = start - 3_600_000;
  await Promise.all([
    call(yesterday, '+8613900000000', 'inbound', 'answered'),
    call(at(1), '+8613900000001', 'inbound', 'answered'),
    order(at(2), [['宫保鸡丁', 2, 3800], ['酸辣汤', 1, 1800]]),
    call(at(3), '+8613900000002', 'inbound', 'missed'),
    call(at(4), '+8613900000002', 'outbound', 'no-answer'), // called back
    order(at(5), [['宫保鸡丁', 1, 3800]]),
    order(at(6), [['Burger', 1, 500]], 'USD'), // not the shop's currency: left out
    call(at(7), '+8613900000003', 'inbound', 'missed'),
  ].map((record) => history.append(record).written));
  await store.close();

  rig = await startSimDaemon({ config: configPath, data });
  page = rig.page;
}, 60_000);

afterAll(async () => {
  if (rig) expect(await rig.stop()).toBe(0);
  await stopAllPeers();
});

describe('deskline summary on the running daemon', () => {
  it('--json returns the day\'s counts, including a call missed on the running phone just now', async () => {
    // a caller gives up while the phone rings
    page.send({ type: 'incomingCall', number: '13900000004', name: null, line: 'sim' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    page.send({ type: 'remoteHangup' });

    let summary: DaySummaryInput | undefined;
    const deadline = Date.now() + 10_000;
    for (;;) {
      const result = await deskline(['summary', '--date', date, '--json']);
      expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
      const parsed = JSON.parse(result.stdout) as { summary: DaySummaryInput; jobIds: string[] };
      expect(parsed.jobIds).toEqual([]);
      summary = parsed.summary;
      if (summary.calls.missed === 3 || Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(summary).toMatchObject({
      date, currency: 'CNY', shop: { name: '王记小馆' }, sms: null, callList: null,
      calls: { inbound: 4, outbound: 1, answered: 1, missed: 3, missedNotCalledBack: 2 },
      orders: { count: 2, total: 2 * 3800 + 1800 + 3800 },
      topItems: [{ name: '宫保鸡丁', qty: 3, total: 11_400 }, { name: '酸辣汤', qty: 1, total: 1800 }],
    });

    const human = await deskline(['summary', '--date', date]);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(`Day summary ${date} - 王记小馆`);
    expect(human.stdout).toContain('Calls:  4 in, 1 out, 1 answered, 3 missed (2 not called back)');
    expect(human.stdout).toContain('Orders: 2, total 132.00 CNY');
    expect(human.stdout).toMatch(/1\. 宫保鸡丁\s+x3\s+114\.00/);
  });

  it('--print prints the slip on the virtual printer; bad options are refused', async () => {
    const printed = await deskline(['summary', '--print', '--json']);
    expect({ code: printed.code, stderr: printed.stderr }).toEqual({ code: 0, stderr: '' });
    const { jobIds, summary } = JSON.parse(printed.stdout) as { summary: DaySummaryInput; jobIds: string[] };
    expect(jobIds).toHaveLength(1);
    expect(summary.date).toBe(new ZoneClock(ZONE).dateOf(Date.now()));
    await waitFor(() => page.slips.some((s) => s.job === jobIds[0]), 'the day summary on the virtual printer', 10_000);
    const slip = page.slips.find((s) => s.job === jobIds[0])!;
    expect(slip.template).toBe('day-summary');
    const lines = slip.text.split('\n').map((line) => line.replace(/\s+/g, ' ').trim());
    expect(lines).toEqual(expect.arrayContaining(['王记小馆', '日结', summary.date, `来电 ${summary.calls.inbound}`, `未接 ${summary.calls.missed}`, `订单数 ${summary.orders.count}`]));
    if (summary.date === date) expect(lines).toEqual(expect.arrayContaining(['未回电 2', '营业额 ￥132.00', '宫保鸡丁 x3 114.00']));

    const bad = await deskline(['summary', '--date', '2026-02-30']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--date must be a calendar date YYYY-MM-DD/);
    const copies = await deskline(['summary', '--copies', '2']);
    expect(copies.code).toBe(2);
    expect(copies.stderr).toMatch(/--copies needs --print/);
    const future = await deskline(['summary', '--date', '2999-01-01']);
    expect(future.code).toBe(1);
    expect(future.stderr).toMatch(/date 2999-01-01 is after today.*REPORTS_BAD_PARAMS/);
  });
});
