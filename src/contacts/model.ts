import { Type, type TSchema } from '@sinclair/typebox';
import { Value, ValueErrorType, type ValueError } from '@sinclair/typebox/value';
import { DesklineError } from '../core/errors.js';
import { isReservedColumn } from './columns.js';
import { digitsOnly } from '../numbers/numbers.js';
import { NUMBER_TEXT, normalizeContactNumber, numberLookupKey } from './numbers.js';
import { entrySearchKeys, keysFingerprint } from './keys.js';
import { NO_STAMP, canonicalJson, fieldStamp, type FieldStamp } from './stamps.js';
import {
  CONTACT_FIELD_NAMES,
  DUE_KINDS,
  NOTE_EXCERPT_LENGTH,
  type Contact,
  type ContactDue,
  type ContactEntry,
  type ContactFieldName,
  type ContactFields,
  type ContactIssue,
  type ContactKeys,
  type ContactKeysEntry,
  type ContactNumber,
  type ContactView,
} from './types.js';

/** How big a contact may be: bounded so 100,000 of them fit the board and one fits a control-socket reply. */
export const CONTACT_LIMITS = {
  name: 120,
  company: 120,
  numbers: 10,
  numberText: 40,
  label: 40,
  email: 254,
  address: 500,
  tags: 20,
  tag: 40,
  notes: 4000,
  fields: 50,
  fieldName: 40,
  fieldValue: 500,
  due: 20,
  dueNote: 200,
} as const;

export class ContactValidationError extends DesklineError {
  constructor(readonly issues: ContactIssue[], subject = 'contact') {
    super(
      'CONTACT_INVALID',
      `${subject}: ${issues.length} problem${issues.length === 1 ? '' : 's'}\n${issues.map((i) => `  ${i.path || '(contact)'}: ${i.message}`).join('\n')}`,
      { details: issues },
    );
    this.name = 'ContactValidationError';
  }
}

const nullableText = (maxLength: number, description: string) =>
  Type.Optional(Type.Union([Type.String({ maxLength }), Type.Null()], { description }));

const NumberInputSchema = Type.Union([
  Type.String({ maxLength: CONTACT_LIMITS.numberText, description: 'the number as written' }),
  Type.Object(
    {
      number: Type.Optional(Type.String({ maxLength: CONTACT_LIMITS.numberText, description: 'the number as written' })),
      entered: Type.Optional(Type.String({ maxLength: CONTACT_LIMITS.numberText, description: 'the number as written (as a contact holds it)' })),
      e164: Type.Optional(Type.Union([Type.String(), Type.Null()], { description: 'ignored: recomputed from the number' })),
      label: nullableText(CONTACT_LIMITS.label, "'mobile', 'work', 'home' or any short text"),
    },
    { additionalProperties: false },
  ),
]);

const DueInputSchema = Type.Object(
  {
    kind: Type.Union(DUE_KINDS.map((kind) => Type.Literal(kind)), { description: 'what is due' }),
    date: Type.String({ maxLength: 10, description: 'YYYY-MM-DD' }),
    note: nullableText(CONTACT_LIMITS.dueNote, 'a few words shown with the reminder'),
  },
  { additionalProperties: false },
);

