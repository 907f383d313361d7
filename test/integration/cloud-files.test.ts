// Recording upload over MQTT, end to end with real parts:
// - generic protocol: the device's FileUploader on a real MqttLink, a real Mosquitto (per-device ACL, persistence)
//   and the FileReceiver on an admin mqtt.js session; a 10 MB file is cut mid-way by a broker restart, resumes
//   without sending any confirmed segment again, and arrives with the same sha256;
// - EMQX mode: EMQX cannot be installed here, so the uploader talks to test/support/emqx-file-fake.ts, a fake
//   built strictly from EMQX's published protocol (EIP-0021): $file commands with real PUBACK reason codes, and
//   $file-async with $file-response documents for an MQTT 3.1.1 session.
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { connect, type MqttClient } from 'mqtt';
import { parseFileAck, parseFileTopic } from '../../src/cloud/files/protocol.js';
import { FileReceiver } from '../../src/cloud/files/receiver.js';
import { FileUploader, type FileUploaderOptions } from '../../src/cloud/files/uploader.js';
import { MqttLink } from '../../src/cloud/link.js';
import type { CloudLink } from '../../src/cloud/types.js';
import { SystemClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/log.js';
import { ADMIN, startCloudBroker } from '../support/cloud.js';
import { startFakeEmqx } from '../support/emqx-file-fake.js';
import { delay, makeTempDir, stopAllPeers } from '../support/process.js';
import { waitFor } from '../support/wait.js';

const clock = new SystemClock('always');
const log = silentLogger();
const closers: Array<() => Promise<unknown>> = [];
const MB = 1024 * 1024;
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

afterAll(async () => {
  for (const close of closers.reverse()) await close().catch(() => undefined);
  clock.dispose();
  await stopAllPeers();
});

function deviceLink(url: string, deviceId: string, password?: string): MqttLink {
  const link = new MqttLink({ deviceId, url, username: password ? deviceId : undefined, password, clock, log, backoff: { initialMs: 100, maxMs: 500 } });
  closers.push(() => link.close());
  link.start();
  return link;
}

/**
 * The device's link as the uploader sees it, with a record of what happened on it: how often each segment offset
 * was published, which offsets the cloud had confirmed (receiver acks or PUBACK 0 in EMQX mode), and every
 * publish of an offset that was confirmed already (which must never happen).
 */
function observedLink(link: CloudLink, segmentOffset: (topic: string) => number | undefined, mode: 'generic' | 'emqx') {
  const sends = new Map<number, number>();
  const confirmed = new Set<number>();
  const resentAfterConfirmation: number[] = [];
  let onConfirmed: (count: number) => void = () => undefined;
  const confirm = (offset: number) => {
    confirmed.add(offset);
    onConfirmed(confirmed.size);
  };
  const observed: CloudLink = {
    get deviceId() { return link.deviceId; },
    get connected() { return link.connected; },
    get protocolVersion() { return link.protocolVersion; },
    on: (event, listener) => link.on(event, listener),
    publish: async (topic, payload, options) => {
      const offset = segmentOffset(topic);
      if (offset !== undefined) {
        sends.set(offset, (sends.get(offset) ?? 0) + 1);
        if (confirmed.has(offset)) resentAfterConfirmation.push(offset);
      }
      const ack = await link.publish(topic, payload, options);
      if (mode === 'emqx' && offset !== undefined && ack.reasonCode === 0) confirm(offset);
      return ack;
    },
    subscribe: (filter, handler, options) => link.subscribe(filter, (message) => {
      // seen before the uploader sees it: this record is never behind the uploader's
      if (parseFileTopic(message.topic)?.command === 'ack') {
        const ack = parseFileAck(message.payload);
        if (ack.type === 'segment' && ack.status === 'ok') confirm(ack.offset);
        if (ack.type === 'init') ack.received.forEach(confirm);
      }
      handler(message);
    }, options),
  };
  return { link: observed, sends, confirmed, resentAfterConfirmation, whenConfirmed: (fn: (count: number) => void) => (onConfirmed = fn) };
}

async function receiverClient(url: string, clientId: string): Promise<MqttClient> {
  // a persistent session: segments the broker queued for the receiver survive its restart
  const client = connect(url, { ...ADMIN, clientId, protocolVersion: 5, clean: false, properties: { sessionExpiryInterval: 3600 }, reconnectPeriod: 200, connectTimeout: 5000 });
  closers.push(() => client.endAsync());
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  return client;
}

describe('recording upload, generic protocol (Mosquitto)', () => {
  it('uploads 10 MB through a broker restart, resending no confirmed segment, and the sha256 matches', async () => {
    const broker = await startCloudBroker({ devices: ['shop-9'] });
    const dir = await makeTempDir('cloud-files');
    const data = randomBytes(10 * MB);
    const source = join(dir, 'call-1.wav');
    writeFileSync(source, data);

    const receiver = new FileReceiver({ client: await receiverClient(broker.url, 'files-rx-1'), dir: join(dir, 'received'), log, shareGroup: 'recordings' });
    await receiver.start();
    closers.push(() => receiver.stop());

    const segmentSize = 64 * 1024;
    const segments = (10 * MB) / segmentSize;
    const maxInFlight = 8;
    const device = observedLink(deviceLink(broker.url, 'shop-9', 'shop-9-pw'), (topic) => {
      const parsed = parseFileTopic(topic);
      return parsed?.command === 'segment' ? parsed.offset : undefined;
    }, 'generic');
    const uploader = new FileUploader({
      link: device.link, clock, log, stateDir: join(dir, 'upload-state'), segmentSize, maxInFlight,
      bytesPerSecond: 4 * MB, // about 2.5 s: the restart lands mid-way
      confirmTimeoutMs: 3000,
    });
    closers.push(() => uploader.close());

    let confirmedAtStop = -1;
    let stopped: Promise<void> | null = null;
    device.whenConfirmed((count) => {
      if (stopped === null && count >= segments * 0.4) {
        confirmedAtStop = count;
        stopped = broker.stop();
      }
    });
    const firstPid = broker.pid;
    const upload = uploader.upload({ fileId: 'rec-1', path: source, name: 'call-1.wav', sha256: sha256(data) });
    await waitFor(() => stopped !== null, '40% of the segments confirmed', 30_000);
    await stopped;
    const sentAtStop = [...device.sends.values()].reduce((a, b) => a + b, 0);
    await delay(500);
    await broker.start();
    const result = await upload;

    expect(broker.pid).not.toBe(firstPid);
    expect(confirmedAtStop).toBeGreaterThan(0);
    expect(confirmedAtStop).toBeLessThan(segments);
    const sentTotal = [...device.sends.values()].reduce((a, b) => a + b, 0);
    expect(sentTotal).toBeGreaterThan(sentAtStop); // the upload went on after the restart
    // the point: no segment was published again once the cloud had confirmed it ...
    expect(device.resentAfterConfirmation).toEqual([]);
    // ... resends are only of segments that were in flight when the broker went away (or timed out in it)
    expect(sentTotal - segments).toBeLessThanOrEqual(2 * maxInFlight);
    expect(device.sends.size).toBe(segments);
    expect(device.confirmed.size).toBe(segments);

    expect(result).toMatchObject({ fileId: 'rec-1', size: 10 * MB, sha256: sha256(data), segmentsTotal: segments });
    const received = readFileSync(join(dir, 'received', 'shop-9', 'call-1.wav'));
    expect(received.length).toBe(10 * MB);
    expect(sha256(received)).toBe(sha256(data));
    expect(receiver.stats.files).toBe(1);
  });
});

describe('recording upload, EMQX mode (a fake built from EMQX File Transfer, EIP-0021)', () => {
  const emqxOffset = (topic: string) => {
    const m = /^\$file(?:-async)?\/[^/]+\/(\d+)(?:\/|$)/.exec(topic);
    return m ? Number(m[1]) : undefined;
  };

  it('sends $file commands, acts on real PUBACK reason codes and resumes after a dropped connection', async () => {
    const dir = await makeTempDir('cloud-files-emqx');
    const fake = await startFakeEmqx({ exportDir: join(dir, 'exports') });
    closers.push(() => fake.close());
    const data = randomBytes(MB + 123);
    writeFileSync(join(dir, 'call-2.wav'), data);
    const device = observedLink(deviceLink(fake.url, 'shop-emqx'), emqxOffset, 'emqx');
    const options: FileUploaderOptions = { link: device.link, clock, log, stateDir: join(dir, 'state'), mode: 'emqx', segmentSize: 64 * 1024, maxInFlight: 4, quotaPauseMs: 300 };
    const uploader = new FileUploader(options);
    closers.push(() => uploader.close());
    // the first segment: "quota exceeded" (pause, then resend); the second: "unspecified error" (resend it)
    fake.failNext('segment', 0x97);
    fake.failNext('segment', 0x80);
    let dropped = false;
    device.whenConfirmed((count) => {
      if (!dropped && count >= 6) {
        dropped = true;
        fake.dropConnections();
      }
    });
    const result = await uploader.upload({ fileId: 'rec-2', path: join(dir, 'call-2.wav'), name: 'call-2.wav' });

    expect(device.link.protocolVersion).toBe(5);
    expect(dropped).toBe(true);
    expect(result.sha256).toBe(sha256(data));
    expect(sha256(readFileSync(join(dir, 'exports', 'shop-emqx', 'rec-2', 'call-2.wav')))).toBe(sha256(data));
    const codes = fake.commands.map((c) => c.reasonCode);
    expect(codes.filter((c) => c === 0x97)).toHaveLength(1);
    expect(codes.filter((c) => c === 0x80)).toHaveLength(1);
    expect(fake.commands[0].topic).toBe('$file/rec-2/init');
    expect(fake.commands.at(-1)).toEqual({ clientId: 'shop-emqx', topic: `$file/rec-2/fin/${MB + 123}/${sha256(data)}`, reasonCode: 0 });
    // both refused segments were sent again, and nothing EMQX had acknowledged was
    const refused = fake.commands.filter((c) => c.reasonCode >= 0x80).map((c) => emqxOffset(c.topic));
    for (const offset of refused) expect(device.sends.get(offset!)).toBeGreaterThanOrEqual(2);
    expect(device.resentAfterConfirmation).toEqual([]);
    expect(device.confirmed.size).toBe(Math.ceil((MB + 123) / (64 * 1024)));
  });

  it('falls back to $file-async and $file-response/{clientId} on an MQTT 3.1.1 session', async () => {
    const dir = await makeTempDir('cloud-files-emqx311');
    const fake = await startFakeEmqx({ exportDir: join(dir, 'exports') });
    closers.push(() => fake.close());
    fake.mqtt311Only = true;
    const data = randomBytes(300 * 1024);
    writeFileSync(join(dir, 'call-3.wav'), data);
    const link = deviceLink(fake.url, 'shop-311');
    // (MqttLink rejects a SUBSCRIBE made while its first, MQTT 5, attempt is being refused: wait for the 3.1.1 session)
    await new Promise<void>((resolve) => link.on('connected', () => resolve()));
    const uploader = new FileUploader({ link, clock, log, stateDir: join(dir, 'state'), mode: 'emqx', segmentSize: 64 * 1024 });
    closers.push(() => uploader.close());
    fake.failNext('fin', 0x80); // the fin's result (in the response document): "retransmit all segments"
    const result = await uploader.upload({ fileId: 'rec-3', path: join(dir, 'call-3.wav'), name: 'call-3.wav' });

    expect(link.protocolVersion).toBe(4);
    expect(result).toMatchObject({ sha256: sha256(data), segmentsSent: 10 });
    expect(fake.commands.every((c) => c.topic.startsWith('$file-async/rec-3/'))).toBe(true);
    expect(fake.commands.filter((c) => c.topic === '$file-async/rec-3/init')).toHaveLength(2);
    expect(sha256(readFileSync(join(dir, 'exports', 'shop-311', 'rec-3', 'call-3.wav')))).toBe(sha256(data));
  });
});
