/**
 * renderSlip: a template's input -> receiptline document -> ESC/POS bytes for the printer and an SVG preview.
 * A custom template (pushed from the cloud) replaces the built-in one of its name; when it is too large, does not
 * parse or does not render with this input, the built-in one is used and the reason is logged and returned.
 */
import { transform, type Encoding } from 'receiptline';
import { DesklineError, errorMessage } from '../../core/errors.js';
import { BUILTIN_TEMPLATES } from './builtin.js';
import { compileTemplate, renderTemplate, type CompiledTemplate, type View } from './engine.js';
import { createEscposCommand } from './escpos-command.js';
import { escapeMarkup } from './markup.js';
import { VIEW_BUILDERS, type ViewContext } from './views.js';
import {
  DEFAULT_MAP_URL_BASE, MAX_LOGO_HEIGHT, SLIP_ENCODINGS, SLIP_LOCALES, SLIP_TEMPLATE_NAMES,
  type RenderSlipOptions, type RenderedSlip, type SlipEncoding, type SlipInputs, type SlipLocale, type SlipLog, type SlipTemplateName,
} from './types.js';

/** Largest custom template accepted (characters). */
export const MAX_TEMPLATE_CHARS = 16 * 1024;

/** receiptline's name of each printer encoding. */
const RECEIPTLINE_ENCODING: Record<SlipEncoding, Encoding> = {
  gb18030: 'gb18030', 'euc-kr': 'ksc5601', big5: 'big5', shift_jis: 'shiftjis',
  cp437: 'cp437', cp852: 'cp852', cp858: 'cp858', cp866: 'cp866', cp1252: 'cp1252',
};

/** Characters per line at font A (12 x 24 dots): 384 dots on 58 mm paper, 576 on 80 mm. */
export function charsPerLine(paperWidthMm: 58 | 80): 32 | 48 {
  return paperWidthMm === 58 ? 32 : 48;
}

export function defaultLocale(encoding: SlipEncoding): SlipLocale {
  return encoding === 'gb18030' ? 'zh' : encoding === 'euc-kr' ? 'ko' : 'en';
}

const builtinCache = new Map<SlipTemplateName, CompiledTemplate>();
function builtin(name: SlipTemplateName): CompiledTemplate {
  let compiled = builtinCache.get(name);
  if (!compiled) builtinCache.set(name, (compiled = compileTemplate(BUILTIN_TEMPLATES[name])));
  return compiled;
}

function badOption(what: string, todo: string): DesklineError {
  return new DesklineError('SLIP_BAD_OPTIONS', `slip options: ${what}; ${todo}`);
}

function checkOptions(options: RenderSlipOptions): ViewContext & { encoding: SlipEncoding } {
  if (options.paperWidthMm !== 58 && options.paperWidthMm !== 80) throw badOption(`paperWidthMm is ${String(options.paperWidthMm)}`, 'use 58 or 80');
  if (!SLIP_ENCODINGS.includes(options.encoding)) throw badOption(`encoding is ${JSON.stringify(options.encoding)}`, `use one of ${SLIP_ENCODINGS.join(', ')}`);
  const locale = options.locale ?? defaultLocale(options.encoding);
  if (!SLIP_LOCALES.includes(locale)) throw badOption(`locale is ${JSON.stringify(locale)}`, `use one of ${SLIP_LOCALES.join(', ')}`);
  const timeZone = options.timeZone ?? Intl.DateTimeFormat().resolvedOptions().timeZone;
  try {
    new Intl.DateTimeFormat('en', { timeZone });
  } catch {
    throw badOption(`timeZone ${JSON.stringify(timeZone)} is unknown`, "use an IANA name such as 'Asia/Shanghai'");
  }
  const mapUrlBase = options.mapUrlBase ?? DEFAULT_MAP_URL_BASE;
  if (!/^https?:\/\/[^\s]+$/.test(mapUrlBase) || mapUrlBase.length > 200) {
    throw badOption(`mapUrlBase ${JSON.stringify(mapUrlBase)} is not an http(s) link`, "use e.g. 'https://maps.google.com/?q=' (the address is appended URL-encoded)");
  }
  return { paperWidthMm: options.paperWidthMm, encoding: options.encoding, locale, timeZone, mapUrlBase };
}

/** The receiptline document and its two renderings. Throws (SLIP_RENDER_FAILED) when receiptline cannot render it. */
function renderDocument(markup: string, paperWidthMm: 58 | 80, encoding: SlipEncoding): Pick<RenderedSlip, 'escpos' | 'svg'> {
  // a document's last line break would print an empty line before the cut (the cut feeds to the cutter itself)
  markup = markup.replace(/\n+$/, '');
  const printer = { cpl: charsPerLine(paperWidthMm), encoding: RECEIPTLINE_ENCODING[encoding], cutting: true, spacing: false };
  try {
    const escpos = Uint8Array.from(Buffer.from(transform(markup, { ...printer, command: createEscposCommand() }), 'binary'));
    const svg = transform(markup, { ...printer, command: 'svg' });
    return { escpos, svg };
  } catch (error) {
    throw new DesklineError('SLIP_RENDER_FAILED', `the slip could not be rendered: ${errorMessage(error)}`, { cause: error });
  }
}