/** A contact as given to create or update (every field optional here; `name` is checked when creating). */
const ContactInputSchema = Type.Object(
  {
    name: Type.Optional(Type.String({ maxLength: CONTACT_LIMITS.name, description: 'the name shown when the contact calls' })),
    company: nullableText(CONTACT_LIMITS.company, 'company or shop name'),
    numbers: Type.Optional(Type.Union([Type.Array(NumberInputSchema, { maxItems: CONTACT_LIMITS.numbers }), Type.Null()])),
    email: nullableText(CONTACT_LIMITS.email, 'e-mail address'),
    address: nullableText(CONTACT_LIMITS.address, 'postal or delivery address'),
    tags: Type.Optional(Type.Union([Type.Array(Type.String({ maxLength: CONTACT_LIMITS.tag }), { maxItems: CONTACT_LIMITS.tags }), Type.Null()])),
    notes: nullableText(CONTACT_LIMITS.notes, 'free text'),
    fields: Type.Optional(
      Type.Union([Type.Record(Type.String(), Type.String({ maxLength: CONTACT_LIMITS.fieldValue }), { maxProperties: CONTACT_LIMITS.fields }), Type.Null()]),
    ),
    due: Type.Optional(Type.Union([Type.Array(DueInputSchema, { maxItems: CONTACT_LIMITS.due }), Type.Null()])),
    id: Type.Optional(Type.String({ description: 'ignored here (a contact read with get() may be saved back as it is)' })),
    createdAt: Type.Optional(Type.Number({ description: 'ignored' })),
    updatedAt: Type.Optional(Type.Record(Type.String(), Type.Number(), { description: 'ignored' })),
    updatedBy: Type.Optional(Type.Record(Type.String(), Type.String(), { description: 'ignored' })),
  },
  { additionalProperties: false },
);

const StoredContactSchema = Type.Object({
  id: Type.String({ minLength: 1 }),
  name: Type.String(),
  company: Type.Union([Type.String(), Type.Null()]),
  numbers: Type.Array(Type.Object({ e164: Type.Union([Type.String(), Type.Null()]), entered: Type.String(), label: Type.Union([Type.String(), Type.Null()]) })),
  email: Type.Union([Type.String(), Type.Null()]),
  address: Type.Union([Type.String(), Type.Null()]),
  tags: Type.Array(Type.String()),
  notes: Type.Union([Type.String(), Type.Null()]),
  fields: Type.Record(Type.String(), Type.String()),
  due: Type.Array(Type.Object({ kind: Type.Union(DUE_KINDS.map((kind) => Type.Literal(kind))), date: Type.String(), note: Type.Union([Type.String(), Type.Null()]) })),
  createdAt: Type.Number(),
  updatedAt: Type.Record(Type.String(), Type.Number()),
  // contacts written before sync have none
  updatedBy: Type.Optional(Type.Record(Type.String(), Type.String())),
});

/** Checks a contact read from disk (the store skips and reports one that fails). */
export function isStoredContact(doc: unknown): doc is Contact {
  return Value.Check(StoredContactSchema, doc);
}

function pointerToPath(pointer: string): string {
  return pointer.split('/').slice(1).map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~')).join('.');
}

