/**
 * Contact sync over MQTT: the topics, the payloads and their validation (documented for cloud developers in
 * TOPICS.md, section "Contacts sync").
 *
 * The cloud keeps one revision chain per device. A change set `{rev, prevRev, changes}` applies on top of
 * revision `prevRev`; a device at another revision has missed one and asks for a full resync, which the cloud
 * answers in pages `{resyncId, page, pages, rev, contacts}` of the whole set at revision `rev`. Devices send
 * their own edits up as `{id, edits}`. Every change carries per-field stamps (at, origin) and merges by
 * per-field last writer wins (src/contacts/stamps.ts), so edits crossing each other settle the same everywhere.
 *
 * Everything from the network is bounded before it is parsed (MAX_PAYLOAD_BYTES, the MQTT link drops bigger
 * messages too) and checked field by field; a message that fails is refused whole with a
 * ContactsProtocolError saying where and why. A change whose contact fields fail the contact rules
 * (src/contacts/model.ts) is refused alone (toStampedChange), so one bad contact does not stall the chain.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { DesklineError } from '../../core/errors.js';
import { parseContactInput } from '../../contacts/model.js';
import type { FieldStamp, StampedChange, StampedFields } from '../../contacts/stamps.js';
import { CONTACT_FIELD_NAMES, type ContactFieldName, type ContactIssue } from '../../contacts/types.js';
import { TOPIC_ROOT, checkLevel } from '../topics.js';

/** Bounds of the protocol. The link drops incoming payloads over 1 MiB (link.ts MAX_INCOMING_BYTES): stay under. */
export const CONTACTS_SYNC_LIMITS = {
  /** any contacts message, as bytes on the wire */
  maxPayloadBytes: 1024 * 1024,
  /** a page holds at most this many contacts (and at most pageBudgetBytes of JSON) */
  maxContactsPerPage: 1000,
  /** what the cloud side packs into one page or change set, so the message stays under maxPayloadBytes */
  pageBudgetBytes: 900 * 1024,
  /** changes in one change set */
  maxChangesPerSet: 1000,
  /** a resync of more pages than this (a million contacts) is refused */
  maxPages: 1000,
  /** edits the device sends in one message */
  maxEditsPerMessage: 200,
  idLength: 100,
  originLength: 100,
  reasonLength: 200,
} as const;

export class ContactsProtocolError extends DesklineError {
  constructor(what: string, problems: string[]) {
    super('CONTACTS_BAD_MESSAGE', `${what}: ${problems.join('; ')}`, { details: problems });
    this.name = 'ContactsProtocolError';
  }
}

/** The contact sync topics of one device. */
export function contactsTopics(deviceId: string) {
  const base = `${TOPIC_ROOT}/${checkLevel('device id', deviceId)}/contacts`;
  return {
    base,
    /** cloud -> device: change sets (QoS 1, not retained) */
    changes: `${base}/changes`,
    /** device -> cloud: the device's own edits (QoS 1, not retained) */
    edits: `${base}/edits`,
    /** device -> cloud: a full resync request (QoS 1, not retained) */
    resync: `${base}/resync`,
    /** cloud -> device: the pages answering a resync request (QoS 1, not retained) */
    pages: `${base}/resync/pages`,
    /** device -> cloud: where the device is (retained) */
    state: `${base}/state`,
  };
}

export type ContactsTopicKind = 'changes' | 'edits' | 'resync' | 'pages' | 'state';

const KIND_OF_PATH: Record<string, ContactsTopicKind> = {
  'contacts/changes': 'changes',
  'contacts/edits': 'edits',
  'contacts/resync': 'resync',
  'contacts/resync/pages': 'pages',
  'contacts/state': 'state',
};

/** Which device and which contacts topic (for a cloud subscribed to `dl/v1/+/contacts/#`); undefined when none. */
export function parseContactsTopic(topic: string): { deviceId: string; kind: ContactsTopicKind } | undefined {
  const prefix = `${TOPIC_ROOT}/`;
  if (!topic.startsWith(prefix)) return undefined;
  const rest = topic.slice(prefix.length);
  const slash = rest.indexOf('/');
  if (slash <= 0) return undefined;
  const deviceId = rest.slice(0, slash);
  const kind = KIND_OF_PATH[rest.slice(slash + 1)];
  if (!kind || deviceId === 'groups') return undefined;
  try {
    checkLevel('device id', deviceId);
  } catch {
    return undefined;
  }
  return { deviceId, kind };
}

// ---- payloads ----------------------------------------------------------------------------------------------

