import { normalizeQuery } from './keys.js';
/** Contact search: an in-memory prefix index over the contacts' search keys (keys.ts). */
export { MAX_QUERY_LENGTH, entrySearchKeys, normalizeQuery, normalizeText, searchKeysOf, textKeys } from './keys.js';

/** A contact's id and its search keys, keys[0] its sort key (ContactKeys.keys). */
export type KeyedContact = readonly [id: string, keys: readonly string[]];

export const DEFAULT_SEARCH_LIMIT = 20;

/**
 * Contacts in name order, each once: [0, sorted) is sorted (`sortKeys` holds their sort keys as they were
 * then, so a binary search stays right while some of them go stale), [sorted, length) was added since.
 * `stale` counts refs of contacts removed or changed since (skipped; dropped at the next sort or compaction).
 */
interface NameList {
  refs: number[];
  sortKeys: string[];
  sorted: number;
  stale: number;
  /** queries answered by scanning the whole list while it was far from sorted */
  scans: number;
  /** the last ref appended: a contact's keys are indexed together, so this keeps it in the list once */
  lastRef: number;
  /** the last removal counted in `stale` (likewise) */
  lastRemoval: number;
}

/**
 * Everything under one 2-character prefix: the contacts having a key that starts with it, in name order; and
 * the postings of those keys except sort keys (a contact whose sort key starts with a query is found in the
 * name list, where such contacts are next to each other) with their contacts' refs. [0, sorted) is in key
 * order and, for equal keys, in name order.
 */
interface PairBucket {
  code: number;
  keys: string[];
  refs: number[];
  sorted: number;
  stale: number;
  scans: number;
  names: NameList;
}

/**
 * A posting refers to a contact as slot * GENERATIONS + generation. A slot's generation moves on when its
 * contact leaves or changes its keys, so its old postings need not be found to be removed: they stop matching.
 */
const GENERATIONS = 2 ** 21;
/**
 * Postings added since the last sort are scanned one by one, up to this many (or a 32nd of the sorted part:
 * merging them in costs a pass over it); beyond, the bucket is sorted again...
 */
const MAX_UNSORTED = 256;
/**
 * ...except the first times a query needs it: a scan of 30,000 postings costs about a millisecond, sorting
 * them some twenty, so a bucket is sorted when it proves to be used (or by `warmUp` when the phone is idle).
 */
const SCANS_BEFORE_SORT = 2;
/** A key range longer than this is first answered by walking the prefix's contacts in name order... */
const WALK_ABOVE_POSTINGS = 1000;
/** ...for at most this many contacts per result wanted (and a quarter of the range), before scanning the range. */
const WALK_STEPS_PER_RESULT = 50;

/**
 * A query of several words intersects the contacts of its two most selective words when they number fewer
 * than this together; with more, a short walk in name order (this many steps per result wanted) usually
 * finds the matches first.
 */
const INTERSECT_BELOW = 20_000;
const EACH_WORD_WALK_STEPS_PER_RESULT = 10;

function tooManyUnsorted(list: { refs: number[]; sorted: number }): boolean {
  const unsorted = list.refs.length - list.sorted;
  return unsorted > MAX_UNSORTED && unsorted > list.sorted >> 5;
}

/** Three UTF-16 code units from `from` as one number, so most key comparisons need no string compare. */
function code3(text: string, from: number): number {
  return (text.charCodeAt(from) || 0) * 4294967296 + (text.charCodeAt(from + 1) || 0) * 65536 + (text.charCodeAt(from + 2) || 0);
}

/**
 * A character of a sort key as 7 bits, in the order of the characters: exact (one class per character) for
 * what sort keys are mostly made of (space, digits, a-z, Hangul jamo), coarse (a class for a range) otherwise.
 * Returns -class for a coarse class.
 */
function nameClass(c: number): number {
  if (c < 0x20) return -1;
  if (c === 0x20) return 2;
  if (c < 0x30) return -3;
  if (c <= 0x39) return 4 + c - 0x30;
  if (c < 0x61) return -14;
  if (c <= 0x7a) return 15 + c - 0x61;
  if (c < 0x1100) return -41;
  if (c <= 0x1112) return 42 + c - 0x1100;
  if (c < 0x1161) return -61;
  if (c <= 0x1175) return 62 + c - 0x1161;
  if (c < 0x11a8) return -83;
  if (c <= 0x11c2) return 84 + c - 0x11a8;
  if (c < 0x4e00) return -111;
  if (c < 0xa000) return -(112 + ((c - 0x4e00) >> 11));
  return -124;
}

