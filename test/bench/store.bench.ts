// The local store at shop scale: 100,000 contacts and 100,000 call records.
// `npm run bench -- store` -> bench-results/store.json
//
// 1. seeds a store (contacts through the contacts collection, history through the history repository);
// 2. cold load: a fresh process opens it (after dropping the page cache when run as root) and reports
//    its load time and RSS;
// 3. in this process: lookup by number, search, durable appends (p50/p99, bytes written per append),
//    contact edits;
// 4. screen pop: the phone on the sim board with that data, incoming calls from known numbers, from the
//    call to the customer's name in the display model and to the blits handed to the display driver.
// BENCH_CONTACTS / BENCH_CALLS scale it down for a quick look; BENCH_KEEP=1 keeps the data directory.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createApp } from '../../src/app/app.js';
import { loadBoard } from '../../src/board/board.js';
import { validateConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { SystemClock } from '../../src/core/clock.js';
import { CONTACTS_COLLECTION, ContactsRepository } from '../../src/contacts/repository.js';
import type { Contact } from '../../src/contacts/types.js';
import { HistoryRepository } from '../../src/history/repository.js';
import type { CallResult } from '../../src/history/types.js';
import { FileStore } from '../../src/store/file-store.js';
import { captureLogger } from '../support/log.js';
import { seededRandom } from '../support/random.js';
import { generateContact, keyedContact, randomQuery } from '../support/contacts.js';
import { max, percentile, report, type Metric } from './support/report.js';

const CONTACTS = Number(process.env.BENCH_CONTACTS ?? 100_000);
const CALLS = Number(process.env.BENCH_CALLS ?? 100_000);
const LOOKUPS = 20_000;
const SEARCHES = 5_000;
const APPENDS = 2_000;
const EDITS = 300;
const POPS = 300;

const random = seededRandom(4475);
const dataDir = mkdtempSync(join(tmpdir(), 'bench-store-'));
const storeDir = join(dataDir, 'store');
const metrics: Metric[] = [];
const ms = (metric: string, value: number) => metrics.push({ metric, value, unit: 'ms' });
const clock = new SystemClock('always');

try {
  // 1. seed
  const contacts: Contact[] = [];
  for (let i = 0; i < CONTACTS; i++) contacts.push(generateContact(random, i));
  let t = performance.now();
  {
    const store = new FileStore({ dir: storeDir });
    const collection = await store.collection(CONTACTS_COLLECTION);
    for (let i = 0; i < contacts.length; i += 10_000) await collection.putMany(contacts.slice(i, i + 10_000));
    const history = await HistoryRepository.open(store);
    const results: CallResult[] = ['answered', 'answered', 'answered', 'missed', 'no-answer', 'busy'];
    for (let i = 0; i < CALLS; i += 1000) {
      const writes: Array<Promise<void>> = [];
      for (let j = i; j < Math.min(CALLS, i + 1000); j++) writes.push(history.append(callRecord(contacts, j, results)).written);
      await Promise.all(writes);
    }
    await store.close();
  }
  ms('seed_total', performance.now() - t);
  {
    // the first start with this data: the contacts' search keys are computed and stored (the phone does it
    // in slices when idle), and the store snapshots are written at close
    t = performance.now();
    const store = new FileStore({ dir: storeDir });
    const repo = await ContactsRepository.open({ store, clock, country: () => 'US' });
    await repo.warmUp();
    await HistoryRepository.open(store);
    await store.close();
    ms('first_start_search_keys', performance.now() - t);
  }

  // 2. cold load in a fresh process
  const loads: Array<{ loadMs: number; rss: number; heapUsed: number; contacts: number; history: number }> = [];
  for (let run = 0; run < 3; run++) {
    const dropped = dropPageCache();
    // the built runtime (dist/), as the phone runs it: no TypeScript loader in the process
    const child = spawnSync(process.execPath, ['--expose-gc', join(import.meta.dirname, 'support', 'store-load.mjs'), storeDir], { encoding: 'utf8' });
    if (child.status !== 0) throw new Error(`store-load failed: ${child.stderr}`);
    const result = JSON.parse(child.stdout.trim().split('\n').at(-1)!) as (typeof loads)[number];
    if (result.contacts !== CONTACTS || result.history !== CALLS) throw new Error(`store-load saw ${result.contacts} contacts and ${result.history} records`);
    loads.push(result);
    if (run === 0) ms(dropped ? 'cold_load_page_cache_dropped' : 'cold_load_first', result.loadMs);
  }
  ms('cold_load_p50_of_3', percentile(loads.map((l) => l.loadMs), 50));
  metrics.push({ metric: 'rss_loaded', value: percentile(loads.map((l) => l.rss), 50) / 2 ** 20, unit: 'MiB' });
  metrics.push({ metric: 'heap_used_loaded', value: percentile(loads.map((l) => l.heapUsed), 50) / 2 ** 20, unit: 'MiB' });

  // 3. in this process
  const store = new FileStore({ dir: storeDir });
  const repo = await ContactsRepository.open({ store, clock, country: () => 'US' });
  const history = await HistoryRepository.open(store);

  // lookup by number, as caller ID sends it (national or international digits), incl. unknown numbers
  const lookups: number[] = [];
  let found = 0;
  for (let i = 0; i < LOOKUPS; i++) {
    const contact = contacts[Math.floor(random() * contacts.length)];
    // caller ID sends national digits on a US line, E.164 from SIP trunks; one in ten callers is unknown
    const national = contact.numbers[0].e164!.startsWith('+1') ? contact.numbers[0].entered : contact.numbers[0].e164!;
    const number = i % 10 === 9 ? `+1212${String(1_000_000 + i).slice(-7)}` : i % 2 ? contact.numbers[0].e164! : national;
    t = performance.now();
    if (repo.findByNumber(number)) found++;
    lookups.push(performance.now() - t);
  }
  ms('lookup_by_number_p50', percentile(lookups, 50));
  ms('lookup_by_number_p99', percentile(lookups, 99));
  metrics.push({ metric: 'lookup_found', value: found / LOOKUPS, unit: 'ratio' });

  // search: first queries may sort their bucket; the service warms the index up after start
  const keyed = contacts.map(keyedContact);
  const queries = Array.from({ length: SEARCHES }, () => randomQuery(random, keyed));
  t = performance.now();
  await repo.search(queries[0]); // reads the stored search keys and builds the index
  ms('search_index_build', performance.now() - t);
  const cold: number[] = [];
  for (const query of queries.slice(1, 200)) {
    t = performance.now();
    await repo.search(query);
    cold.push(performance.now() - t);
  }
  ms('search_before_warm_up_max', max(cold));
  t = performance.now();
  await repo.warmUp(); // sorts every bucket (the service does it in slices when idle)
  ms('search_warm_up_total', performance.now() - t);
  const searches: number[] = [];
  let hits = 0;
  for (const query of queries) {
    t = performance.now();
    hits += (await repo.search(query)).length > 0 ? 1 : 0;
    searches.push(performance.now() - t);
  }
  ms('search_p50', percentile(searches, 50));
  ms('search_p99', percentile(searches, 99));
  metrics.push({ metric: 'search_with_results', value: hits / SEARCHES, unit: 'ratio' });

  // durable appends, one at a time (each waits for its fsync'd batch)
  const results: CallResult[] = ['answered', 'missed'];
  let before = store.stats();
  const appends: number[] = [];
  for (let i = 0; i < APPENDS; i++) {
    t = performance.now();
    await history.append(callRecord(contacts, CALLS + i, results)).written;
    appends.push(performance.now() - t);
  }
  let after = store.stats();
  ms('durable_append_p50', percentile(appends, 50));
  ms('durable_append_p99', percentile(appends, 99));
  metrics.push({ metric: 'bytes_written_per_append', value: (after.bytesWritten - before.bytesWritten) / APPENDS, unit: 'bytes' });
  metrics.push({ metric: 'files_written_per_append', value: (after.filesWritten - before.filesWritten) / APPENDS, unit: 'count' });

  // contact edits (hash shards)
  before = store.stats();
  const edits: number[] = [];
  for (let i = 0; i < EDITS; i++) {
    const contact = contacts[Math.floor(random() * contacts.length)];
    t = performance.now();
    await repo.update(contact.id, { notes: `called back ${i}` });
    edits.push(performance.now() - t);
  }
  after = store.stats();
  ms('contact_edit_p50', percentile(edits, 50));
  ms('contact_edit_p99', percentile(edits, 99));
  metrics.push({ metric: 'bytes_written_per_contact_edit', value: (after.bytesWritten - before.bytesWritten) / EDITS, unit: 'bytes' });
  await store.close();

  // 4. screen pop on the sim board
  const configFile = join(dataDir, 'config.json');
  writeFileSync(configFile, JSON.stringify({ board: 'sim', web: { port: 0 }, device: { country: 'US' } }));
  const { config } = validateConfig({ board: 'sim', web: { port: 0 }, device: { country: 'US' } });
  const { log } = captureLogger('warn');
  const app = createApp({ config: config as Config, board: await loadBoard('sim'), dataDir, log, clock, socketPath: join(dataDir, 'ctl.sock') });
  t = performance.now();
  const report0 = await app.start();
  ms('app_start_with_data', performance.now() - t);
  const failed = report0.filter((r) => r.status !== 'running');
  if (failed.length > 0) throw new Error(`services not running: ${JSON.stringify(failed)}`);
  const sim = app.sim!;
  let shownAt = 0;
  let waitingFor = '';
  let lastRows: string[] = [];
  app.bus.on('bench', 'displayChanged', ({ rows }) => {
    lastRows = rows;
    if (waitingFor && shownAt === 0 && rows.some((row) => row.includes(waitingFor))) shownAt = performance.now();
  });
  const toModel: number[] = [];
  const toDisplay: number[] = [];
  for (let i = 0; i < POPS; i++) {
    const contact = contacts[Math.floor(random() * contacts.length)];
    // generated numbers may repeat: the newest contact with the number is the one popped
    waitingFor = app.contacts.repository.findByNumber(contact.numbers[0].e164!)!.entry.name;
    shownAt = 0;
    const t0 = performance.now();
    const call = sim.line!.injectIncoming({ number: contact.numbers[0].e164!, name: null });
    await app.phone.settled();
    const t1 = performance.now();
    if (shownAt === 0) throw new Error(`the display never showed ${contact.name} (${contact.numbers[0].e164}): ${lastRows.join(' | ')}`);
    toModel.push(shownAt - t0);
    toDisplay.push(t1 - t0);
    sim.line!.remoteHangup(call.info.callId);
    await app.phone.settled();
    await app.history.settled();
  }
  ms('screen_pop_to_display_model_p50', percentile(toModel, 50));
  ms('screen_pop_to_display_model_p99', percentile(toModel, 99));
  ms('screen_pop_to_display_driver_p50', percentile(toDisplay, 50));
  ms('screen_pop_to_display_driver_p99', percentile(toDisplay, 99));
  await app.stop();
} finally {
  clock.dispose();
  if (process.env.BENCH_KEEP) process.stdout.write(`data kept in ${dataDir}\n`);
  else rmSync(dataDir, { recursive: true, force: true });
}

metrics.unshift({ metric: 'contacts', value: CONTACTS, unit: 'count' }, { metric: 'call_records', value: CALLS, unit: 'count' });
report('store', metrics);

function callRecord(contacts: readonly Contact[], i: number, results: CallResult[]) {
  const contact = i % 10 < 7 ? contacts[(i * 7919) % CONTACTS] : null;
  const number = contact ? contact.numbers[0].e164! : `+1415${String(2_000_000 + (i % 1_000_000)).slice(-7)}`;
  const result = results[i % results.length];
  return {
    kind: 'call' as const, callId: `bench-${i}`, lineId: 'sip-main', lineKind: 'sip' as const, direction: i % 3 ? ('inbound' as const) : ('outbound' as const),
    at: 1_700_000_000_000 + i * 60_000, number, numberKey: number, contactId: contact ? contact.id : null,
    answeredAfterMs: result === 'answered' ? 4000 : null, durationMs: result === 'answered' ? 95_000 : 0, result,
    endedAt: 1_700_000_000_000 + i * 60_000 + 99_000, disposition: null, note: null, recordingId: null, handled: false,
  };
}

/** Drops the page cache (root only) so the first load reads from the disk; false when not allowed. */
function dropPageCache(): boolean {
  try {
    spawnSync('sync');
    writeFileSync('/proc/sys/vm/drop_caches', '3');
    return true;
  } catch {
    return false;
  }
}
