import { CONTACT_FIELD_NAMES, type Contact, type ContactFieldName, type ContactFields } from './types.js';

/**
 * Field stamps and the merge rule of contact sync (device <-> cloud).
 *
 * Every field of a contact carries a stamp (updatedAt, updatedBy) = (at, origin): when it last changed (ms) and who
 * changed it ('cloud', 'device:<id>'). Two versions of a field merge by last writer wins on the stamp: the later
 * `at` wins; on equal `at` the origin that sorts last (plain code-unit order) wins, so every replica picks the
 * same value whatever order it sees them in. A field without a stamp (contacts written before sync) is (0, ''):
 * it loses to any stamped version.
 *
 * A delete is a stamp on the whole contact. It removes the contact only when no field of it is newer than the
 * delete (an edit made after the delete was made keeps the contact: the device never drops data newer than what
 * the other side knew). On an exact tie the delete wins.
 */

export interface FieldStamp {
  /** ms since the epoch; from the cloud, or from the device as described in repository.ts (stampFor) */
  at: number;
  /** 'cloud', 'device:<deviceId>', ... */
  origin: string;
}

export const NO_STAMP: Readonly<FieldStamp> = Object.freeze({ at: 0, origin: '' });

/** Negative when a is older than b, positive when newer, 0 when they are the same stamp. */
export function compareStamps(a: FieldStamp, b: FieldStamp): number {
  if (a.at !== b.at) return a.at < b.at ? -1 : 1;
  return a.origin < b.origin ? -1 : a.origin > b.origin ? 1 : 0;
}

export function newerStamp(a: FieldStamp, b: FieldStamp): FieldStamp {
  return compareStamps(a, b) >= 0 ? a : b;
}

/** The stamp of one field of a stored contact ((0, '') when it has none). */
export function fieldStamp(contact: Pick<Contact, 'updatedAt' | 'updatedBy'>, field: ContactFieldName): FieldStamp {
  const at = contact.updatedAt[field];
  if (typeof at !== 'number') return NO_STAMP;
  return { at, origin: contact.updatedBy?.[field] ?? '' };
}

/** The newest stamp of any field of a contact. */
export function newestStamp(contact: Pick<Contact, 'updatedAt' | 'updatedBy'>): FieldStamp {
  let newest: FieldStamp = NO_STAMP;
  for (const field of CONTACT_FIELD_NAMES) newest = newerStamp(fieldStamp(contact, field), newest);
  return newest;
}

/** A field value with its stamp, as sync carries it. */
export interface StampedValue<F extends ContactFieldName = ContactFieldName> {
  value: ContactFields[F];
  stamp: FieldStamp;
}

export type StampedFields = { [F in ContactFieldName]?: StampedValue<F> };

/** A change to one contact as sync carries it (both ways), validated and normalised: some fields with their stamps, or a delete. */
export type StampedChange = { id: string; fields: StampedFields; deleted?: undefined } | { id: string; deleted: FieldStamp; fields?: undefined };

/** What merging one incoming change into the local contact gives. */
export type MergeOutcome =
  /** write this contact (new or changed; `changed` lists the fields taken from the incoming change) */
  | { kind: 'put'; contact: Contact; changed: ContactFieldName[]; localNewer: ContactFieldName[] }
  /** delete the local contact (remember the stamp as its tombstone) */
  | { kind: 'delete'; stamp: FieldStamp }
  /** nothing to write; `tombstone` is set when an unknown contact's delete (or a newer one) should be remembered */
  | { kind: 'none'; localNewer: ContactFieldName[]; tombstone?: FieldStamp }
  /** the change names a contact the device does not have and does not bring a name to create it with */
  | { kind: 'unknown' };

const EMPTY_FIELDS: ContactFields = { name: '', company: null, numbers: [], email: null, address: null, tags: [], notes: null, fields: {}, due: [] };

/** JSON with object keys sorted: equal values give equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}

/**
 * Merge an incoming change into the local contact (undefined when the device has none) by per-field last writer
 * wins. `tombstone` is the stamp of this device's record of the contact's delete, if any: incoming fields not
 * newer than it are dropped. `localNewer` lists the local fields that beat the incoming version (the other side
 * does not have them: send them up); when a delete loses, every field is listed (the other side needs the whole
 * contact to bring it back).
 */
export function mergeChange(local: Contact | undefined, change: StampedChange, tombstone?: FieldStamp): MergeOutcome {
  if (change.deleted) {
    if (!local) return { kind: 'none', localNewer: [], tombstone: tombstone ? newerStamp(change.deleted, tombstone) : change.deleted };
    if (compareStamps(newestStamp(local), change.deleted) > 0) return { kind: 'none', localNewer: [...CONTACT_FIELD_NAMES] };
    return { kind: 'delete', stamp: change.deleted };
  }
  const incoming = Object.entries(change.fields) as Array<[ContactFieldName, StampedValue]>;
  if (!local) {
    const alive = tombstone ? incoming.filter(([, v]) => compareStamps(v.stamp, tombstone) > 0) : incoming;
    const name = alive.find(([field]) => field === 'name');
    if (!name || !name[1].value) return alive.length === incoming.length ? { kind: 'unknown' } : { kind: 'none', localNewer: [] };
    const contact: Contact = { id: change.id, ...structuredClone(EMPTY_FIELDS), createdAt: Infinity, updatedAt: {}, updatedBy: {} };
    for (const [field, { value, stamp }] of alive) {
      (contact as unknown as Record<string, unknown>)[field] = value;
      contact.updatedAt[field] = stamp.at;
      contact.updatedBy![field] = stamp.origin;
      contact.createdAt = Math.min(contact.createdAt, stamp.at);
    }
    return { kind: 'put', contact, changed: alive.map(([field]) => field), localNewer: [] };
  }
  const changed: ContactFieldName[] = [];
  const localNewer: ContactFieldName[] = [];
  let next: Contact | undefined;
  for (const [field, { value, stamp }] of incoming) {
    const order = compareStamps(stamp, fieldStamp(local, field));
    if (order < 0) localNewer.push(field);
    if (order <= 0) continue;
    next ??= { ...local, updatedAt: { ...local.updatedAt }, updatedBy: { ...local.updatedBy } };
    (next as unknown as Record<string, unknown>)[field] = value;
    next.updatedAt[field] = stamp.at;
    next.updatedBy![field] = stamp.origin;
    changed.push(field);
  }
  return next ? { kind: 'put', contact: next, changed, localNewer } : { kind: 'none', localNewer };
}

/** The stamped fields of a contact (all of them, or those named), as sync sends them. */
export function stampedFieldsOf(contact: Contact, fields: readonly ContactFieldName[] = CONTACT_FIELD_NAMES): StampedFields {
  const out: Record<string, StampedValue> = {};
  for (const field of fields) out[field] = { value: contact[field], stamp: fieldStamp(contact, field) };
  return out as StampedFields;
}
