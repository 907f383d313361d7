export { renderSlip, checkCustomTemplate, charsPerLine, defaultLocale, MAX_TEMPLATE_CHARS } from './render.js';
export { BUILTIN_TEMPLATES } from './builtin.js';
export { escapeMarkup, printWidth } from './markup.js';
export { formatMoney, formatAmount } from './format.js';
export * from './types.js';
