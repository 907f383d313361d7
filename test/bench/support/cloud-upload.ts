// Recording upload throughput to a local broker: a real Mosquitto (the integration suite's cloud broker: ACL,
// persistence), the device's FileUploader on a real MqttLink, the FileReceiver on an admin session writing to a
// temp directory, no bandwidth cap. The time runs from upload() to the receiver's sha256-confirmed fin, so it
// includes the device's hashing, the receiver's fdatasync per segment and the final verification.
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { connect } from 'mqtt';
import { FileReceiver } from '../../../src/cloud/files/receiver.js';
import { FileUploader } from '../../../src/cloud/files/uploader.js';
import { MqttLink } from '../../../src/cloud/link.js';
import { SystemClock } from '../../../src/core/clock.js';
import { silentLogger } from '../../../src/core/log.js';
import { ADMIN, startCloudBroker } from '../../support/cloud.js';
import { makeTempDir } from '../../support/process.js';
import type { Metric } from './report.js';

export interface UploadBenchOptions {
  /** file size (default 10 MiB) */
  bytes?: number;
  /** default 64 KiB */
  segmentSize?: number;
  /** default 8 */
  maxInFlight?: number;
  /** uploads measured (default 3); the metrics are of the median run */
  runs?: number;
}

/**
 * Uploads a random file `runs` times through the generic protocol and returns the median throughput (MB/s, 10^6
 * bytes) and time. Starts and stops its own Mosquitto (by PID, through the test harness).
 */
export async function measureUpload(options: UploadBenchOptions = {}): Promise<Metric[]> {
  const bytes = options.bytes ?? 10 * 1024 * 1024;
  const segmentSize = options.segmentSize ?? 64 * 1024;
  const runs = options.runs ?? 3;
  const clock = new SystemClock('always');
  const log = silentLogger();
  const broker = await startCloudBroker({ devices: ['bench-1'] });
  const dir = await makeTempDir('bench-upload');
  const source = join(dir, 'recording.wav');
  const data = randomBytes(bytes);
  writeFileSync(source, data);
  const expected = createHash('sha256').update(data).digest('hex');

  const client = connect(broker.url, { ...ADMIN, clientId: 'bench-receiver', protocolVersion: 5, reconnectPeriod: 200 });
  const link = new MqttLink({ deviceId: 'bench-1', url: broker.url, username: 'bench-1', password: 'bench-1-pw', clock, log });
  const receiver = new FileReceiver({ client, dir: join(dir, 'received'), log });
  const uploader = new FileUploader({ link, clock, log, stateDir: join(dir, 'state'), segmentSize, maxInFlight: options.maxInFlight ?? 8 });
  const durations: number[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    await receiver.start();
    link.start();
    await uploader.start();
    for (let run = 0; run < runs; run++) {
      const name = `recording-${run}.wav`;
      const started = performance.now();
      const result = await uploader.upload({ fileId: `bench-${run}`, path: source, name, sha256: expected });
      durations.push(performance.now() - started);
      if (result.sha256 !== expected) throw new Error(`run ${run}: the cloud confirmed ${result.sha256}, not ${expected}`);
      const received = readFileSync(join(dir, 'received', 'bench-1', name));
      if (createHash('sha256').update(received).digest('hex') !== expected) throw new Error(`run ${run}: the received file differs`);
    }
  } finally {
    await uploader.close();
    await receiver.stop();
    await link.close();
    await client.endAsync();
    clock.dispose();
    await broker.stop();
  }
  const median = [...durations].sort((a, b) => a - b)[Math.floor(durations.length / 2)];
  const mib = Math.round(bytes / (1024 * 1024));
  return [
    { metric: `upload_${mib}mib_throughput`, value: bytes / 1e6 / (median / 1000), unit: 'MB/s' },
    { metric: `upload_${mib}mib_time`, value: median, unit: 'ms' },
  ];
}
