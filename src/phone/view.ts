import { formatDuration } from '../core/duration.js';
import type { CallInfo, ScreenPop } from '../core/events.js';
import type { ScreenModel } from '../display/screen.js';
import { formatMoney } from '../orders/money.js';
import { MAX_KEYPAD_NOTE, MULTI_TAP, MULTI_TAP_MS, orderShown, selectedMissed, type OrderDraft, type PhoneModel } from './state.js';

export interface ViewContext {
  deviceName: string;
  /** Wall time, or null while it is not trusted (no battery-backed clock). */
  wallTime: Date | null;
  /** Monotonic ms, for the talk timer. */
  now: number;
  /** A line that cannot carry calls and why ('main: wrong password'), or null. */
  lineProblem?: string | null;
  /** ISO 4217 currency of order amounts (config orders.currency); default USD. */
  currency?: string;
  /** What keeps the receipt printer from printing ('Printer: paper out'), or null (see printerProblem). */
  printerProblem?: string | null;
}

/**
 * What the display says of the receipt printer, or null when there is nothing to do. A printer that is
 * there and needs a hand (paper, cover, offline) is always shown; one that is not there only while slips
 * wait for it (a board may well run without a printer).
 */
export function printerProblem(printer: { connected: boolean; status: { online: boolean; coverOpen: boolean; paperNearEnd: boolean; paperOut: boolean } | null }, waiting: number): string | null {
  const slips = waiting > 0 ? `, ${waiting} ${waiting === 1 ? 'slip waits' : 'slips wait'}` : '';
  if (!printer.connected) return waiting > 0 ? `No printer${slips}` : null;
  const status = printer.status;
  if (!status) return null;
  if (status.coverOpen) return `Printer cover open${slips}`;
  if (status.paperOut) return `Printer paper out${slips}`;
  if (!status.online) return `Printer offline${slips}`;
  return status.paperNearEnd ? 'Printer paper low' : null;
}

const two = (n: number) => String(n).padStart(2, '0');


/** Who is calling, in words: the name, else why caller ID has none. */
export function callerLabel(call: CallInfo): string {
  if (call.name) return call.name;
  if (call.numberAbsent === 'private' || call.nameAbsent === 'private') return 'Private caller';
  if (call.number) return 'Unknown caller';
  return call.numberAbsent === 'unavailable' ? 'Number unavailable' : 'Incoming call';
}

/** Columns of the 240x128 display with an 8 px wide font. */
const COLUMNS = 30;