const Revision = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
const At = Type.Integer({ minimum: 0, maximum: 8_640_000_000_000_000, description: 'ms since the epoch' });
const Origin = Type.String({ minLength: 1, maxLength: CONTACTS_SYNC_LIMITS.originLength, pattern: '^[\\x21-\\x7e]+$', description: "'cloud', 'device:<id>', 'admin:<user>'" });
const ContactId = Type.String({ minLength: 1, maxLength: CONTACTS_SYNC_LIMITS.idLength, pattern: '^[A-Za-z0-9][A-Za-z0-9_.:-]*$' });
const Token = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.:-]+$' });

const WireStampSchema = Type.Object({ at: At, origin: Origin }, { additionalProperties: false });
/** a field's value is checked by the contact rules afterwards (parseContactInput) */
const WireFieldSchema = Type.Object({ value: Type.Unknown(), at: At, origin: Origin }, { additionalProperties: false });
const WireFieldsSchema = Type.Object(
  Object.fromEntries(CONTACT_FIELD_NAMES.map((name) => [name, Type.Optional(WireFieldSchema)])) as unknown as Record<ContactFieldName, TSchema>,
  { additionalProperties: false, minProperties: 1 },
);
const WireChangeSchema = Type.Union([
  Type.Object({ id: ContactId, fields: WireFieldsSchema }, { additionalProperties: false }),
  Type.Object({ id: ContactId, deleted: WireStampSchema }, { additionalProperties: false }),
]);
const WireContactSchema = Type.Object({ id: ContactId, fields: WireFieldsSchema }, { additionalProperties: false });

const ChangeSetSchema = Type.Object(
  { rev: Revision, prevRev: Revision, changes: Type.Array(WireChangeSchema, { maxItems: CONTACTS_SYNC_LIMITS.maxChangesPerSet }) },
  { additionalProperties: false },
);
const EditBatchSchema = Type.Object(
  { id: Token, edits: Type.Array(WireChangeSchema, { minItems: 1, maxItems: CONTACTS_SYNC_LIMITS.maxEditsPerMessage }) },
  { additionalProperties: false },
);
const ResyncRequestSchema = Type.Object(
  { resyncId: Token, rev: Revision, reason: Type.String({ maxLength: CONTACTS_SYNC_LIMITS.reasonLength }) },
  { additionalProperties: false },
);
const ResyncPageSchema = Type.Object(
  {
    resyncId: Token,
    page: Type.Integer({ minimum: 0, maximum: CONTACTS_SYNC_LIMITS.maxPages - 1, description: '0-based' }),
    pages: Type.Integer({ minimum: 1, maximum: CONTACTS_SYNC_LIMITS.maxPages }),
    rev: Revision,
    contacts: Type.Array(WireContactSchema, { maxItems: CONTACTS_SYNC_LIMITS.maxContactsPerPage }),
  },
  { additionalProperties: false },
);
const ContactsStateSchema = Type.Object(
  {
    rev: Revision,
    resyncing: Type.Boolean(),
    pendingEdits: Type.Integer({ minimum: 0 }),
    refused: Type.Integer({ minimum: 0 }),
    at: Type.Union([At, Type.Null()]),
    errors: Type.Array(Type.Object({ id: Type.String({ maxLength: 200 }), path: Type.String({ maxLength: 200 }), message: Type.String({ maxLength: 500 }) }), { maxItems: 20 }),
  },
  { additionalProperties: false },
);

export type WireStamp = Static<typeof WireStampSchema>;
export interface WireField {
  value: unknown;
  at: number;
  origin: string;
}
export type WireFields = Partial<Record<ContactFieldName, WireField>>;
export type WireChange = { id: string; fields: WireFields } | { id: string; deleted: WireStamp };
export type WireContact = { id: string; fields: WireFields };

/** cloud -> device `contacts/changes`: applies on top of `prevRev` and makes `rev` */
export interface ContactsChangeSet {
  rev: number;
  prevRev: number;
  changes: WireChange[];
}
/** device -> cloud `contacts/edits`: `id` is unique per message (a redelivery repeats it) */
export interface ContactsEditBatch {
  id: string;
  edits: WireChange[];
}
/** device -> cloud `contacts/resync`: `rev` is the device's revision, `reason` is for the cloud's logs */
export type ContactsResyncRequest = Static<typeof ResyncRequestSchema>;
/** cloud -> device `contacts/resync/pages`: page `page` (0-based) of `pages` of the whole set at revision `rev` */
export interface ContactsResyncPage {
  resyncId: string;
  page: number;
  pages: number;
  rev: number;
  contacts: WireContact[];
}
/** device -> cloud `contacts/state` (retained): the revision applied, edits not yet acknowledged, refused changes */
export type ContactsState = Static<typeof ContactsStateSchema>;

