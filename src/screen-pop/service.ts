import type { EventBus } from '../core/bus.js';
import type { BusEvents, CallInfo, InteractionBrief, ScreenPop } from '../core/events.js';
import type { Logger } from '../core/log.js';
import type { Service } from '../core/services.js';
import type { Brief, HistoryRepository } from '../history/repository.js';
import { formatNumberForDisplay, numberKey } from '../numbers/numbers.js';

/** What the screen pop needs to know of a contact: all of it is in memory (no disk read on a ring). */
export interface PoppedContact {
  id: string;
  name: string;
  company: string | null;
  tag: string | null;
  note: string | null;
  /** number keys of all the contact's numbers (their timeline spans all of them) */
  numberKeys: string[];
  /** open reminders ('renewal due 2026-12-01') */
  openItems: string[];
}

export interface ScreenPopContext {
  bus: EventBus<BusEvents>;
  log: Logger;
  country: () => string;
  /** The contact a number belongs to, from the contacts' in-memory index. */
  contactFor: (number: string) => PoppedContact | null;
  history: () => HistoryRepository;
}

const RECENT = 3;

function brief(entry: Brief): InteractionBrief {
  return { kind: entry.kind, at: entry.at, summary: entry.summary };
}

/**
 * Screen pop: on every incoming call (analog or SIP) the customer's record — who, what they are to the
 * shop, their last interactions and order, open items and the note — is put on the bus for the phone's
 * display, the web UI and the cloud. Everything comes from memory, so the display shows it before the
 * second ring (benchmarked by `npm run bench -- store`).
 */
export class ScreenPopService implements Service {
  readonly #off: Array<() => void> = [];

  constructor(private readonly ctx: ScreenPopContext) {}

  start(): void {
    const { bus } = this.ctx;
    this.#off.push(
      bus.on('screen-pop', 'callStateChanged', (event) => {
        if (event.state === 'ringing' && event.direction === 'inbound') this.pop(event);
      }),
      // analog caller ID arrives between the first and second ring
      bus.on('screen-pop', 'callerIdReceived', (call) => {
        if (call.direction === 'inbound') this.pop(call);
      }),
    );
  }

  stop(): void {
    for (const off of this.#off.splice(0)) off();
  }

  /** The screen pop of a call, from memory. */
  lookup(call: CallInfo): ScreenPop {
    const country = this.ctx.country();
    const contact = call.number ? this.ctx.contactFor(call.number) : null;
    const key = call.number ? numberKey(call.number, country) : null;
    const numberKeys = contact ? contact.numberKeys : key ? [key] : [];
    const history = this.ctx.history();
    const selector = { contactId: contact?.id ?? null, numberKeys };
    const known = numberKeys.length > 0 || contact !== null;
    const summary = known ? history.summary(selector) : { count: 0, recent: [], lastOrder: null };
    // this very call (still going on) is already in the history: it is not an earlier interaction
    const earlier = summary.recent.filter((e) => !(e.kind === 'call' && e.result === null));
    const ongoing = summary.recent.length - earlier.length;
    return {
      callId: call.callId,
      lineId: call.lineId,
      direction: call.direction,
      number: call.number,
      displayNumber: call.number ? formatNumberForDisplay(call.number, country) : '',
      contact: contact ? { id: contact.id, name: contact.name, company: contact.company, tag: contact.tag, note: contact.note } : null,
      interactionCount: Math.max(0, summary.count - ongoing),
      recent: earlier.slice(0, RECENT).map(brief),
      lastOrder: summary.lastOrder ? brief(summary.lastOrder) : null,
      openItems: contact?.openItems ?? [],
    };
  }

  private pop(call: CallInfo): void {
    const pop = this.lookup(call);
    this.ctx.log.debug({ callId: call.callId, contact: pop.contact?.id ?? null, interactions: pop.interactionCount }, 'screen pop');
    this.ctx.bus.emit('screenPopped', pop);
  }
}
