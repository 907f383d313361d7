// sipp (package sip-tester): SIP scenarios, RTP streams and load. startSipp runs one sipp with
// the given arguments plus harness defaults (-i 127.0.0.1, a free -p, -nostdin, a -timeout
// backstop) and hands back its exit as a promise.

import { createSocket } from 'node:dgram';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir, spawnPeer, type PeerExit, type PeerProcess, type Readiness } from '../process.js';
import { freeUdpPort } from '../ports.js';
import { TEMPLATE_DIR, writeTemplate } from './templates.js';

/** sipp scenario templates shipped in test/support/peers/templates. */
export const SIPP_SCENARIOS = {
  /** REGISTER with digest auth: -s user -au user -ap password */
  regAuth: 'reg-auth.xml',
  /** UAC INVITE, streams @ULAW_FILE@ (raw mu-law) after ACK, BYE after 3.5 s */
  uacRtp: 'uac-rtp.xml',
  /** UAS answering PCMA, plays @AUDIO_PCAP@ then @DTMF_PCAP@, waits for BYE */
  uasPcap: 'uas-pcap.xml',
  /** UAC INVITE (PCMA + telephone-event 101), then @PLAYBACK@ (sippPlayPcaps), then waits for BYE */
  uacPcap: 'uac-pcap.xml',
  /** registrar without auth: ignores the first REGISTER for @PAUSE_MS@, grants @EXPIRES@, then takes the un-REGISTER */
  registrarSlow: 'registrar-slow.xml',
  /** UAS that ignores the INVITE for @INVITE_PAUSE_MS@ and the BYE for @BYE_PAUSE_MS@ */
  uasSlow: 'uas-slow.xml',
  /** UAC that withholds the ACK for @ACK_PAUSE_MS@ after the first 200 OK, then waits for the phone's BYE */
  uacLateAck: 'uac-late-ack.xml',
} as const;

export const SIPP_PCAPS = {
  g711a: '/usr/share/sip-tester/g711a.pcap',
  dtmf: (digit: number) => `/usr/share/sip-tester/dtmf_2833_${digit}.pcap`,
  dtmfStar: '/usr/share/sip-tester/dtmf_2833_star.pcap',
  dtmfPound: '/usr/share/sip-tester/dtmf_2833_pound.pcap',
};

/** Path of a scenario template without placeholders (e.g. reg-auth.xml). */
export function sippScenarioPath(name: string): string {
  return join(TEMPLATE_DIR, name);
}

/** Renders a scenario template with its @PLACEHOLDERS@ into dir; returns the path. */
export function writeSippScenario(name: string, dir: string, vars: Record<string, string | number> = {}): Promise<string> {
  return writeTemplate(name, dir, vars);
}

export interface SippOptions {
  /** working dir (trace files land here); default a fresh temp dir */
  cwd?: string;
  /** readiness, e.g. for a UAS; default none (ready once spawned) */
  ready?: Readiness | Readiness[];
  readyTimeoutMs?: number;
  /** -timeout backstop in seconds when args have none; default 60 */
  timeoutSec?: number;
}

export interface SippResult extends PeerExit {
  /** sipp's stdout+stderr (last 64 KiB) */
  output: string;
}

export interface Sipp {
  process: PeerProcess;
  pid: number;
  /** sipp's own SIP port (-p) */
  localPort: number;
  cwd: string;
  args: string[];
  /** resolves when sipp exits (exit code 0: every call succeeded) */
  exited: Promise<SippResult>;
  stop(): Promise<void>;
}

export async function startSipp(args: string[], o: SippOptions = {}): Promise<Sipp> {
  const cwd = o.cwd ?? (await makeTempDir('sipp'));
  const full = [...args];
  const has = (flag: string) => full.includes(flag);
  if (!has('-i')) full.push('-i', '127.0.0.1');
  let localPort: number;
  if (has('-p')) localPort = Number(full[full.indexOf('-p') + 1]);
  else {
    localPort = await freeUdpPort();
    full.push('-p', String(localPort));
  }
  if (!has('-nostdin')) full.push('-nostdin');
  if (!has('-timeout')) full.push('-timeout', `${o.timeoutSec ?? 60}s`);
  const proc = await spawnPeer({
    name: 'sipp',
    command: 'sipp',
    debianPackage: 'sip-tester',
    args: full,
    cwd,
    ready: o.ready,
    readyTimeoutMs: o.readyTimeoutMs,
    stopGraceMs: 2000,
    // sipp redraws its statistics screen; keep enough to see the end
    keepOutput: 64 * 1024,
  });
  return {
    process: proc,
    pid: proc.pid,
    localPort,
    cwd,
    args: full,
    exited: proc.exited.then((x) => ({ ...x, output: proc.output() })),
    stop: async () => void (await proc.stop()),
  };
}

/**
 * The `<nop>`/`<pause>` steps that play pcaps one after another (for a @PLAYBACK@ placeholder).
 * play_pcap_audio plays in the background, so each step pauses for `pauseMs` (as long as its
 * pcap should play, or longer) before the next one starts. A step with pauseMs 0 moves on at once (the
 * last one, so the scenario's next <recv> is waiting while the pcap plays: sipp drops a request
 * that arrives during a pause as unexpected).
 */
