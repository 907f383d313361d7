// baresip as a headless far-end phone: plays a WAV into each call, records what it sends and
// receives (sndfile: *-enc.wav sent, *-dec.wav received), auto-answers, and takes commands as
// netstring JSON over ctrl_tcp. Package: baresip-core.

import { EventEmitter } from 'node:events';
import { mkdir, writeFile } from 'node:fs/promises';
import { createConnection, type Socket } from 'node:net';
import { join } from 'node:path';
import { makeTempDir, spawnPeer, type PeerProcess } from '../process.js';
import { freePort, freePortRange, freeTcpPort } from '../ports.js';
import { writeToneWav } from '../audio.js';
import { writeTemplate } from './templates.js';

export interface BaresipAccount {
  user: string;
  /** "host:port" of a registrar (e.g. kamailio.domain); none = a local account on baresip's own port */
  registrar?: string;
  password?: string;
  /** default 'auto' */
  answermode?: 'auto' | 'manual' | 'early';
  /** default 'pcmu,pcma' */
  codecs?: string;
  /** REGISTER interval in s (default 60 with a registrar, 0 without) */
  regint?: number;
  /** more ;params appended as they are */
  extraParams?: string;
}

export interface BaresipOptions {
  /** WAV (S16LE mono 8 kHz) played into every call; default a generated 1 s 440 Hz tone */
  sourceWav?: string;
  /** directory for recordings (loads sndfile); none = no recording */
  recordDir?: string;
  /** default [{ user: 'far' }]: a local account sip:far@127.0.0.1:<sipPort> */
  accounts?: BaresipAccount[];
  /** more modules to load, e.g. ['g722.so', 'srtp.so'] */
  extraModules?: string[];
  /** baresip quits by itself after this many seconds (-t), a backstop against leaks; default 900 */
  lifetimeSec?: number;
  /** also wait until every account with a registrar has registered */
  waitRegistered?: boolean;
  readyTimeoutMs?: number;
}

export interface Baresip {
  host: string;
  sipPort: number;
  ctrlPort: number;
  rtpPorts: { first: number; last: number };
  /** SIP URI of the first local account (or of the first account) */
  uri: string;
  dir: string;
  recordDir?: string;
  sourceWav: string;
  process: PeerProcess;
  pid: number;
  /** one ctrl_tcp round trip on a fresh connection */
  command(command: string, params?: string, timeoutMs?: number): Promise<BaresipReply>;
  /** a persistent ctrl_tcp connection (events + commands); closed by stop() */
  control(): Promise<BaresipControl>;
  stop(): Promise<void>;
}

export interface BaresipReply {
  ok: boolean;
  data: string;
  raw: Record<string, unknown>;
}

function accountLine(a: BaresipAccount, host: string, sipPort: number): string {
  const codecs = `audio_codecs=${a.codecs ?? 'pcmu,pcma'}`;
  const answer = `answermode=${a.answermode ?? 'auto'}`;
  const extra = a.extraParams ? `;${a.extraParams.replace(/^;/, '')}` : '';
  if (!a.registrar) {
    return `<sip:${a.user}@${host}:${sipPort};transport=udp>;regint=${a.regint ?? 0};${answer};${codecs}${extra}`;
  }
  const auth = a.password !== undefined ? `;auth_pass=${a.password}` : '';
  return (
    `<sip:${a.user}@${a.registrar};transport=udp>${auth};regint=${a.regint ?? 60};${answer};${codecs}` +
    `;outbound="sip:${a.registrar};transport=udp"${extra}`
  );
}

