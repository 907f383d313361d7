// Damage that the store cannot see from the outside of a file.

import { execFileSync } from 'node:child_process';
import { statSync, writeFileSync } from 'node:fs';

/**
 * Overwrites a file in place with garbage of the same size and puts back its exact mtime (touch takes
 * nanoseconds, utimes does not): inode, size and mtime are unchanged, so an entries file still looks current.
 */
export function garbleKeepingStamp(path: string): void {
  const { size, mtimeNs } = statSync(path, { bigint: true });
  writeFileSync(path, '#'.repeat(Number(size)));
  const nanos = String(mtimeNs % 1_000_000_000n).padStart(9, '0');
  execFileSync('touch', ['-m', '-d', `@${mtimeNs / 1_000_000_000n}.${nanos}`, path]);
}
