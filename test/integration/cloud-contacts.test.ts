// Contact sync end to end: the device's ContactsSync on the real MqttLink, the cloud's ContactsCloud on an
// mqtt.js client, through a real Mosquitto with a user per side.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connectAsync, type MqttClient } from 'mqtt';
import { CloudContactBook, ContactsCloud, changesFromCsv, contactChange, pushContactChanges, readDeviceContactsState } from '../../src/cloud/contacts-sync/cloud-side.js';
import { ContactsSync } from '../../src/cloud/contacts-sync/device-sync.js';
import { CONTACTS_SYNC_LIMITS, type ContactsEditBatch, type WireChange } from '../../src/cloud/contacts-sync/protocol.js';
import { MqttLink } from '../../src/cloud/link.js';
import { ContactsRepository } from '../../src/contacts/repository.js';
import { SystemClock } from '../../src/core/clock.js';
import { FileStore } from '../../src/store/file-store.js';
import { generateContact } from '../support/contacts.js';
import { captureLogger } from '../support/log.js';
import { startMosquitto, type Mosquitto } from '../support/peers/mosquitto.js';
import { makeTempDir, stopAllPeers } from '../support/process.js';
import { seededRandom } from '../support/random.js';
import { waitFor } from '../support/wait.js';

const DEVICE = 'shop-1';
let broker: Mosquitto;
let cloudClient: MqttClient;
let cloud: ContactsCloud;
const book = new CloudContactBook();
const edits: ContactsEditBatch[] = [];
let store: FileStore;
let contacts: ContactsRepository;
let link: MqttLink;
let sync: ContactsSync;
const clock = new SystemClock('always');

beforeAll(async () => {
  broker = await startMosquitto({ users: { [DEVICE]: 'device-pw', cloud: 'cloud-pw' } });
  cloudClient = await connectAsync(broker.url, { clientId: 'cloud', username: 'cloud', password: 'cloud-pw', protocolVersion: 5 });
  cloud = new ContactsCloud({ client: cloudClient, bookOf: (id) => (id === DEVICE ? book : undefined), onEdits: (_id, batch) => edits.push(batch) });
  await cloud.start();

  store = new FileStore({ dir: await makeTempDir('cloud-contacts') });
  const { log } = captureLogger('warn');
  contacts = await ContactsRepository.open({ store, clock, country: () => 'US', origin: `device:${DEVICE}` });
  link = new MqttLink({ deviceId: DEVICE, url: broker.url, username: DEVICE, password: 'device-pw', clock, log, backoff: { initialMs: 100, maxMs: 1000 } });
  await link.start();
  sync = new ContactsSync({ link, contacts, store, clock, log, country: () => 'US' });
  await sync.start();
  // a first start fetches the cloud's (empty) set
  await waitFor(() => !sync.resyncing, 'the first resync', 10_000);
});

afterAll(async () => {
  await sync?.stop();
  await link?.close();
  await cloud?.close();
  await cloudClient?.endAsync();
  await store?.close();
  clock.dispose();
  await stopAllPeers();
});