function describe(value: unknown): string {
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

const TYPE_NAMES: Partial<Record<ValueErrorType, string>> = {
  [ValueErrorType.String]: 'text',
  [ValueErrorType.Null]: 'null',
  [ValueErrorType.Array]: 'a list',
  [ValueErrorType.Object]: 'an object',
  [ValueErrorType.Number]: 'a number',
  [ValueErrorType.Integer]: 'an integer',
  [ValueErrorType.Boolean]: 'true or false',
};

function schemaTypeName(schema: TSchema): string {
  if ('const' in schema) return JSON.stringify(schema.const);
  switch (schema.type) {
    case 'string': return 'text';
    case 'null': return 'null';
    case 'array': return 'a list';
    case 'object': return 'an object';
    case 'number': return 'a number';
    default: return 'another value';
  }
}

/** The issues of one TypeBox error; a union's are those of the branch the value was meant for. */
function issuesOf(error: ValueError): ContactIssue[] {
  const path = pointerToPath(error.path);
  const schema = error.schema as TSchema & Record<string, unknown>;
  switch (error.type) {
    case ValueErrorType.Union: {
      for (const branch of error.errors) {
        const branchErrors = [...branch];
        const first = branchErrors[0];
        const typeMismatch = branchErrors.length === 1 && first.path === error.path && (TYPE_NAMES[first.type] !== undefined || first.type === ValueErrorType.Literal);
        if (branchErrors.length > 0 && !typeMismatch) return branchErrors.flatMap(issuesOf);
      }
      const expected = ((schema.anyOf as TSchema[] | undefined) ?? []).map(schemaTypeName);
      return [{ path, message: `expected ${expected.join(' or ')}, got ${describe(error.value)}` }];
    }
    case ValueErrorType.StringMaxLength:
      return [{ path, message: `is too long: ${(error.value as string).length} characters, at most ${schema.maxLength as number}` }];
    case ValueErrorType.ArrayMaxItems:
      return [{ path, message: `has ${(error.value as unknown[]).length} entries, at most ${schema.maxItems as number}` }];
    case ValueErrorType.ObjectMaxProperties:
      return [{ path, message: `has ${Object.keys(error.value as object).length} entries, at most ${schema.maxProperties as number}` }];
    case ValueErrorType.ObjectRequiredProperty:
      return [{ path, message: 'is required' }];
    case ValueErrorType.ObjectAdditionalProperties: {
      const known = Object.keys((schema.properties as Record<string, unknown> | undefined) ?? {});
      return [{ path, message: `unknown field${known.length ? ` (known: ${known.join(', ')})` : ''}` }];
    }
    default: {
      const expected = TYPE_NAMES[error.type];
      return [{ path, message: expected ? `expected ${expected}, got ${describe(error.value)}` : error.message }];
    }
  }
}

function structuralIssues(input: unknown): ContactIssue[] {
  const issues: ContactIssue[] = [];
  const seen = new Set<string>();
  for (const error of Value.Errors(ContactInputSchema, input)) {
    for (const issue of issuesOf(error)) {
      // one issue per path ('is required' then 'expected text' for the same missing field)
      if (seen.has(issue.path)) continue;
      seen.add(issue.path);
      issues.push(issue);
    }
  }
  return issues;
}

/** Single-line text: trimmed, inner runs of white space (newlines too) made one space. */
function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

function optionalText(value: string | null, multiline: boolean): string | null {
  if (value === null) return null;
  const text = multiline ? value.replace(/[ \t]+$/gm, '').trim() : oneLine(value);
  return text === '' ? null : text;
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

export function isCalendarDate(text: string): boolean {
  const match = DATE.exec(text);
  if (!match) return false;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  return year >= 1900 && date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

export function dateProblem(text: string): string {
  return DATE.test(text)
    ? `'${text}' is not a real date (write it as YYYY-MM-DD, e.g. 2026-12-01)`
    : `'${text}' is not a date written as YYYY-MM-DD (e.g. 2026-12-01); other orders like 12/01/2026 are ambiguous, so they are not read`;
}

type RawInput = Record<string, unknown>;
type NumberItem = string | { number?: string; entered?: string; label?: string | null };
type DueItem = { kind: ContactDue['kind']; date: string; note?: string | null };

function parseNumbers(items: NumberItem[] | null, country: string, issues: ContactIssue[]): ContactNumber[] {
  const numbers: ContactNumber[] = [];
  const keys = new Set<string>();
  (items ?? []).forEach((item, i) => {
    const path = typeof item === 'string' ? `numbers.${i}` : `numbers.${i}.number`;
    const text = typeof item === 'string' ? item : (item.number ?? item.entered);
    if (text === undefined) {
      issues.push({ path, message: 'is required: the phone number' });
      return;
    }
    const entered = oneLine(text);
    if (!entered) {
      issues.push({ path, message: 'is empty: write the number or remove the entry' });
      return;
    }
    if (!NUMBER_TEXT.test(entered)) {
      issues.push({ path, message: `'${entered}' is not a phone number: use digits, spaces and + ( ) - . / * #` });
      return;
    }
    if (digitsOnly(entered).length < 2) {
      issues.push({ path, message: `'${entered}' has too few digits to be a phone number` });
      return;
    }
    const label = typeof item === 'string' ? null : optionalText(item.label ?? null, false);
    const number = normalizeContactNumber(entered, label, country);
    const key = numberLookupKey(number);
    if (keys.has(key)) return;
    keys.add(key);
    numbers.push(number);
  });
  return numbers;
}

function parseTags(items: string[] | null, issues: ContactIssue[]): string[] {
  const tags: string[] = [];
  const seen = new Set<string>();
  (items ?? []).forEach((item, i) => {
    const tag = oneLine(item);
    if (!tag) return;
    if (tag.includes(';')) {
      issues.push({ path: `tags.${i}`, message: `'${tag}' contains ';', which separates tags in CSV files; use another character` });
      return;
    }
    if (seen.has(tag.toLowerCase())) return;
    seen.add(tag.toLowerCase());
    tags.push(tag);
  });
  return tags;
}

function parseFields(record: Record<string, string> | null, issues: ContactIssue[]): Record<string, string> {
  const fields: Array<[string, string]> = [];
  const seen = new Map<string, string>();
  for (const [rawName, rawValue] of Object.entries(record ?? {})) {
    const name = oneLine(rawName);
    const path = `fields.${rawName}`;
    if (!name) {
      issues.push({ path, message: 'a custom field needs a name' });
      continue;
    }
    if (name.length > CONTACT_LIMITS.fieldName) {
      issues.push({ path, message: `the name is too long: ${name.length} characters, at most ${CONTACT_LIMITS.fieldName}` });
      continue;
    }
    if (CONTROL_CHARACTERS.test(rawName)) {
      issues.push({ path, message: 'the name contains control characters' });
      continue;
    }
    if (isReservedColumn(name)) {
      issues.push({ path, message: `'${name}' is the name of a standard field (a CSV column); use that field, or name the custom field differently` });
      continue;
    }
    const other = seen.get(name.toLowerCase());
    if (other !== undefined) {
      issues.push({ path, message: `'${name}' and '${other}' differ only in case; custom field names are compared without case` });
      continue;
    }
    seen.set(name.toLowerCase(), name);
    const value = rawValue.trim();
    if (value) fields.push([name, value]);
  }
  // fromEntries: a field may be called anything, '__proto__' too
  return Object.fromEntries(fields);
}

function parseDue(items: DueItem[] | null, issues: ContactIssue[]): ContactDue[] {
  const due: ContactDue[] = [];
  (items ?? []).forEach((item, i) => {
    const date = item.date.trim();
    if (!isCalendarDate(date)) {
      issues.push({ path: `due.${i}.date`, message: dateProblem(date) });
      return;
    }
    const note = optionalText(item.note ?? null, false);
    if (due.some((d) => d.kind === item.kind && d.date === date && d.note === note)) return;
    due.push({ kind: item.kind, date, note });
  });
  return due.sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : DUE_KINDS.indexOf(a.kind) - DUE_KINDS.indexOf(b.kind)));
}

/**
 * Validate and normalise a contact's fields. 'create' fills every field (name required); 'patch' returns only
 * the fields present in the input (null or '' clears one). Every issue is returned at once, with its path.
 */
export function parseContactInput(input: unknown, mode: 'create', country: string): { fields: ContactFields; issues: [] } | { fields: null; issues: ContactIssue[] };
export function parseContactInput(input: unknown, mode: 'patch', country: string): { fields: Partial<ContactFields>; issues: [] } | { fields: null; issues: ContactIssue[] };
export function parseContactInput(input: unknown, mode: 'create' | 'patch', country: string): { fields: Partial<ContactFields> | null; issues: ContactIssue[] } {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { fields: null, issues: [{ path: '', message: `expected a contact object ({"name": ..., "numbers": [...]}), got ${describe(input)}` }] };
  }
  const structural = structuralIssues(input);
  if (structural.length > 0) return { fields: null, issues: structural };
  const raw = input as RawInput;
  const has = (field: string) => raw[field] !== undefined;
  const issues: ContactIssue[] = [];
  const fields: Partial<ContactFields> = {};
  if (mode === 'create' || has('name')) {
    const name = oneLine((raw.name as string | null | undefined) ?? '');
    if (!name) issues.push({ path: 'name', message: mode === 'create' && !has('name') ? 'is required: every contact needs a name' : 'is empty: every contact needs a name' });
    fields.name = name;
  }
  const text = (field: 'company' | 'email' | 'address' | 'notes', multiline: boolean) => {
    if (mode === 'create' || has(field)) fields[field] = optionalText((raw[field] as string | null | undefined) ?? null, multiline);
  };
  text('company', false);
  text('email', false);
  text('address', true);
  text('notes', true);
  if (fields.email && !EMAIL.test(fields.email)) issues.push({ path: 'email', message: `'${fields.email}' is not an e-mail address (name@example.com)` });
  if (mode === 'create' || has('numbers')) fields.numbers = parseNumbers((raw.numbers as NumberItem[] | null | undefined) ?? null, country, issues);
  if (mode === 'create' || has('tags')) fields.tags = parseTags((raw.tags as string[] | null | undefined) ?? null, issues);
  if (mode === 'create' || has('fields')) fields.fields = parseFields((raw.fields as Record<string, string> | null | undefined) ?? null, issues);
  if (mode === 'create' || has('due')) fields.due = parseDue((raw.due as DueItem[] | null | undefined) ?? null, issues);
  return issues.length > 0 ? { fields: null, issues } : { fields, issues: [] };
}

