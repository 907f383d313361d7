import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import { validateConfig } from '../../../src/config/load.js';
import type { Config } from '../../../src/config/schema.js';
import { ControlRegistry } from '../../../src/control/protocol.js';
import { EventBus } from '../../../src/core/bus.js';
import type { BusEvents } from '../../../src/core/events.js';
import { HistoryRepository } from '../../../src/history/repository.js';
import { renderSlip, type DaySummaryInput } from '../../../src/printing/templates/index.js';
import { ReportsService, CHECK_MS, MAX_ATTEMPTS } from '../../../src/reports/service.js';
import { MemoryStore } from '../../../src/store/memory.js';
import { FakeClock } from '../../support/fake-clock.js';
import { captureLogger } from '../../support/log.js';
import { makeTempDir, stopAllPeers } from '../../support/process.js';

const H = 3_600_000;
const MIN = 60_000;
/** An instant by its wall time in Shanghai (UTC+8). */
const sh = (date: string, time: string) => Date.parse(`${date}T${time}+08:00`);

/** A fake clock whose wall time can be set (NTP steps, a technician setting the date). */
class SettableClock extends FakeClock {
  #shift = 0;
  override now(): number {
    return super.now() + this.#shift;
  }
  jump(ms: number): void {
    this.#shift += ms;
  }
}

interface PrintRequest { template: 'day-summary'; input: DaySummaryInput; by: string; copies?: number }

function configOf(printing: Record<string, unknown> = {}): Config {
  const { config, issues } = validateConfig({
    device: { name: 'Garden Shop' },
    printing: { timeZone: 'Asia/Shanghai', daySummaryAt: '21:00', encoding: 'gb18030', ...printing },
    orders: { currency: 'CNY', shop: { name: 'Wang Noodle House', phone: '021 5555 0100' } },
  });
  if (!config) throw new Error(JSON.stringify(issues));
  return config;
}

const running: ReportsService[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.stop()));
});
afterAll(async () => {
  await stopAllPeers(); // removes the temp dirs
});

async function rig(options: { clock?: FakeClock; dataDir?: string; config?: Config; failPrints?: boolean; history?: HistoryRepository } = {}) {
  const { log, lines } = captureLogger('info');
  const clock = options.clock ?? new SettableClock();
  const dataDir = options.dataDir ?? await makeTempDir('reports');
  let config = options.config ?? configOf();
  const history = options.history ?? await HistoryRepository.open(new MemoryStore());
  const control = new ControlRegistry();
  const prints: PrintRequest[] = [];
  const service = new ReportsService({
    bus: new EventBus<BusEvents>(log), clock, log, control, dataDir, config: () => config, history: () => history,
    printing: {
      print: async (request) => {
        if (options.failPrints) throw new Error('the print queue is not running');
        prints.push(request);
        return { jobIds: Array.from({ length: request.copies ?? 1 }, (_, i) => `p${prints.length}-${i + 1}`) };
      },
    },
  });
  await service.start();
  running.push(service);
  /** Moves time on and waits for a print it started. */
  const advance = async (ms: number) => {
    // in steps, so a print started on the way finishes before the clock moves on (as it would in real time)
    for (let left = ms; left > 0; left -= CHECK_MS) {
      clock.advance(Math.min(CHECK_MS, left));
      await service.settled();
    }
  };
  const call = (params?: unknown) => Promise.resolve().then(() => control.get('reports.daySummary')!(params)) as Promise<{ summary: DaySummaryInput; jobIds: string[] }>;
  return {
    service, clock, dataDir, history, prints, advance, call, lines,
    setConfig: (next: Config) => { config = next; },
    stop: async () => {
      running.splice(running.indexOf(service), 1);
      await service.stop();
    },
  };
}

const stateOf = async (dataDir: string) => JSON.parse(await readFile(join(dataDir, 'reports', 'day-summary.json'), 'utf8')) as { lastPrinted: string; jobIds: string[] };

