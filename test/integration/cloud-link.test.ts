// The cloud link against a real Mosquitto (per-device ACL, persistence, raised queue limits, TLS client
// certificates): presence with a Last Will, publishes made while the broker is down, device isolation, and the
// durable outbox through a 60 s outage with the device SIGKILLed and restarted in the middle of it.

import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { connect } from 'mqtt';
import { SystemClock } from '../../src/core/clock.js';
import { projectRoot } from '../../src/core/paths.js';
import { MqttLink } from '../../src/cloud/link.js';
import { deviceTopics } from '../../src/cloud/topics.js';
import { silentLogger } from '../../src/core/log.js';
import { AdminClient, deviceUsers, startCloudBroker } from '../support/cloud.js';
import { delay, makeTempDir, spawnPeer, stopAllPeers, type PeerProcess } from '../support/process.js';
import { issueClientCert, makeTestCa } from '../support/tls.js';

const clock = new SystemClock('always');
const log = silentLogger();
const links: MqttLink[] = [];
/** The outage of the outbox test (the issue asks for 60 s); DESKLINE_CLOUD_OUTAGE_MS shortens it for local runs. */
const OUTAGE_MS = Number(process.env.DESKLINE_CLOUD_OUTAGE_MS ?? 60_000);

afterAll(async () => {
  for (const link of links) await link.close().catch(() => undefined);
  clock.dispose();
  await stopAllPeers();
});

function deviceLink(url: string, id: string, o: { password?: string; tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer } } = {}): MqttLink {
  const link = new MqttLink({
    deviceId: id, url, clock, log, username: o.tls?.cert ? undefined : id, password: o.tls?.cert ? undefined : o.password ?? `${id}-pw`, tls: o.tls,
    backoff: { initialMs: 100, maxMs: 500 }, version: '0.0.0-test',
  });
  links.push(link);
  return link;
}

function connectedOnce(link: MqttLink): Promise<void> {
  return new Promise((resolve) => {
    if (link.connected) resolve();
    const off = link.on('connected', () => {
      off();
      resolve();
    });
  });
}

