import { normalizeQuery, searchKeysOf, type KeyedContact } from '../../src/contacts/search.js';
import type { Contact } from '../../src/contacts/types.js';

/**
 * Generated contacts for index and scale tests: a third each Latin (US numbers), Chinese (CN mobiles) and
 * Korean (KR mobiles) names, drawn from small name pools so that prefixes are shared by many contacts, as in a
 * real phone book ('wang', 'john', '8210').
 */

const FIRST = ['James', 'Mary', 'John', 'Patricia', 'Robert', 'Jennifer', 'Michael', 'Linda', 'William', 'Elizabeth', 'David', 'Barbara', 'José', 'Zoë', 'François', 'Chloé', 'Łukasz', 'Søren'];
const LAST = ['Smith', 'Johnson', 'Williams', 'Brown', 'Jones', 'Garcia', 'Miller', 'Davis', 'Rodriguez', 'Martinez', 'Müller', 'Álvarez', "O'Brien"];
const CN_SURNAMES = '王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢单';
const CN_GIVEN = '伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚华建国志文博宇浩然轩涵诺欣怡雨桐';
const KR_SURNAMES = '김이박최정강조윤장임한오서신권황안송류전홍고문양손배백허유남심노하곽성차주우구';
const KR_GIVEN = '민준서연지우하윤도현수아예시호은원건진';

function pick<T>(random: () => number, items: ArrayLike<T>): T {
  return items[Math.floor(random() * items.length)];
}

function digits(random: () => number, count: number): string {
  let text = '';
  for (let i = 0; i < count; i++) text += Math.floor(random() * 10);
  return text;
}

/** Contact number `i` (its kind cycles Latin, Chinese, Korean), with valid numbers already normalised. */
export function generateContact(random: () => number, i: number): Contact {
  let name: string;
  let entered: string;
  let e164: string;
  switch (i % 3) {
    case 0: {
      name = `${pick(random, FIRST)} ${pick(random, LAST)}`;
      const area = pick(random, ['212', '312', '415', '646', '718', '202', '305', '617', '713', '206', '503', '702']);
      const exchange = pick(random, ['234', '458', '555', '620', '771', '839', '964']);
      const line = digits(random, 4);
      entered = `(${area}) ${exchange}-${line}`;
      e164 = `+1${area}${exchange}${line}`;
      break;
    }
    case 1: {
      name = pick(random, CN_SURNAMES) + pick(random, CN_GIVEN) + (random() < 0.5 ? pick(random, CN_GIVEN) : '');
      const prefix = pick(random, ['138', '139', '150', '186', '135']);
      const rest = digits(random, 8);
      entered = `${prefix}${rest}`;
      e164 = `+86${prefix}${rest}`;
      break;
    }
    default: {
      name = pick(random, KR_SURNAMES) + pick(random, KR_GIVEN) + pick(random, KR_GIVEN);
      const middle = pick(random, '234789') + digits(random, 3);
      const end = digits(random, 4);
      entered = `010-${middle}-${end}`;
      e164 = `+8210${middle}${end}`;
    }
  }
  return {
    id: `c${String(i).padStart(6, '0')}`,
    name,
    company: random() < 0.2 ? `${pick(random, LAST)} Trading` : null,
    numbers: [{ e164, entered, label: null }],
    email: null,
    address: null,
    tags: random() < 0.3 ? ['vip'] : [],
    notes: null,
    fields: {},
    due: [],
    createdAt: 1_700_000_000_000,
    updatedAt: { name: 1_700_000_000_000 },
  };
}

/** Generated contacts as the search index takes them: [id, search keys]. */
export function generateKeyed(random: () => number, count: number, from = 0): KeyedContact[] {
  const keyed: KeyedContact[] = [];
  for (let i = from; i < from + count; i++) keyed.push(keyedContact(generateContact(random, i)));
  return keyed;
}

export function keyedContact(contact: Contact): KeyedContact {
  return [contact.id, searchKeysOf(contact)];
}

/** What a search must return, found the slow way: every contact's keys looked at. */
export function expectedSearch(contacts: Iterable<KeyedContact>, query: string, limit = 20): string[] {
  const normalized = normalizeQuery(query);
  if (!normalized) return [];
  const words = normalized.split(' ');
  const matches: KeyedContact[] = [];
  for (const [id, keys] of contacts) {
    const whole = keys.some((key) => key.startsWith(normalized));
    const eachWord = words.length > 1 && words.every((word) => keys.some((key) => key.startsWith(word)));
    if (whole || eachWord) matches.push([id, keys]);
  }
  const byName = (a: KeyedContact, b: KeyedContact) =>
    a[1][0] < b[1][0] ? -1 : a[1][0] > b[1][0] ? 1 : a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
  return matches.sort(byName).slice(0, limit).map(([id]) => id);
}

/** A query a user might type for one of these contacts: a prefix of one of its keys, sometimes two words. */
export function randomQuery(random: () => number, contacts: readonly KeyedContact[]): string {
  const [, keys] = pick(random, contacts);
  const key = pick(random, keys) || 'a';
  let query = key.slice(0, 1 + Math.floor(random() * Math.min(8, key.length)));
  const last = keys[keys.length - 1];
  // a second word (not digits: digits and spaces are read as one number)
  if (random() < 0.1 && keys.length > 1 && /^\D/.test(last)) query += ` ${last.slice(0, 2)}`;
  return query;
}
