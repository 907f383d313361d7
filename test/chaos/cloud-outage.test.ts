// The durable event outbox through a broker outage (issue #6): with Mosquitto stopped for 60 s while 1,000 events
// are produced, and the device SIGKILLed and restarted in the middle of the outage, every event arrives once the
// broker is back, none twice after dedupe by id, in order per stream. The device is the runtime's own FileStore,
// EventOutbox and MqttLink in a process of its own (test/support/cloud-outbox-child.ts).

import { afterAll, describe, expect, it } from '@jest/globals';
import { AdminClient, emitEvents, startCloudBroker, startOutboxDevice } from '../support/cloud.js';
import { delay, makeTempDir, stopAllPeers } from '../support/process.js';

/** The outage (the issue asks for 60 s); DESKLINE_CLOUD_OUTAGE_MS shortens it for local runs. */
const OUTAGE_MS = Number(process.env.DESKLINE_CLOUD_OUTAGE_MS ?? 60_000);

afterAll(async () => {
  await stopAllPeers();
});

describe('durable outbox through an outage (Mosquitto, SIGKILL)', () => {
  it(`delivers every event of a ${OUTAGE_MS / 1000} s outage once the broker is back, in order per stream, across a SIGKILL`, async () => {
    const id = 'outbox-dev';
    const broker = await startCloudBroker({ devices: [id] });
    const admin = await AdminClient.connect(broker, { session: 'admin-outbox', subscribe: [`dl/v1/${id}/events/#`] });
    const storeDir = await makeTempDir('outbox-store');
    let device = await startOutboxDevice(storeDir, broker.url, id);
    await emitEvents(device, 10, 'calls');
    await admin.waitCount(() => admin.messages(`dl/v1/${id}/events/#`).length, 10, 15_000);

    const outageStarted = Date.now();
    await broker.stop();
    await emitEvents(device, 300, 'calls');
    await emitEvents(device, 200, 'alarms');
    device.child.kill('SIGKILL');
    await device.exited;
    device = await startOutboxDevice(storeDir, broker.url, id);
    await emitEvents(device, 300, 'calls');
    await emitEvents(device, 200, 'alarms');
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
  }, OUTAGE_MS + 120_000);
});
