// Voice path of the running phone next to baresip, under the same sipp UAC scenario (issue #4):
//   - INVITE->180 (and ->200) latency of each callee, from packet timestamps (tcpdump on lo;
//     sipp's own timer has 4 ms steps here), paired by Call-ID: p50/p99/max
//   - RTP send-interval jitter of each callee's RTP (deviation from 20 ms): stddev, p99 |dev|, max
//   - event-loop delay of the phone's main thread while it records every call (runtime.stats on
//     its control socket)
//   - CPU seconds per call-minute (utime+stime of /proc/<pid>/stat, worker threads included)
//   - RSS idle and in call (VmRSS)
// The phone is `node dist/src/main.js start` (npm run build first; scripts/dev/bench.mjs does) on
// the sim board with one account registered at Kamailio (1000), sip.autoAnswer, recording 'always'.
// `npm run bench -- voice` -> bench-results/voice.json. Knobs: BENCH_CALLS (200 per callee),
// BENCH_RATE (calls/s at most, 5), BENCH_PARALLEL (calls up at once, 1: a desk phone answers one
// call at a time, so with 1 s of talk the rate is ~1 call/s), BENCH_CALL_MS (talk time, 1000),
// BENCH_ONLY=phone|baresip, BENCH_KEEP=1 (keep pcaps and recordings).
// Measures only: never fails on timing. Exit 1 when a phase could not run at all.
import { existsSync } from 'node:fs';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connectControl, type ControlClient } from '../../src/control/client.js';
import type { RuntimeStats } from '../../src/core/perf.js';
import { projectRoot } from '../../src/core/paths.js';
import { encodeG711 } from '../../src/media/g711.js';
import { toneSamples, writeToneWav } from '../support/audio.js';
import { freePort, freePortRange, freeTcpPort } from '../support/ports.js';
import { renderTemplate, startKamailio, startSipp, writeSippScenario } from '../support/peers/index.js';
import { makeTempDir, spawnPeer, stopAllPeers, type PeerProcess } from '../support/process.js';
import { callTimes, readPcapUdp, rtpSendIntervals, type CallTimes } from './support/pcap.js';
import { cpuSeconds, rssBytes, sampleRss } from './support/proc.js';
import { max, percentile, report, stddev, type Metric } from './support/report.js';

const CALLS = Number(process.env.BENCH_CALLS ?? 200);
const RATE = Number(process.env.BENCH_RATE ?? 5);
const CALL_MS = Number(process.env.BENCH_CALL_MS ?? 1000);
/** calls up at once: a desk phone takes one call at a time (a second one gets 486 Busy Here) */
const PARALLEL = Number(process.env.BENCH_PARALLEL ?? 1);
const ONLY = process.env.BENCH_ONLY;
/** BENCH_KEEP=1 keeps the work dirs (pcaps, configs, recordings) for a look afterwards */
const KEEP = process.env.BENCH_KEEP === '1';
const MB = 1024 * 1024;

interface Callee {
  name: 'phone' | 'baresip';
  pid: number;
  sipPort: number;
  /** the user part sipp calls */
  user: string;
  stats?: ControlClient;
}

interface PhaseResult {
  calls: CallTimes[];
  intervals: number[];
  rtpPackets: number;
  rtpFlows: number;
  cpuSeconds: number;
  callMinutes: number;
  rssIdle: number;
  rssInCall: number;
  dropped: number;
  sippExit: number | null;
  runtime?: RuntimeStats;
}

