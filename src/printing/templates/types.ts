/**
 * Slips printed on the receipt printer: what each template takes, and how it is rendered.
 * Money is always an integer in the currency's minor unit (fen, cents; won and yen have none), never a float.
 */

export const SLIP_TEMPLATE_NAMES = ['order', 'customer-card', 'call-list', 'day-summary'] as const;
export type SlipTemplateName = (typeof SLIP_TEMPLATE_NAMES)[number];

/** Text encodings of the printer: multi-byte ones switch the printer to Kanji/Chinese mode (FS &). */
export const SLIP_ENCODINGS = ['gb18030', 'euc-kr', 'big5', 'shift_jis', 'cp437', 'cp852', 'cp858', 'cp866', 'cp1252'] as const;
export type SlipEncoding = (typeof SLIP_ENCODINGS)[number];

/** Languages of the built-in templates' labels. */
export const SLIP_LOCALES = ['en', 'zh', 'ko'] as const;
export type SlipLocale = (typeof SLIP_LOCALES)[number];

export interface SlipShop {
  name: string;
  phone?: string | null;
  address?: string | null;
}

/** An order or delivery slip: what the clerk took on the phone, for the kitchen and the rider. */
export interface OrderSlipInput {
  shop: SlipShop;
  orderId: string;
  /** when the order was taken (ms since the epoch), or null while the clock is not trusted (no time is printed) */
  at: number | null;
  customer: { name: string; phone: string; address?: string | null; note?: string | null };
  items: Array<{ name: string; qty: number; unitPrice: number; note?: string | null }>;
  /** ISO 4217 code, e.g. 'CNY', 'KRW' */
  currency: string;
  /** minor units; printed as given (it may include delivery fees or discounts the items do not show) */
  total: number;
  /** the map link printed as a QR; absent: built from the customer's address with the map provider option */
  mapUrl?: string | null;
  /** a note on the whole order ('ring twice', 'no chili') */
  note?: string | null;
}

/** The customer record on paper (what the screen pop shows, for a rep going out or a paper file). */
export interface CustomerCardInput {
  shop?: SlipShop | null;
  customer: {
    name: string;
    company?: string | null;
    numbers: Array<{ number: string; label?: string | null }>;
    address?: string | null;
    tags?: string[];
    note?: string | null;
    /** renewal/appointment/payment dates (YYYY-MM-DD) */
    due?: Array<{ kind: string; date: string; note?: string | null }>;
  };
  /** interactions so far, newest first (InteractionBrief in src/core/events.ts) */
  recent?: Array<{ kind: 'call' | 'sms' | 'order' | 'call-list'; at: number | null; summary: string }>;
  interactionCount?: number;
  /** when the card was printed (ms), or null */
  at: number | null;
}

/** A call list pushed from the cloud, as a paper list to work through with a pen. */
export interface CallListSlipInput {
  title: string;
  listId: string;
  at: number | null;
  items: Array<{ name: string; number: string; reason: string; due?: string | null; note?: string | null }>;
}

/** The end-of-day summary: calls, orders and money taken, for the shop owner. */
export interface DaySummaryInput {
  shop: SlipShop;
  /** the business day, YYYY-MM-DD */
  date: string;
  /** when it was printed (ms), or null */
  at: number | null;
  currency: string;
  calls: { inbound: number; outbound: number; answered: number; missed: number; missedNotCalledBack: number };
  orders: { count: number; total: number };
  sms?: { sent: number; failed: number } | null;
  callList?: { done: number; open: number } | null;
  /** best sellers of the day, as many as should be printed */
  topItems?: Array<{ name: string; qty: number; total: number }>;
}

export interface SlipInputs {
  order: OrderSlipInput;
  'customer-card': CustomerCardInput;
  'call-list': CallListSlipInput;
  'day-summary': DaySummaryInput;
}

/** Where the reason a custom template was not used goes (a pino logger fits). */
export interface SlipLog {
  warn(obj: object, msg: string): void;
}

export interface RenderSlipOptions {
  paperWidthMm: 58 | 80;
  encoding: SlipEncoding;
  /** labels of the built-in templates; default: zh for gb18030, ko for euc-kr, else en */
  locale?: SlipLocale;
  /** IANA time zone for printed times; default: the system's */
  timeZone?: string;
  /** map link for the order slip's QR when the caller gives none: this + the URL-encoded address */
  mapUrlBase?: string;
  /** receiptline templates (pushed from the cloud) replacing built-in ones by name; a broken one falls back to the built-in */
  customTemplates?: Partial<Record<string, string>>;
  /** told why a custom template was not used */
  log?: SlipLog;
  /**
   * The shop's logo (a PNG, base64) printed centered at the top of the built-in slips as a raster image; one wider
   * than the paper (384 dots at 58 mm, 576 at 80 mm) or taller than MAX_LOGO_HEIGHT is left out, and `log` says why.
   */
  logo?: string;
}

/** Tallest logo printed, in dots (about 5 cm at 203 dpi): a logo must not eat the roll. */
export const MAX_LOGO_HEIGHT = 400;

export interface RenderedSlip {
  /** bytes for the printer (ESC/POS, ending with a cut) */
  escpos: Uint8Array;
  /** a preview for the web UI */
  svg: string;
  /** the receiptline document that was rendered (for debugging and the admin preview) */
  markup: string;
  /** which template was used, and why a custom one was not */
  source: 'builtin' | 'custom';
  fallbackReason: string | null;
}

export const DEFAULT_MAP_URL_BASE = 'https://maps.google.com/?q=';
