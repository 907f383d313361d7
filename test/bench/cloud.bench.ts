// The cloud link at fleet scale, against a local Mosquitto (the integration suite's cloud broker: per-device
// ACL, persistence). `npm run bench -- cloud` -> bench-results/cloud.json
//
// 1. upload: a recording uploaded through the device's FileUploader to the FileReceiver (support/cloud-upload.ts):
//    throughput and time of the median of 3 runs;
// 2. fleet: 1,000 simulated devices in this process (support/fleet.ts: each a real MqttLink and a real
//    CloudConfigSync with its own state file, the runtime a variable) in group `fleet`; the admin publishes one
//    retained group document {rev, config: {phone: {dialTimeoutMs: 3000 + rev}}} and times, per device, from its
//    publish to its receipt of that device's `config/reported` with status applied and groups.fleet = rev.
//    Pushes rev 1..3; the figures are per push, plus p50/p99 over the devices of all pushes pooled. They include
//    config-sync's batching window (batchMs, default 300 ms: documents arriving together are applied as one),
//    as devices run it, and two durable writes (fsync) of each device's state file, all devices sharing one disk.
// BENCH_DEVICES, BENCH_PUSHES and BENCH_UPLOAD_MIB scale it; BENCH_FLEET_STATE_DIR puts the devices' state
// files somewhere else than the temp dir (e.g. /dev/shm, to take the shared disk out).
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { SystemClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/log.js';
import { startCloudBroker } from '../support/cloud.js';
import { makeTempDir, stopAllPeers } from '../support/process.js';
import { measureUpload } from './support/cloud-upload.js';
import { FleetAdmin, fleetIds, openFilesLimit, startFleet, stopFleet, type PushResult, type SimulatedDevice } from './support/fleet.js';
import { cpuSeconds, rssBytes } from './support/proc.js';
import { max, percentile, report, type Metric } from './support/report.js';

const DEVICES = Number(process.env.BENCH_DEVICES ?? 1000);
const PUSHES = Number(process.env.BENCH_PUSHES ?? 3);
const UPLOAD_MIB = Number(process.env.BENCH_UPLOAD_MIB ?? 10);
const STATE_ROOT = process.env.BENCH_FLEET_STATE_DIR;
const GROUP = 'fleet';
/** CloudConfigSync's default batching window (the bench leaves it at the default, as devices do) */
const BATCH_MS = 300;
const PUSH_TIMEOUT_MS = 120_000;

const metrics: Metric[] = [];
const ms = (metric: string, value: number) => metrics.push({ metric, value, unit: 'ms' });
const count = (metric: string, value: number) => metrics.push({ metric, value, unit: 'count' });
const mib = (metric: string, bytes: number) => metrics.push({ metric, value: bytes / 2 ** 20, unit: 'MiB' });
const note = (line: string) => process.stdout.write(`${line}\n`);

const clock = new SystemClock('always');
const log = silentLogger();
let devices: SimulatedDevice[] = [];
let admin: FleetAdmin | null = null;
let stateDir: string | null = null;
let failed = false;

try {
  // 1. upload throughput
  note(`upload: ${UPLOAD_MIB} MiB, 3 runs`);
  metrics.push(...(await measureUpload({ bytes: UPLOAD_MIB * 1024 * 1024, runs: 3 })));

  // 2. the fleet
  const ids = fleetIds(DEVICES);
  let t = performance.now();
  const broker = await startCloudBroker({ devices: ids });
  note(`fleet: broker with ${DEVICES} device users up in ${Math.round(performance.now() - t)} ms`);
  // mosquitto and this process each hold one socket per device
  for (const [who, pid] of [['mosquitto', broker.pid], ['this process', 'self']] as const) {
    const limit = await openFilesLimit(pid);
    note(`fleet: open files limit of ${who}: ${limit ?? 'unknown'}`);
    if (limit !== null && limit < DEVICES + 100) throw new Error(`${who} may open only ${limit} files, ${DEVICES} devices need more than ${DEVICES + 100}`);
  }
  stateDir = STATE_ROOT ? await mkdtemp(join(STATE_ROOT, 'deskline-bench-fleet-')) : await makeTempDir('bench-fleet');
  admin = await FleetAdmin.connect(broker.url, GROUP);

  t = performance.now();
  devices = await startFleet({ ids, group: GROUP, brokerUrl: broker.url, dir: stateDir, clock, log, batch: 100 });
  ms('fleet_connect_and_subscribe_all', performance.now() - t);
  count('fleet_devices', devices.length);
  mib('fleet_rss_this_process_connected', process.memoryUsage().rss);
  mib('fleet_rss_mosquitto_connected', rssBytes(broker.pid));

  const pushes: PushResult[] = [];
  for (let rev = 1; rev <= PUSHES; rev++) {
    await new Promise((r) => setTimeout(r, 1000)); // let the previous push's reports and state writes settle
    const cpu = process.cpuUsage();
    const brokerCpu = cpuSeconds(broker.pid);
    const elu = performance.eventLoopUtilization();
    const push = await admin.push(rev, { phone: { dialTimeoutMs: 3000 + rev } }, devices.length, PUSH_TIMEOUT_MS);
    const used = process.cpuUsage(cpu);
    pushes.push(push);
    const values = [...push.latencies.values()];
    const inEffect = devices.filter((d) => d.config.phone.dialTimeoutMs === 3000 + rev).length;
    note(`fleet: push rev ${rev}: ${values.length}/${devices.length} reported applied, ${inEffect} have the config in effect`);
    const p = `fleet_push${rev}`;
    count(`${p}_devices_reported_applied`, values.length);
    ms(`${p}_puback`, push.pubackMs);
    ms(`${p}_to_applied_p50_incl_batch${BATCH_MS}ms`, percentile(values, 50));
    ms(`${p}_to_applied_p99_incl_batch${BATCH_MS}ms`, percentile(values, 99));
    ms(`${p}_to_applied_max_incl_batch${BATCH_MS}ms`, max(values));
    ms(`${p}_to_all_applied_incl_batch${BATCH_MS}ms`, push.allAppliedMs);
    // where the time goes: the simulated devices share this process's one thread; the broker has its own
    ms(`${p}_cpu_this_process`, (used.user + used.system) / 1000);
    metrics.push({ metric: `${p}_event_loop_utilization`, value: performance.eventLoopUtilization(elu).utilization, unit: 'ratio' });
    ms(`${p}_cpu_mosquitto`, (cpuSeconds(broker.pid) - brokerCpu) * 1000);
  }
  const pooled = pushes.flatMap((p) => [...p.latencies.values()]);
  count('fleet_pushes_reports_pooled', pooled.length);
  ms(`fleet_pushes_pooled_to_applied_p50_incl_batch${BATCH_MS}ms`, percentile(pooled, 50));
  ms(`fleet_pushes_pooled_to_applied_p99_incl_batch${BATCH_MS}ms`, percentile(pooled, 99));
} catch (error) {
  failed = true;
  process.stderr.write(`cloud bench failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
} finally {
  const t = performance.now();
  await stopFleet(devices);
  await admin?.close().catch(() => undefined);
  clock.dispose();
  await stopAllPeers();
  if (stateDir && STATE_ROOT) await rm(stateDir, { recursive: true, force: true });
  if (devices.length) note(`fleet: ${devices.length} devices closed and the broker stopped in ${Math.round(performance.now() - t)} ms`);
}

if (metrics.length) report('cloud', metrics);
if (failed) process.exitCode = 1;
