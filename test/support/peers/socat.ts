// A pseudo-terminal pair from socat: what one end writes the other reads, like a null-modem
// cable, for serial drivers (MCU, caller-ID decoder, modem). Package: socat.

import { realpathSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir, spawnPeer, type PeerProcess } from '../process.js';

export interface SocatPtyPair {
  /** stable symlink paths of the two ends (open these) */
  a: string;
  b: string;
  /** the /dev/pts/N devices the links point to */
  devA: string;
  devB: string;
  dir: string;
  process: PeerProcess;
  pid: number;
  stop(): Promise<void>;
}

export async function startSocatPtyPair(o: { readyTimeoutMs?: number } = {}): Promise<SocatPtyPair> {
  const dir = await makeTempDir('pty');
  const a = join(dir, 'a');
  const b = join(dir, 'b');
  // rawer: no line discipline at all (no echo, no CR/NL mapping, no XON/XOFF, no signals), so
  // every byte value goes through unchanged
  const end = (link: string) => `pty,rawer,link=${link}`;
  const proc = await spawnPeer({
    name: 'socat',
    command: 'socat',
    debianPackage: 'socat',
    args: ['-d', '-d', end(a), end(b)],
    cwd: dir,
    ready: [{ file: a }, { file: b }, { line: /starting data transfer loop/ }],
    readyTimeoutMs: o.readyTimeoutMs ?? 5000,
    stopGraceMs: 1000,
  });
  return {
    a,
    b,
    devA: realpathSync(a),
    devB: realpathSync(b),
    dir,
    process: proc,
    pid: proc.pid,
    stop: async () => void (await proc.stop()),
  };
}
