// Spawning, readiness and stopping of peer processes for the integration suites.
//
// Every peer is a direct child of the test process (never detached), so when the runner kills a
// suite's process group on a budget overrun the peers go with it. Peers are stopped by PID
// (SIGTERM, then SIGKILL of the peer and the descendants it had), never by name: a colleague's
// suite may be running the same programs in parallel.

import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { accessSync, constants, existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, chmod } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { createSocket } from 'node:dgram';
import { delimiter, join } from 'node:path';
import { tmpdir } from 'node:os';

/** A program the harness needs is not installed; names the Debian package to install. */
export class MissingPeerError extends Error {
  readonly code = 'PEER_MISSING';
  constructor(
    readonly binary: string,
    readonly debianPackage: string,
  ) {
    super(
      `${binary} not found: install the Debian package "${debianPackage}" ` +
        `(as root: node scripts/dev/system-deps.mjs test, or apt-get install ${debianPackage})`,
    );
    this.name = 'MissingPeerError';
  }
}

/** A peer did not become ready in time, or exited first; carries its captured output. */
export class PeerStartError extends Error {
  readonly code = 'PEER_START_FAILED';
  constructor(
    message: string,
    readonly output: string,
  ) {
    super(`${message}\n----- peer output (last ${output.length} chars) -----\n${output || '(none)'}\n-----`);
    this.name = 'PeerStartError';
  }
}

/** Absolute path of `binary` (searched on PATH and the sbin dirs), or MissingPeerError. */
export function requireBinary(binary: string, debianPackage: string): string {
  if (binary.includes('/')) {
    if (isExecutable(binary)) return binary;
    throw new MissingPeerError(binary, debianPackage);
  }
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin', '/usr/bin', '/bin'];
  for (const dir of dirs) {
    if (!dir) continue;
    const p = join(dir, binary);
    if (isExecutable(p)) return p;
  }
  throw new MissingPeerError(binary, debianPackage);
}

function isExecutable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** How to tell that a peer is ready. */
export type Readiness =
  /** a TCP connect to host:port succeeds */
  | { tcp: number; host?: string }
  /** `payload` sent over UDP to host:port gets a datagram back (that `match` accepts, if given) */
  | { udp: number; host?: string; payload: Buffer | string; match?: (reply: Buffer) => boolean }
  /** the file (or symlink) exists */
  | { file: string }
  /** a line of the peer's stdout or stderr matches */
  | { line: RegExp }
  /** a custom async check (given the peer, e.g. to read its output); resolves true when ready */
  | { check: (peer: PeerProcess) => Promise<boolean>; description: string };

export interface SpawnPeerOptions {
  /** short name for messages and the registry, e.g. "kamailio" */
  name: string;
  command: string;
  args?: string[];
  /** Debian package that ships `command` (for the MissingPeerError) */
  debianPackage: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** all of these must hold; none = ready once spawned */
  ready?: Readiness | Readiness[];
  /** default 10 000 ms */
  readyTimeoutMs?: number;
  /** grace between SIGTERM and SIGKILL on stop(); default 3000 ms */
  stopGraceMs?: number;
  /** signal for the graceful stop; default SIGTERM */
  stopSignal?: NodeJS.Signals;
  /** bytes of output kept for error messages; default 64 KiB */
  keepOutput?: number;
  /** stdin of the peer; default 'ignore' (/dev/null) */
  stdin?: 'ignore' | 'pipe';
}

