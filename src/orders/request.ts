import { DesklineError } from '../core/errors.js';
import { MAX_NOTE, MAX_ORDER_LINES, MAX_QTY, type CatalogItem } from './types.js';

/**
 * An order as it comes from outside (the web UI's POST /api/orders, the CLI's `orders.place`), checked field by field
 * against the catalog before the orders service files it: the first problem found, naming its field
 * ('items[1].qty'), so the clerk or the script knows what to fix.
 */

/** An order request, checked: items by catalog code. */
export interface OrderBody {
  number: string | null;
  items: Array<{ code: string; qty: number }>;
  note: string | null;
  print: boolean;
}

/** What was wrong, and where ('items[1].qty'). */
export interface OrderRequestError {
  error: string;
  message: string;
  field?: string;
}

export const MAX_ORDER_BODY_BYTES = 8 * 1024;
const NUMBER = /^\+?[0-9*#]{1,32}$/;
const CODE = /^[0-9]{1,6}$/;
/** controls other than tab and line breaks (the slip makes the note one line anyway) */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;
const BODY_FIELDS = new Set(['number', 'items', 'note', 'print']);
/** an item is named by one of these */
const ITEM_KEYS = ['code', 'barcode', 'name'] as const;
const ITEM_FIELDS = new Set<string>([...ITEM_KEYS, 'qty']);

const bad = (error: string, field: string | undefined, message: string): { error: OrderRequestError } => ({
  error: { error, message: field ? `${field}: ${message}` : message, ...(field ? { field } : {}) },
});
const shown = (value: unknown): string => {
  const text = typeof value === 'string' ? JSON.stringify(value) : typeof value === 'object' && value !== null ? (Array.isArray(value) ? 'a list' : 'an object') : String(value);
  return text.length > 24 ? `${text.slice(0, 23)}…` : text;
};

/** The catalog item an order line names: by its code, its barcode or its name (any case), or why not. */
function lineItem(line: Record<string, unknown>, at: string, catalog: readonly CatalogItem[]): { item: CatalogItem; field: string } | { error: OrderRequestError } {
  const keys = ITEM_KEYS.filter((key) => line[key] !== undefined);
  if (keys.length !== 1) return bad('ORDER_BAD_ITEM', at, 'an item is { code, qty } (or { barcode, qty } or { name, qty })');
  const key = keys[0];
  const value = line[key];
  if (typeof value !== 'string' || (key === 'code' ? !CODE.test(value) : value.trim() === '' || value.length > 64)) {
    return bad('ORDER_BAD_ITEM', `${at}.${key}`, key === 'code' ? `an item code is 1 to 6 digits, not ${shown(value)}` : `text of 1 to 64 characters, not ${shown(value)}`);
  }
  const wanted = value.trim().toLowerCase();
  const item = key === 'code' ? catalog.find((c) => c.code === value)
    : key === 'barcode' ? catalog.find((c) => c.barcode === value)
    : catalog.find((c) => c.name.toLowerCase() === wanted);
  return item ? { item, field: `${at}.${key}` } : bad('ORDER_UNKNOWN_ITEM', `${at}.${key}`, `no item ${key === 'code' ? value : shown(value)} in the catalog`);
}

/** Checks an order request against the catalog; the first problem found, naming its field. */
export function parseOrderRequest(raw: unknown, catalog: readonly CatalogItem[]): { body: OrderBody } | { error: OrderRequestError } {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return bad('ORDER_BAD_REQUEST', undefined, 'the order must be a JSON object { number, items, note, print }');
  const body = raw as Record<string, unknown>;
  const unknown = Object.keys(body).find((key) => !BODY_FIELDS.has(key));
  if (unknown !== undefined) return bad('ORDER_BAD_REQUEST', unknown.slice(0, 40), 'not a field of an order (number, items, note, print)');

  const number = body.number === undefined ? null : body.number;
  if (number !== null && (typeof number !== 'string' || !NUMBER.test(number))) {
    return bad('ORDER_BAD_NUMBER', 'number', `the customer's number is 1 to 32 digits, * or #, with an optional leading + (or null), not ${shown(number)}`);
  }

  if (!Array.isArray(body.items)) return bad('ORDER_BAD_ITEMS', 'items', 'a list of { code, qty }');
  if (body.items.length === 0) return bad('ORDER_EMPTY', 'items', 'an order needs at least one item');
  if (body.items.length > MAX_ORDER_LINES) return bad('ORDER_TOO_LONG', 'items', `an order has at most ${MAX_ORDER_LINES} lines, not ${body.items.length}`);
  const items: OrderBody['items'] = [];
  const seen = new Map<string, number>();
  for (const [i, entry] of (body.items as unknown[]).entries()) {
    const at = `items[${i}]`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return bad('ORDER_BAD_ITEM', at, 'an item is { code, qty }');
    const line = entry as Record<string, unknown>;
    const extra = Object.keys(line).find((key) => !ITEM_FIELDS.has(key));
    if (extra !== undefined) return bad('ORDER_BAD_ITEM', `${at}.${extra.slice(0, 40)}`, 'not a field of an item (code, qty)');
    const found = lineItem(line, at, catalog);
    if ('error' in found) return found;
    const { item } = found;
    if (seen.has(item.code)) return bad('ORDER_DUPLICATE_ITEM', found.field, `${item.name} is already on the order (items[${seen.get(item.code)}]): give its quantity once`);
    seen.set(item.code, i);
    const qty = line.qty;
    if (typeof qty !== 'number' || !Number.isInteger(qty) || qty < 1 || qty > MAX_QTY) {
      return bad('ORDER_BAD_QTY', `${at}.qty`, `quantity of ${item.name} must be a whole number from 1 to ${MAX_QTY}, not ${shown(qty)}`);
    }
    items.push({ code: item.code, qty });
  }

  let note: string | null = null;
  if (body.note !== undefined && body.note !== null) {
    if (typeof body.note !== 'string') return bad('ORDER_BAD_NOTE', 'note', `text of at most ${MAX_NOTE} characters, not ${shown(body.note)}`);
    if (CONTROL.test(body.note)) return bad('ORDER_BAD_NOTE', 'note', 'control characters are not allowed');
    note = body.note.trim() || null;
    if (note && note.length > MAX_NOTE) return bad('ORDER_BAD_NOTE', 'note', `the note is ${note.length} characters; at most ${MAX_NOTE}`);
  }

  if (body.print !== undefined && typeof body.print !== 'boolean') return bad('ORDER_BAD_PRINT', 'print', `true or false, not ${shown(body.print)}`);
  return { body: { number: number as string | null, items, note, print: body.print === true } };
}

/** parseOrderRequest for callers that throw: a DesklineError with the code and the message naming the field. */
export function orderRequestOrThrow(raw: unknown, catalog: readonly CatalogItem[]): OrderBody {
  const parsed = parseOrderRequest(raw, catalog);
  if ('error' in parsed) throw new DesklineError(parsed.error.error, parsed.error.message);
  return parsed.body;
}
