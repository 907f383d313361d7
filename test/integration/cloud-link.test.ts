// The cloud link against a real Mosquitto (per-device ACL, persistence, raised queue limits, TLS client
// certificates): presence with a Last Will, publishes and subscriptions made while the broker is down, and device
// isolation. The durable outbox through a 60 s outage is in test/chaos/cloud-outage.test.ts.

import { afterAll, describe, expect, it } from '@jest/globals';
import { connect } from 'mqtt';
import { SystemClock } from '../../src/core/clock.js';
import { MqttLink } from '../../src/cloud/link.js';
import { deviceTopics } from '../../src/cloud/topics.js';
import { silentLogger } from '../../src/core/log.js';
import { AdminClient, startCloudBroker, startOutboxDevice } from '../support/cloud.js';
import { delay, makeTempDir, stopAllPeers } from '../support/process.js';
import { issueClientCert, makeTestCa } from '../support/tls.js';

const clock = new SystemClock('always');
const log = silentLogger();
const links: MqttLink[] = [];

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

  it('subscriptions made while the broker is down take effect once it is up (and after it restarts without our session)', async () => {
    const broker = await startCloudBroker({ devices: ['shop-3'], persistence: false });
    await broker.stop();
    const link = deviceLink(broker.url, 'shop-3');
    link.start();
    const got: string[] = [];
    const subscribed = await link.subscribe('dl/v1/shop-3/config/desired', (m) => got.push(m.payload.toString()), { retainedOnEveryConnect: true });
    expect(typeof subscribed).toBe('function'); // resolved while down: it subscribes at the next connect
    await delay(700); // a few refused connect attempts
    await broker.start();
    await connectedOnce(link);
    const admin = await AdminClient.connect(broker);
    await admin.publish('dl/v1/shop-3/config/desired', { rev: 1 }, { retain: true });
    for (let i = 0; got.length < 1 && i < 100; i++) await delay(50);
    expect(got).toEqual(['{"rev":1}']);
    // a broker without persistence forgets the session: everything is subscribed again, the retained message comes again
    await admin.close();
    await broker.stop();
    await broker.start();
    const again = await AdminClient.connect(broker);
    await again.publish('dl/v1/shop-3/config/desired', { rev: 2 }, { retain: true });
    for (let i = 0; got.length < 2 && i < 200; i++) await delay(50);
    expect(got).toEqual(['{"rev":1}', '{"rev":2}']);
    await again.close();
  });

  it('falls back to MQTT 3.1.1 when the broker refuses protocol version 5', async () => {
    const { broker, connects } = await startV311OnlyBroker();
    const link = deviceLink(broker.url, 'old-broker-dev');
    link.start();
    await connectedOnce(link);
    expect(link.protocolVersion).toBe(4);
    expect(connects).toEqual([5, 4]);
    await broker.close();
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

describe('Last Will (Mosquitto, SIGKILL)', () => {
  it('leaves a retained offline presence (its Last Will) when the device dies without a goodbye', async () => {
    const id = 'will-dev';
    const broker = await startCloudBroker({ devices: [id] });
    const admin = await AdminClient.connect(broker, { subscribe: [`dl/v1/${id}/presence`] });
    const device = await startOutboxDevice(await makeTempDir('will-store'), broker.url, id);
    await admin.waitFor(`dl/v1/${id}/presence`, (p) => p.state === 'online');
    device.child.kill('SIGKILL');
    await device.exited;
    await admin.waitFor(`dl/v1/${id}/presence`, (p) => p.state === 'offline');
    const later = await AdminClient.connect(broker, { subscribe: [`dl/v1/${id}/presence`] });
    expect(await later.waitFor(`dl/v1/${id}/presence`, (_p, m) => m.retain)).toEqual(expect.objectContaining({ state: 'offline' }));
    await later.close();
    await admin.close();
  });
});

/**
 * A broker endpoint that speaks only MQTT 3.1.1 (mqtt-packet): a version 5 CONNECT gets CONNACK 0x84 "unsupported
 * protocol version" (MQTT 5 section 3.1.2.2) and the connection is closed; a 3.1.1 CONNECT is accepted.
 */
async function startV311OnlyBroker(): Promise<{ broker: { url: string; close(): Promise<void> }; connects: number[] }> {
  const { createServer } = await import('node:net');
  const mqttPacket = (await import('mqtt-packet')).default;
  const connects: number[] = [];
  const sockets = new Set<import('node:net').Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    const parser = mqttPacket.parser({ protocolVersion: 5 });
    parser.on('packet', (packet) => {
      if (packet.cmd === 'connect') {
        connects.push(packet.protocolVersion ?? 0);
        if (packet.protocolVersion === 5) {
          socket.end(mqttPacket.generate({ cmd: 'connack', reasonCode: 0x84, sessionPresent: false }, { protocolVersion: 5 }));
        } else {
          socket.write(mqttPacket.generate({ cmd: 'connack', returnCode: 0, sessionPresent: false }, { protocolVersion: 4 }));
        }
      } else if (packet.cmd === 'publish' && packet.qos === 1) {
        socket.write(mqttPacket.generate({ cmd: 'puback', messageId: packet.messageId }, { protocolVersion: 4 }));
      } else if (packet.cmd === 'pingreq') {
        socket.write(mqttPacket.generate({ cmd: 'pingresp' }, { protocolVersion: 4 }));
      }
    });
    socket.on('data', (chunk) => parser.parse(chunk));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as import('node:net').AddressInfo;
  return {
    connects,
    broker: {
      url: `mqtt://127.0.0.1:${port}`,
      close: async () => {
        for (const socket of sockets) socket.destroy();
        await new Promise((resolve) => server.close(resolve));
      },
    },
  };
}