describe('contacts sync through Mosquitto', () => {
  it('applies a change set the cloud publishes', async () => {
    const [set] = await cloud.publish(DEVICE, [contactChange('c1', { name: 'Wang Li', numbers: ['(212) 555-1234'], tags: ['vip'] }, { at: Date.now(), origin: 'cloud' })]);
    await waitFor(() => sync.rev === set.rev, `revision ${set.rev} on the device`, 10_000);
    expect(contacts.findByNumber('+12125551234')).toMatchObject({ id: 'c1', entry: { name: 'Wang Li', tags: ['vip'] } });
  });

  it('brings a device edit to the cloud', async () => {
    await contacts.update('c1', { notes: 'Third floor, ring twice' });
    await waitFor(() => edits.some((batch) => batch.edits.some((e) => e.id === 'c1' && 'fields' in e && e.fields.notes?.value === 'Third floor, ring twice')), 'the edit at the cloud', 10_000);
    expect(book.contact('c1')?.notes).toMatchObject({ value: 'Third floor, ring twice', origin: `device:${DEVICE}` });
    await waitFor(() => sync.pendingEdits === 0, 'the edit queue emptied');
  });

  it('pushes a CSV file as a change set continuing the device chain', async () => {
    // the one-shot push (the admin CLI): a book-less client continues from the revision in the device's retained state
    await waitFor(() => sync.rev === book.rev && !sync.resyncing, 'the device caught up with the book', 10_000);
    const admin = await connectAsync(broker.url, { clientId: 'admin', username: 'cloud', password: 'cloud-pw', protocolVersion: 5 });
    try {
      const { changes, errors } = await changesFromCsv('name,phone,email\nPark Min,(312) 555-0100,\nBad Mail,(312) 555-0101,nope\n', { at: Date.now(), origin: 'admin:test' });
      expect(errors).toEqual([expect.objectContaining({ row: 3, column: 'email' })]);
      const revBefore = sync.rev;
      // the device's retained state catches up with its revision (it is published right after the apply)
      for (let i = 0; (await readDeviceContactsState(admin, DEVICE, 1000))?.rev !== revBefore; i++) {
        if (i > 50) throw new Error(`the device's retained contacts state never said revision ${revBefore}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const [result] = await pushContactChanges(admin, [DEVICE], changes);
      expect(result).toMatchObject({ deviceId: DEVICE, fromRev: revBefore, toRev: revBefore + 1, changeSets: 1 });
      await waitFor(() => contacts.findByNumber('3125550100') !== undefined, 'the pushed contact on the device', 10_000);
      expect(contacts.findByNumber('3125550100')?.entry.name).toBe('Park Min');
    } finally {
      await admin.endAsync();
    }
    // the push did not go through the book: the cloud's set does not have the contact (the resync below removes it)
  });

  it('resyncs 100,000 contacts in pages after a revision gap, ending with the cloud set plus newer local edits', async () => {
    const random = seededRandom(11);
    const at = Date.now();
    const many: WireChange[] = [];
    for (let i = 0; i < 100_000; i++) {
      const c = generateContact(random, i);
      many.push(contactChange(c.id, { name: c.name, numbers: [c.numbers[0].entered], company: c.company ?? undefined, tags: c.tags }, { at, origin: 'cloud' }));
    }
    const before = book.rev;
    book.commit(many); // sets the device never receives: a gap
    const local = await contacts.create({ name: 'Made on the phone', numbers: ['(646) 555-0199'] });
    const [next] = await cloud.publish(DEVICE, [contactChange('c1', { company: 'Noodle Bar' }, { at: Date.now(), origin: 'cloud' })]);
    expect(next.prevRev).toBeGreaterThan(before);
    const started = Date.now();
    await waitFor(() => sync.rev === book.rev && !sync.resyncing, 'the resync to finish', 240_000);
    const seconds = (Date.now() - started) / 1000;

    const expected = new Set([...book.ids()]);
    expect(expected.size).toBeGreaterThanOrEqual(100_001);
    expect(Math.ceil(expected.size / CONTACTS_SYNC_LIMITS.maxContactsPerPage)).toBeGreaterThanOrEqual(101);
    const onDevice = new Set(contacts.ids());
    // exactly the cloud's set, plus the contact made on the phone (which went up, so the cloud has it too)
    expect(book.contact(local.id)).toBeDefined();
    expect([...onDevice].filter((id) => !expected.has(id))).toEqual([]);
    expect([...expected].filter((id) => !onDevice.has(id))).toEqual([]);
    expect(await contacts.get('c1')).toMatchObject({ notes: 'Third floor, ring twice', company: 'Noodle Bar' });
    const sample = generateContact(seededRandom(11), 0);
    expect(contacts.findByNumber(sample.numbers[0].e164!)?.id).toBe(sample.id);
    expect(contacts.count).toBe(expected.size);
    // pushed around the book, written by neither the device nor the book: the cloud's set has no such contact
    expect(contacts.findByNumber('3125550100')).toBeUndefined();
    // not a pass/fail timing (that is for benchmarks): it only has to finish within the wait above
    expect(seconds).toBeGreaterThan(0);
  });
});