/**
 * Check a custom template before it is stored (e.g. when the cloud pushes it): size, syntax, and that it renders
 * with `sample` input on both paper widths. Throws SLIP_TEMPLATE_INVALID saying what is wrong.
 */
export function checkCustomTemplate<K extends SlipTemplateName>(name: K, source: string, sample: SlipInputs[K], options: Omit<RenderSlipOptions, 'paperWidthMm' | 'customTemplates'>): void {
  if (!SLIP_TEMPLATE_NAMES.includes(name)) {
    throw new DesklineError('SLIP_UNKNOWN_TEMPLATE', `no slip template is called ${JSON.stringify(name)}; use one of ${SLIP_TEMPLATE_NAMES.join(', ')}`);
  }
  for (const paperWidthMm of [58, 80] as const) {
    const result = renderSlip(name, sample, { ...options, paperWidthMm, customTemplates: { [name]: source } });
    if (result.fallbackReason !== null) throw new DesklineError('SLIP_TEMPLATE_INVALID', `custom template '${name}': ${result.fallbackReason}`);
  }
}

function customMarkup(name: SlipTemplateName, source: unknown, view: View): string {
  if (typeof source !== 'string') throw new DesklineError('SLIP_TEMPLATE_INVALID', 'it is not a text');
  if (source.length > MAX_TEMPLATE_CHARS) throw new DesklineError('SLIP_TEMPLATE_INVALID', `it is ${source.length} characters long, the limit is ${MAX_TEMPLATE_CHARS}`);
  if (source.trim() === '') throw new DesklineError('SLIP_TEMPLATE_INVALID', 'it is empty');
  return renderTemplate(compileTemplate(source), view, escapeMarkup);
}

/**
 * Render a slip. Input problems throw SLIP_INVALID_INPUT (which field, what is wrong, what to do); bad options
 * SLIP_BAD_OPTIONS. A failing custom template never stops the print: the built-in one is used instead.
 */
export function renderSlip<K extends SlipTemplateName>(template: K, input: SlipInputs[K], options: RenderSlipOptions): RenderedSlip {
  if (!SLIP_TEMPLATE_NAMES.includes(template)) {
    throw new DesklineError('SLIP_UNKNOWN_TEMPLATE', `no slip template is called ${JSON.stringify(template)}; use one of ${SLIP_TEMPLATE_NAMES.join(', ')}`);
  }
  const ctx = checkOptions(options);
  const view = VIEW_BUILDERS[template](input, ctx);
  const custom = options.customTemplates?.[template];
  let fallbackReason: string | null = null;
  if (custom !== undefined) {
    try {
      const markup = customMarkup(template, custom, view);
      return { ...renderDocument(markup, ctx.paperWidthMm, ctx.encoding), markup, source: 'custom', fallbackReason: null };
    } catch (error) {
      fallbackReason = errorMessage(error);
      options.log?.warn({ template, reason: fallbackReason }, `custom slip template '${template}' not used, printing the built-in one`);
    }
  }
  const logo = options.logo ? logoMarkup(options.logo, ctx.paperWidthMm, options.log) : '';
  const markup = logo + renderTemplate(builtin(template), view, escapeMarkup);
  return { ...renderDocument(markup, ctx.paperWidthMm, ctx.encoding), markup, source: 'builtin', fallbackReason };
}

/** Dots across the printable width: 48 mm at 8 dots/mm on 58 mm paper, 72 mm on 80 mm. */
function paperDots(paperWidthMm: 58 | 80): 384 | 576 {
  return paperWidthMm === 58 ? 384 : 576;
}

/**
 * The logo as a receiptline image line, or '' (and why, to `log`) when it is not a PNG that fits the paper. Only its
 * size is read here (the PNG header); receiptline decodes it when it renders. base64 has none of the characters
 * receiptline treats as markup in a property value.
 */
function logoMarkup(logo: string, paperWidthMm: 58 | 80, log: SlipLog | undefined): string {
  const header = Buffer.from(logo.slice(0, 44), 'base64');
  const skip = (why: string) => {
    log?.warn({ reason: why }, `the logo is left out of the slip: ${why}`);
    return '';
  };
  // PNG signature, then the IHDR chunk: length 13, 'IHDR', width and height (PNG spec 5.2, 11.2.2)
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(logo) || header.length < 24 || header.readUInt32BE(0) !== 0x89504e47 || header.toString('latin1', 12, 16) !== 'IHDR') {
    return skip('printing.logo is not a base64 PNG');
  }
  const width = header.readUInt32BE(16);
  const height = header.readUInt32BE(20);
  if (width > paperDots(paperWidthMm)) return skip(`it is ${width} dots wide; ${paperWidthMm} mm paper takes ${paperDots(paperWidthMm)}`);
  if (height > MAX_LOGO_HEIGHT) return skip(`it is ${height} dots tall; at most ${MAX_LOGO_HEIGHT}`);
  return `{image:${logo}}\n`;
}
