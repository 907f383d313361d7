// Soak (issue #4 "SIP calls"): the running phone (`deskline start`, dist build, sim board, one SIP
// account registered at Kamailio, sip.autoAnswer, every call recorded) takes 500 short calls from
// sipp one after another (one at a time: a desk phone in a call answers a second one 486 Busy;
// 20 calls/s at most), all of them succeed, and its
// resident memory and open file descriptors stay flat. The media engine is a worker thread of the
// same process, so /proc/<pid> covers it too.
//
// Runs: one probe call (fails fast, with sipp's message trace, if the phone cannot take a call at
// all), a warm-up to 50 calls, a first measurement, the remaining 450 calls (sampled every second
// for the peak), a second measurement. Bounds are generous (a leak of a few kB per call is ~1-2 MB
// here, a leaked socket per call would be hundreds of fds).

import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { readFileSync, readdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { projectRoot } from '../../src/core/paths.js';
import { g711Bytes, writeToneWav } from '../support/audio.js';
import { freePort, freeUdpPort, makeTempDir, spawnPeer, startKamailio, startSipp, stopAllPeers, writeSippScenario, type Kamailio, type PeerProcess, type SippResult } from '../support/index.js';

const MAIN = join(projectRoot(), 'dist', 'src', 'main.js');
/** The node options the device runs the phone with (systemd/deskline.service ExecStart), so RSS is measured as deployed. */
const NODE_FLAGS = /^ExecStart=\S+\/node((?: --[\w-]+(?:=\S+)?)*) \S+main\.js/m.exec(readFileSync(join(projectRoot(), 'systemd', 'deskline.service'), 'utf8'))![1].trim().split(' ').filter(Boolean);
const TOTAL_CALLS = 500;
const WARMUP_CALLS = 50;
/** RTP per call (sipp streams this much, then sends BYE) */
const TALK_MS = 100;
const RSS_GROWTH_LIMIT_KB = 40 * 1024;
const FD_GROWTH_LIMIT = 10;

let dir: string;
let dataDir: string;
let kam: Kamailio;
let phone: PeerProcess;
let sipPort: number;
let scenario: string;

interface Sample {
  rssKb: number;
  fds: number;
}

/** The process's resident set (VmRSS) and its open file descriptors. */
function sample(pid: number): Sample {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (!m) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return { rssKb: Number(m[1]), fds: readdirSync(`/proc/${pid}/fd`).length };
}

/** sipp's cumulative successful/failed call counts from its last statistics screen. */
function sippCounts(output: string): { successful: number; failed: number } {
  const last = (name: string): number => {
    const all = [...output.matchAll(new RegExp(`${name}\\s*\\|\\s*(\\d+)\\s*\\|\\s*(\\d+)`, 'g'))];
    if (!all.length) throw new Error(`no "${name}" line in sipp's output:\n${output.slice(-4000)}`);
    return Number(all.at(-1)![2]);
  };
  return { successful: last('Successful call'), failed: last('Failed call') };
}

/** Runs `calls` calls from sipp at the phone; resolves with sipp's exit and counts. */
async function runCalls(calls: number, extra: string[] = [], timeoutSec = 60): Promise<SippResult & { successful: number; failed: number }> {
  const sipp = await startSipp(
    [`127.0.0.1:${sipPort}`, '-sf', scenario, '-s', 'alice', '-m', String(calls), '-r', '20', '-l', '1', '-mp', String(await freeUdpPort()), '-recv_timeout', '5000', ...extra],
    { cwd: dir, timeoutSec },
  );
  const result = await sipp.exited;
  return { ...result, ...sippCounts(result.output) };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  dir = await makeTempDir('sipp-soak');
  dataDir = join(dir, 'data');
  // TALK_MS of a tone as raw mu-law for sipp's rtp_stream
  const tone = await writeToneWav(join(dir, 'tone.wav'), { frequency: 440, seconds: TALK_MS / 1000 });
  const ulaw = join(dir, 'tone.ulaw');
  await writeFile(ulaw, await g711Bytes(tone, 'u-law'));
  scenario = await writeSippScenario('uac-short.xml', dir, { ULAW_FILE: ulaw, TALK_MS });

  kam = await startKamailio();
  sipPort = await freePort();
  const configPath = join(dir, 'deskline.json');
  await writeFile(
    configPath,
    JSON.stringify({
      board: 'sim',
      web: { port: 0 },
      log: { level: 'info' },
      sip: {
        listen: { udp: sipPort, tcp: sipPort },
        autoAnswer: true,
        accounts: [{ id: 'main', uri: `sip:alice@${kam.domain}`, password: 'alicepw', expires: 600 }],
      },
      recording: { mode: 'always' },
    }),
  );
  phone = await spawnPeer({
    name: 'deskline',
    command: process.execPath,
    args: [...NODE_FLAGS, MAIN, 'start', '--config', configPath, '--data', dataDir],
    debianPackage: 'nodejs',
    env: { ...process.env, DESKLINE_CONFIG: '' },
    ready: { line: /"msg":"sip account state".*"state":"registered"|"state":"registered".*"msg":"sip account state"/ },
    readyTimeoutMs: 20_000,
    keepOutput: 256 * 1024,
  });
}, 60_000);