describe('the end-of-day summary at closing time', () => {
  it('prints at closing time exactly once, not again after a restart the same day, and again the next day', async () => {
    const history = await HistoryRepository.open(new MemoryStore());
    await history.append({
      kind: 'call', callId: 'c1', lineId: 'sim', lineKind: 'sim', direction: 'inbound', at: sh('2026-11-24', '12:00'), number: '+8613800138000',
      numberKey: '+8613800138000', contactId: null, answeredAfterMs: null, durationMs: 0, result: 'missed', endedAt: null, disposition: null, note: null, recordingId: null, handled: false,
    }).written;
    // 17:30 in Shanghai
    const first = await rig({ history });
    expect(first.clock.now()).toBe(sh('2026-11-24', '17:30'));
    await first.advance(3.5 * H - 1000);
    expect(first.prints).toEqual([]);
    await first.advance(1000);
    expect(first.prints).toHaveLength(1);
    const slip = first.prints[0];
    expect(slip).toMatchObject({ template: 'day-summary', by: 'reports' });
    expect(slip.input).toMatchObject({
      date: '2026-11-24', at: sh('2026-11-24', '21:00'), currency: 'CNY', shop: { name: 'Wang Noodle House', phone: '021 5555 0100', address: null },
      calls: { inbound: 1, missed: 1, missedNotCalledBack: 1 }, orders: { count: 0, total: 0 },
    });
    // what it gathered is what the template takes
    expect(renderSlip('day-summary', slip.input, { paperWidthMm: 58, encoding: 'gb18030', timeZone: 'Asia/Shanghai' }).escpos.length).toBeGreaterThan(100);
    expect(await stateOf(first.dataDir)).toMatchObject({ lastPrinted: '2026-11-24', jobIds: ['p1-1'] });
    await first.advance(2 * H);
    expect(first.prints).toHaveLength(1);

    // a restart at 23:00 the same day: nothing more
    await first.stop();
    const second = await rig({ clock: first.clock, dataDir: first.dataDir, history });
    await second.advance(30 * MIN);
    expect(second.prints).toEqual([]);
    // the next day, at its closing time (not before)
    await second.advance(21.5 * H - 1000);
    expect(second.prints).toEqual([]);
    await second.advance(1000);
    expect(second.prints.map((p) => p.input.date)).toEqual(['2026-11-25']);
    expect((await stateOf(second.dataDir)).lastPrinted).toBe('2026-11-25');
  });

  it('prints late the same day when started after closing time, never a stale summary the next day', async () => {
    // started at 22:00 on the 24th, not printed yet today: at once
    const late = await rig({ clock: new FakeClock({ wall: sh('2026-11-24', '22:00') }) });
    await late.service.settled();
    expect(late.prints.map((p) => p.input.date)).toEqual(['2026-11-24']);

    // off from before closing on the 24th until 08:00 on the 25th: the 24th's summary is not printed
    const dataDir = await makeTempDir('reports');
    await mkdir(join(dataDir, 'reports'));
    await writeFile(join(dataDir, 'reports', 'day-summary.json'), JSON.stringify({ lastPrinted: '2026-11-23', jobIds: [], at: 0 }));
    const morning = await rig({ dataDir, clock: new FakeClock({ wall: sh('2026-11-25', '08:00') }) });
    await morning.advance(13 * H - MIN);
    expect(morning.prints).toEqual([]);
    await morning.advance(MIN);
    expect(morning.prints.map((p) => p.input.date)).toEqual(['2026-11-25']);
  });

  it('follows the wall clock when it is set: back after printing does not print again, forward past closing prints', async () => {
    const clock = new SettableClock({ wall: sh('2026-11-24', '20:59') });
    const { prints, advance } = await rig({ clock });
    await advance(MIN);
    expect(prints).toHaveLength(1);
    clock.jump(-H); // 20:00 again
    await advance(2 * H);
    expect(prints).toHaveLength(1);
    clock.jump(20 * H); // 18:00 on the 25th
    await advance(4 * H);
    expect(prints.map((p) => p.input.date)).toEqual(['2026-11-24', '2026-11-25']);
    clock.jump(-24 * H); // set back to the 24th, after its closing time: it was printed, and a later day too
    await advance(H);
    expect(prints).toHaveLength(2);

    // set forward from the morning straight past closing time: printed within a minute
    const other = new SettableClock({ wall: sh('2026-11-26', '09:00') });
    const jumped = await rig({ clock: other });
    await jumped.advance(5 * MIN);
    other.jump(12 * H + 30 * MIN); // 21:35
    await jumped.advance(MIN);
    expect(jumped.prints.map((p) => p.input.date)).toEqual(['2026-11-26']);
  });

  it('waits for trusted wall time, does nothing when off, and tries a failed print again a few times only', async () => {
    const clock = new FakeClock({ wall: sh('2026-11-24', '22:00'), trusted: false });
    const untrusted = await rig({ clock });
    await untrusted.advance(10 * MIN);
    expect(untrusted.prints).toEqual([]);
    await expect(untrusted.call({})).rejects.toMatchObject({ code: 'REPORTS_NO_TIME' });
    expect((await untrusted.call({ date: '2026-11-24' })).summary.at).toBeNull();
    clock.trustWallTime();
    await untrusted.service.settled();
    expect(untrusted.prints.map((p) => p.input.date)).toEqual(['2026-11-24']);

    const off = await rig({ config: configOf({ daySummaryAt: '' }) });
    await off.advance(30 * H);
    expect(off.prints).toEqual([]);
    // turned on live: printed within a minute once past closing time
    off.setConfig(configOf({ daySummaryAt: '09:00' }));
    await off.advance(MIN);
    expect(off.prints.map((p) => p.input.date)).toEqual(['2026-11-25']);

    const failing = await rig({ failPrints: true, clock: new FakeClock({ wall: sh('2026-11-24', '21:00') }) });
    await failing.advance(10 * MIN);
    const errors = failing.lines().filter((l) => l.msg === 'day summary of 2026-11-24 not printed: the print queue is not running');
    expect(errors.map((l) => l.attempt)).toEqual(Array.from({ length: MAX_ATTEMPTS }, (_, i) => i + 1));
  });
});