export interface PeerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A running peer process. */
export class PeerProcess {
  readonly exited: Promise<PeerExit>;
  private out = '';
  private lineWaiters: Array<{ re: RegExp; resolve: (line: string) => void }> = [];
  private partial = { stdout: '', stderr: '' };
  private exitInfo: PeerExit | null = null;
  private stopping: Promise<PeerExit> | null = null;
  private readonly keep: number;

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
    private readonly opts: { stopGraceMs: number; stopSignal: NodeJS.Signals; keepOutput: number },
  ) {
    if (child.pid === undefined) throw new Error(`${name}: spawn returned no pid`);
    this.keep = opts.keepOutput;
    this.exited = new Promise<PeerExit>((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        resolve(this.exitInfo);
      });
    });
    child.stdout?.setEncoding('utf8');
    child.stderr?.setEncoding('utf8');
    child.stdout?.on('data', (d: string) => this.onData('stdout', d));
    child.stderr?.on('data', (d: string) => this.onData('stderr', d));
  }

  get pid(): number {
    return this.child.pid as number;
  }

  /** true until the process has exited (as seen by its parent) */
  get running(): boolean {
    return this.exitInfo === null;
  }

  get exitStatus(): PeerExit | null {
    return this.exitInfo;
  }

  /** stdout and stderr interleaved as received (the last keepOutput chars) */
  output(): string {
    return this.out;
  }

  /** Resolves with the first line (from now or already seen) matching re. */
  waitForLine(re: RegExp, timeoutMs = 10_000): Promise<string> {
    const seen = this.out.split('\n').find((l) => re.test(l));
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise<string>((resolve, reject) => {
      const waiter = {
        re,
        resolve: (line: string) => {
          clearTimeout(timer);
          resolve(line);
        },
      };
      const timer = setTimeout(() => {
        this.lineWaiters = this.lineWaiters.filter((w) => w !== waiter);
        reject(new PeerStartError(`${this.name}: no output line matching ${re} within ${timeoutMs} ms`, this.out));
      }, timeoutMs);
      this.lineWaiters.push(waiter);
    });
  }

  private onData(stream: 'stdout' | 'stderr', chunk: string): void {
    this.out += chunk;
    if (this.out.length > this.keep) this.out = this.out.slice(-this.keep);
    const text = this.partial[stream] + chunk;
    const lines = text.split('\n');
    this.partial[stream] = lines.pop() ?? '';
    if (!this.lineWaiters.length) return;
    for (const line of lines) {
      for (const w of [...this.lineWaiters]) {
        if (w.re.test(line)) {
          this.lineWaiters = this.lineWaiters.filter((x) => x !== w);
          w.resolve(line);
        }
      }
    }
  }

  /**
   * Stops the peer: stopSignal (SIGTERM) to its PID, SIGKILL to it and its descendants after
   * the grace period, then SIGKILL to any descendant that outlived it. Resolves once the PID is
   * gone. Idempotent.
   */
  stop(graceMs = this.opts.stopGraceMs): Promise<PeerExit> {
    if (!this.stopping) this.stopping = this.doStop(graceMs);
    return this.stopping;
  }

  private async doStop(graceMs: number): Promise<PeerExit> {
    try {
      if (this.exitInfo) return this.exitInfo;
      const tree = descendants(this.pid);
      signal(this.pid, this.opts.stopSignal);
      let timer: NodeJS.Timeout | undefined;
      const graceful = await Promise.race([this.exited, new Promise<null>((r) => (timer = setTimeout(() => r(null), graceMs)))]);
      clearTimeout(timer);
      if (!graceful) {
        signal(this.pid, 'SIGKILL');
        for (const p of [...tree, ...descendants(this.pid)]) signal(p.pid, 'SIGKILL');
      }
      const exit = await this.exited;
      const orphans = tree.filter(isSameProcess);
      for (const p of orphans) signal(p.pid, 'SIGKILL');
      await waitGone(this.pid, 2000);
      await waitDead(orphans, 2000);
      return exit;
    } finally {
      registry.delete(this);
    }
  }
}

// ---- registry: everything this test file started, for afterAll(stopAllPeers) ----------------

const registry = new Set<PeerProcess>();
const cleanupDirs = new Set<string>();
const cleanups = new Set<() => Promise<void>>();

/**
 * Registers a stop function for something not spawned by spawnPeer (e.g. a browser), run by
 * stopAllPeers. Returns a function that unregisters it (call it once stopped by hand).
 */
export function onStopAll(fn: () => Promise<void>): () => void {
  cleanups.add(fn);
  return () => void cleanups.delete(fn);
}

/** Peers started by this module instance (i.e. this test file) and not yet stopped. */
export function runningPeers(): PeerProcess[] {
  return [...registry];
}

/** Stops every peer this test file started (and removes temp dirs made with makeTempDir). */
export async function stopAllPeers(): Promise<void> {
  const fns = [...cleanups];
  cleanups.clear();
  await Promise.all([...fns.map((fn) => fn().catch(() => undefined)), ...[...registry].map((p) => p.stop())]);
  if (exitHook) {
    process.removeListener('exit', killLeftovers);
    exitHook = false;
  }
  await Promise.all([...cleanupDirs].map((d) => rm(d, { recursive: true, force: true })));
  cleanupDirs.clear();
}

