import { mkdtempSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import { ContactsService, type ContactSummary } from '../../../src/contacts/service.js';
import type { Contact } from '../../../src/contacts/types.js';
import { ControlRegistry } from '../../../src/control/protocol.js';
import { EventBus } from '../../../src/core/bus.js';
import type { BusEvents } from '../../../src/core/events.js';
import { MemoryStore } from '../../../src/store/memory.js';
import { FakeClock } from '../../support/fake-clock.js';
import { captureLogger } from '../../support/log.js';
import { waitFor } from '../../support/wait.js';

const running: ContactsService[] = [];
afterEach(async () => {
  for (const service of running.splice(0)) await service.stop();
});

async function start(country = 'US') {
  const { log, lines } = captureLogger();
  const control = new ControlRegistry();
  const bus = new EventBus<BusEvents>(log);
  const clock = new FakeClock();
  const service = new ContactsService({ store: new MemoryStore(), control, bus, clock, log, country: () => country });
  await service.start();
  running.push(service);
  const changes: Array<BusEvents['contactChanged']> = [];
  bus.on('test', 'contactChanged', (change) => {
    changes.push(change);
  });
  const call = async (method: string, params?: unknown) => {
    const handler = control.get(method);
    if (!handler) throw new Error(`no method ${method}`);
    return handler(params);
  };
  return { service, control, clock, call, changes, lines };
}

function workDir(): string {
  return mkdtempSync(join(tmpdir(), 'contacts-'));
}

describe('ContactsService', () => {
  it('serves the contacts control methods while it runs', async () => {
    const { service, control } = await start();
    expect(control.methods().filter((m) => m.startsWith('contacts.'))).toEqual([
      'contacts.delete', 'contacts.export', 'contacts.get', 'contacts.import', 'contacts.save', 'contacts.search',
    ]);
    expect(service.repository.count).toBe(0);
    await service.stop();
    running.splice(0);
    expect(control.methods().filter((m) => m.startsWith('contacts.'))).toEqual([]);
    expect(() => service.repository).toThrow(expect.objectContaining({ code: 'CONTACTS_NOT_STARTED' }));
  });

  it('saves, finds, reads and deletes contacts, publishing each change', async () => {
    const { call, changes } = await start();
    const created = (await call('contacts.save', { contact: { name: 'Wang Li', numbers: ['2125551234'], tags: ['vip'] } })) as Contact;
    expect(created).toMatchObject({ name: 'Wang Li', numbers: [{ e164: '+12125551234' }] });

    const { results } = (await call('contacts.search', { query: 'wang' })) as { results: ContactSummary[] };
    expect(results).toEqual([{ id: created.id, name: 'Wang Li', company: null, tag: 'vip', note: null, numbers: ['(212) 555-1234'], due: null }]);
    expect(((await call('contacts.search', { query: '212555', limit: 1 })) as { results: ContactSummary[] }).results).toHaveLength(1);

    const updated = (await call('contacts.save', { contact: { ...created, company: 'Noodles' } })) as Contact;
    expect(updated).toMatchObject({ id: created.id, company: 'Noodles' });
    await expect(call('contacts.get', { id: created.id })).resolves.toMatchObject({ company: 'Noodles' });
    await expect(call('contacts.delete', { id: created.id })).resolves.toEqual({ deleted: true });
    await expect(call('contacts.get', { id: created.id })).rejects.toMatchObject({ code: 'CONTACT_NOT_FOUND' });
    await expect(call('contacts.delete', { id: created.id })).resolves.toEqual({ deleted: false });
    expect(changes).toEqual([
      { id: created.id, change: 'created' },
      { id: created.id, change: 'updated' },
      { id: created.id, change: 'deleted' },
    ]);
  });

  it('says what is wrong with a request', async () => {
    const { call } = await start();
    await expect(call('contacts.search', {})).rejects.toMatchObject({ code: 'CONTROL_BAD_PARAMS', message: expect.stringMatching(/query must be text/) });
    await expect(call('contacts.search', { query: 'a', limit: 1000 })).rejects.toMatchObject({ code: 'CONTROL_BAD_PARAMS', message: expect.stringMatching(/limit/) });
    await expect(call('contacts.get', null)).rejects.toMatchObject({ code: 'CONTROL_BAD_PARAMS' });
    await expect(call('contacts.save', { contact: { name: '', numbers: ['abc'] } })).rejects.toMatchObject({
      code: 'CONTACT_INVALID',
      message: expect.stringMatching(/name: is empty[\s\S]*numbers\.0: 'abc' is not a phone number/),
    });
    await expect(call('contacts.save', { contact: { id: 'missing', name: 'X' } })).rejects.toMatchObject({ code: 'CONTACT_NOT_FOUND' });
    await expect(call('contacts.import', { path: 'contacts.csv' })).rejects.toMatchObject({ code: 'CONTROL_BAD_PARAMS', message: expect.stringMatching(/absolute/) });
    await expect(call('contacts.import', { path: join(workDir(), 'none.csv') })).rejects.toMatchObject({ code: 'CONTACT_IMPORT_FILE', message: expect.stringMatching(/no such file/) });
    await expect(call('contacts.import', { path: '/tmp/x.csv', onDuplicate: 'replace' })).rejects.toMatchObject({ code: 'CONTROL_BAD_PARAMS' });
    const huge = join(workDir(), 'huge.csv');
    writeFileSync(huge, 'name,phone\n');
    truncateSync(huge, 21 * 1024 * 1024);
    await expect(call('contacts.import', { path: huge })).rejects.toMatchObject({ code: 'CONTACT_IMPORT_TOO_LARGE' });
  });

  it('imports a CSV file and exports one that imports back', async () => {
    const { call, lines } = await start();
    const dir = workDir();
    const file = join(dir, 'in.csv');
    writeFileSync(file, '\ufeffname,phone,notes\r\nWang Li,212 555 1234,"back door"\r\nAnna,call me,\r\n');
    const result = await call('contacts.import', { path: file });
    expect(result).toMatchObject({ created: 1, skipped: 1, errors: [{ row: 3, column: 'phone' }] });
    expect(lines().some((line) => line.msg === `contacts imported from ${file}: 1 created, 0 updated, 1 skipped`)).toBe(true);
    await expect(call('contacts.import', { path: file, onDuplicate: 'skip' })).resolves.toMatchObject({ created: 0, skipped: 2 });

    const out = join(dir, 'out.csv');
    await expect(call('contacts.export', { path: out })).resolves.toEqual({ path: out, count: 1 });
    expect(statSync(out).mode & 0o777).toBe(0o600);
    expect(readFileSync(out, 'utf8')).toMatch(/^\ufeffname,company,phone,.*\r\nWang Li,,212 555 1234,/);
    await expect(call('contacts.export', { path: join(dir, 'missing', 'out.csv') })).rejects.toMatchObject({ code: 'CONTACT_EXPORT_FILE' });

    const other = await start();
    await expect(other.call('contacts.import', { path: out })).resolves.toMatchObject({ created: 1, errors: [] });
  });

  it('builds and sorts the search index in slices after start and after changes', async () => {
    const { service, clock, call, lines } = await start();
    for (let i = 0; i < 50; i++) await call('contacts.save', { contact: { name: `Customer ${i}`, numbers: [`212555${String(i).padStart(4, '0')}`] } });
    expect(clock.pending).toBe(1);
    expect(service.repository.searchReady).toBe(false);
    clock.advance(5000);
    await waitFor(() => service.repository.searchReady, 'the search index built by the warm-up');
    await new Promise((resolve) => setImmediate(resolve));
    expect(clock.pending).toBe(0);
    // nothing left to sort: the warm-up did it
    await expect(service.repository.warmUp(0)).resolves.toBe(true);
    expect(await service.repository.search('customer 4', 100)).toHaveLength(11);

    // a change schedules another warm-up, which sorts what it added
    await call('contacts.save', { contact: { name: 'Customer 50' } });
    expect(clock.pending).toBe(1);
    clock.advance(5000);
    await new Promise((resolve) => setImmediate(resolve));
    expect(clock.pending).toBe(0);
    expect(lines().filter((line) => (line.level as number) >= 50)).toEqual([]);
    expect(((await call('contacts.search', { query: 'customer 5', limit: 100 })) as { results: ContactSummary[] }).results.map((r) => r.name)).toEqual(['Customer 5', 'Customer 50']);
  });

  it('answers a search before the warm-up by building the index then', async () => {
    const { call, clock } = await start();
    await call('contacts.save', { contact: { name: 'Anna Lee', tags: ['vip'] } });
    expect(clock.pending).toBe(1);
    const { results } = (await call('contacts.search', { query: 'lee' })) as { results: ContactSummary[] };
    expect(results).toEqual([{ id: expect.any(String), name: 'Anna Lee', company: null, tag: 'vip', note: null, numbers: [], due: null }]);
  });
});