describe('reports.daySummary', () => {
  it('returns the summary of today or a given day, and prints it when asked', async () => {
    const { call, prints } = await rig({ config: configOf({ daySummaryAt: '' }) });
    const today = await call();
    expect(today).toEqual({ summary: expect.objectContaining({ date: '2026-11-24', at: sh('2026-11-24', '17:30'), callList: null }), jobIds: [] });
    expect(prints).toEqual([]);
    const printed = await call({ date: '2026-11-20', print: true, copies: 2 });
    expect(printed.jobIds).toEqual(['p1-1', 'p1-2']);
    expect(prints).toEqual([{ template: 'day-summary', input: printed.summary, by: 'cli', copies: 2 }]);
    expect(printed.summary.date).toBe('2026-11-20');
  });

  it('names every bad param', async () => {
    const { call } = await rig();
    const cases: Array<[unknown, RegExp]> = [
      ['2026-11-24', /params must be an object/],
      [[1], /params must be an object/],
      [{ day: '2026-11-24' }, /unknown param 'day'/],
      [{ date: 'yesterday' }, /^date must be a calendar date YYYY-MM-DD/],
      [{ date: '2026-02-30' }, /^date must be a calendar date/],
      [{ date: 20261124 }, /^date must be/],
      [{ date: '2026-11-25' }, /^date 2026-11-25 is after today \(2026-11-24\)/],
      [{ print: 'yes' }, /^print must be true or false/],
      [{ print: true, copies: 0 }, /^copies must be a whole number from 1 to 5/],
      [{ print: true, copies: 6 }, /^copies must be/],
      [{ print: true, copies: 1.5 }, /^copies must be/],
      [{ copies: 2 }, /^copies needs print: true/],
    ];
    for (const [params, message] of cases) {
      await expect(call(params)).rejects.toMatchObject({ code: 'REPORTS_BAD_PARAMS', message: expect.stringMatching(message) });
    }
  });

  it('says when the configured time zone is unknown', async () => {
    const { call } = await rig({ config: configOf({ timeZone: 'Shanghai', daySummaryAt: '' }) });
    await expect(call({})).rejects.toMatchObject({ code: 'REPORTS_BAD_TIME_ZONE', message: expect.stringMatching(/printing\.timeZone/) });
  });
});