// Last resort if a test file forgets afterAll(stopAllPeers) or the worker exits early.
function killLeftovers(): void {
  for (const p of registry) {
    for (const d of [p.pid, ...descendants(p.pid).map((x) => x.pid)]) signal(d, 'SIGKILL');
  }
}
let exitHook = false;
function armExitHook(): void {
  if (exitHook) return;
  exitHook = true;
  process.once('exit', killLeftovers);
}

/**
 * A fresh temp dir (removed by stopAllPeers unless keep). Mode 0755 so peers that drop
 * privileges (mosquitto) can enter it.
 */
export async function makeTempDir(prefix: string, keep = false): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `deskline-${prefix}-`));
  await chmod(dir, 0o755);
  if (!keep) cleanupDirs.add(dir);
  return dir;
}

/** Spawns a peer, waits until it is ready, registers it for stopAllPeers. */
export async function spawnPeer(o: SpawnPeerOptions): Promise<PeerProcess> {
  const command = requireBinary(o.command, o.debianPackage);
  const spawnOpts: SpawnOptions = {
    cwd: o.cwd,
    env: o.env ?? process.env,
    stdio: [o.stdin ?? 'ignore', 'pipe', 'pipe'],
    detached: false,
  };
  const child = spawn(command, o.args ?? [], spawnOpts);
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  if (child.pid === undefined) {
    const err = await spawnError;
    throw new PeerStartError(`${o.name}: could not spawn ${command}: ${err.message}`, '');
  }
  const peer = new PeerProcess(o.name, child, {
    stopGraceMs: o.stopGraceMs ?? 3000,
    stopSignal: o.stopSignal ?? 'SIGTERM',
    keepOutput: o.keepOutput ?? 64 * 1024,
  });
  registry.add(peer);
  armExitHook();
  const timeoutMs = o.readyTimeoutMs ?? 10_000;
  const checks = o.ready === undefined ? [] : Array.isArray(o.ready) ? o.ready : [o.ready];
  try {
    await waitReady(peer, checks, timeoutMs, spawnError);
  } catch (e) {
    await peer.stop(500);
    if (e instanceof PeerStartError) throw e;
    throw new PeerStartError(`${o.name}: ${(e as Error).message}`, peer.output());
  }
  return peer;
}

async function waitReady(peer: PeerProcess, checks: Readiness[], timeoutMs: number, spawnError: Promise<Error>): Promise<void> {
  const started = Date.now();
  const deadline = started + timeoutMs;
  let failed: string | null = null;
  const died = peer.exited.then((x) => {
    failed = `exited before it was ready (code ${x.code}, signal ${x.signal})`;
  });
  void spawnError.then((e) => {
    failed = `spawn failed: ${e.message}`;
  });
  for (const c of checks) {
    let ok = false;
    while (!ok) {
      if (failed) throw new PeerStartError(`${peer.name} (pid ${peer.pid}) ${failed}`, peer.output());
      if (Date.now() > deadline) {
        throw new PeerStartError(
          `${peer.name} (pid ${peer.pid}) not ready within ${timeoutMs} ms: waiting for ${describe(c)}`,
          peer.output(),
        );
      }
      ok = await probeOnce(peer, c, Math.max(50, Math.min(1000, deadline - Date.now())));
      if (!ok) await Promise.race([delay(25), died]);
    }
  }
  // A peer that passes a port probe yet dies right after (e.g. a port taken by another instance)
  if (failed) throw new PeerStartError(`${peer.name} (pid ${peer.pid}) ${failed}`, peer.output());
}

function describe(c: Readiness): string {
  if ('tcp' in c) return `TCP ${c.host ?? '127.0.0.1'}:${c.tcp} to accept`;
  if ('udp' in c) return `a UDP reply from ${c.host ?? '127.0.0.1'}:${c.udp}`;
  if ('file' in c) return `file ${c.file}`;
  if ('line' in c) return `an output line matching ${c.line}`;
  return c.description;
}

async function probeOnce(peer: PeerProcess, c: Readiness, timeoutMs: number): Promise<boolean> {
  if ('tcp' in c) return tcpAccepts(c.tcp, c.host, timeoutMs);
  if ('udp' in c) return (await udpRequest(c.udp, c.payload, { host: c.host, timeoutMs: Math.min(timeoutMs, 250), match: c.match })) !== null;
  if ('file' in c) return existsSync(c.file);
  if ('line' in c) return peer.output().split('\n').some((l) => c.line.test(l));
  return c.check(peer);
}