describe('cloud link (Mosquitto)', () => {
  it('publishes a retained online presence and says online again after every reconnect', async () => {
    const broker = await startCloudBroker({ devices: ['shop-1'] });
    const admin = await AdminClient.connect(broker, { subscribe: ['dl/v1/+/presence'] });
    const link = deviceLink(broker.url, 'shop-1');
    link.start();
    await connectedOnce(link);
    expect(link.protocolVersion).toBe(5);
    await admin.waitFor('dl/v1/shop-1/presence', (p) => p.state === 'online');
    await admin.close();

    await broker.stop();
    await broker.start();
    await connectedOnce(link);
    const fresh = await AdminClient.connect(broker, { subscribe: ['dl/v1/shop-1/presence'] });
    const retained = await fresh.waitFor('dl/v1/shop-1/presence', (p, m) => m.retain && p.state === 'online');
    expect(retained.version).toEqual(expect.any(String));
    await fresh.close();
  });

  it('sends what was published while the broker was down once it is back, in order', async () => {
    const broker = await startCloudBroker({ devices: ['shop-2'] });
    const link = deviceLink(broker.url, 'shop-2');
    link.start();
    await connectedOnce(link);
    const admin = await AdminClient.connect(broker, { session: 'admin-down-test', subscribe: ['dl/v1/shop-2/events/#'] });
    await broker.stop();
    const acks = Array.from({ length: 20 }, (_, i) => link.publish(deviceTopics('shop-2').event('calls'), JSON.stringify({ i })));
    await delay(300);
    await broker.start();
    await Promise.all(acks);
    await admin.waitCount(() => admin.messages('dl/v1/shop-2/events/calls').length, 20, 15_000);
    const order = admin.messages('dl/v1/shop-2/events/calls').map((m) => (JSON.parse(m.payload) as { i: number }).i);
    expect([...new Set(order)]).toEqual(Array.from({ length: 20 }, (_, i) => i));
    await admin.close();
  });

  it("confines each device to its own topics: device A can neither read nor write device B's", async () => {
    const broker = await startCloudBroker({ devices: ['dev-a', 'dev-b'] });
    const admin = await AdminClient.connect(broker, { subscribe: ['dl/v1/#'] });
    const a = connect(broker.url, { clientId: 'dev-a', username: 'dev-a', password: 'dev-a-pw', protocolVersion: 5, reconnectPeriod: 0 });
    await new Promise((resolve) => a.once('connect', resolve));
    const aGot: string[] = [];
    a.on('message', (topic) => aGot.push(topic));
    // reading B: Mosquitto grants the subscriptions but delivers nothing of B's, directly or through a wildcard
    await a.subscribeAsync('dl/v1/dev-b/#', { qos: 1 });
    await a.subscribeAsync('dl/v1/+/cmd/#', { qos: 1 });
    await admin.publish('dl/v1/dev-b/cmd/ping', { id: 'x1', by: 'admin', args: {} });
    await admin.publish('dl/v1/dev-a/cmd/ping', { id: 'x2', by: 'admin', args: {} });
    await admin.waitFor('dl/v1/dev-a/cmd/ping');
    await delay(300);
    expect(aGot).toEqual(['dl/v1/dev-a/cmd/ping']);
    // writing B: the broker refuses the publish (MQTT 5 PUBACK 0x87) and nobody receives it
    const refused = await a.publishAsync('dl/v1/dev-b/config/reported', '{"rev":99}', { qos: 1 }).then(() => null, (e: { code?: number }) => e.code);
    expect(refused).toBe(0x87);
    await delay(300);
    expect(admin.messages('dl/v1/dev-b/config/reported')).toEqual([]);
    await a.endAsync();
    await admin.close();
  });

  it('connects with a client certificate whose CN is the device id, and refuses one without a valid certificate', async () => {
    const ca = await makeTestCa();
    const rogue = await makeTestCa('Rogue CA');
    const broker = await startCloudBroker({ tls: { caFile: ca.caCertFile, certFile: ca.serverCertFile, keyFile: ca.serverKeyFile } });
    const { readFile } = await import('node:fs/promises');
    const good = await issueClientCert(ca, 'cert-dev');
    const bad = await issueClientCert(rogue, 'cert-dev');
    const caPem = await readFile(ca.caCertFile);

    const link = deviceLink(broker.tlsUrl!, 'cert-dev', { tls: { ca: caPem, cert: await readFile(good.certFile), key: await readFile(good.keyFile) } });
    link.start();
    await connectedOnce(link);
    const admin = await AdminClient.connect(broker, { subscribe: ['dl/v1/cert-dev/presence'] });
    await admin.waitFor('dl/v1/cert-dev/presence', (p) => p.state === 'online');

    for (const tls of [{ ca: caPem, cert: await readFile(bad.certFile), key: await readFile(bad.keyFile) }, { ca: caPem }]) {
      const intruder = deviceLink(broker.tlsUrl!, 'cert-dev-2', { tls });
      let connected = false;
      intruder.on('connected', () => (connected = true));
      const failed = new Promise<void>((resolve) => intruder.on('disconnected', () => resolve()));
      intruder.start();
      await failed;
      await delay(500);
      expect(connected).toBe(false);
      await intruder.close();
    }
    await admin.close();
  });
});