function problemsOf(schema: TSchema, value: unknown): string[] {
  const problems: string[] = [];
  for (const error of Value.Errors(schema, value)) {
    // a union's own error repeats its branches': one line per place
    if (problems.length >= 5) {
      problems.push('...');
      break;
    }
    const where = error.path || '(message)';
    const shown = JSON.stringify(error.value);
    problems.push(`${where}: ${error.message}${shown !== undefined && shown.length <= 40 ? ` (got ${shown})` : ''}`);
  }
  return problems;
}

function decode<T>(what: string, schema: TSchema, payload: Buffer | string): T {
  const bytes = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
  if (bytes > CONTACTS_SYNC_LIMITS.maxPayloadBytes) {
    throw new ContactsProtocolError(what, [`${bytes} bytes, more than ${CONTACTS_SYNC_LIMITS.maxPayloadBytes}`]);
  }
  let value: unknown;
  try {
    value = JSON.parse(typeof payload === 'string' ? payload : payload.toString('utf8'));
  } catch (error) {
    throw new ContactsProtocolError(what, [`not JSON (${(error as Error).message})`]);
  }
  if (!Value.Check(schema, value)) throw new ContactsProtocolError(what, problemsOf(schema, value));
  return value as T;
}

export function decodeChangeSet(payload: Buffer | string): ContactsChangeSet {
  const set = decode<ContactsChangeSet>('contacts change set', ChangeSetSchema, payload);
  if (set.rev <= set.prevRev) throw new ContactsProtocolError('contacts change set', [`rev ${set.rev} is not after prevRev ${set.prevRev}`]);
  return set;
}

export function decodeEditBatch(payload: Buffer | string): ContactsEditBatch {
  return decode<ContactsEditBatch>('contacts edits', EditBatchSchema, payload);
}

export function decodeResyncRequest(payload: Buffer | string): ContactsResyncRequest {
  return decode<ContactsResyncRequest>('contacts resync request', ResyncRequestSchema, payload);
}

export function decodeResyncPage(payload: Buffer | string): ContactsResyncPage {
  const page = decode<ContactsResyncPage>('contacts resync page', ResyncPageSchema, payload);
  if (page.page >= page.pages) throw new ContactsProtocolError('contacts resync page', [`page ${page.page} of ${page.pages} (pages count from 0)`]);
  return page;
}

export function decodeContactsState(payload: Buffer | string): ContactsState {
  return decode<ContactsState>('contacts state', ContactsStateSchema, payload);
}

// ---- wire <-> stamped changes ------------------------------------------------------------------------------

/**
 * A wire change as a stamped change the repository merges: field values checked and normalised by the contact
 * rules (numbers to E.164 with the device's country), or the issues found (paths under 'fields.<name>').
 */
export function toStampedChange(change: WireChange, country: string): { change: StampedChange; issues: [] } | { change: null; issues: ContactIssue[] } {
  if ('deleted' in change) return { change: { id: change.id, deleted: { at: change.deleted.at, origin: change.deleted.origin } }, issues: [] };
  const input: Record<string, unknown> = {};
  const stamps = new Map<ContactFieldName, FieldStamp>();
  for (const name of CONTACT_FIELD_NAMES) {
    const field = change.fields[name];
    if (!field) continue;
    // null and absent both clear a field (parseContactInput reads undefined as 'leave as it is')
    input[name] = field.value === undefined ? null : field.value;
    stamps.set(name, { at: field.at, origin: field.origin });
  }
  const { fields, issues } = parseContactInput(input, 'patch', country);
  if (!fields) return { change: null, issues: issues.map((issue) => ({ path: issue.path ? `fields.${issue.path}` : 'fields', message: issue.message })) };
  const stamped: Record<string, unknown> = {};
  for (const [name, stamp] of stamps) stamped[name] = { value: fields[name], stamp };
  return { change: { id: change.id, fields: stamped as StampedFields }, issues: [] };
}

/** A stamped change as it travels. */
export function toWireChange(change: StampedChange): WireChange {
  if (change.deleted) return { id: change.id, deleted: { at: change.deleted.at, origin: change.deleted.origin } };
  const fields: WireFields = {};
  for (const [name, stamped] of Object.entries(change.fields) as Array<[ContactFieldName, { value: unknown; stamp: FieldStamp }]>) {
    fields[name] = { value: stamped.value, at: stamped.stamp.at, origin: stamped.stamp.origin };
  }
  return { id: change.id, fields };
}

/** Bytes of a value as JSON (what the cloud side packs pages by). */
export function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value));
}