const root = projectRoot();
const mainJs = join(root, 'dist', 'src', 'main.js');
if (!existsSync(mainJs)) {
  process.stderr.write(`voice bench: ${mainJs} is missing: run npm run build first\n`);
  process.exit(1);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The phone: the runtime as `deskline start`, one account at Kamailio, answering and recording every call. */
async function startPhone(dir: string, domain: string): Promise<{ peer: PeerProcess; sipPort: number; control: ControlClient; dataDir: string }> {
  const sipPort = await freePort();
  const socket = join(dir, 'ctl.sock');
  const dataDir = join(dir, 'data');
  const config = {
    board: 'sim',
    web: { port: 0 },
    sip: {
      listen: { udp: sipPort, tcp: sipPort },
      accounts: [{ id: 'desk', uri: `sip:1000@${domain}`, password: 'secret1000', expires: 600 }],
      autoAnswer: true,
      allowFrom: ['127.0.0.1'],
    },
    recording: { mode: 'always' },
    control: { socket },
  };
  const configPath = join(dir, 'phone.json');
  await writeFile(configPath, JSON.stringify(config, null, 2));
  const peer = await spawnPeer({
    name: 'deskline',
    command: process.execPath,
    debianPackage: 'nodejs',
    args: [mainJs, 'start', '--config', configPath, '--data', dataDir],
    cwd: root,
    env: { ...process.env, DESKLINE_CONFIG: '', DESKLINE_DATA: '' },
    ready: [{ line: /Virtual phone: http/ }, { file: socket }],
    readyTimeoutMs: 30_000,
    stopGraceMs: 10_000,
    keepOutput: 256 * 1024,
  });
  await peer.waitForLine(/"state":"registered"/, 20_000);
  const control = await connectControl(socket);
  return { peer, sipPort, control, dataDir };
}

/**
 * baresip auto-answering on a local account sip:far@127.0.0.1:<port>, from the harness template
 * but allowing as many parallel calls as the bench keeps up (the template's 4 is for tests).
 */
async function startFarBaresip(dir: string, maxCalls: number): Promise<{ peer: PeerProcess; sipPort: number }> {
  const host = '127.0.0.1';
  const sipPort = await freePort();
  const ctrlPort = await freeTcpPort();
  const rtp = await freePortRange(Math.max(40, maxCalls * 4), 'udp');
  const wav = await writeToneWav(join(dir, 'source.wav'), { frequency: 440, seconds: 5 });
  const text = renderTemplate('baresip-config', {
    HOST: host, SIP_PORT: sipPort, CTRL_PORT: ctrlPort, RTP_FIRST: rtp.first, RTP_LAST: rtp.last,
    SOURCE_WAV: wav, RECORD_DIR: dir, RECORD_MODULE: '', EXTRA_MODULES: '',
  }).replace(/^call_max_calls\s+\d+$/m, `call_max_calls\t\t${maxCalls}`);
  await writeFile(join(dir, 'config'), text);
  await writeFile(join(dir, 'accounts'), `<sip:far@${host}:${sipPort};transport=udp>;regint=0;answermode=auto;audio_codecs=pcmu\n`);
  const peer = await spawnPeer({
    name: 'baresip', command: 'baresip', debianPackage: 'baresip-core', args: ['-f', dir, '-t', '1800'], cwd: dir,
    ready: { tcp: ctrlPort, host }, stopGraceMs: 4000,
  });
  return { peer, sipPort };
}

/** tcpdump on lo writing every UDP datagram (full length, ns timestamps) to file. */
function startCapture(file: string): Promise<PeerProcess> {
  return spawnPeer({
    name: 'tcpdump',
    command: 'tcpdump',
    debianPackage: 'tcpdump',
    args: ['-i', 'lo', '-n', '-s', '0', '-B', '32768', '--time-stamp-precision=nano', '-w', file, 'udp and host 127.0.0.1'],
    ready: { line: /listening on lo/ },
    readyTimeoutMs: 10_000,
    stopGraceMs: 5000,
  });
}

async function runPhase(callee: Callee, dir: string, scenario: string): Promise<PhaseResult> {
  const pcapFile = join(dir, `${callee.name}.pcap`);
  // idle: settled for a moment, no call
  await sleep(2000);
  const rssIdle = rssBytes(callee.pid);
  const capture = await startCapture(pcapFile);
  const mediaPorts = await freePortRange(400, 'udp');
  const cpu0 = cpuSeconds(callee.pid);
  await callee.stats?.call('runtime.stats', { reset: true });
  const rss = sampleRss(callee.pid, 250);
  const sipp = await startSipp(
    [
      `127.0.0.1:${callee.sipPort}`, '-sf', scenario, '-s', callee.user,
      '-m', String(CALLS), '-r', String(RATE), '-l', String(PARALLEL),
      '-mi', '127.0.0.1', '-mp', String(mediaPorts.first), '-recv_timeout', '15000',
    ],
    { cwd: dir, timeoutSec: Math.ceil((CALLS * (CALL_MS / 1000 + 0.5)) / PARALLEL + CALLS / RATE + 90) },
  );
  const exit = await sipp.exited;
  const runtime = await callee.stats?.call<RuntimeStats>('runtime.stats');
  const cpu1 = cpuSeconds(callee.pid);
  const inCall = rss.stop();
  await sleep(300); // the last datagrams reach the capture
  await capture.stop();
  const out = capture.output();
  const dropped = Number(/(\d+) packets? dropped by kernel/.exec(out)?.[1] ?? NaN);
  if (exit.code !== 0) process.stderr.write(`voice bench: sipp -> ${callee.name} exited ${exit.code}; its last output:\n${exit.output.slice(-1500)}\n`);

  const packets = readPcapUdp(await readFile(pcapFile));
  const calls = callTimes(packets, callee.sipPort);
  const rtp = rtpSendIntervals(packets, calls.filter((c) => c.answered !== undefined));
  const talkMs = calls.reduce((sum, c) => sum + (c.answered !== undefined && c.bye !== undefined ? c.bye - c.answered : 0), 0);
  return {
    calls,
    intervals: rtp.intervals,
    rtpPackets: rtp.packets,
    rtpFlows: rtp.flows,
    cpuSeconds: cpu1 - cpu0,
    callMinutes: talkMs / 60_000,
    rssIdle,
    rssInCall: max(inCall),
    dropped,
    sippExit: exit.code,
    runtime,
  };
}

function metricsOf(name: string, r: PhaseResult): Metric[] {
  const ringing = r.calls.filter((c) => c.ringing !== undefined).map((c) => c.ringing! - c.invite);
  const answered = r.calls.filter((c) => c.answered !== undefined).map((c) => c.answered! - c.invite);
  const deviation = r.intervals.map((i) => i - 20);
  const absDeviation = deviation.map(Math.abs);
  const m: Metric[] = [
    { metric: `${name}_calls_invited`, value: r.calls.length, unit: 'count' },
    { metric: `${name}_calls_answered`, value: answered.length, unit: 'count' },
    { metric: `${name}_bye_unanswered`, value: r.calls.filter((c) => c.bye !== undefined && c.byeAnswered === undefined).length, unit: 'count' },
    { metric: `${name}_invite_to_180_p50`, value: percentile(ringing, 50), unit: 'ms' },
    { metric: `${name}_invite_to_180_p99`, value: percentile(ringing, 99), unit: 'ms' },
    { metric: `${name}_invite_to_180_max`, value: max(ringing), unit: 'ms' },
    { metric: `${name}_invite_to_200_p50`, value: percentile(answered, 50), unit: 'ms' },
    { metric: `${name}_invite_to_200_p99`, value: percentile(answered, 99), unit: 'ms' },
    { metric: `${name}_rtp_packets`, value: r.rtpPackets, unit: 'count' },
    { metric: `${name}_rtp_interval_dev_stddev`, value: stddev(deviation), unit: 'ms' },
    { metric: `${name}_rtp_interval_dev_p99`, value: percentile(absDeviation, 99), unit: 'ms' },
    { metric: `${name}_rtp_interval_max`, value: max(r.intervals), unit: 'ms' },
    { metric: `${name}_cpu_per_call_minute`, value: r.callMinutes > 0 ? r.cpuSeconds / r.callMinutes : NaN, unit: 's/call-min' },
    { metric: `${name}_rss_idle`, value: r.rssIdle / MB, unit: 'MiB' },
    { metric: `${name}_rss_in_call_max`, value: r.rssInCall / MB, unit: 'MiB' },
  ];
  if (r.runtime?.eventLoopDelay) {
    const lag = r.runtime.eventLoopDelay;
    m.push(
      { metric: `${name}_event_loop_delay_p50`, value: lag.p50, unit: 'ms' },
      { metric: `${name}_event_loop_delay_p99`, value: lag.p99, unit: 'ms' },
      { metric: `${name}_event_loop_delay_max`, value: lag.max, unit: 'ms' },
    );
  }
  m.push({ metric: `${name}_capture_dropped`, value: r.dropped, unit: 'count' });
  return m;
}

const metrics: Metric[] = [];
let status = 0;
try {
  const dir = await makeTempDir('bench-voice', KEEP);
  const ulaw = join(dir, 'talk.ulaw');
  await writeFile(ulaw, encodeG711('PCMU', toneSamples({ frequency: 440, seconds: CALL_MS / 1000 + 1 })));
  const scenario = await writeSippScenario('bench-uac-rtp.xml', dir, { ULAW_FILE: ulaw, CALL_MS, BYE_TIMEOUT_MS: 500 });
  process.stdout.write(`voice bench: ${CALLS} calls per callee, at most ${RATE} calls/s and ${PARALLEL} at once, ${CALL_MS} ms of talk each (work dir ${dir})\n`);

  if (ONLY !== 'baresip') {
    const kam = await startKamailio();
    const phone = await startPhone(await makeTempDir('bench-phone', KEEP), kam.domain);
    try {
      const r = await runPhase({ name: 'phone', pid: phone.peer.pid, sipPort: phone.sipPort, user: '1000', stats: phone.control }, dir, scenario);
      metrics.push(...metricsOf('phone', r));
      const recordings = (await readdir(join(phone.dataDir, 'recordings')).catch(() => [] as string[])).filter((f) => f.endsWith('.wav'));
      metrics.push({ metric: 'phone_recordings', value: recordings.length, unit: 'count' });
      if (!phone.peer.running) throw new Error(`the phone exited during the bench:\n${phone.peer.output().slice(-3000)}`);
    } finally {
      if (KEEP) await writeFile(join(dir, 'phone.log'), phone.peer.output());
      phone.control.close();
      await phone.peer.stop();
      await kam.stop();
    }
  }
  if (ONLY !== 'phone') {
    const far = await startFarBaresip(await makeTempDir('bench-baresip', KEEP), PARALLEL + 8);
    try {
      metrics.push(...metricsOf('baresip', await runPhase({ name: 'baresip', pid: far.peer.pid, sipPort: far.sipPort, user: 'far' }, dir, scenario)));
    } finally {
      await far.peer.stop();
    }
  }
} catch (error) {
  process.stderr.write(`voice bench: ${(error as Error).stack ?? String(error)}\n`);
  status = 1;
} finally {
  await stopAllPeers();
}

if (metrics.length) report('voice', metrics);
process.exit(status);