/**
 * The first seven characters of a sort key as one number in their order, so most name comparisons need no
 * string compare. After a coarse character the rest is left out: two keys equal that far tie, and the string
 * compare decides.
 */
function nameCode(sortKey: string): number {
  let code = 0;
  let exact = true;
  for (let i = 0; i < 7; i++) {
    let value = 0;
    if (exact && i < sortKey.length) {
      value = nameClass(sortKey.charCodeAt(i));
      if (value < 0) {
        value = -value;
        exact = false;
      }
    }
    code = code * 128 + value;
  }
  return code;
}

function pairCode(key: string): number {
  return key.charCodeAt(0) * 65536 + key.charCodeAt(1);
}

function newNameList(size = 0): NameList {
  return { refs: new Array<number>(size), sortKeys: [], sorted: 0, stale: 0, scans: 0, lastRef: -1, lastRemoval: 0 };
}

function newPairBucket(code: number, size = 0, names = 0): PairBucket {
  return { code, keys: new Array<string>(size), refs: new Array<number>(size), sorted: 0, stale: 0, scans: 0, names: newNameList(names) };
}

type SlotFilter = ((slot: number) => boolean) | null;

/**
 * Prefix search over the contacts' keys, answering in well under a millisecond at 100,000 contacts.
 * - Keys are filed in buckets by their first two characters. Each bucket lists its contacts in name order: a
 *   2-character query takes its results from the front of that list, a 1-character query from the fronts of
 *   the lists of the buckets starting with it, and the contacts whose sort key starts with a longer query are
 *   found by binary search in it. The other keys are postings in key order, binary-searched for the range a
 *   query prefixes; a wide range ('821' among Korean numbers) is first answered by walking the name list.
 * - Building only files keys into buckets; a bucket is sorted once queries show it is used (or by `warmUp`
 *   when the phone is idle). A change appends to the buckets and moves the contact's generation on (its old
 *   postings stop matching), so it costs a few pushes however large the index is.
 * - Results are distinct contacts (their ids) in name order (the sort key, then id), at most `limit`.
 * - A query with several words matches a contact when one of its keys starts with the whole query
 *   ('wang li') or each word starts one of its keys ('smith jo').
 */
export class SearchIndex {
  readonly #slotOf = new Map<string, number>();
  readonly #ids: string[] = [];
  /** per slot, the contact's keys (null: a free slot) */
  readonly #keys: Array<readonly string[] | null> = [];
  readonly #sortKeys: string[] = [];
  /** nameCode of the sort key */
  readonly #nameCodes: number[] = [];
  readonly #generations: number[] = [];
  readonly #freeSlots: number[] = [];
  /** by the first two code units (pairCode) */
  readonly #pairs = new Map<number, PairBucket>();
  /** the buckets whose keys start with a code unit */
  readonly #pairsByFirst = new Map<number, PairBucket[]>();
  /** contacts with a 1-character key, by that character (rare: 'X', a lone initial) */
  readonly #singles = new Map<number, NameList>();
  /** per slot, the last query that visited it (so each contact counts once per query) */
  #visited = new Uint32Array(1024);
  #query = 0;
  /** per slot, the last intersection that marked it */
  #marked = new Uint32Array(0);
  #marking = 0;
  #removals = 0;

  /** An index of these contacts; nothing is sorted yet. */
  static build(contacts: Iterable<KeyedContact>): SearchIndex {
    const index = new SearchIndex();
    index.#fill(Array.isArray(contacts) ? (contacts as KeyedContact[]) : [...contacts]);
    return index;
  }

  get size(): number {
    return this.#slotOf.size;
  }

  has(id: string): boolean {
    return this.#slotOf.has(id);
  }

