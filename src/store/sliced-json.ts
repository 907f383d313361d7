import { performance } from 'node:perf_hooks';

/** Containers with more members than this are written a member at a time; smaller ones in one JSON.stringify. */
const SMALL = 64;

function isSplittable(value: unknown): value is unknown[] | Record<string, unknown> {
  if (value === null || typeof value !== 'object' || typeof (value as { toJSON?: unknown }).toJSON === 'function') return false;
  return Array.isArray(value) ? value.length > SMALL : Object.keys(value).length > 0;
}

/**
 * JSON.stringify in slices, for the store's snapshots (10 MB and more at shop scale): objects, and arrays of more
 * than SMALL members, down to `depth` levels are written a member at a time, and after each `budgetMs` of work
 * the event loop gets a turn, so calls and audio never wait on a snapshot for more than a few milliseconds.
 * Anything deeper or smaller is stringified whole. The value MUST NOT change until the promise resolves.
 */
export async function stringifyInSlices(value: unknown, depth = 3, budgetMs = 4): Promise<string> {
  const parts: string[] = [];
  let sliceStart = performance.now();
  const breathe = async () => {
    if (performance.now() - sliceStart < budgetMs) return;
    await new Promise((resolve) => setImmediate(resolve));
    sliceStart = performance.now();
  };
  const write = async (member: unknown, level: number): Promise<void> => {
    if (level >= depth || !isSplittable(member)) {
      parts.push(JSON.stringify(member) ?? 'null');
      return;
    }
    if (Array.isArray(member)) {
      parts.push('[');
      for (let i = 0; i < member.length; i++) {
        if (i > 0) parts.push(',');
        await write(member[i], level + 1);
        if (i % SMALL === SMALL - 1) await breathe();
      }
      parts.push(']');
      return;
    }
    parts.push('{');
    let first = true;
    for (const [key, item] of Object.entries(member)) {
      if (item === undefined || typeof item === 'function' || typeof item === 'symbol') continue;
      parts.push(`${first ? '' : ','}${JSON.stringify(key)}:`);
      first = false;
      await write(item, level + 1);
      await breathe();
    }
    parts.push('}');
  };
  await write(value, 0);
  return parts.join('');
}