/**
 * How a write stamps the fields it changes: a plain time (every field gets it, origin unset), or a function of
 * the field's current stamp (the repository's, see ContactsRepository.stampFor).
 */
export type FieldStamper = number | ((previous: FieldStamp) => FieldStamp);

function stampWith(stamper: FieldStamper, previous: FieldStamp): FieldStamp {
  return typeof stamper === 'number' ? { at: stamper, origin: '' } : stamper(previous);
}

function setStamp(contact: Contact, field: ContactFieldName, stamp: FieldStamp): void {
  contact.updatedAt[field] = stamp.at;
  if (stamp.origin) (contact.updatedBy ??= {})[field] = stamp.origin;
  else if (contact.updatedBy) delete contact.updatedBy[field];
}

export function newContact(id: string, fields: ContactFields, now: number, stamper: FieldStamper = now): Contact {
  const contact: Contact = { id, ...fields, createdAt: now, updatedAt: {} };
  for (const field of CONTACT_FIELD_NAMES) setStamp(contact, field, stampWith(stamper, NO_STAMP));
  return contact;
}

/** Apply changes; only fields whose value really changed get a new stamp. */
export function applyChanges(contact: Contact, changes: Partial<ContactFields>, stamper: FieldStamper): { contact: Contact; changed: ContactFieldName[] } {
  const changed: ContactFieldName[] = [];
  const next: Contact = { ...contact, updatedAt: { ...contact.updatedAt } };
  if (contact.updatedBy) next.updatedBy = { ...contact.updatedBy };
  for (const field of CONTACT_FIELD_NAMES) {
    const value = changes[field];
    if (value === undefined || canonicalJson(value) === canonicalJson(contact[field])) continue;
    (next as unknown as Record<string, unknown>)[field] = value;
    setStamp(next, field, stampWith(stamper, fieldStamp(contact, field)));
    changed.push(field);
  }
  return { contact: changed.length > 0 ? next : contact, changed };
}

