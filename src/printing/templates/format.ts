/** Money and time as printed on slips. Money is an integer in minor units: formatted with integer arithmetic only. */
import type { SlipLocale } from './types.js';

const fractionDigitsCache = new Map<string, number>();

/** Digits after the decimal point of a currency (CNY 2, KRW 0, JPY 0, USD 2), from ICU. Throws RangeError for a bad code. */
export function currencyFractionDigits(currency: string): number {
  let digits = fractionDigitsCache.get(currency);
  if (digits === undefined) {
    digits = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
    fractionDigitsCache.set(currency, digits);
  }
  return digits;
}

/** 12800 CNY -> '128.00'; 1234567 KRW -> '1,234,567'; -250 USD -> '-2.50'. `minor` is a safe integer. */
export function formatMoney(minor: number, currency: string): string {
  const digits = currencyFractionDigits(currency);
  const negative = minor < 0;
  const abs = BigInt(Math.abs(minor));
  const scale = 10n ** BigInt(digits);
  const whole = (abs / scale).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const fraction = digits > 0 ? '.' + (abs % scale).toString().padStart(digits, '0') : '';
  return `${negative ? '-' : ''}${whole}${fraction}`;
}

/**
 * A total with its currency as a clerk reads it: '￥128.00' (the full-width yuan sign is in GB2312 and KS X 1001,
 * so Chinese and Korean printers have it), '12,000원' on Korean slips, 'USD 12.50' otherwise.
 */
export function formatAmount(minor: number, currency: string, locale: SlipLocale): string {
  const number = formatMoney(minor, currency);
  if (currency === 'CNY' && locale !== 'en') return `￥${number}`;
  if (currency === 'KRW' && locale === 'ko') return `${number}원`;
  return `${currency} ${number}`;
}

/** 'YYYY-MM-DD HH:mm' in the time zone; '' for null (time not trusted: nothing is printed). */
export function formatTime(ms: number | null, timeZone: string): string {
  if (ms === null) return '';
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
  }).formatToParts(new Date(ms));
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  return `${get('year')}-${get('month')}-${get('day')} ${get('hour')}:${get('minute')}`;
}
