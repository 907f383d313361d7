/**
 * From a template's input to the view its template is rendered with: checked (check.ts), text tidied and cut to
 * the printed length, money and times formatted. Every view has every field (null when empty), so a template
 * may test any of them; custom templates get the same views.
 */
import { InputCheck } from './check.js';
import { formatAmount, formatMoney, formatTime } from './format.js';
import { labelsFor } from './builtin.js';
import type { View } from './engine.js';
import type { SlipInputs, SlipLocale, SlipTemplateName } from './types.js';

export interface ViewContext {
  locale: SlipLocale;
  timeZone: string;
  paperWidthMm: 58 | 80;
  mapUrlBase: string;
}

/** Longest map link printed as a QR code (a QR of about 1000 bytes still fits 58 mm paper at 3 dots a module). */
export const MAX_MAP_URL = 1000;

/** Printed lengths (characters) of text fields; longer text is cut with '...'. */
const LEN = { shopName: 40, phone: 32, address: 160, name: 40, note: 300, itemName: 60, itemNote: 120, reason: 120, summary: 80, tag: 24, title: 60 } as const;

function shopView(check: InputCheck, value: unknown, path: string): View {
  const shop = check.object(value, path);
  return {
    name: check.text(shop.name, `${path}.name`, LEN.shopName),
    phone: check.optionalText(shop.phone, `${path}.phone`, LEN.phone),
    address: check.optionalText(shop.address, `${path}.address`, LEN.address),
  };
}

/** QR module size in dots: smaller modules for longer links, so the code stays inside the paper (384 / 576 dots). */
function qrCell(payload: string, paperWidthMm: 58 | 80): number {
  const bytes = Buffer.byteLength(payload, 'utf8');
  const cell = bytes <= 120 ? 5 : bytes <= 300 ? 4 : 3;
  return paperWidthMm === 80 ? cell + 1 : cell;
}

export function orderView(input: SlipInputs['order'], ctx: ViewContext): View {
  const check = new InputCheck('order');
  const root = check.object(input, 'input');
  const currency = check.currency(root.currency, 'currency');
  const customer = check.object(root.customer, 'customer');
  const address = check.optionalText(customer.address, 'customer.address', LEN.address);
  const items = check.list(root.items, 'items', { min: 1, max: 100 }).map((value, i) => {
    const item = check.object(value, `items[${i}]`);
    const qty = check.integer(item.qty, `items[${i}].qty`, 1, 9999);
    const unitPrice = check.money(item.unitPrice, `items[${i}].unitPrice`, true);
    if (!Number.isSafeInteger(qty * unitPrice)) check.fail(`items[${i}]`, 'has a line total too large to print', 'check qty and unitPrice (minor units)');
    return {
      name: check.text(item.name, `items[${i}].name`, LEN.itemName),
      qty,
      unitPrice: formatMoney(unitPrice, currency),
      lineTotal: formatMoney(qty * unitPrice, currency),
      note: check.optionalText(item.note, `items[${i}].note`, LEN.itemNote),
    };
  });
  const total = check.money(root.total, 'total', true);
  let mapUrl: string | null = null;
  if (root.mapUrl !== undefined && root.mapUrl !== null && root.mapUrl !== '') {
    mapUrl = check.url(root.mapUrl, 'mapUrl', MAX_MAP_URL);
  } else if (address !== null) {
    const built = ctx.mapUrlBase + encodeURIComponent(address);
    mapUrl = built.length <= MAX_MAP_URL ? built : null;
  }
  return {
    txt: labelsFor('order', ctx.locale),
    shop: shopView(check, root.shop, 'shop'),
    orderId: check.id(root.orderId, 'orderId', 40),
    at: formatTime(check.time(root.at, 'at'), ctx.timeZone),
    customer: {
      name: check.text(customer.name, 'customer.name', LEN.name),
      phone: check.text(customer.phone, 'customer.phone', LEN.phone),
      address,
      note: check.optionalText(customer.note, 'customer.note', LEN.note),
    },
    items,
    currency,
    total: formatAmount(total, currency, ctx.locale),
    note: check.optionalText(root.note, 'note', LEN.note),
    mapUrl,
    qrCell: mapUrl === null ? null : qrCell(mapUrl, ctx.paperWidthMm),
  };
}

const RECENT_KINDS = ['call', 'sms', 'order', 'call-list'] as const;

