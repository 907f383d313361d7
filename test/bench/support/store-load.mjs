// Child of the store bench: opens a seeded store with the built runtime (dist/) in a fresh process (fresh
// heap, nothing compiled yet) and prints, as one JSON line, how long the contacts and the history took to be
// ready and the RSS with them loaded. Usage: node --expose-gc store-load.mjs <store dir>
import { performance } from 'node:perf_hooks';

const dist = new URL('../../../dist/src/', import.meta.url);
const { SystemClock } = await import(new URL('core/clock.js', dist).href);
const { ContactsRepository } = await import(new URL('contacts/repository.js', dist).href);
const { HistoryRepository } = await import(new URL('history/repository.js', dist).href);
const { FileStore } = await import(new URL('store/file-store.js', dist).href);

const dir = process.argv[2];
const clock = new SystemClock('always');
const t0 = performance.now();
const store = new FileStore({ dir });
const [contacts, history] = await Promise.all([
  ContactsRepository.open({ store, clock, country: () => 'US' }),
  HistoryRepository.open(store),
]);
const loadMs = performance.now() - t0;
globalThis.gc?.();
const memory = process.memoryUsage();
process.stdout.write(`${JSON.stringify({ loadMs, contacts: contacts.count, history: history.size, rss: memory.rss, heapUsed: memory.heapUsed, recoveries: store.recoveries().length })}\n`);
await store.close();
clock.dispose();