/**
 * The changes an imported row makes to an existing contact: what the row says wins, what it leaves empty stays.
 * Numbers are added (a number already there takes the row's spelling and label), custom fields are merged by
 * name, a due kind in the row replaces that kind's dates.
 */
export function mergeRow(contact: Contact, row: Partial<ContactFields>): { changes: Partial<ContactFields>; issues: ContactIssue[] } {
  const changes: Partial<ContactFields> = {};
  const issues: ContactIssue[] = [];
  for (const field of ['name', 'company', 'email', 'address', 'notes'] as const) {
    const value = row[field];
    if (value) changes[field] = value;
  }
  if (row.numbers && row.numbers.length > 0) {
    const numbers = contact.numbers.map((n) => ({ ...n }));
    for (const number of row.numbers) {
      const existing = numbers.find((n) => numberLookupKey(n) === numberLookupKey(number));
      if (existing) {
        existing.entered = number.entered;
        existing.label = number.label ?? existing.label;
      } else numbers.push(number);
    }
    if (numbers.length > CONTACT_LIMITS.numbers) {
      issues.push({ path: 'numbers', message: `the contact would have ${numbers.length} numbers, at most ${CONTACT_LIMITS.numbers}` });
    }
    changes.numbers = numbers;
  }
  if (row.tags && row.tags.length > 0) changes.tags = row.tags;
  if (row.fields && Object.keys(row.fields).length > 0) {
    const fields = new Map(Object.entries(contact.fields));
    for (const [name, value] of Object.entries(row.fields)) {
      for (const existing of fields.keys()) if (existing.toLowerCase() === name.toLowerCase()) fields.delete(existing);
      fields.set(name, value);
    }
    if (fields.size > CONTACT_LIMITS.fields) {
      issues.push({ path: 'fields', message: `the contact would have ${fields.size} custom fields, at most ${CONTACT_LIMITS.fields}` });
    }
    changes.fields = Object.fromEntries(fields);
  }
  if (row.due && row.due.length > 0) {
    const kinds = new Set(row.due.map((d) => d.kind));
    const rowDue = row.due.map((d) => ({
      ...d,
      note: d.note ?? contact.due.find((old) => old.kind === d.kind && old.date === d.date)?.note ?? null,
    }));
    changes.due = [...contact.due.filter((d) => !kinds.has(d.kind)), ...rowDue].sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0));
  }
  return { changes, issues };
}

