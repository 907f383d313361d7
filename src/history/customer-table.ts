/**
 * The history digest's customers, as a sorted text table: one line per customer,
 * `key \t ids \t briefs \t lastOrder \n`, ordered by key (UTF-16 code units, as `<` compares). A start-up
 * reads it as one string and indexes its line starts, instead of parsing 100,000 rows into objects; a lookup
 * is a binary search that decodes the one line it finds. Customers changed since are kept beside it (the
 * digest's overlay) and merged in when the digest is saved.
 */

/** [key, ids of its records ascending, its newest briefs newest first (joined by '\r'), its last order's brief] */
export type CustomerRow = [key: string, ids: number[], briefs: string, lastOrder: string | null];

export function encodeRow([key, ids, briefs, lastOrder]: CustomerRow): string {
  return `${key}\t${ids.join(',')}\t${briefs}\t${lastOrder ?? ''}\n`;
}

function decodeRow(line: string): CustomerRow {
  const [key, ids, briefs, lastOrder] = line.split('\t');
  return [key, ids ? ids.split(',').map(Number) : [], briefs ?? '', lastOrder || null];
}

export class CustomerTable {
  static readonly EMPTY = new CustomerTable('');
  readonly #starts: Uint32Array;

  /** `text`: lines as encodeRow writes them, sorted by key (as `merge` and the digest's save leave them). */
  constructor(readonly text: string) {
    let count = 0;
    for (let at = text.indexOf('\n'); at >= 0; at = text.indexOf('\n', at + 1)) count++;
    this.#starts = new Uint32Array(count + 1);
    let line = 0;
    for (let at = text.indexOf('\n'); at >= 0; at = text.indexOf('\n', at + 1)) this.#starts[++line] = at + 1;
  }

  get size(): number {
    return this.#starts.length - 1;
  }

  /** The customer with this key (a copy, free to change), or undefined. */
  find(key: string): CustomerRow | undefined {
    const line = this.#lowerBound(key);
    return line < this.size && this.#keyAt(line) === key ? decodeRow(this.#line(line)) : undefined;
  }

  /** A new table: this one with `changes` applied (a row replaces or adds its key's line, null removes it). */
  merge(changes: ReadonlyMap<string, CustomerRow | null>): CustomerTable {
    if (changes.size === 0) return this;
    const parts: string[] = [];
    let cursor = 0;
    for (const key of [...changes.keys()].sort()) {
      const line = this.#lowerBound(key);
      parts.push(this.text.slice(this.#starts[cursor], this.#starts[line]));
      cursor = line < this.size && this.#keyAt(line) === key ? line + 1 : line;
      const row = changes.get(key);
      if (row && row[1].length > 0) parts.push(encodeRow(row));
    }
    parts.push(this.text.slice(this.#starts[cursor]));
    return new CustomerTable(parts.join(''));
  }

  #line(line: number): string {
    return this.text.slice(this.#starts[line], this.#starts[line + 1] - 1);
  }

  #keyAt(line: number): string {
    const start = this.#starts[line];
    return this.text.slice(start, this.text.indexOf('\t', start));
  }

  /** The first line whose key is not below `key`. */
  #lowerBound(key: string): number {
    let low = 0;
    let high = this.size;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.#keyAt(mid) < key) low = mid + 1;
      else high = mid;
    }
    return low;
  }
}