/** true if a TCP connection to host:port is accepted within timeoutMs. */
export function tcpAccepts(port: number, host = '127.0.0.1', timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ port, host });
    const done = (ok: boolean) => {
      clearTimeout(t);
      s.destroy();
      resolve(ok);
    };
    const t = setTimeout(() => done(false), timeoutMs);
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

/** Sends one datagram and resolves with the first reply (accepted by match), or null on timeout. */
export function udpRequest(
  port: number,
  payload: Buffer | string,
  o: { host?: string; timeoutMs?: number; match?: (reply: Buffer) => boolean; localPort?: number } = {},
): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const sock = createSocket('udp4');
    const t = setTimeout(() => done(null), o.timeoutMs ?? 1000);
    const done = (r: Buffer | null) => {
      clearTimeout(t);
      try {
        sock.close();
      } catch {
        /* closed */
      }
      resolve(r);
    };
    sock.on('error', () => done(null));
    sock.on('message', (msg) => {
      if (!o.match || o.match(msg)) done(msg);
    });
    sock.bind(o.localPort ?? 0, '127.0.0.1', () => {
      sock.send(typeof payload === 'string' ? Buffer.from(payload) : payload, port, o.host ?? '127.0.0.1');
    });
  });
}

// ---- process helpers --------------------------------------------------------------------------

export function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** true while a process with this PID exists (zombies included). */
export function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * true while the process runs: false once it is gone or a zombie (an orphan killed with its
 * parent is a zombie until PID 1 reaps it; it holds no ports or files any more).
 */
export function processAlive(pid: number): boolean {
  if (!pidExists(pid)) return false;
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2, s.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Resolves once the PID is gone; false on timeout. */
export async function waitGone(pid: number, timeoutMs = 5000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (pidExists(pid)) {
    if (Date.now() > deadline) return false;
    await delay(10);
  }
  return true;
}

/** Waits (up to timeoutMs) until none of the processes runs any more (zombies count as dead). */
export async function waitDead(procs: ProcRef[], timeoutMs = 2000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!procs.some((p) => isSameProcess(p) && processAlive(p.pid))) return true;
    if (Date.now() > deadline) return false;
    await delay(10);
  }
}

export interface ProcRef {
  pid: number;
  /** start time in clock ticks since boot (field 22 of /proc/PID/stat): guards against PID reuse */
  start: string;
}

function readStat(pid: number): { ppid: number; start: string } | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm may contain spaces and parens: fields after the last ')'
    const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(rest[1]), start: rest[19] };
  } catch {
    return null;
  }
}

/** All descendants of pid, found through /proc (children before grandchildren). */
export function descendants(pid: number): ProcRef[] {
  const children = new Map<number, ProcRef[]>();
  let entries: string[] = [];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    const st = readStat(Number(e));
    if (!st) continue;
    const ref: ProcRef = { pid: Number(e), start: st.start };
    const list = children.get(st.ppid) ?? [];
    list.push(ref);
    children.set(st.ppid, list);
  }
  const out: ProcRef[] = [];
  const queue = [pid];
  while (queue.length) {
    const p = queue.shift() as number;
    for (const c of children.get(p) ?? []) {
      out.push(c);
      queue.push(c.pid);
    }
  }
  return out;
}

/** true while the process p refers to (same PID and start time) still exists. */
export function isSameProcess(p: ProcRef): boolean {
  const st = readStat(p.pid);
  return st !== null && st.start === p.start;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* already gone */
  }
}

/**
 * Stops a process we know only by PID (e.g. a daemon's pidfile): SIGTERM, SIGKILL after
 * graceMs, resolves once the PID is gone.
 */
export async function stopPid(pid: number, graceMs = 3000): Promise<void> {
  const tree = descendants(pid);
  signal(pid, 'SIGTERM');
  if (!(await waitGone(pid, graceMs))) {
    signal(pid, 'SIGKILL');
    await waitGone(pid, 2000);
  }
  const orphans = tree.filter(isSameProcess);
  for (const p of orphans) signal(p.pid, 'SIGKILL');
  await waitDead(orphans, 2000);
}