export function sippPlayPcaps(steps: Array<{ pcap: string; pauseMs: number }>): string {
  return steps
    .map(({ pcap, pauseMs }) => {
      const play = `  <nop><action><exec play_pcap_audio="${pcap}"/></action></nop>`;
      return pauseMs > 0 ? `${play}\n  <pause milliseconds="${Math.round(pauseMs)}"/>` : play;
    })
    .join('\n');
}

/** Readiness for a sipp UAS: its SIP port is bound (we cannot bind it ourselves). */
export function sippListening(port: number, host = '127.0.0.1'): Readiness {
  return {
    description: `sipp bound udp ${host}:${port}`,
    check: () =>
      new Promise<boolean>((resolve) => {
        const s = createSocket('udp4');
        s.once('error', () => {
          s.close();
          resolve(true);
        });
        s.bind(port, host, () => s.close(() => resolve(false)));
      }),
  };
}

/** One SIP message from sipp's -trace_msg log. */
export interface SippTracedMessage {
  /** ms since the epoch (sipp's local wall clock; compare within one log only) */
  at: number;
  direction: 'sent' | 'received';
  /** request method, or the method of the CSeq for a response */
  method: string;
  /** the status of a response, null for a request */
  status: number | null;
  /** the top Via's branch */
  branch: string | null;
  text: string;
}

/**
 * Reads sipp's -trace_msg log (name it with -message_file): every SIP message sipp sent or
 * received, retransmissions included, with its timestamp (microseconds, local time).
 */
export async function readSippMessageLog(path: string): Promise<SippTracedMessage[]> {
  const raw = await readFile(path, 'latin1');
  const out: SippTracedMessage[] = [];
  const header = /^-{10,} (\d{4})-(\d\d)-(\d\d)[ T](\d\d):(\d\d):(\d\d)\.(\d+)[ \t\r]*$/gm;
  const marks = [...raw.matchAll(header)];
  marks.forEach((m, i) => {
    const end = i + 1 < marks.length ? marks[i + 1].index : raw.length;
    const block = raw.slice(m.index + m[0].length, end).replace(/^\r?\n/, '');
    const dir = /^\S+ message (sent|received)[^\n]*\n/.exec(block);
    if (!dir) return;
    const text = block.slice(dir[0].length).replace(/^\s*\n/, '').replace(/\r\n/g, '\n');
    const first = text.split('\n')[0] ?? '';
    const cseq = /^CSeq:\s*\d+\s+(\S+)/im.exec(text);
    const status = /^SIP\/2\.0 (\d{3})/.exec(first);
    const method = status ? (cseq?.[1] ?? '') : (first.split(' ')[0] ?? '');
    const branch = /^(?:Via|v):[^\n]*?;branch=([^;,\s]+)/im.exec(text)?.[1] ?? null;
    const [, y, mo, d, h, mi, sec, frac] = m;
    const at = new Date(+y, +mo - 1, +d, +h, +mi, +sec).getTime() + Number(`0.${frac}`) * 1000;
    out.push({ at, direction: dir[1] as 'sent' | 'received', method, status: status ? Number(status[1]) : null, branch, text });
  });
  return out;
}

/** An RFC 4733 telephone-event packet in a pcap (Ethernet/IPv4/UDP/RTP). */
export interface PcapTelephoneEvent {
  /** seconds from the first packet of the file */
  at: number;
  payloadType: number;
  ssrc: number;
  timestamp: number;
  event: number;
  end: boolean;
  /** timestamp units */
  duration: number;
}

/**
 * The RTP packets of a classic little-endian pcap (like sipp's dtmf_2833_*.pcap) decoded as
 * telephone-events (RFC 4733 2.3): what a sipp play_pcap_audio of that file sends.
 */
export async function readPcapTelephoneEvents(path: string): Promise<PcapTelephoneEvent[]> {
  const b = await readFile(path);
  if (b.readUInt32LE(0) !== 0xa1b2c3d4) throw new Error(`${path}: not a little-endian microsecond pcap`);
  const linkType = b.readUInt32LE(20);
  const l2 = linkType === 1 ? 14 : linkType === 113 ? 16 : linkType === 0 ? 4 : -1;
  if (l2 < 0) throw new Error(`${path}: link type ${linkType}`);
  const out: PcapTelephoneEvent[] = [];
  let t0: number | null = null;
  for (let off = 24; off + 16 <= b.length; ) {
    const t = b.readUInt32LE(off) + b.readUInt32LE(off + 4) / 1e6;
    const len = b.readUInt32LE(off + 8);
    const pkt = b.subarray(off + 16, off + 16 + len);
    off += 16 + len;
    t0 ??= t;
    const ip = pkt.subarray(l2);
    if (ip[0] >> 4 !== 4 || ip[9] !== 17) continue; // IPv4 UDP only
    const rtp = ip.subarray((ip[0] & 15) * 4 + 8);
    if (rtp.length < 16 || rtp[0] >> 6 !== 2) continue;
    const cc = rtp[0] & 15;
    const p = rtp.subarray(12 + 4 * cc);
    out.push({
      at: t - t0,
      payloadType: rtp[1] & 0x7f,
      ssrc: rtp.readUInt32BE(8),
      timestamp: rtp.readUInt32BE(4),
      event: p[0],
      end: (p[1] & 0x80) !== 0,
      duration: p.readUInt16BE(2),
    });
  }
  return out;
}