function noteExcerpt(notes: string | null): string | null {
  if (!notes) return null;
  const text = oneLine(notes);
  if (text.length <= NOTE_EXCERPT_LENGTH) return text;
  let end = NOTE_EXCERPT_LENGTH - 1;
  // never split a character outside the BMP
  if (/[\ud800-\udbff]/.test(text[end - 1])) end--;
  return `${text.slice(0, end)}…`;
}

/** The compact projection kept in memory (a pure function of the contact): empty fields are left out. */
export function contactEntryOf(contact: Contact): ContactEntry {
  let next: ContactDue | null = null;
  for (const due of contact.due) if (!next || due.date < next.date) next = due;
  let updated = contact.createdAt;
  for (const at of Object.values(contact.updatedAt)) if (at > updated) updated = at;
  const entry: ContactEntry = {
    name: contact.name,
    numbers: [...new Set(contact.numbers.map(numberLookupKey).filter((key) => key.length > 0))],
    updated,
  };
  if (contact.company) entry.company = contact.company;
  if (contact.tags.length > 0) entry.tags = contact.tags;
  const note = noteExcerpt(contact.notes);
  if (note) entry.note = note;
  if (next) entry.due = { kind: next.kind, date: next.date };
  return entry;
}

/** An entry with every field present (null or [] for those left out): what lookups and searches hand out. */
export function contactView(entry: ContactEntry): ContactView {
  return {
    name: entry.name,
    company: entry.company ?? null,
    tags: entry.tags ? [...entry.tags] : [],
    note: entry.note ?? null,
    numbers: [...entry.numbers],
    due: entry.due ? { ...entry.due } : null,
    updated: entry.updated,
  };
}

/** The keys document of a contact, computed from its entry. */
export function contactKeysOf(id: string, entry: ContactEntry): ContactKeys {
  return { id, of: keysFingerprint(entry), keys: entrySearchKeys(entry) };
}

export function contactKeysEntryOf(doc: ContactKeys): ContactKeysEntry {
  return { of: doc.of, keys: doc.keys };
}

/** Checks a keys document read from disk. */
export function isContactKeys(doc: unknown): doc is ContactKeys {
  const d = doc as Partial<ContactKeys> | null;
  return (
    typeof d === 'object' && d !== null && typeof d.id === 'string' && typeof d.of === 'string' &&
    Array.isArray(d.keys) && d.keys.every((key) => typeof key === 'string')
  );
}
