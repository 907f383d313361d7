import { describe, expect, it } from '@jest/globals';
import { CONTACTS_SYNC_LIMITS, contactsTopics, decodeChangeSet, decodeEditBatch, decodeResyncPage, parseContactsTopic, toStampedChange } from '../../../../src/cloud/contacts-sync/protocol.js';

const at = 1_800_000_000_000;

describe('contacts sync protocol', () => {
  it('names the topics under dl/v1/{deviceId}/contacts and reads them back', () => {
    const t = contactsTopics('shop-7');
    expect([t.changes, t.edits, t.resync, t.pages, t.state]).toEqual([
      'dl/v1/shop-7/contacts/changes', 'dl/v1/shop-7/contacts/edits', 'dl/v1/shop-7/contacts/resync', 'dl/v1/shop-7/contacts/resync/pages', 'dl/v1/shop-7/contacts/state',
    ]);
    expect(parseContactsTopic(t.pages)).toEqual({ deviceId: 'shop-7', kind: 'pages' });
    for (const foreign of ['dl/v1/shop-7/contacts', 'dl/v1/groups/contacts/edits', 'dl/v1/+/contacts/edits', 'dl/v2/shop-7/contacts/edits', 'dl/v1/shop-7/contacts/other']) {
      expect(parseContactsTopic(foreign)).toBeUndefined();
    }
    expect(() => contactsTopics('a/b')).toThrow(expect.objectContaining({ code: 'CLOUD_BAD_TOPIC_LEVEL' }));
  });

  it('accepts a well-formed change set and refuses bad ones whole, saying where', () => {
    const good = { rev: 2, prevRev: 1, changes: [{ id: 'c1', fields: { name: { value: 'Li', at, origin: 'cloud' } } }, { id: 'c2', deleted: { at, origin: 'cloud' } }] };
    expect(decodeChangeSet(JSON.stringify(good))).toEqual(good);
    const refused = (payload: string, pattern: RegExp) => expect(() => decodeChangeSet(payload)).toThrow(expect.objectContaining({ code: 'CONTACTS_BAD_MESSAGE', message: expect.stringMatching(pattern) }));
    refused('{', /not JSON/);
    refused(JSON.stringify({ ...good, rev: 1 }), /rev 1 is not after prevRev 1/);
    refused(JSON.stringify({ ...good, rev: -1 }), /\/rev/);
    refused(JSON.stringify({ ...good, changes: [{ id: 'c1', fields: { nickname: { value: 'x', at, origin: 'cloud' } } }] }), /\/changes\/0/);
    refused(JSON.stringify({ ...good, changes: [{ id: 'c1', fields: { name: { value: 'x', at: 1.5, origin: 'cloud' } } }] }), /\/changes\/0/);
    refused(JSON.stringify({ ...good, changes: [{ id: '../x', deleted: { at, origin: 'cloud' } }] }), /\/changes\/0/);
    refused(JSON.stringify({ ...good, changes: Array.from({ length: CONTACTS_SYNC_LIMITS.maxChangesPerSet + 1 }, (_, i) => ({ id: `c${i}`, deleted: { at, origin: 'cloud' } })) }), /\/changes/);
    refused(' '.repeat(CONTACTS_SYNC_LIMITS.maxPayloadBytes + 1), /bytes, more than/);
  });

  it('bounds resync pages and edit batches', () => {
    const page = { resyncId: 'r1', page: 0, pages: 2, rev: 9, contacts: [{ id: 'c1', fields: { name: { value: 'Li', at, origin: 'cloud' } } }] };
    expect(decodeResyncPage(JSON.stringify(page))).toEqual(page);
    expect(() => decodeResyncPage(JSON.stringify({ ...page, page: 2 }))).toThrow(expect.objectContaining({ message: expect.stringMatching(/page 2 of 2/) }));
    expect(() => decodeResyncPage(JSON.stringify({ ...page, contacts: [{ id: 'c1', deleted: { at, origin: 'cloud' } }] }))).toThrow(expect.objectContaining({ code: 'CONTACTS_BAD_MESSAGE' }));
    expect(() => decodeEditBatch(JSON.stringify({ id: 'e1', edits: [] }))).toThrow(expect.objectContaining({ code: 'CONTACTS_BAD_MESSAGE' }));
  });

  it('checks field values by the contact rules and normalises them with the device country', () => {
    const read = toStampedChange({ id: 'c1', fields: { name: { value: ' Wang  Li ', at, origin: 'cloud' }, numbers: { value: ['(212) 555-1234'], at, origin: 'cloud' } } }, 'US');
    expect(read.change).toEqual({ id: 'c1', fields: {
      name: { value: 'Wang Li', stamp: { at, origin: 'cloud' } },
      numbers: { value: [{ e164: '+12125551234', entered: '(212) 555-1234', label: null }], stamp: { at, origin: 'cloud' } },
    } });
    const bad = toStampedChange({ id: 'c1', fields: { name: { value: '', at, origin: 'cloud' }, email: { value: 'nope', at, origin: 'cloud' }, tags: { value: 7, at, origin: 'cloud' } } }, 'US');
    expect(bad.change).toBeNull();
    expect(bad.issues.map((issue) => issue.path)).toEqual(['fields.tags']);
    const bad2 = toStampedChange({ id: 'c1', fields: { name: { value: '', at, origin: 'cloud' }, email: { value: 'nope', at, origin: 'cloud' } } }, 'US');
    expect(bad2.issues.map((issue) => issue.path).sort()).toEqual(['fields.email', 'fields.name']);
  });
});
