// A program that writes to a FileStore as fast as it can until it is SIGKILLed (test/integration/store-crash.test.ts).
//
//   node --import tsx test/support/store-crash-child.ts <dir> <run> <seed>
//
// It appends to an append collection and updates, adds and deletes in a hash collection, several writes per tick
// with random sizes, and prints one line per fact, always before (issue) or after (ack) the fact:
//   ready                          the store is open; writing starts when a line arrives on stdin
//   recovery <action> <file>       a repair the store made while opening
//   issue-delete <collection> <id> printed before a delete is made
//   ack <collection> <id> <v>      printed after the write of version v resolved (it is durable)
//   ack-delete <collection> <id>   printed after the delete resolved
// Writes to a pipe are synchronous in Node on Linux, so a printed line is in the pipe before the next statement.

import { pathToFileURL } from 'node:url';
import { FileStore } from '../../src/store/file-store.js';
import type { Collection, CollectionSpec } from '../../src/store/types.js';
import { seededRandom } from './random.js';

export interface CrashDoc {
  id: string;
  v: number;
  len: number;
  body: string;
}

export interface CrashEntry {
  v: number;
  len: number;
}

/** a contact is deleted instead of updated once it reaches this version */
export const LAST_VERSION = 4;

/** The history's digest: every document's version, and how many were added (never counting one twice). */
export interface CrashDigest {
  added: number;
  last: number;
  versions: Record<string, number>;
}

export const HISTORY: CollectionSpec<CrashDoc, CrashEntry, CrashDigest> = {
  name: 'history',
  // few resident segments, so updates often reach documents outside memory
  placement: { kind: 'sequence', segmentSize: 20, resident: 3 },
  entryOf: (doc) => ({ v: doc.v, len: doc.len }),
  isValid: isCrashDoc,
  digest: {
    version: 1,
    create: () => ({ added: 0, last: 0, versions: {} }),
    apply(state, id, entry, previous) {
      if (previous === undefined) state.added++;
      state.last = Math.max(state.last, Number(id));
      state.versions[id] = entry.v;
    },
    remove(state, id) {
      state.added--;
      delete state.versions[id];
    },
    save: (state) => structuredClone(state),
    load: (json) => json as CrashDigest,
  },
};

export const CONTACTS: CollectionSpec<CrashDoc, CrashEntry> = {
  name: 'contacts',
  placement: { kind: 'hash', shards: 8 },
  entryOf: (doc) => ({ v: doc.v, len: doc.len }),
  isValid: isCrashDoc,
};

/** The body is a function of (id, v, len), so a reader can tell a whole document from a torn one. */
export function bodyOf(id: string, v: number, len: number): string {
  const unit = `${id}/${v};`;
  return unit.repeat(Math.ceil(len / unit.length)).slice(0, len);
}

export function crashDoc(id: string, v: number, len: number): CrashDoc {
  return { id, v, len, body: bodyOf(id, v, len) };
}

function isCrashDoc(value: unknown): value is CrashDoc {
  const doc = value as CrashDoc;
  return typeof doc?.id === 'string' && Number.isInteger(doc.v) && Number.isInteger(doc.len) && typeof doc.body === 'string';
}

async function main(dir: string, run: number, seed: number): Promise<void> {
  const random = seededRandom(seed);
  const size = () => 10 + Math.floor(random() ** 3 * 3000);
  const pick = <T>(items: T[]): T | undefined => items[Math.floor(random() * items.length)];
  const print = (line: string) => process.stdout.write(`${line}\n`);

  const store = new FileStore({ dir, cacheShards: 4, onRecovery: (r) => print(`recovery ${r.action} ${r.file}`) });
  const history = await store.collection(HISTORY);
  const contacts = await store.collection(CONTACTS);
  const live = { contacts: [...contacts.entries()].map(([id]) => id) };
  let lastHistory = history.digest.last;
  print('ready');
  // start writing when the parent listens (it writes a line to stdin)
  await new Promise((resolve) => process.stdin.once('data', resolve));

  let next = 0;
  let inFlight = 0;
  const track = (promise: Promise<unknown>, ack: () => string) => {
    inFlight++;
    promise.then(
      () => {
        inFlight--;
        print(ack());
      },
      (error: unknown) => {
        print(`error ${String(error)}`);
        process.exit(3);
      },
    );
  };
  const update = (collection: Collection<CrashDoc, CrashEntry, unknown>, id: string) => {
    let written = 0;
    track(
      collection.update(id, (doc) => crashDoc(id, (written = doc.v + 1), size())),
      () => (written ? `ack ${collection.name} ${id} ${written}` : `ack-none ${collection.name} ${id}`),
    );
  };

  for (;;) {
    const burst = 1 + Math.floor(random() * 6);
    for (let i = 0; i < burst; i++) {
      const op = random();
      if (op < 0.45) {
        const id = String(++lastHistory);
        track(history.put(crashDoc(id, 1, size())), () => `ack history ${id} 1`);
      } else if (op < 0.6) {
        if (lastHistory > 0) update(history, String(1 + Math.floor(random() * lastHistory)));
      } else if (op < 0.8) {
        const id = `r${run}-c${next++}`;
        live.contacts.push(id);
        track(contacts.put(crashDoc(id, 1, size())), () => `ack contacts ${id} 1`);
      } else {
        const id = pick(live.contacts);
        if (!id) continue;
        if ((contacts.entry(id)?.v ?? 0) < LAST_VERSION) {
          update(contacts, id);
          continue;
        }
        live.contacts.splice(live.contacts.indexOf(id), 1);
        print(`issue-delete contacts ${id}`);
        track(contacts.delete(id), () => `ack-delete contacts ${id}`);
      }
    }
    while (inFlight > 64) await new Promise((resolve) => setTimeout(resolve, 1));
    await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 3)));
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [dir, run, seed] = process.argv.slice(2);
  main(dir, Number(run), Number(seed)).catch((error: unknown) => {
    process.stdout.write(`error ${String(error)}\n`);
    process.exit(2);
  });
}
