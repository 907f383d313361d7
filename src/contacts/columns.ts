import type { DueKind } from './types.js';

/**
 * The columns of a contacts CSV file. Headers are matched case-insensitively, with spaces, '-' and '_'
 * alike ('Renewal Due' = 'renewal_due'); common Chinese and Korean headers are understood too. Any other
 * header is a custom field of that name.
 */
export type ColumnRole =
  | { kind: 'name' | 'company' | 'email' | 'address' | 'tags' | 'notes' }
  | { kind: 'phone'; label: string | null }
  | { kind: 'due'; due: DueKind }
  | { kind: 'field'; key: string };

const SINGLE: Record<string, 'name' | 'company' | 'email' | 'address' | 'tags' | 'notes'> = {
  name: 'name', full_name: 'name', 姓名: 'name', 名字: 'name', 이름: 'name', 성명: 'name',
  company: 'company', organization: 'company', organisation: 'company', 公司: 'company', 单位: 'company', 회사: 'company',
  email: 'email', e_mail: 'email', 邮箱: 'email', 电子邮件: 'email', 이메일: 'email',
  address: 'address', 地址: 'address', 주소: 'address',
  tags: 'tags', tag: 'tags', 标签: 'tags', 태그: 'tags',
  notes: 'notes', note: 'notes', 备注: 'notes', 메모: 'notes', 비고: 'notes',
};

/** Number columns and the label their numbers get. */
const PHONE: Record<string, string | null> = {
  phone: null, telephone: null, tel: null, 电话: null, 电话号码: null, 전화: null, 전화번호: null,
  mobile: 'mobile', cell: 'mobile', 手机: 'mobile', 手机号: 'mobile', 휴대폰: 'mobile', 핸드폰: 'mobile',
  work: 'work', home: 'home',
};

const DUE: Record<string, DueKind> = { renewal_due: 'renewal', appointment_due: 'appointment', payment_due: 'payment' };

/** The column export writes for numbers with this label. */
export function phoneColumn(label: string | null): string {
  if (label === null) return 'phone';
  return label === 'mobile' || label === 'work' || label === 'home' ? label : `phone (${label})`;
}

export function dueColumn(kind: DueKind): string {
  return `${kind}_due`;
}

export function classifyColumn(header: string): ColumnRole {
  const trimmed = header.trim();
  const simple = trimmed.toLowerCase().replace(/[\s_-]+/g, '_');
  if (Object.hasOwn(SINGLE, simple)) return { kind: SINGLE[simple] };
  if (Object.hasOwn(PHONE, simple)) return { kind: 'phone', label: PHONE[simple] };
  if (/^phone_?\d+$/.test(simple)) return { kind: 'phone', label: null };
  // 'phone (fax)' or 'phone:fax': numbers with any other label
  const labelled = /^phone\s*(?:\((.+)\)|:(.+))$/i.exec(trimmed);
  if (labelled) return { kind: 'phone', label: (labelled[1] ?? labelled[2]).trim() };
  if (Object.hasOwn(DUE, simple)) return { kind: 'due', due: DUE[simple] };
  return { kind: 'field', key: trimmed };
}

/** A custom field may not be named like a standard column (its values would come back as that column). */
export function isReservedColumn(name: string): boolean {
  return classifyColumn(name).kind !== 'field';
}
