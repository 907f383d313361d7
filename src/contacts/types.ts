/** The contacts feature's data: whole contacts (read on demand) and the compact entry kept in memory for each. */

export const DUE_KINDS = ['renewal', 'appointment', 'payment'] as const;
export type DueKind = (typeof DUE_KINDS)[number];

export interface ContactNumber {
  /** E.164 (+8613800138000), or null when the number could not be normalised with the device country */
  e164: string | null;
  /** exactly as the user or the CSV file wrote it */
  entered: string;
  /** 'mobile', 'work', 'home', any short text, or null */
  label: string | null;
}

export interface ContactDue {
  kind: DueKind;
  /** calendar date, YYYY-MM-DD */
  date: string;
  note: string | null;
}

export interface Contact {
  id: string;
  name: string;
  company: string | null;
  numbers: ContactNumber[];
  email: string | null;
  address: string | null;
  tags: string[];
  notes: string | null;
  /** custom fields (a CSV file's extra columns), name -> value */
  fields: Record<string, string>;
  due: ContactDue[];
  /** ms since the epoch (device wall time) */
  createdAt: number;
  /** per field (the keys of `ContactFields`), ms of its last change: for merging with the cloud (see stamps.ts) */
  updatedAt: Record<string, number>;
  /**
   * per field, who made its last change: 'cloud', 'device:<deviceId>', ... With updatedAt it is the field's
   * stamp, (updatedAt, updatedBy), that sync merges compare. Absent in contacts written before sync (read as '').
   */
  updatedBy?: Record<string, string>;
}

/** The editable part of a contact. */
export type ContactFields = Omit<Contact, 'id' | 'createdAt' | 'updatedAt' | 'updatedBy'>;
export type ContactFieldName = keyof ContactFields;

export const CONTACT_FIELD_NAMES: readonly ContactFieldName[] = ['name', 'company', 'numbers', 'email', 'address', 'tags', 'notes', 'fields', 'due'];

/**
 * What is in memory for every contact (100,000 of them on a 512 MB board), and what the store persists beside
 * each shard and reads back at every start: so keep it small. Everything number lookup and lists need,
 * precomputed when the contact is written; a field that is empty is left out (read it through `contactView`).
 * The search keys are not here: they are in the contact-keys collection, read when search is first used.
 */
export interface ContactEntry {
  name: string;
  /** absent when the contact has none */
  company?: string;
  /** all tags ('vip' first if it was given first); absent when there are none */
  tags?: string[];
  /** the start of the notes, at most NOTE_EXCERPT_LENGTH characters; absent when there are none */
  note?: string;
  /** lookup keys of the numbers: E.164, or the digits alone when a number could not be normalised */
  numbers: string[];
  /** the earliest due date (past ones included: an overdue payment is what the clerk must see); absent when none */
  due?: { kind: DueKind; date: string };
  /** latest of updatedAt (ms): when several contacts share a number, the newest wins */
  updated: number;
}

/** A contact's entry with every field present (null or [] when empty): what lookups and searches hand out. */
export interface ContactView {
  name: string;
  company: string | null;
  /** the screen pop shows the first, recording rules match any */
  tags: string[];
  note: string | null;
  numbers: string[];
  due: { kind: DueKind; date: string } | null;
  updated: number;
}

/**
 * A contact's search keys (see keys.ts), in the contact-keys collection under the contact's id. `of` is the
 * fingerprint of what they were computed from (keysFingerprint): when it no longer matches the contact's
 * entry (a crash between the two writes, a new pinyin or phone number library), they are computed again.
 */
export interface ContactKeys {
  id: string;
  of: string;
  /** keys[0] is the sort key: the name, lowercased, without diacritics, Chinese in pinyin ('wang li') */
  keys: string[];
}

/** What is in memory for every keys document: all of it but the id. */
export type ContactKeysEntry = Omit<ContactKeys, 'id'>;

export const NOTE_EXCERPT_LENGTH = 60;

/** A number given when creating or editing a contact: the text alone, or with a label. */
export type ContactNumberInput =
  | string
  | { number: string; label?: string | null }
  /** a `ContactNumber` as read from a contact (its e164 is recomputed) */
  | { entered: string; e164?: string | null; label?: string | null };

export interface ContactDueInput {
  kind: DueKind;
  date: string;
  note?: string | null;
}

/**
 * A new contact, or (as `ContactPatch`) the changes to one: a missing field stays as it is, null or ''
 * clears it. A contact read with `get()` may be passed back as it is: id, createdAt and updatedAt are ignored.
 */
export interface ContactInput {
  name: string;
  company?: string | null;
  numbers?: ContactNumberInput[] | null;
  email?: string | null;
  address?: string | null;
  tags?: string[] | null;
  notes?: string | null;
  fields?: Record<string, string> | null;
  due?: ContactDueInput[] | null;
  id?: string;
  createdAt?: number;
  updatedAt?: Record<string, number>;
}

export type ContactPatch = Partial<ContactInput>;

/** One problem with a contact: where (dotted path into the input, '' = the whole input) and what. */
export interface ContactIssue {
  path: string;
  message: string;
}

export interface ContactHit {
  id: string;
  entry: ContactView;
}

export type ContactChangeKind = 'created' | 'updated' | 'deleted';

/** What happens to a CSV row (or an imported input) whose number belongs to an existing contact. */
export type DuplicatePolicy = 'merge' | 'skip' | 'create';
