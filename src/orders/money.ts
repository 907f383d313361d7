/** Money is an integer in the currency's minor unit (fen, cents; won and yen have none), never a float. */

/** Digits after the decimal point of an ISO 4217 currency (2 when the runtime does not know it). */
export function minorDigits(currency: string): number {
  try {
    return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    return 2;
  }
}

/** '36.00' for 3600 CNY, '36000' for 36000 KRW: the amount without a symbol, as the display and summaries show it. */
export function formatMoney(minor: number, currency: string): string {
  const digits = minorDigits(currency);
  const sign = minor < 0 ? '-' : '';
  const abs = Math.abs(Math.trunc(minor));
  if (digits === 0) return `${sign}${abs}`;
  const scale = 10 ** digits;
  return `${sign}${Math.floor(abs / scale)}.${String(abs % scale).padStart(digits, '0')}`;
}
