// sipp (package sip-tester): SIP scenarios, RTP streams and load. startSipp runs one sipp with
// the given arguments plus harness defaults (-i 127.0.0.1, a free -p, -nostdin, a -timeout
// backstop) and hands back its exit as a promise.

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
} as const;

export const SIPP_PCAPS = {
  g711a: '/usr/share/sip-tester/g711a.pcap',
  dtmf: (digit: number) => `/usr/share/sip-tester/dtmf_2833_${digit}.pcap`,
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