  /** Add a contact or replace its keys. */
  set(id: string, keys: readonly string[]): void {
    const slot = this.#slotOf.get(id);
    if (slot !== undefined) {
      if (sameKeys(this.#keys[slot]!, keys)) return;
      this.remove(id);
    }
    const ref = this.#claimSlot(id, keys);
    let bucket: PairBucket | undefined;
    for (let j = 0; j < keys.length; j++) {
      const key = keys[j];
      if (!key) continue;
      if (key.length === 1) {
        appendName(this.#single(key.charCodeAt(0)), ref);
        continue;
      }
      const code = pairCode(key);
      if (bucket?.code !== code) bucket = this.#pairs.get(code) ?? this.#newBucket(code);
      appendName(bucket.names, ref);
      if (j === 0) continue;
      bucket.keys.push(key);
      bucket.refs.push(ref);
    }
  }

  remove(id: string): boolean {
    const slot = this.#slotOf.get(id);
    if (slot === undefined) return false;
    const keys = this.#keys[slot]!;
    this.#generations[slot] = (this.#generations[slot] + 1) % GENERATIONS;
    this.#slotOf.delete(id);
    this.#ids[slot] = '';
    this.#keys[slot] = null;
    this.#sortKeys[slot] = '';
    this.#freeSlots.push(slot);
    const removal = ++this.#removals;
    for (let j = 0; j < keys.length; j++) {
      const key = keys[j];
      if (!key) continue;
      if (key.length === 1) {
        const single = this.#singles.get(key.charCodeAt(0));
        if (single && this.#staleName(single, removal)) this.#singles.delete(key.charCodeAt(0));
        continue;
      }
      const bucket = this.#pairs.get(pairCode(key));
      if (!bucket) continue;
      if (this.#staleName(bucket.names, removal)) {
        this.#dropBucket(bucket);
        continue;
      }
      if (j === 0) continue;
      bucket.stale++;
      if (bucket.stale >= 64 && bucket.stale * 4 >= bucket.refs.length) this.#compactPostings(bucket);
    }
    return true;
  }

  /**
   * Sort buckets not sorted yet, about `budget` postings' worth (call it in slices when the phone is idle).
   * Returns true when every bucket is sorted.
   */
  warmUp(budget = Infinity): boolean {
    let left = budget;
    // never sorted, or getting near the point where a query would have to merge
    const due = (list: { refs: number[]; sorted: number }) =>
      list.refs.length > list.sorted && (list.sorted === 0 || list.refs.length - list.sorted > Math.max(MAX_UNSORTED, list.sorted >> 5) / 2);
    for (const bucket of this.#pairs.values()) {
      if (due(bucket.names)) {
        if (left <= 0) return false;
        left -= this.#sortNames(bucket.names);
      }
      if (due(bucket)) {
        if (left <= 0) return false;
        left -= this.#sortPostings(bucket);
      }
    }
    for (const single of this.#singles.values()) {
      if (!due(single)) continue;
      if (left <= 0) return false;
      left -= this.#sortNames(single);
    }
    return true;
  }

  /** The ids of the contacts with a key starting with the query, distinct, in name order, at most `limit`. */
  search(query: string, limit = DEFAULT_SEARCH_LIMIT): string[] {
    const normalized = normalizeQuery(query);
    if (!normalized || limit < 1) return [];
    this.#startQuery();
    const top = new TopSlots(limit, (a, b) => this.#compare(a, b));
    this.#collect(normalized, null, top);
    const words = normalized.split(' ');
    if (words.length > 1) this.#collectEachWord(words, top);
    return top.slots.map((slot) => this.#ids[slot]);
  }

  /** Give a contact a slot; returns its ref (slot and generation). */
  #claimSlot(id: string, keys: readonly string[]): number {
    const slot = this.#freeSlots.pop() ?? this.#ids.length;
    const sortKey = keys[0] ?? '';
    this.#slotOf.set(id, slot);
    this.#ids[slot] = id;
    this.#keys[slot] = keys;
    this.#sortKeys[slot] = sortKey;
    this.#nameCodes[slot] = nameCode(sortKey);
    this.#generations[slot] ??= 0;
    if (slot >= this.#visited.length) {
      const grown = new Uint32Array(Math.max(this.#visited.length * 2, slot + 1));
      grown.set(this.#visited);
      this.#visited = grown;
    }
    return slot * GENERATIONS + this.#generations[slot];
  }

  #single(code: number): NameList {
    let single = this.#singles.get(code);
    if (!single) this.#singles.set(code, (single = newNameList()));
    return single;
  }

  #newBucket(code: number, postings = 0, names = 0): PairBucket {
    const bucket = newPairBucket(code, postings, names);
    this.#pairs.set(code, bucket);
    const first = Math.floor(code / 65536);
    const siblings = this.#pairsByFirst.get(first);
    if (siblings) siblings.push(bucket);
    else this.#pairsByFirst.set(first, [bucket]);
    return bucket;
  }

  #dropBucket(bucket: PairBucket): void {
    this.#pairs.delete(bucket.code);
    const first = Math.floor(bucket.code / 65536);
    const siblings = this.#pairsByFirst.get(first)?.filter((other) => other !== bucket) ?? [];
    if (siblings.length > 0) this.#pairsByFirst.set(first, siblings);
    else this.#pairsByFirst.delete(first);
  }

  /**
   * Build into an empty index in two passes: count what goes into each bucket, then fill arrays of exactly that
   * size (growing thousands of arrays push by push costs more than the rest of the build).
   */
  #fill(list: readonly KeyedContact[]): void {
    const refs = new Float64Array(list.length);
    let keyCount = 0;
    for (let i = 0; i < list.length; i++) {
      refs[i] = this.#claimSlot(list[i][0], list[i][1]);
      keyCount += list[i][1].length;
    }
    // pass 1: each key's bucket (as a dense number), how many postings and contacts each bucket gets
    const keyBucket = new Int32Array(keyCount);
    const codes: number[] = [];
    const postings: number[] = [];
    const contacts: number[] = [];
    const bucketOf = new Map<number, number>();
    // the last contact (index + 1) counted in each bucket: a contact's keys come together
    let seen = new Int32Array(1024);
    let k = 0;
    for (let i = 0; i < list.length; i++) {
      const keys = list[i][1];
      let lastCode = -1;
      let b = -1;
      for (let j = 0; j < keys.length; j++, k++) {
        const key = keys[j];
        keyBucket[k] = -1;
        if (key.length < 2) continue;
        const code = pairCode(key);
        if (code !== lastCode) {
          lastCode = code;
          const known = bucketOf.get(code);
          if (known === undefined) {
            b = codes.length;
            bucketOf.set(code, b);
            codes.push(code);
            postings.push(0);
            contacts.push(0);
            if (b >= seen.length) seen = growInts(seen);
          } else b = known;
          if (seen[b] !== i + 1) {
            seen[b] = i + 1;
            contacts[b]++;
          }
        }
        keyBucket[k] = b;
        if (j > 0) postings[b]++;
      }
    }
    // pass 2: fill arrays of the counted sizes
    const buckets = codes.map((code, b) => this.#newBucket(code, postings[b], contacts[b]));
    const filled = new Int32Array(buckets.length);
    const namesFilled = new Int32Array(buckets.length);
    seen.fill(0);
    k = 0;
    for (let i = 0; i < list.length; i++) {
      const ref = refs[i];
      const keys = list[i][1];
      for (let j = 0; j < keys.length; j++, k++) {
        const b = keyBucket[k];
        if (b < 0) {
          if (keys[j].length === 1) appendName(this.#single(keys[j].charCodeAt(0)), ref);
          continue;
        }
        const bucket = buckets[b];
        if (seen[b] !== i + 1) {
          seen[b] = i + 1;
          bucket.names.refs[namesFilled[b]++] = ref;
        }
        if (j === 0) continue;
        const at = filled[b]++;
        bucket.keys[at] = keys[j];
        bucket.refs[at] = ref;
      }
    }
  }

  /** Count a removed contact's ref in a name list once; true when nothing lives in the list any more. */
  #staleName(list: NameList, removal: number): boolean {
    if (list.lastRemoval === removal) return false;
    list.lastRemoval = removal;
    list.stale++;
    if (list.stale >= list.refs.length) return true;
    if (list.stale >= 64 && list.stale * 4 >= list.refs.length) this.#compactNames(list);
    return false;
  }

  /** Drop stale refs, keeping the order (and the sorted part sorted). */
  #compactNames(list: NameList): void {
    const { refs, sortKeys } = list;
    let kept = 0;
    let sorted = 0;
    for (let i = 0; i < refs.length; i++) {
      if (this.#slotOfRef(refs[i]) < 0) continue;
      if (i < list.sorted) {
        sortKeys[kept] = sortKeys[i];
        sorted = kept + 1;
      }
      refs[kept++] = refs[i];
    }
    refs.length = kept;
    sortKeys.length = sorted;
    list.sorted = sorted;
    list.stale = 0;
  }

  #compactPostings(bucket: PairBucket): void {
    const { keys, refs } = bucket;
    let kept = 0;
    let sorted = 0;
    for (let i = 0; i < refs.length; i++) {
      if (this.#slotOfRef(refs[i]) < 0) continue;
      keys[kept] = keys[i];
      refs[kept++] = refs[i];
      if (i < bucket.sorted) sorted = kept;
    }
    keys.length = kept;
    refs.length = kept;
    bucket.sorted = sorted;
    bucket.stale = 0;
  }

  /** Sort a bucket's postings by key, then name, dropping stale ones; returns the work done (postings). */
  #sortPostings(bucket: PairBucket): number {
    const { keys, refs, sorted } = bucket;
    const byKeyThenName = (keyA: string, slotA: number, keyB: string, slotB: number) => (keyA < keyB ? -1 : keyA > keyB ? 1 : this.#compare(slotA, slotB));
    const tail: number[] = [];
    const slots = new Int32Array(keys.length);
    for (let i = sorted > 0 ? sorted : 0; i < refs.length; i++) {
      const slot = this.#slotOfRef(refs[i]);
      if (slot < 0) continue;
      slots[i] = slot;
      tail.push(i);
    }
    if (sorted === 0) {
      const codes = new Float64Array(keys.length);
      for (const i of tail) codes[i] = code3(keys[i], 2);
      tail.sort((a, b) => codes[a] - codes[b] || byKeyThenName(keys[a], slots[a], keys[b], slots[b]));
      bucket.keys = tail.map((i) => keys[i]);
      bucket.refs = tail.map((i) => refs[i]);
    } else {
      // sorted before: place the few added since by binary search instead of sorting it all again
      tail.sort((a, b) => byKeyThenName(keys[a], slots[a], keys[b], slots[b]));
      const merged = this.#merge(refs, sorted, tail.length, (t, at, slot) => byKeyThenName(keys[tail[t]], slots[tail[t]], keys[at], slot));
      const from = (m: number) => (m < 0 ? tail[-m - 1] : m);
      bucket.keys = Array.from(merged, (m) => keys[from(m)]);
      bucket.refs = Array.from(merged, (m) => refs[from(m)]);
    }
    bucket.sorted = bucket.refs.length;
    bucket.stale = 0;
    bucket.scans = 0;
    return refs.length;
  }

  /** Sort a name list by name, dropping stale refs; returns the work done (refs). */
  #sortNames(list: NameList): number {
    const { refs, sorted } = list;
    const tail: number[] = [];
    for (let i = sorted; i < refs.length; i++) {
      const slot = this.#slotOfRef(refs[i]);
      if (slot >= 0) tail.push(slot);
    }
    tail.sort((a, b) => this.#compare(a, b));
    if (sorted === 0) {
      list.refs = tail.map((slot) => slot * GENERATIONS + this.#generations[slot]);
    } else {
      // sorted before: place the few added since by binary search instead of sorting it all again
      const merged = this.#merge(refs, sorted, tail.length, (t, _at, slot) => this.#compare(tail[t], slot));
      list.refs = Array.from(merged, (m) => (m < 0 ? tail[-m - 1] * GENERATIONS + this.#generations[tail[-m - 1]] : refs[m]));
    }
    list.sortKeys = list.refs.map((ref) => this.#sortKeys[Math.floor(ref / GENERATIONS)]);
    list.sorted = list.refs.length;
    list.stale = 0;
    list.scans = 0;
    return refs.length;
  }

  /**
   * The order of a sorted part [0, sorted) of `refs` merged with `tailLength` sorted items: each item placed by
   * binary search (stale refs in the sorted part are stepped over; they still sit in order), stale refs dropped.
   * Returns indices into the sorted part, and -(t + 1) for tail item t. `compareTail(t, at, slot)` compares tail
   * item t with the live ref at index `at` (of that slot).
   */
  #merge(refs: readonly number[], sorted: number, tailLength: number, compareTail: (t: number, at: number, slot: number) => number): Int32Array {
    const out = new Int32Array(sorted + tailLength);
    let length = 0;
    let i = 0;
    const copyUntil = (end: number) => {
      for (; i < end; i++) if (this.#slotOfRef(refs[i]) >= 0) out[length++] = i;
    };
    for (let t = 0; t < tailLength; t++) {
      // the first index whose live ref sorts after tail item t
      let lo = i;
      let hi = sorted;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        let live = mid;
        while (live < hi && this.#slotOfRef(refs[live]) < 0) live++;
        if (live < hi && compareTail(t, live, this.#slotOfRef(refs[live])) >= 0) lo = live + 1;
        else hi = mid;
      }
      copyUntil(lo);
      out[length++] = -(t + 1);
    }
    copyUntil(sorted);
    return out.subarray(0, length);
  }

  /** The slot a posting refers to, or -1 when it is stale. */
  #slotOfRef(ref: number): number {
    const slot = Math.floor(ref / GENERATIONS);
    return ref - slot * GENERATIONS === this.#generations[slot] ? slot : -1;
  }

  #compare(a: number, b: number): number {
    const codeA = this.#nameCodes[a];
    const codeB = this.#nameCodes[b];
    if (codeA !== codeB) return codeA < codeB ? -1 : 1;
    const keyA = this.#sortKeys[a];
    const keyB = this.#sortKeys[b];
    if (keyA !== keyB) return keyA < keyB ? -1 : 1;
    const idA = this.#ids[a];
    const idB = this.#ids[b];
    return idA < idB ? -1 : idA > idB ? 1 : 0;
  }

  #startQuery(): void {
    if (this.#query === 0xffffffff) {
      this.#visited.fill(0);
      this.#query = 0;
    }
    this.#query++;
  }

  /** Every word starts one of the contact's keys. */
  #hasKeysWithPrefixes(slot: number, words: readonly string[]): boolean {
    for (const word of words) if (!this.#hasKeyWithPrefix(slot, word)) return false;
    return true;
  }

  #hasKeyWithPrefix(slot: number, prefix: string): boolean {
    for (const key of this.#keys[slot]!) if (key.startsWith(prefix)) return true;
    return false;
  }

  /**
   * Offer the contacts having, for each word, a key starting with it. Matches are often many (the words of a
   * name), then a short walk in name order of one word's contacts finds the first; when they are few, the
   * contacts of the two most selective words are intersected.
   */
  #collectEachWord(words: readonly string[], top: TopSlots): void {
    const filter = (slot: number) => this.#hasKeysWithPrefixes(slot, words);
    const ranked = words.map((word) => ({ word, estimate: this.#estimate(word) })).sort((a, b) => a.estimate - b.estimate);
    // no contact has a key starting with that word
    if (ranked[0].estimate === 0) return;
    const long = ranked.filter(({ word }) => word.length > 1);
    const intersectable = long.length >= 2;
    if (!intersectable || long[0].estimate + long[1].estimate > INTERSECT_BELOW) {
      const steps = top.limit * EACH_WORD_WALK_STEPS_PER_RESULT;
      for (const { word } of ranked.slice(0, 2)) if (this.#walkWord(word, filter, top, steps)) return;
    }
    if (!intersectable) {
      this.#collect(ranked[0].word, filter, top);
      return;
    }
    if (++this.#marking === 0xffffffff) {
      this.#marked.fill(0);
      this.#marking = 1;
    }
    const marking = this.#marking;
    const marked = this.#markedFor(this.#ids.length);
    this.#forEachCandidate(long[0].word, (slot) => {
      marked[slot] = marking;
    });
    this.#forEachCandidate(long[1].word, (slot) => {
      if (marked[slot] === marking) this.#offer(slot, filter, top);
    });
  }

  /** A bounded walk (see #walk) of the contacts having a key starting with `word`; false when it gave up. */
  #walkWord(word: string, filter: SlotFilter, top: TopSlots, maxSteps: number): boolean {
    if (word.length > 1) {
      const bucket = this.#pairs.get(pairCode(word));
      return !bucket || this.#walk(bucket.names, word.length > 2 ? word : null, filter, top, maxSteps);
    }
    const first = word.charCodeAt(0);
    for (const bucket of this.#pairsByFirst.get(first) ?? []) if (!this.#walk(bucket.names, null, filter, top, maxSteps)) return false;
    const single = this.#singles.get(first);
    return !single || this.#walk(single, null, filter, top, maxSteps);
  }

  #markedFor(slots: number): Uint32Array {
    if (this.#marked.length < slots) {
      const grown = new Uint32Array(Math.max(slots, this.#marked.length * 2));
      grown.set(this.#marked);
      this.#marked = grown;
    }
    return this.#marked;
  }

  /** Visit every contact having a key that starts with `prefix` (2 characters or more), some more than once. */
  #forEachCandidate(prefix: string, visit: (slot: number) => void): void {
    const bucket = this.#pairs.get(pairCode(prefix));
    if (!bucket) return;
    const { names } = bucket;
    const visitRef = (ref: number) => {
      const slot = this.#slotOfRef(ref);
      if (slot >= 0) visit(slot);
    };
    if (prefix.length === 2) {
      for (const ref of names.refs) visitRef(ref);
      return;
    }
    for (let i = lowerBound(names.sortKeys, prefix, names.sorted); i < names.sorted && names.sortKeys[i].startsWith(prefix); i++) visitRef(names.refs[i]);
    for (let i = names.sorted; i < names.refs.length; i++) {
      const slot = this.#slotOfRef(names.refs[i]);
      if (slot >= 0 && this.#sortKeys[slot].startsWith(prefix)) visit(slot);
    }
    const { keys, refs, sorted } = bucket;
    for (let i = lowerBound(keys, prefix, sorted); i < sorted && keys[i].startsWith(prefix); i++) visitRef(refs[i]);
    for (let i = sorted; i < refs.length; i++) if (keys[i].startsWith(prefix)) visitRef(refs[i]);
  }

  /** About how many contacts have a key starting with `prefix` (an upper bound, cheap). */
  #estimate(prefix: string): number {
    if (prefix.length === 1) {
      const first = prefix.charCodeAt(0);
      let count = this.#singles.get(first)?.refs.length ?? 0;
      for (const bucket of this.#pairsByFirst.get(first) ?? []) count += bucket.names.refs.length;
      return count;
    }
    const bucket = this.#pairs.get(pairCode(prefix));
    if (!bucket) return 0;
    const { names } = bucket;
    if (prefix.length === 2) return names.refs.length;
    const byName = lowerBound(names.sortKeys, `${prefix}\uffff`, names.sorted) - lowerBound(names.sortKeys, prefix, names.sorted);
    const byKey = lowerBound(bucket.keys, `${prefix}\uffff`, bucket.sorted) - lowerBound(bucket.keys, prefix, bucket.sorted);
    return byName + names.refs.length - names.sorted + byKey + bucket.refs.length - bucket.sorted;
  }

  /** Offer every contact having a key that starts with `prefix` (and passing `filter`) to `top`. */
  #collect(prefix: string, filter: SlotFilter, top: TopSlots): void {
    if (prefix.length === 1) {
      const first = prefix.charCodeAt(0);
      for (const bucket of this.#pairsByFirst.get(first) ?? []) this.#walk(bucket.names, null, filter, top, Infinity);
      const single = this.#singles.get(first);
      if (single) this.#walk(single, null, filter, top, Infinity);
      return;
    }
    const bucket = this.#pairs.get(pairCode(prefix));
    if (!bucket) return;
    // every contact in the name list of a 2-character query matches it
    if (prefix.length === 2 && !filter) {
      this.#walk(bucket.names, null, null, top, Infinity);
      return;
    }
    this.#collectBySortKey(bucket.names, prefix, filter, top);
    this.#collectPostings(bucket, prefix, filter, top);
  }

  /** Offer the contacts of a name list whose sort key starts with `prefix`: next to each other in the sorted part. */
  #collectBySortKey(list: NameList, prefix: string, filter: SlotFilter, top: TopSlots): void {
    const consider = (ref: number) => {
      const slot = this.#slotOfRef(ref);
      if (slot >= 0 && this.#sortKeys[slot].startsWith(prefix)) this.#offer(slot, filter, top);
    };
    if (tooManyUnsorted(list)) {
      if (list.sorted === 0 && list.scans < SCANS_BEFORE_SORT) {
        list.scans++;
        for (const ref of list.refs) consider(ref);
        return;
      }
      this.#sortNames(list);
    }
    const { refs, sortKeys, sorted } = list;
    for (let i = sorted; i < refs.length; i++) consider(refs[i]);
    for (let i = lowerBound(sortKeys, prefix, sorted); i < sorted && sortKeys[i].startsWith(prefix); i++) {
      const slot = this.#slotOfRef(refs[i]);
      if (slot < 0) continue;
      // in name order: once the results are full, no later contact can enter them
      if (top.full && this.#compare(slot, top.worst) >= 0) break;
      this.#offer(slot, filter, top);
    }
  }

  /** Offer the contacts of a bucket's postings (other than sort keys) starting with `prefix`. */
  #collectPostings(bucket: PairBucket, prefix: string, filter: SlotFilter, top: TopSlots): void {
    if (tooManyUnsorted(bucket)) {
      if (bucket.sorted === 0 && bucket.scans < SCANS_BEFORE_SORT) {
        bucket.scans++;
        for (let i = 0; i < bucket.refs.length; i++) if (bucket.keys[i].startsWith(prefix)) this.#offerRef(bucket.refs[i], filter, top);
        return;
      }
      this.#sortPostings(bucket);
    }
    const { keys, refs, sorted } = bucket;
    const from = lowerBound(keys, prefix, sorted);
    const to = lowerBound(keys, `${prefix}\uffff`, sorted);
    // A wide range of distinct keys (numbers) holds many matches spread over the name order, so the first ones
    // are found after a short walk of the name list (which holds the postings added since the sort too), unless
    // the results are already better than most of it.
    const range = to - from;
    if (range > WALK_ABOVE_POSTINGS) {
      const steps = Math.min(top.limit * WALK_STEPS_PER_RESULT, range / 4);
      const worthIt = !top.full || lowerBound(bucket.names.sortKeys, this.#sortKeys[top.worst], bucket.names.sorted) < steps;
      if (worthIt && this.#walk(bucket.names, prefix, filter, top, steps)) return;
    }
    for (let i = sorted; i < refs.length; i++) if (keys[i].startsWith(prefix)) this.#offerRef(refs[i], filter, top);
    for (let i = from; i < to; ) {
      const key = keys[i];
      const slot = this.#slotOfRef(refs[i]);
      // postings of one key are in name order: once one cannot enter the results, skip to the next key
      if (slot >= 0 && top.full && this.#compare(slot, top.worst) >= 0) {
        i = i + 1 < to && keys[i + 1] === key ? upperBound(keys, key, i + 1, to) : i + 1;
        continue;
      }
      if (slot >= 0) this.#offer(slot, filter, top);
      i++;
    }
  }

  #offerRef(ref: number, filter: SlotFilter, top: TopSlots): void {
    const slot = this.#slotOfRef(ref);
    if (slot >= 0) this.#offer(slot, filter, top);
  }

  #offer(slot: number, filter: SlotFilter, top: TopSlots): void {
    if (this.#visited[slot] === this.#query) return;
    this.#visited[slot] = this.#query;
    // the cheap test first: most candidates of a wide range cannot enter the results
    if (top.full && this.#compare(slot, top.worst) >= 0) return;
    if (!filter || filter(slot)) top.offer(slot);
  }

  /**
   * Offer the contacts of a name list having a key that starts with `prefix` (null: all of them), in name
   * order, until `top` cannot improve. Returns false when it gave up after `maxSteps` contacts (the caller
   * scans the key range instead).
   */
  #walk(list: NameList, prefix: string | null, filter: SlotFilter, top: TopSlots, maxSteps: number): boolean {
    const visited = this.#visited;
    const query = this.#query;
    const consider = (ref: number) => {
      const slot = this.#slotOfRef(ref);
      if (slot < 0 || visited[slot] === query) return;
      if (top.full && this.#compare(slot, top.worst) >= 0) return;
      if ((prefix !== null && !this.#hasKeyWithPrefix(slot, prefix)) || (filter && !filter(slot))) return;
      visited[slot] = query;
      top.offer(slot);
    };
    if (tooManyUnsorted(list)) {
      if (list.sorted === 0 && list.scans < SCANS_BEFORE_SORT) {
        list.scans++;
        // a bounded walk needs the order: let the caller scan its key range instead
        if (maxSteps !== Infinity) return false;
        for (const ref of list.refs) consider(ref);
        return true;
      }
      this.#sortNames(list);
    }
    const { refs, sorted } = list;
    for (let i = sorted; i < refs.length; i++) consider(refs[i]);
    let steps = 0;
    for (let i = 0; i < sorted; i++) {
      const slot = this.#slotOfRef(refs[i]);
      if (slot < 0) continue;
      // in name order: once the results are full, no later contact can enter them
      if (top.full && this.#compare(slot, top.worst) >= 0) return true;
      if (++steps > maxSteps) return false;
      consider(refs[i]);
    }
    return true;
  }
}

function appendName(list: NameList, ref: number): void {
  if (list.lastRef === ref) return;
  list.lastRef = ref;
  list.refs.push(ref);
}

/** The best `limit` slots offered so far, kept in order. */
class TopSlots {
  readonly slots: number[] = [];

  constructor(readonly limit: number, private readonly compare: (a: number, b: number) => number) {}

  get full(): boolean {
    return this.slots.length >= this.limit;
  }

  get worst(): number {
    return this.slots[this.slots.length - 1];
  }

  offer(slot: number): void {
    const slots = this.slots;
    if (this.full && this.compare(slot, this.worst) >= 0) return;
    let at = slots.length;
    while (at > 0 && this.compare(slot, slots[at - 1]) < 0) at--;
    slots.splice(at, 0, slot);
    if (slots.length > this.limit) slots.pop();
  }
}

function growInts(array: Int32Array): Int32Array<ArrayBuffer> {
  const grown = new Int32Array(array.length * 2);
  grown.set(array);
  return grown;
}

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** First index in [0, end) whose key is >= `key`. */
function lowerBound(keys: readonly string[], key: string, end: number): number {
  let lo = 0;
  let hi = end;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid] < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index in [from, end) whose key is > `key`. */
function upperBound(keys: readonly string[], key: string, from: number, end: number): number {
  let lo = from;
  let hi = end;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid] <= key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