describe('durable outbox (Mosquitto, SIGKILL)', () => {
  const CHILD = join(projectRoot(), 'test', 'support', 'cloud-outbox-child.ts');

  async function startDevice(storeDir: string, url: string, id: string): Promise<PeerProcess> {
    return spawnPeer({
      name: 'outbox-device', command: process.execPath, debianPackage: 'nodejs', cwd: projectRoot(), stdin: 'pipe',
      args: ['--import', 'tsx', CHILD, storeDir, url, id, deviceUsers([id])[id]],
      ready: { line: /^ready$/ }, readyTimeoutMs: 20_000, stopSignal: 'SIGTERM',
    });
  }

  async function emit(device: PeerProcess, count: number, stream: string): Promise<void> {
    const before = device.output().split('\n').filter((l) => l.startsWith('pending ')).length;
    device.child.stdin!.write(`emit ${count} ${stream}\n`);
    for (let waited = 0; ; waited += 50) {
      if (device.output().split('\n').filter((l) => l.startsWith('pending ')).length > before) return;
      if (waited > 60_000) throw new Error(`the device did not append ${count} ${stream} events:\n${device.output().slice(-2000)}`);
      await delay(50);
    }
  }

  it('leaves a retained offline presence (its Last Will) when the device dies without a goodbye', async () => {
    const id = 'will-dev';
    const broker = await startCloudBroker({ devices: [id] });
    const admin = await AdminClient.connect(broker, { subscribe: [`dl/v1/${id}/presence`] });
    const device = await startDevice(await makeTempDir('will-store'), broker.url, id);
    await admin.waitFor(`dl/v1/${id}/presence`, (p) => p.state === 'online');
    device.child.kill('SIGKILL');
    await device.exited;
    await admin.waitFor(`dl/v1/${id}/presence`, (p) => p.state === 'offline');
    const later = await AdminClient.connect(broker, { subscribe: [`dl/v1/${id}/presence`] });
    expect(await later.waitFor(`dl/v1/${id}/presence`, (_p, m) => m.retain)).toEqual(expect.objectContaining({ state: 'offline' }));
    await later.close();
    await admin.close();
  });

  it(`delivers every event of a ${OUTAGE_MS / 1000} s outage once the broker is back, in order per stream, across a SIGKILL`, async () => {
    const id = 'outbox-dev';
    const broker = await startCloudBroker({ devices: [id] });
    const admin = await AdminClient.connect(broker, { session: 'admin-outbox', subscribe: [`dl/v1/${id}/events/#`] });
    const storeDir = await makeTempDir('outbox-store');
    let device = await startDevice(storeDir, broker.url, id);
    await emit(device, 10, 'calls');
    await admin.waitCount(() => admin.messages(`dl/v1/${id}/events/#`).length, 10, 15_000);

    const outageStarted = Date.now();
    await broker.stop();
    await emit(device, 300, 'calls');
    await emit(device, 200, 'alarms');
    device.child.kill('SIGKILL');
    await device.exited;
    device = await startDevice(storeDir, broker.url, id);
    await emit(device, 300, 'calls');
    await emit(device, 200, 'alarms');
    await delay(Math.max(0, OUTAGE_MS - (Date.now() - outageStarted)));
    await broker.start();

    const distinct = () => new Set(admin.messages(`dl/v1/${id}/events/#`).map((m) => (JSON.parse(m.payload) as { id: string }).id)).size;
    await admin.waitCount(distinct, 1010, 60_000);
    await delay(1000); // anything more (a duplicate is allowed, an extra event is not)
    const events = admin.messages(`dl/v1/${id}/events/#`).map((m) => JSON.parse(m.payload) as { id: string; stream: string; seq: number });
    const firstSeen = new Map<string, { stream: string; seq: number }>();
    for (const e of events) if (!firstSeen.has(e.id)) firstSeen.set(e.id, e);
    expect(firstSeen.size).toBe(1010);
    for (const [stream, count] of [['calls', 610], ['alarms', 400]] as const) {
      const seqs = [...firstSeen.values()].filter((e) => e.stream === stream).map((e) => e.seq);
      expect(seqs).toEqual(Array.from({ length: count }, (_, i) => i + 1)); // all there, none twice, in order
    }
    await device.stop();
    await admin.close();
  });
});
