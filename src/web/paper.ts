import type { PrinterStatus } from '../../drivers/printer/types.js';
import { renderPaperSvg } from '../../drivers/printer/virtual/render.js';
import type { PaperItem } from '../../drivers/printer/virtual/types.js';

/**
 * The virtual phone page's paper strip and printer indicator: printed slips as SVG (drawn by the virtual printer's
 * renderer, which XML-escapes all text) plus their text, and the printer's state as one word and a label.
 * Everything here is bounded before it goes to a browser.
 */

/** a slip's SVG larger than this is sent as text only */
export const MAX_SLIP_SVG_CHARS = 256 * 1024;
/** a slip's text is cut after this many characters */
export const MAX_SLIP_TEXT_CHARS = 8 * 1024;
/** slips kept for pages that connect later */
export const MAX_SLIPS_KEPT = 20;
const MAX_ID_CHARS = 64;

export interface SlipMessage {
  type: 'slip';
  /** the print job that printed it */
  job: string;
  template: string;
  /** copy number within the job (1 unless the job printed several cuts) */
  part: number;
  /** the slip drawn as SVG, or null when it was too large to send */
  svg: string | null;
  /** the slip as text: printed lines, `[QR payload]` and `[image WxH]` */
  text: string;
  /** QR codes on the slip */
  qr: number;
}

export type PrinterState = 'unknown' | 'disconnected' | 'offline' | 'cover-open' | 'paper-out' | 'paper-near-end' | 'ready';

export interface PrinterMessage {
  type: 'printer';
  /** the most pressing condition (also the indicator's colour) */
  state: PrinterState;
  /** every condition in words, and the queue length, e.g. "Cover open, out of paper · 2 jobs queued" */
  label: string;
  connected: boolean | null;
  status: PrinterStatus | null;
  /** jobs waiting or printing */
  queued: number;
}

const clip = (s: string, max: number): string => (s.length > max ? `${s.slice(0, max - 1)}…` : s);

/** Split the items one job printed into slips: each ends at a cut (a job of several copies has several). */
export function splitSlips(items: PaperItem[]): PaperItem[][] {
  const slips: PaperItem[][] = [[]];
  for (const item of items) {
    slips[slips.length - 1].push(item);
    if (item.kind === 'cut') slips.push([]);
  }
  const last = slips[slips.length - 1];
  if (last.length === 0 || last.every((i) => i.kind === 'feed')) slips.pop();
  return slips;
}

function slipText(items: PaperItem[]): string {
  const lines: string[] = [];
  for (const item of items) {
    if (item.kind === 'text') lines.push(item.text);
    else if (item.kind === 'qr') lines.push(`[QR ${item.payload}]`);
    else if (item.kind === 'image') lines.push(`[image ${item.width}x${item.height}]`);
  }
  return clip(lines.join('\n'), MAX_SLIP_TEXT_CHARS);
}

/** One printed slip as a message for the page. */
export function slipMessage(job: { id: string; template: string }, part: number, items: PaperItem[], paperWidthMm: 58 | 80): SlipMessage {
  let svg: string | null = renderPaperSvg({ items, unknown: [] }, { paperWidthMm });
  if (svg.length > MAX_SLIP_SVG_CHARS) svg = null;
  return {
    type: 'slip', job: clip(job.id, MAX_ID_CHARS), template: clip(job.template, MAX_ID_CHARS), part,
    svg, text: slipText(items), qr: items.filter((i) => i.kind === 'qr').length,
  };
}

/** The printer indicator from what the printing service last said (null: not known yet). */
export function printerMessage(connected: boolean | null, status: PrinterStatus | null, queued: number): PrinterMessage {
  const problems: Array<[PrinterState, string]> = [];
  if (connected === false) problems.push(['disconnected', 'Not connected']);
  else if (status) {
    if (!status.online) problems.push(['offline', 'Offline']);
    if (status.coverOpen) problems.push(['cover-open', 'Cover open']);
    if (status.paperOut) problems.push(['paper-out', 'Out of paper']);
    else if (status.paperNearEnd) problems.push(['paper-near-end', 'Paper near end']);
  }
  const state: PrinterState = problems[0]?.[0] ?? (connected && status ? 'ready' : 'unknown');
  const words = problems.length > 0 ? problems.map(([, w], i) => (i === 0 ? w : w.toLowerCase())).join(', ') : state === 'ready' ? 'Ready' : 'Status not known yet';
  const jobs = queued > 0 ? ` · ${queued} ${queued === 1 ? 'job' : 'jobs'} queued` : '';
  return { type: 'printer', state, label: `${words}${jobs}`, connected, status: status ? { ...status } : null, queued };
}