export async function startBaresip(o: BaresipOptions = {}): Promise<Baresip> {
  const host = '127.0.0.1';
  const dir = await makeTempDir('baresip');
  const sipPort = await freePort();
  const ctrlPort = await freeTcpPort();
  const rtpPorts = await freePortRange(40, 'udp');
  const sourceWav = o.sourceWav ?? (await writeToneWav(join(dir, 'source.wav')));
  if (o.recordDir) await mkdir(o.recordDir, { recursive: true });
  const accounts = o.accounts ?? [{ user: 'far' }];
  await writeTemplate('baresip-config', dir, {
    HOST: host,
    SIP_PORT: sipPort,
    CTRL_PORT: ctrlPort,
    RTP_FIRST: rtpPorts.first,
    RTP_LAST: rtpPorts.last,
    SOURCE_WAV: sourceWav,
    RECORD_DIR: o.recordDir ?? dir,
    RECORD_MODULE: o.recordDir ? 'module\t\t\tsndfile.so' : '',
    EXTRA_MODULES: (o.extraModules ?? []).map((m) => `module\t\t\t${m}`).join('\n'),
  }, 'config');
  await writeFile(join(dir, 'accounts'), accounts.map((a) => accountLine(a, host, sipPort)).join('\n') + '\n');

  const ready: Parameters<typeof spawnPeer>[0]['ready'] = [{ tcp: ctrlPort, host }];
  const registered = accounts.filter((a) => a.registrar && (a.regint ?? 60) > 0);
  if (o.waitRegistered && registered.length) {
    ready.push({
      description: `${registered.length} account(s) registered`,
      check: async (peer) => (peer.output().match(/\b200 OK\b.*\[\d+ binding/g) ?? []).length >= registered.length,
    });
  }
  const p = await spawnPeer({
    name: 'baresip',
    command: 'baresip',
    debianPackage: 'baresip-core',
    args: ['-f', dir, '-t', String(o.lifetimeSec ?? 900)],
    cwd: dir,
    ready,
    readyTimeoutMs: o.readyTimeoutMs ?? 10_000,
    // after SIGTERM it unregisters first
    stopGraceMs: 4000,
  });
  const local = accounts.find((a) => !a.registrar) ?? accounts[0];
  const controls: BaresipControl[] = [];
  return {
    host,
    sipPort,
    ctrlPort,
    rtpPorts,
    uri: local.registrar ? `sip:${local.user}@${local.registrar}` : `sip:${local.user}@${host}:${sipPort}`,
    dir,
    recordDir: o.recordDir,
    sourceWav,
    process: p,
    pid: p.pid,
    command: async (command, params, timeoutMs) => {
      const c = await BaresipControl.connect(ctrlPort, host);
      try {
        return await c.command(command, params, timeoutMs);
      } finally {
        c.close();
      }
    },
    control: async () => {
      const c = await BaresipControl.connect(ctrlPort, host);
      controls.push(c);
      return c;
    },
    stop: async () => {
      for (const c of controls) c.close();
      await p.stop();
    },
  };
}

/** baresip's ctrl_tcp: netstring-framed JSON commands, replies matched by token, and events. */
export class BaresipControl extends EventEmitter {
  /** every event received so far ({"event":true,"type":"CALL_INCOMING",...}) */
  readonly events: Array<Record<string, unknown>> = [];
  private buf = Buffer.alloc(0);
  private seq = 0;
  private pending = new Map<string, { resolve: (r: BaresipReply) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();

  private constructor(private readonly sock: Socket) {
    super();
    sock.on('data', (d) => this.onData(d));
    sock.on('close', () => {
      for (const [, p] of this.pending) {
        clearTimeout(p.timer);
        p.reject(new Error('baresip ctrl_tcp connection closed'));
      }
      this.pending.clear();
    });
    sock.on('error', () => {
      /* close follows */
    });
  }

  static connect(port: number, host = '127.0.0.1', timeoutMs = 3000): Promise<BaresipControl> {
    return new Promise((resolve, reject) => {
      const sock = createConnection({ port, host });
      const t = setTimeout(() => {
        sock.destroy();
        reject(new Error(`baresip ctrl_tcp ${host}:${port}: connect timed out`));
      }, timeoutMs);
      sock.once('connect', () => {
        clearTimeout(t);
        resolve(new BaresipControl(sock));
      });
      sock.once('error', (e) => {
        clearTimeout(t);
        reject(e);
      });
    });
  }

  /** Sends a command (e.g. 'uafind', 'dial', 'hangup', 'listcalls') and awaits its reply. */
  command(command: string, params?: string, timeoutMs = 5000): Promise<BaresipReply> {
    const token = `t${++this.seq}`;
    const json = JSON.stringify({ command, ...(params !== undefined ? { params } : {}), token });
    const body = Buffer.from(json, 'utf8');
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(token);
        reject(new Error(`baresip ctrl_tcp: no reply to ${command} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(token, { resolve, reject, timer });
      this.sock.write(Buffer.concat([Buffer.from(`${body.length}:`), body, Buffer.from(',')]));
    });
  }

  /** Resolves with the first event (already received or coming) that pred accepts. */
  waitForEvent(pred: (e: Record<string, unknown>) => boolean, timeoutMs = 10_000): Promise<Record<string, unknown>> {
    const seen = this.events.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const onEvent = (e: Record<string, unknown>) => {
        if (!pred(e)) return;
        clearTimeout(t);
        this.off('event', onEvent);
        resolve(e);
      };
      const t = setTimeout(() => {
        this.off('event', onEvent);
        reject(new Error(`baresip: no matching event within ${timeoutMs} ms; got ${JSON.stringify(this.events.map((x) => x.type))}`));
      }, timeoutMs);
      this.on('event', onEvent);
    });
  }

  close(): void {
    this.sock.destroy();
  }

  private onData(d: Buffer): void {
    this.buf = Buffer.concat([this.buf, d]);
    for (;;) {
      const colon = this.buf.indexOf(0x3a); // ':'
      if (colon < 0) return;
      const len = Number(this.buf.subarray(0, colon).toString('ascii'));
      if (!Number.isInteger(len) || len < 0 || colon > 10) {
        this.buf = Buffer.alloc(0); // not a netstring: drop and resync on the next chunk
        return;
      }
      if (this.buf.length < colon + 1 + len + 1) return;
      const json = this.buf.subarray(colon + 1, colon + 1 + len).toString('utf8');
      this.buf = this.buf.subarray(colon + 1 + len + 1);
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(json) as Record<string, unknown>;
      } catch {
        continue;
      }
      if (msg.response === true && typeof msg.token === 'string' && this.pending.has(msg.token)) {
        const p = this.pending.get(msg.token)!;
        this.pending.delete(msg.token);
        clearTimeout(p.timer);
        p.resolve({ ok: msg.ok === true, data: typeof msg.data === 'string' ? msg.data : '', raw: msg });
      } else if (msg.event === true) {
        this.events.push(msg);
        this.emit('event', msg);
      }
    }
  }
}