afterAll(async () => {
  await stopAllPeers();
}, 20_000);

describe('the running phone under 500 sequential sipp calls', () => {
  it('answers every call, and its RSS and open file descriptors stay flat', async () => {
    const started = Date.now();
    // one probe call: a phone that cannot complete a call fails here in seconds, with the trace
    const probe = await runCalls(1, ['-trace_msg']);
    if (probe.code !== 0) {
      const trace = readdirSync(dir).find((f) => f.endsWith('_messages.log'));
      throw new Error(`the probe call failed (sipp exit ${probe.code}):\n${trace ? readFileSync(join(dir, trace), 'utf8').slice(-6000) : probe.output.slice(-4000)}`);
    }
    expect(probe).toMatchObject({ successful: 1, failed: 0 });

    const warm = await runCalls(WARMUP_CALLS - 1);
    expect({ code: warm.code, successful: warm.successful, failed: warm.failed }).toEqual({ code: 0, successful: WARMUP_CALLS - 1, failed: 0 });
    await sleep(2000); // the last calls' media streams and recordings are closed
    const before = sample(phone.pid);

    const samples: Sample[] = [];
    const sampler = setInterval(() => {
      try {
        samples.push(sample(phone.pid));
      } catch {
        /* the phone died: the assertions below say so */
      }
    }, 1000);
    let main;
    try {
      main = await runCalls(TOTAL_CALLS - WARMUP_CALLS, ['-timeout_error'], 150);
    } finally {
      clearInterval(sampler);
    }
    expect({ code: main.code, successful: main.successful, failed: main.failed }).toEqual({ code: 0, successful: TOTAL_CALLS - WARMUP_CALLS, failed: 0 });
    await sleep(2000);
    expect(phone.running).toBe(true);
    const after = sample(phone.pid);
    const peak = samples.reduce((p, s) => ({ rssKb: Math.max(p.rssKb, s.rssKb), fds: Math.max(p.fds, s.fds) }), after);

    // every call reached the phone's media path: one recording each
    const recordings = readdirSync(join(dataDir, 'recordings')).filter((f) => f.endsWith('.wav'));
    const secs = ((Date.now() - started) / 1000).toFixed(1);
    console.log(
      `soak: ${probe.successful + warm.successful + main.successful} calls ok in ${secs} s; ${recordings.length} recordings; ` +
        `after ${WARMUP_CALLS} calls RSS ${(before.rssKb / 1024).toFixed(1)} MB, ${before.fds} fds; ` +
        `after ${TOTAL_CALLS} RSS ${(after.rssKb / 1024).toFixed(1)} MB, ${after.fds} fds; ` +
        `peak during the run RSS ${(peak.rssKb / 1024).toFixed(1)} MB, ${peak.fds} fds (${samples.length} samples; ` +
        `RSS MB every ~10 s: ${samples.filter((_, i) => i % 10 === 0).map((s) => (s.rssKb / 1024).toFixed(0)).join(' ')})`,
    );
    expect(recordings).toHaveLength(TOTAL_CALLS);
    expect(samples.length).toBeGreaterThan(10);
    expect(before.rssKb).toBeGreaterThan(10 * 1024);
    expect(before.fds).toBeGreaterThan(5);
    expect(after.rssKb - before.rssKb).toBeLessThan(RSS_GROWTH_LIMIT_KB);
    expect(after.fds - before.fds).toBeLessThan(FD_GROWTH_LIMIT);

    // and it still stops cleanly
    const exit = await phone.stop();
    expect(exit.code).toBe(0);
  }, 240_000);
});