export function customerCardView(input: SlipInputs['customer-card'], ctx: ViewContext): View {
  const check = new InputCheck('customer-card');
  const root = check.object(input, 'input');
  const txt = labelsFor('customer-card', ctx.locale);
  const customer = check.object(root.customer, 'customer');
  const shop = check.optionalObject(root.shop, 'shop');
  const numbers = check.list(customer.numbers, 'customer.numbers', { max: 10 }).map((value, i) => {
    const number = check.object(value, `customer.numbers[${i}]`);
    return {
      number: check.text(number.number, `customer.numbers[${i}].number`, LEN.phone),
      kind: check.optionalText(number.label, `customer.numbers[${i}].label`, 12) ?? txt.phone,
    };
  });
  const tags = check.list(customer.tags, 'customer.tags', { max: 20 }).map((tag, i) => check.text(tag, `customer.tags[${i}]`, LEN.tag));
  const due = check.list(customer.due, 'customer.due', { max: 10 }).map((value, i) => {
    const entry = check.object(value, `customer.due[${i}]`);
    const kind = check.text(entry.kind, `customer.due[${i}].kind`, 24);
    return {
      kind: txt[kind] ?? kind,
      date: check.date(entry.date, `customer.due[${i}].date`),
      note: check.optionalText(entry.note, `customer.due[${i}].note`, LEN.reason),
    };
  });
  const recent = check.list(root.recent, 'recent', { max: 10 }).map((value, i) => {
    const entry = check.object(value, `recent[${i}]`);
    if (!RECENT_KINDS.includes(entry.kind as (typeof RECENT_KINDS)[number])) {
      check.fail(`recent[${i}].kind`, `is ${JSON.stringify(entry.kind)}`, `use one of ${RECENT_KINDS.join(', ')}`);
    }
    const at = check.time(entry.at, `recent[${i}].at`);
    return {
      at: at === null ? '-' : formatTime(at, ctx.timeZone),
      kind: txt[entry.kind as string],
      summary: check.optionalText(entry.summary, `recent[${i}].summary`, LEN.summary) ?? '',
    };
  });
  const interactionCount = root.interactionCount === undefined ? recent.length : check.integer(root.interactionCount, 'interactionCount', 0, 1e9);
  return {
    txt,
    shop: shop === null ? null : shopView(check, shop, 'shop'),
    customer: {
      name: check.text(customer.name, 'customer.name', LEN.name),
      company: check.optionalText(customer.company, 'customer.company', LEN.name),
      numbers,
      address: check.optionalText(customer.address, 'customer.address', LEN.address),
      tags: tags.length > 0 ? tags.join(', ') : null,
      due,
      note: check.optionalText(customer.note, 'customer.note', LEN.note),
    },
    hasRecent: recent.length > 0,
    recent,
    interactionCount,
    at: formatTime(check.time(root.at, 'at'), ctx.timeZone),
  };
}

export function callListView(input: SlipInputs['call-list'], ctx: ViewContext): View {
  const check = new InputCheck('call-list');
  const root = check.object(input, 'input');
  const items = check.list(root.items, 'items', { min: 1, max: 200 }).map((value, i) => {
    const item = check.object(value, `items[${i}]`);
    return {
      n: i + 1,
      name: check.text(item.name, `items[${i}].name`, LEN.name),
      number: check.text(item.number, `items[${i}].number`, LEN.phone),
      reason: check.text(item.reason, `items[${i}].reason`, LEN.reason),
      due: item.due === undefined || item.due === null ? null : check.date(item.due, `items[${i}].due`),
      note: check.optionalText(item.note, `items[${i}].note`, LEN.note),
    };
  });
  return {
    txt: labelsFor('call-list', ctx.locale),
    title: check.text(root.title, 'title', LEN.title),
    listId: check.id(root.listId, 'listId', 64),
    at: formatTime(check.time(root.at, 'at'), ctx.timeZone),
    items,
    count: items.length,
  };
}

export function daySummaryView(input: SlipInputs['day-summary'], ctx: ViewContext): View {
  const check = new InputCheck('day-summary');
  const root = check.object(input, 'input');
  const currency = check.currency(root.currency, 'currency');
  const count = (value: unknown, path: string) => check.integer(value, path, 0, 1e9, 'a count');
  const calls = check.object(root.calls, 'calls');
  const orders = check.object(root.orders, 'orders');
  const sms = check.optionalObject(root.sms, 'sms');
  const callList = check.optionalObject(root.callList, 'callList');
  const topItems = check.list(root.topItems, 'topItems', { max: 20 }).map((value, i) => {
    const item = check.object(value, `topItems[${i}]`);
    return {
      name: check.text(item.name, `topItems[${i}].name`, LEN.itemName),
      qty: count(item.qty, `topItems[${i}].qty`),
      total: formatMoney(check.money(item.total, `topItems[${i}].total`, true), currency),
    };
  });
  return {
    txt: labelsFor('day-summary', ctx.locale),
    shop: shopView(check, root.shop, 'shop'),
    date: check.date(root.date, 'date'),
    at: formatTime(check.time(root.at, 'at'), ctx.timeZone),
    currency,
    calls: {
      inbound: count(calls.inbound, 'calls.inbound'),
      outbound: count(calls.outbound, 'calls.outbound'),
      answered: count(calls.answered, 'calls.answered'),
      missed: count(calls.missed, 'calls.missed'),
      missedNotCalledBack: count(calls.missedNotCalledBack, 'calls.missedNotCalledBack'),
    },
    orders: { count: count(orders.count, 'orders.count'), total: formatAmount(check.money(orders.total, 'orders.total', true), currency, ctx.locale) },
    sms: sms === null ? null : { sent: count(sms.sent, 'sms.sent'), failed: count(sms.failed, 'sms.failed') },
    callList: callList === null ? null : { done: count(callList.done, 'callList.done'), open: count(callList.open, 'callList.open') },
    hasTopItems: topItems.length > 0,
    topItems,
  };
}

export const VIEW_BUILDERS: { [K in SlipTemplateName]: (input: SlipInputs[K], ctx: ViewContext) => View } = {
  order: orderView,
  'customer-card': customerCardView,
  'call-list': callListView,
  'day-summary': daySummaryView,
};
