// Kill -9 a process that is writing to a FileStore, 100 times on the same folder, and check after each kill that
// nothing it was told "written" is missing, that every file is whole, and that no repair lost data.
//
// The child (test/support/store-crash-child.ts) prints `ack ...` only after a write's promise resolved. A SIGKILL
// keeps everything the kernel accepted, so with the temp file + fsync + rename protocol the store must never need
// its backups here ('restored-backup' / 'started-empty'); a stale entries file ('rebuilt-entries') is expected
// when the kill falls between a shard's rename and its entries file's rename.

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { projectRoot } from '../../src/core/paths.js';
import { FileStore } from '../../src/store/file-store.js';
import type { Collection } from '../../src/store/types.js';
import { delay, makeTempDir, spawnPeer, stopAllPeers } from '../support/process.js';
import { seededRandom } from '../support/random.js';
import { CONTACTS, HISTORY, bodyOf, type CrashDigest, type CrashDoc, type CrashEntry } from '../support/store-crash-child.js';

const RUNS = Number(process.env.DESKLINE_STORE_CRASH_RUNS ?? 100);
const CHILD = join(projectRoot(), 'test', 'support', 'store-crash-child.ts');

/** What the parent knows about one document: the newest acknowledged version, and whether a delete was issued or acknowledged. */
interface Known {
  v: number;
  deleteIssued: boolean;
  deleted: boolean;
}

type Model = Record<'history' | 'contacts', Map<string, Known>>;

afterAll(async () => {
  await stopAllPeers(); // kills a child left by a failed test, removes the temp dir
});

/** Runs the child until it has acknowledged a first write, then SIGKILLs it `killAfterMs` later; returns its stdout lines. */
async function runChild(dir: string, run: number, seed: number, killAfterMs: number): Promise<{ lines: string[]; signal: string | null }> {
  const child = await spawnPeer({
    name: `store-crash-child-${run}`,
    command: process.execPath,
    args: ['--import', 'tsx', CHILD, dir, String(run), String(seed)],
    debianPackage: 'nodejs',
    cwd: projectRoot(),
    stdin: 'pipe',
    ready: { line: /^ready$/ },
    readyTimeoutMs: 30_000,
    stopSignal: 'SIGKILL',
    keepOutput: 4096,
  });
  let stdout = '';
  child.child.stdout?.on('data', (chunk: string) => (stdout += chunk));
  const closed = new Promise((resolve) => child.child.once('close', resolve));
  child.child.stdin?.write('go\n');
  await child.waitForLine(/^ack /, 20_000);
  await delay(killAfterMs);
  const exit = await child.stop(); // SIGKILL to its PID
  await closed; // all of its stdout has been read
  const lines = stdout.split('\n');
  lines.pop(); // a line cut by the kill (pipe writes of a short line are atomic, so normally '')
  return { lines, signal: exit.signal };
}

function applyLines(model: Model, lines: string[], problems: string[]): number {
  let acks = 0;
  const known = (collection: string, id: string) => {
    const map = model[collection as keyof Model];
    let entry = map.get(id);
    if (!entry) map.set(id, (entry = { v: 0, deleteIssued: false, deleted: false }));
    return entry;
  };
  for (const line of lines) {
    const [kind, collection, id, v] = line.split(' ');
    if (kind === 'ack') {
      acks++;
      const entry = known(collection, id);
      entry.v = Math.max(entry.v, Number(v));
    } else if (kind === 'issue-delete') known(collection, id).deleteIssued = true;
    else if (kind === 'ack-delete') known(collection, id).deleted = true;
    else if (kind === 'recovery' && collection !== 'rebuilt-entries') problems.push(`child reported ${line}`);
    else if (kind === 'error') problems.push(`child failed: ${line}`);
  }
  return acks;
}

/** Every file that is not an unfinished write must parse as JSON, and nothing may have been moved aside. */
function checkFiles(dir: string, problems: string[]): number {
  let temps = 0;
  for (const folder of ['history', 'contacts']) {
    for (const name of readdirSync(join(dir, folder))) {
      const path = join(dir, folder, name);
      if (name.endsWith('.tmp')) {
        temps++;
        continue;
      }
      if (name === 'journal.log') continue; // lines checked by the store's open (a torn last line is expected)
      if (name.includes('.corrupt-')) problems.push(`${path} was moved aside`);
      try {
        JSON.parse(readFileSync(path, 'utf8'));
      } catch (error) {
        problems.push(`${path} (${statSync(path).size} bytes) does not parse: ${(error as Error).message}`);
      }
    }
  }
  return temps;
}

/**
 * Checks one collection against what was acknowledged; returns every document in it. The history keeps only its
 * newest segments in memory: its documents are all read (ids 1..last, from its digest), and its digest must be
 * what folding those documents gives.
 */