function localDate(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}`;
}

/** '3 calls, last 2026-11-02' — how well the shop knows this customer, in one row. */
export function historyLine(pop: ScreenPop): string | null {
  if (pop.interactionCount === 0) return pop.contact ? 'No calls yet' : 'New caller';
  const last = pop.recent[0];
  const count = `${pop.interactionCount} ${pop.interactionCount === 1 ? 'contact' : 'contacts'}`;
  return last?.at ? `${count}, last ${localDate(last.at)}` : count;
}

/** 'today', 'yesterday', '3 days ago' (calendar days in local time), or null when either time is unknown. */
export function daysAgo(at: number | null, now: Date | null): string | null {
  if (at === null || !now) return null;
  const day = (d: Date) => Date.UTC(d.getFullYear(), d.getMonth(), d.getDate()) / 86_400_000;
  const days = day(now) - day(new Date(at));
  if (days <= 0) return 'today';
  return days === 1 ? 'yesterday' : `${days} days ago`;
}

/** 'Last order 2x Noodles, 36.00, 3 days ago': the age when it fits the row. */
export function lastOrderLine(order: { at: number | null; summary: string }, now: Date | null): string {
  const line = `Last order ${order.summary}`;
  const age = daysAgo(order.at, now);
  return age && line.length + age.length + 2 <= COLUMNS ? `${line}, ${age}` : line;
}

/** The rows under the caller's name: company or tag, number, history, then order / open item / note. */
function popRows(pop: ScreenPop, now: Date | null): string[] {
  const rows: string[] = [];
  const about = pop.contact?.company ?? pop.contact?.tag;
  if (about) rows.push(about);
  if (pop.displayNumber) rows.push(pop.displayNumber);
  const history = historyLine(pop);
  if (history) rows.push(history);
  if (pop.lastOrder) rows.push(lastOrderLine(pop.lastOrder, now));
  for (const item of pop.openItems) rows.push(item);
  if (pop.contact?.note) rows.push(pop.contact.note);
  return rows;
}

const softKeys3 = (left: string, middle: string, right: string) => {
  const gap = COLUMNS - left.length - middle.length - right.length;
  const before = Math.max(1, Math.floor(gap / 2));
  return { text: `${left}${' '.repeat(before)}${middle}${' '.repeat(Math.max(1, gap - before))}${right}` };
};

const softKeys = (left: string, right: string) => ({ text: `${left}${' '.repeat(Math.max(1, COLUMNS - left.length - right.length))}${right}` });

/** What the 240x128 display shows in each phone state: 8 rows of 16 px, status bar on top, soft keys at the bottom. */
export function phoneView(model: PhoneModel, view: ViewContext): ScreenModel {
  const s = model.state;
  if (orderShown(model)) return orderView(model.order!, view.currency ?? 'USD', view);
  const title = (text: string) => ({ text: ` ${text}`, inverse: true });
  switch (s.name) {
    case 'idle': {
      const time = view.wallTime ? `${two(view.wallTime.getHours())}:${two(view.wallTime.getMinutes())}` : '--:--';
      const date = view.wallTime ? view.wallTime.toISOString().slice(0, 10) : 'time not set';
      return {
        rows: [
          title(view.deviceName), null,
          { text: time, align: 'center' }, { text: date, align: 'center' },
          model.missed.count > 0 ? { text: `${model.missed.count} missed ${model.missed.count === 1 ? 'call' : 'calls'}`, align: 'center' } : null,
          s.notice ? { text: s.notice, align: 'center' } : null,
          view.lineProblem || view.printerProblem ? { text: (view.lineProblem ?? view.printerProblem)!, align: 'center', inverse: true } : null,
          model.offerSave ? softKeys3('Redial', 'Save', 'Menu') : model.offerOrder ? softKeys3('Redial', 'Order', 'Menu') : model.missed.count > 0 ? softKeys3('Redial', 'Missed', 'Menu') : softKeys('Redial', 'Menu'),
        ],
      };
    }
    case 'missed': {
      // five calls a screen, the selected one inverse
      const calls = model.missed.calls;
      const first = Math.max(0, Math.min(s.index - 2, calls.length - 5));
      const rows = calls.slice(first, first + 5).map((call, i) => {
        const when = call.at ? `${two(new Date(call.at).getMonth() + 1)}-${two(new Date(call.at).getDate())} ` : '';
        return { text: `${when}${call.name ?? call.displayNumber}`.slice(0, COLUMNS), inverse: first + i === s.index };
      });
      while (rows.length < 5) rows.push({ text: '', inverse: false });
      const selected = selectedMissed(model);
      return {
        rows: [
          title(`Missed calls (${model.missed.count})`), ...rows,
          selected?.name ? { text: selected.displayNumber, align: 'center' } : null,
          softKeys(selected && !selected.name ? 'Save' : '', 'Call'),
        ],
      };
    }
    case 'saving': {
      const typing = s.lastKey !== null && view.now - s.lastKey.at < MULTI_TAP_MS && MULTI_TAP[s.lastKey.key] !== undefined;
      return {
        rows: [
          title('Save contact'), null,
          { text: s.number, align: 'center' }, null,
          { text: 'Name:', align: 'left' },
          { text: `${s.text}${typing ? '' : '_'}`, align: 'left' }, null,
          softKeys('Del', 'Save'),
        ],
      };
    }
    case 'dialing':
      return {
        rows: [
          title(s.audio === 'none' ? 'Predial' : s.audio === 'speaker' ? 'Dial (speaker)' : 'Dial'), null,
          { text: s.digits || '_', align: 'left' }, null, null, null, null,
          softKeys('Del', 'Call'),
        ],
      };
    case 'ringing': {
      const status = { text: s.answering ? 'Answering...' : 'Ringing', align: 'center' as const };
      if (s.pop) {
        // the screen pop: who, what they are to the shop, how often they called, last order, open items, note
        const details = popRows(s.pop, view.wallTime).slice(0, 4).map((text) => ({ text, align: 'center' as const }));
        while (details.length < 4) details.push({ text: '', align: 'center' });
        return {
          rows: [
            title(s.answering ? 'Answering...' : 'Incoming call'),
            { text: s.pop.contact?.name ?? callerLabel(s.call), align: 'center' }, ...details, null,
            softKeys('Reject', 'Answer'),
          ],
        };
      }
      return {
        rows: [
          title('Incoming call'), null,
          { text: callerLabel(s.call), align: 'center' }, { text: s.call.number, align: 'center' }, null,
          status, null,
          softKeys('Reject', 'Answer'),
        ],
      };
    }
    case 'calling':
      return {
        rows: [
          title('Calling'), null,
          { text: s.call?.name ?? s.number, align: 'center' }, s.call?.name ? { text: s.number, align: 'center' } : null, null,
          { text: s.alerting ? 'Ringing...' : 'Dialing...', align: 'center' }, null,
          softKeys('', 'End'),
        ],
      };
    case 'talking': {
      const name = s.pop?.contact?.name ?? s.call.name;
      return {
        rows: [
          title(s.audio === 'speaker' ? 'Connected (speaker)' : 'Connected'), null,
          { text: name ?? (s.call.number || callerLabel(s.call)), align: 'center' },
          name ? { text: s.pop?.displayNumber || s.call.number, align: 'center' } : null,
          s.pop?.contact ? { text: s.pop.contact.company ?? s.pop.contact.tag ?? '', align: 'center' } : null,
          { text: formatDuration(view.now - s.since), align: 'center' }, null,
          s.call.number ? softKeys3('Hold', 'Order', 'End') : softKeys('Hold', 'End'),
        ],
      };
    }
  }
}

/** '3x Noodles 54.00' */
export function orderLineText(line: { qty: number; name: string; unitPrice: number }, currency: string): string {
  const amount = formatMoney(line.qty * line.unitPrice, currency);
  const item = `${line.qty}x ${line.name}`;
  // the amount stays whole: a long name is cut instead
  const room = COLUMNS - amount.length - 1;
  return `${item.length > room ? item.slice(0, Math.max(1, room - 1)) + '~' : item} ${amount}`;
}

/**
 * Order entry: the customer on top, the newest four lines, the total, the typing (or an error) and the hint.
 * Keys: digits/'*' type code*qty, '#' adds, OK = total, PRINT = file and print, Del, cancel.
 */
function orderView(order: OrderDraft, currency: string, view: ViewContext): ScreenModel {
  const who = order.customer.name ?? order.customer.number;
  const total = order.lines.reduce((sum, line) => sum + line.qty * line.unitPrice, 0);
  const shown = order.lines.slice(-4).map((line) => ({ text: orderLineText(line, currency), align: 'left' as const }));
  const lines: Array<{ text: string; align: 'left' } | null> = [...shown];
  while (lines.length < 4) lines.push(null);
  const totalRow = { text: `Total ${formatMoney(total, currency)}`, align: 'right' as const };
  const title = { text: ` Order: ${who}`, inverse: true };
  switch (order.phase) {
    case 'entry':
      return {
        rows: [
          title, ...lines, totalRow,
          order.message ? { text: order.message, align: 'center', inverse: true }
            : order.input ? { text: `Item ${order.input}_`, align: 'left' } : { text: 'code*qty # add, OK total', align: 'left' },
          softKeys3('Del', 'Total', 'Print'),
        ],
      };
    case 'review':
      return {
        rows: [
          title, ...lines.slice(0, order.note ? 3 : 4),
          ...(order.note ? [{ text: `Note: ${order.note}`.slice(0, COLUMNS), align: 'left' as const }] : []),
          { text: `${order.lines.length} ${order.lines.length === 1 ? 'line' : 'lines'}, total ${formatMoney(total, currency)}`, align: 'center' },
          view.printerProblem ? { text: view.printerProblem, align: 'center', inverse: true } : { text: order.note ? '* note, PRINT slip' : '* adds a note, PRINT slip', align: 'center' },
          softKeys3('Back', 'Save', 'Print'),
        ],
      };
    case 'note': {
      const edit = order.noteEdit ?? { text: order.note, lastKey: null };
      const typing = edit.lastKey !== null && view.now - edit.lastKey.at < MULTI_TAP_MS;
      const text = `${edit.text}${typing ? '' : '_'}`;
      // the end of a long note stays in view: two rows of it
      const tail = text.length > 2 * COLUMNS ? text.slice(-2 * COLUMNS) : text;
      return {
        rows: [
          title, null, { text: 'Note for the order:', align: 'left' },
          { text: tail.slice(0, COLUMNS), align: 'left' }, tail.length > COLUMNS ? { text: tail.slice(COLUMNS), align: 'left' } : null,
          null, { text: `${MAX_KEYPAD_NOTE - edit.text.length} left, OK done`, align: 'center' },
          softKeys('Del', 'Done'),
        ],
      };
    }
    case 'sending':
    case 'done':
      return {
        rows: [title, ...lines, totalRow, { text: order.message ?? '', align: 'center' }, order.phase === 'done' ? { text: 'OK', align: 'right' as const } : null],
      };
  }
}