async function checkCollection(collection: Collection<CrashDoc, CrashEntry, unknown>, known: Map<string, Known>, problems: string[]): Promise<Map<string, CrashDoc>> {
  const name = collection.name;
  const digest = collection.digest as CrashDigest | undefined;
  const ids = digest ? Array.from({ length: digest.last }, (_, i) => String(i + 1)) : [...collection.entries()].map(([id]) => id);
  const docs = new Map((await collection.getMany(ids)).map((doc) => [doc.id, doc]));
  for (const [id, k] of known) {
    if (k.deleted) {
      if (docs.has(id)) problems.push(`${name}/${id}: its delete was acknowledged, yet it is there`);
    } else if (!docs.has(id)) {
      if (!k.deleteIssued) problems.push(`${name}/${id}: version ${k.v} was acknowledged, yet it is missing`);
    }
  }
  for (const [id, entry] of collection.entries()) {
    const doc = docs.get(id);
    if (!doc) problems.push(`${name}/${id}: listed in the entries but has no document`);
    else if (entry.v !== doc.v || entry.len !== doc.len) problems.push(`${name}/${id}: entry ${JSON.stringify(entry)} does not match its document v ${doc.v}`);
  }
  for (const [id, doc] of docs) {
    if (doc.body !== bodyOf(id, doc.v, doc.len)) problems.push(`${name}/${id}: torn document (v ${doc.v}, len ${doc.len}, body ${doc.body.length})`);
    const k = known.get(id);
    if (k && doc.v < k.v) problems.push(`${name}/${id}: version ${k.v} was acknowledged, the store has ${doc.v}`);
  }
  if (digest) {
    const folded = Object.fromEntries([...docs].map(([id, doc]) => [id, doc.v]));
    const sorted = (record: Record<string, number>) => JSON.stringify(Object.entries(record).sort(([a], [b]) => Number(a) - Number(b)));
    if (sorted(digest.versions) !== sorted(folded) || digest.added !== docs.size) {
      problems.push(`history digest (${digest.added} added, ${Object.keys(digest.versions).length} versions) differs from its ${docs.size} documents`);
    }
    const inMemory = [...collection.entries()].map(([id]) => Number(id));
    if (inMemory.some((id, i) => i > 0 && !(id > inMemory[i - 1]))) problems.push(`history: entries out of order: ${inMemory.join(',')}`);
  }
  return docs;
}

describe('FileStore under kill -9', () => {
  it(`keeps every acknowledged write through ${RUNS} SIGKILLs`, async () => {
    const dir = await makeTempDir('store-crash');
    const random = seededRandom(20_240_611);
    const model: Model = { history: new Map(), contacts: new Map() };
    const totals = { acks: 0, rebuilt: 0, temps: 0, history: 0, contacts: 0 };
    const started = Date.now();

    for (let run = 1; run <= RUNS; run++) {
      const killAfterMs = 10 + Math.floor(random() * 390);
      const { lines, signal } = await runChild(dir, run, Math.floor(random() * 2 ** 31), killAfterMs);
      const problems: string[] = [];
      if (signal !== 'SIGKILL') problems.push(`the child ended on its own (signal ${signal}): ${lines.slice(-3).join(' | ')}`);
      totals.acks += applyLines(model, lines, problems);
      totals.temps += checkFiles(dir, problems);

      // (checked right after each open: the history's starts writing the segments of its replayed journal at once)
      const killedTemps = (folder: string) => readdirSync(join(dir, folder)).filter((name) => name.endsWith('.tmp'));
      const leftovers: string[] = [];
      const store = new FileStore({ dir });
      const historyTemps = killedTemps('history');
      const history = await store.collection(HISTORY);
      leftovers.push(...historyTemps.filter((name) => existsSync(join(dir, 'history', name))));
      const contactTemps = killedTemps('contacts');
      const contacts = await store.collection(CONTACTS);
      leftovers.push(...contactTemps.filter((name) => existsSync(join(dir, 'contacts', name))));
      for (const report of store.recoveries()) {
        if (report.action === 'rebuilt-entries') totals.rebuilt++;
        // the first child may be killed before it ever wrote a snapshot
        else if (!(report.action === 'rebuilt-digest' && report.problem === 'snapshot missing' && run === 1)) {
          problems.push(`the store reported ${report.action} for ${report.file}: ${report.problem}`);
        }
      }
      if (leftovers.length) problems.push(`temp files left after open: ${leftovers.join(', ')}`);
      const historyDocs = await checkCollection(history, model.history, problems);
      const contactDocs = await checkCollection(contacts, model.contacts, problems);
      expect({ run, killAfterMs, problems }).toEqual({ run, killAfterMs, problems: [] });

      // what is on disk now is what the next child starts from
      for (const [name, docs] of [['history', historyDocs], ['contacts', contactDocs]] as const) {
        model[name] = new Map([...docs].map(([id, doc]) => [id, { v: doc.v, deleteIssued: false, deleted: false }]));
      }
      totals.history = historyDocs.size;
      totals.contacts = contactDocs.size;
      await store.close();
    }

    expect(totals.acks).toBeGreaterThan(RUNS * 5);
    console.log(
      `store-crash: ${RUNS} kills in ${((Date.now() - started) / 1000).toFixed(1)} s; ${totals.acks} acknowledged writes; ` +
        `${totals.history} history and ${totals.contacts} contacts documents at the end; ` +
        `entries rebuilt ${totals.rebuilt} times; ${totals.temps} unfinished temp files found after kills`,
    );
  }, 300_000);
});
