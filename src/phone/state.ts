import type { PhoneKey } from '../../drivers/mcu/types.js';
import type { CatalogItem } from '../orders/types.js';
import { MAX_ORDER_LINES, MAX_QTY } from '../orders/types.js';
import { dialString } from '../numbers/numbers.js';
import type { BusEvents, CallEndReason, CallInfo, CallState, PhoneStateName, ScreenPop } from '../core/events.js';

/**
 * The phone's state machine, pure: (model, input) -> (model, effects). The PhoneService feeds it
 * driver and bus events and carries out the effects; tests drive it directly.
 *
 * idle -> dialing (digits, backspace, '#' / OK / timeout dials) -> calling -> talking -> idle
 * idle -> ringing (caller shown, ringer on) -> talking (handset, speaker or OK) -> idle
 * idle -> missed (History key or 'Missed'): up/down, one key (OK, Call, handset) calls back
 * idle ('Save' after an unknown caller) | missed ('Save') -> saving (name by multi-tap) -> idle
 *
 * Order entry is a layer over 'talking' (the call goes on) and 'idle' (right after a call): PRINT or the
 * 'Order' soft key opens it; `12*3#` adds item 12 three times, OK shows the total, '*' there types a note,
 * PRINT files the order and prints its slip (see orderKey). A barcode scan adds one of the scanned item; on
 * the idle screen with no caller to take an order for, it opens a counter order (no customer).
 */

/** Where the audio goes: 'none' while predialing on-hook. */
export type AudioPath = 'none' | 'handset' | 'speaker';

export type PhoneState =
  | { name: 'idle'; notice: string | null }
  | { name: 'dialing'; digits: string; audio: AudioPath }
  | { name: 'ringing'; call: CallInfo; answering: AudioPath | null; pop: ScreenPop | null }
  | { name: 'calling'; number: string; call: CallInfo | null; audio: AudioPath; alerting: boolean }
  | { name: 'talking'; call: CallInfo; audio: AudioPath; since: number; pop: ScreenPop | null }
  | { name: 'missed'; index: number }
  | { name: 'saving'; number: string; text: string; lastKey: { key: string; at: number } | null };

export type MissedCallsList = BusEvents['missedCallsChanged'];

export interface PhoneModel {
  state: PhoneState;
  offHook: boolean;
  lastDialed: string | null;
  missed: MissedCallsList;
  /** The number of the unknown caller of the call that just ended: the idle screen offers 'Save'. */
  offerSave: string | null;
  /** The latest screen pop: it may come before the phone has seen its call ring (bus listener order). */
  lastPop: ScreenPop | null;
  /** The customer of the call that just ended: the idle screen offers 'Order'. */
  offerOrder: OrderCustomer | null;
  /** The order being entered (shown over 'talking' and 'idle'), or null. */
  order: OrderDraft | null;
}

/** Who an order on the phone is for: the caller of the call it is taken on (or just took). */
export interface OrderCustomer {
  number: string;
  contactId: string | null;
  name: string | null;
  callId: string | null;
}

export interface DraftLine {
  code: string;
  name: string;
  qty: number;
  unitPrice: number;
}

/**
 * An order on the keypad: 'entry' (item code, '*', quantity, '#' adds the line), 'review' (the total),
 * 'note' (a free-text note typed by multi-tap, from review), 'sending' (filed and printed by the orders
 * service), 'done' (the result, until the next key).
 */
export interface OrderDraft {
  customer: OrderCustomer;
  lines: DraftLine[];
  /** what is typed for the next line: code digits, then '*' and the quantity */
  input: string;
  /** the note on the whole order ('ring twice'), '' for none */
  note: string;
  /** the note as it is being typed in 'note' (OK keeps it, cancel drops the change) */
  noteEdit: { text: string; lastKey: { key: string; at: number } | null } | null;
  phase: 'entry' | 'review' | 'note' | 'sending' | 'done';
  /** an error in 'entry' ('no item 77'), the result in 'done' */
  message: string | null;
}

/** Who a counter order (a scan with no caller to take it for) is for. */
export const COUNTER_CUSTOMER: OrderCustomer = { number: '', contactId: null, name: 'Counter', callId: null };

/** Characters of a note typed on the keypad (the web UI and the CLI take up to MAX_NOTE). */
export const MAX_KEYPAD_NOTE = 60;

/** Multi-tap letters of the keypad (ITU E.161); 0 is a space, 1 punctuation. */
export const MULTI_TAP: Readonly<Record<string, string>> = {
  '1': '.-\'1', '2': 'abc2', '3': 'def3', '4': 'ghi4', '5': 'jkl5', '6': 'mno6', '7': 'pqrs7', '8': 'tuv8', '9': 'wxyz9', '0': ' 0',
};
/** Pressing the same key again within this time cycles its letters. */
export const MULTI_TAP_MS = 1200;
const MAX_NAME = 40;

export type PhoneInput =
  | { type: 'hook'; offHook: boolean }
  | { type: 'key'; key: PhoneKey }
  | { type: 'dialTimeout' }
  | { type: 'predialTimeout' }
  | { type: 'dial'; number: string }
  | { type: 'hangup' }
  | { type: 'call'; call: CallInfo; state: CallState; reason?: CallEndReason }
  | { type: 'identified'; call: CallInfo }
  | { type: 'callFailed'; message: string }
  /** Something the clerk must know now (e.g. a contact could not be saved): shown on the idle screen. */
  | { type: 'notice'; message: string; offerSave?: string }
  | { type: 'screenPop'; pop: ScreenPop }
  | { type: 'missedCalls'; missed: MissedCallsList }
  /** What became of the order sent with a 'placeOrder' effect: filed (ok) or not, and what to show. */
  | { type: 'orderResult'; ok: boolean; message: string }
  /** A barcode scanner read a code (printable ASCII, bounded by the driver). */
  | { type: 'barcode'; code: string };

export type PhoneEffect =
  | { type: 'placeCall'; number: string }
  | { type: 'answer'; callId: string }
  | { type: 'hangup'; callId: string; reason: CallEndReason }
  | { type: 'sendDtmf'; callId: string; digits: string }
  | { type: 'saveContact'; number: string; name: string }
  /** File the order (and print its slip); report back with an 'orderResult' input. */
  | { type: 'placeOrder'; order: PhoneOrderRequest; print: boolean };

/** What the keypad files: the caller's number ('' for a counter order), the lines by item code, the note. */
export interface PhoneOrderRequest {
  number: string;
  contactId: string | null;
  callId: string | null;
  items: Array<{ code: string; qty: number }>;
  note: string | null;
}

export interface PhoneLimits {
  maxDigits: number;
  /** Monotonic ms, for the talk timer. */
  now: number;
  /** The items order entry takes (config orders.catalog); none: every code is unknown. */
  catalog?: readonly CatalogItem[];
}

export function initialModel(offHook = false): PhoneModel {
  return {
    state: offHook ? { name: 'dialing', digits: '', audio: 'handset' } : { name: 'idle', notice: null },
    offHook, lastDialed: null, missed: { count: 0, calls: [] }, offerSave: null, lastPop: null,
    offerOrder: null, order: null,
  };
}

export function stateName(model: PhoneModel): PhoneStateName {
  return model.state.name;
}

const IDLE: PhoneState = { name: 'idle', notice: null };
const DIAL_CHARS = new Set(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '#']);

const END_NOTICES: Partial<Record<CallEndReason, string>> = {
  busy: 'Busy',
  'no-answer': 'No answer',
  rejected: 'Call rejected',
  failed: 'Call failed',
  'remote-hangup': 'Call ended',
  cancelled: 'Missed call',
};

/**
 * The soft keys under the display do what their label on the bottom row says (see view.ts):
 * soft1 is the left label, soft4 the right one.
 */
export function softKeyAction(model: PhoneModel, key: PhoneKey): PhoneKey {
  const state = model.state;
  if (orderShown(model)) {
    // order entry: 'Del', 'Total', 'Print' (review: 'Back', 'Save', 'Print'; note: 'Del', 'Done')
    const phase = model.order!.phase;
    if (key === 'soft1') return phase === 'review' ? 'cancel' : 'backspace';
    if (key === 'soft2' || key === 'soft3') return 'ok';
    if (key === 'soft4') return phase === 'note' ? 'ok' : 'print';
    return key;
  }
  if (key === 'soft2' || key === 'soft3') {
    // the middle label (view.ts): 'Save' after an unknown caller, else 'Order' after a call, else 'Missed' while there are missed calls
    if (state.name === 'idle') return model.offerSave ? 'contacts' : model.offerOrder ? 'print' : model.missed.count > 0 ? 'history' : key;
    if (state.name === 'talking') return 'print';
    return key;
  }
  if (key !== 'soft1' && key !== 'soft4') return key;
  const left = key === 'soft1';
  switch (state.name) {
    case 'idle': return left ? 'redial' : 'menu';
    case 'dialing': return left ? 'backspace' : 'ok';
    case 'ringing': return left ? 'cancel' : 'ok';
    case 'calling': return left ? key : 'cancel';
    case 'talking': return left ? 'hold' : 'cancel';
    case 'missed': return left ? 'contacts' : 'ok';
    case 'saving': return left ? 'backspace' : 'ok';
  }
}

/** Order entry is on the display (and takes the keys): over 'talking' and 'idle' only. */
export function orderShown(model: PhoneModel): boolean {
  return model.order !== null && (model.state.name === 'talking' || model.state.name === 'idle');
}

/** The missed call under the cursor of the missed-calls list. */
export function selectedMissed(model: PhoneModel): MissedCallsList['calls'][number] | null {
  return model.state.name === 'missed' ? model.missed.calls[model.state.index] ?? null : null;
}

export function reduce(model: PhoneModel, input: PhoneInput, limits: PhoneLimits): { model: PhoneModel; effects: PhoneEffect[] } {
  const effects: PhoneEffect[] = [];
  // The hook input updates `offHook` first; every helper builds on `current`.
  let current = model;
  const next = (state: PhoneState, extra: Partial<PhoneModel> = {}) => ({ model: { ...current, offerSave: null, offerOrder: null, ...extra, state }, effects });
  const same = () => ({ model: current, effects });
  const s = model.state;

  /** Start a call to `number` with the given audio path. */
  const dial = (number: string, audio: AudioPath) => {
    effects.push({ type: 'placeCall', number });
    return next({ name: 'calling', number, call: null, audio: audio === 'none' ? 'speaker' : audio, alerting: false }, { lastDialed: number });
  };
  /** End the current call (if it has an id yet) and go idle. */
  const endCall = (call: CallInfo | null, reason: CallEndReason = 'local-hangup') => {
    if (call) effects.push({ type: 'hangup', callId: call.callId, reason });
    return next(IDLE);
  };

  switch (input.type) {
    case 'hook': {
      if (input.offHook === model.offHook) return same();
      current = { ...model, offHook: input.offHook };
      if (input.offHook) {
        switch (s.name) {
          case 'idle': return next({ name: 'dialing', digits: '', audio: 'handset' });
          // lifting the handset on the missed-calls list calls the one selected back
          case 'missed': {
            const selected = selectedMissed(current);
            return selected ? dial(dialString(selected.number), 'handset') : next({ name: 'dialing', digits: '', audio: 'handset' });
          }
          case 'saving': return same();
          // Lifting the handset after predialing dials the number.
          case 'dialing': return s.audio === 'none' && s.digits ? dial(s.digits, 'handset') : next({ ...s, audio: 'handset' });
          case 'ringing':
            effects.push({ type: 'answer', callId: s.call.callId });
            return next({ ...s, answering: 'handset' });
          case 'calling':
          case 'talking': return next({ ...s, audio: 'handset' });
        }
      }
      // On-hook ends whatever used the handset; a speakerphone call goes on.
      switch (s.name) {
        case 'dialing': return s.audio === 'handset' ? next(IDLE) : same();
        case 'ringing': return s.answering === 'handset' ? endCall(s.call) : same();
        case 'calling':
        case 'talking': return s.audio === 'handset' ? endCall(s.call) : same();
        default: return same();
      }
    }

    case 'key': {
      const key = softKeyAction(current, input.key);
      if (orderShown(current)) {
        const handled = orderKey(current, key, limits, effects);
        if (handled) return handled;
      }
      // PRINT (or the 'Order' soft key) starts an order for the caller: during the call, or right after it
      if (key === 'print' && s.name === 'talking' && s.call.number) return openOrder(current, callCustomer(s.call, s.pop));
      if (key === 'print' && s.name === 'idle' && current.offerOrder) return openOrder(current, current.offerOrder);
      if (s.name === 'missed') return missedKey(current, key, dial, next, same);
      if (s.name === 'saving') return savingKey(s, key, limits.now, effects, next, same);
      if (s.name === 'idle' && key === 'history') return current.missed.count > 0 ? next({ name: 'missed', index: 0 }) : next({ name: 'idle', notice: 'No missed calls' });
      if (s.name === 'idle' && key === 'contacts' && current.offerSave) return next({ name: 'saving', number: current.offerSave, text: '', lastKey: null });
      if (DIAL_CHARS.has(key)) {
        switch (s.name) {
          case 'idle':
            if (key === '#') return same();
            return next({ name: 'dialing', digits: key, audio: current.offHook ? 'handset' : 'none' });
          case 'dialing':
            if (key === '#' && s.digits) return dial(s.digits, s.audio);
            if (key === '#') return same();
            return s.digits.length >= limits.maxDigits ? same() : next({ ...s, digits: s.digits + key });
          case 'talking':
            effects.push({ type: 'sendDtmf', callId: s.call.callId, digits: key });
            return same();
          default:
            return same();
        }
      }
      switch (key) {
        case 'speaker':
          switch (s.name) {
            case 'idle': return next({ name: 'dialing', digits: '', audio: 'speaker' });
            case 'dialing':
              if (s.audio === 'none') return dial(s.digits, 'speaker');
              if (s.audio === 'speaker') return current.offHook ? next({ ...s, audio: 'handset' }) : next(IDLE);
              return next({ ...s, audio: 'speaker' });
            case 'ringing':
              effects.push({ type: 'answer', callId: s.call.callId });
              return next({ ...s, answering: 'speaker' });
            case 'calling':
            case 'talking':
              if (s.audio === 'speaker') return current.offHook ? next({ ...s, audio: 'handset' }) : endCall(s.call);
              return next({ ...s, audio: 'speaker' });
          }
          return same();
        case 'ok':
          if (s.name === 'dialing' && s.digits) return dial(s.digits, s.audio);
          if (s.name === 'ringing') {
            effects.push({ type: 'answer', callId: s.call.callId });
            return next({ ...s, answering: current.offHook ? 'handset' : 'speaker' });
          }
          return same();
        case 'backspace':
          if (s.name !== 'dialing') return same();
          if (s.digits.length <= 1 && s.audio === 'none') return next(IDLE);
          return next({ ...s, digits: s.digits.slice(0, -1) });
        case 'cancel':
          switch (s.name) {
            case 'idle': return s.notice ? next(IDLE) : same();
            case 'dialing': return s.audio === 'none' || (s.audio === 'speaker' && !s.digits) ? next(IDLE) : next({ ...s, digits: '' });
            case 'ringing': return endCall(s.call, 'rejected');
            case 'calling':
            case 'talking': return endCall(s.call);
          }
          return same();
        case 'redial':
          if ((s.name === 'idle' || (s.name === 'dialing' && !s.digits)) && current.lastDialed) {
            return dial(current.lastDialed, current.offHook ? 'handset' : s.name === 'dialing' ? s.audio : 'speaker');
          }
          return same();
        default:
          return same();
      }
    }

    case 'dialTimeout':
      return s.name === 'dialing' && s.digits && s.audio !== 'none' ? dial(s.digits, s.audio) : same();

    case 'predialTimeout':
      return s.name === 'dialing' && s.audio === 'none' ? next(IDLE) : same();

    case 'dial':
      if (s.name === 'idle' || s.name === 'dialing') return dial(input.number, current.offHook ? 'handset' : 'speaker');
      return same();

    case 'hangup':
      if (s.name === 'ringing') return endCall(s.call, 'rejected');
      if (s.name === 'calling' || s.name === 'talking') return endCall(s.call);
      if (s.name === 'dialing') return next(IDLE);
      return same();

    case 'identified':
      if ((s.name === 'ringing' || s.name === 'talking') && s.call.callId === input.call.callId) return next({ ...s, call: input.call });
      return same();

    case 'screenPop':
      current = { ...current, lastPop: input.pop };
      if ((s.name === 'ringing' || s.name === 'talking') && s.call.callId === input.pop.callId) return next({ ...s, pop: input.pop });
      return { model: current, effects };

    case 'missedCalls': {
      current = { ...current, missed: input.missed };
      if (s.name !== 'missed') return { model: current, effects };
      // the list changed under the cursor: stay in range, leave when it is empty
      return input.missed.calls.length === 0 ? next(IDLE) : next({ ...s, index: Math.min(s.index, input.missed.calls.length - 1) }, { offerSave: current.offerSave });
    }

    case 'callFailed':
      return s.name === 'calling' ? next({ name: 'idle', notice: input.message }) : same();

    case 'notice':
      return s.name === 'idle' ? next({ name: 'idle', notice: input.message }, { offerSave: input.offerSave ?? current.offerSave, offerOrder: current.offerOrder }) : same();

    case 'orderResult': {
      const order = current.order;
      if (!order || order.phase !== 'sending') return same();
      // filed: the result shows until the next key; not filed: back to entry with the lines kept
      const after: OrderDraft = input.ok ? { ...order, phase: 'done', message: input.message } : { ...order, phase: 'entry', message: input.message };
      return { model: { ...current, order: after }, effects };
    }

    case 'barcode': {
      if (orderShown(current)) return current.order!.phase === 'entry' ? { model: { ...current, order: scanned(current.order!, input.code, limits) }, effects } : same();
      // a scan opens an order: for the caller (during or right after a call), else at the counter
      const customer = s.name === 'talking' && s.call.number ? callCustomer(s.call, s.pop)
        : s.name === 'idle' ? current.offerOrder ?? COUNTER_CUSTOMER : null;
      if (!customer) return same();
      const opened = openOrder(current, customer).model;
      return { model: { ...opened, order: scanned(opened.order!, input.code, limits) }, effects };
    }

    case 'call': {
      const { call, state } = input;
      const mine = (s.name === 'ringing' || s.name === 'talking' || s.name === 'calling') && s.call?.callId === call.callId;
      if (state === 'ringing' && call.direction === 'inbound') {
        const pop = current.lastPop?.callId === call.callId ? current.lastPop : null;
        // an order being entered waits (it shows again over the next call or idle); a finished one's result goes
        const order = current.order?.phase === 'done' ? null : current.order;
        if (s.name === 'idle' || s.name === 'missed' || s.name === 'saving') return next({ name: 'ringing', call, answering: null, pop }, { order });
        effects.push({ type: 'hangup', callId: call.callId, reason: 'busy' });
        return same();
      }
      // The first event of the call we placed: from now on it is ours.
      const placed = s.name === 'calling' && !s.call && call.direction === 'outbound' && call.number === s.number;
      if (!mine && !placed) return same();
      if (s.name === 'calling' && (state === 'dialing' || state === 'alerting')) return next({ ...s, call, alerting: state === 'alerting' });
      if (state === 'active' && s.name === 'ringing') return next({ name: 'talking', call, audio: s.answering ?? 'speaker', since: limits.now, pop: s.pop });
      if (state === 'active' && s.name === 'calling') return next({ name: 'talking', call, audio: s.audio, since: limits.now, pop: null });
      if (state === 'ended') {
        const notice = input.reason === 'local-hangup' ? null : (input.reason && END_NOTICES[input.reason]) ?? 'Call ended';
        // an unknown caller: offer to save them as a contact on the idle screen
        const pop = s.name === 'ringing' || s.name === 'talking' ? s.pop : null;
        // after a call that was talked: offer to take an order for the caller
        const offerOrder = s.name === 'talking' && s.call.number ? callCustomer(s.call, pop) : null;
        return next({ name: 'idle', notice }, { offerSave: pop && !pop.contact && pop.number ? pop.number : null, offerOrder });
      }
      return same();
    }
  }
}

type Result = { model: PhoneModel; effects: PhoneEffect[] };

/** Keys on the missed-calls list: up/down move, one key calls back, 'Save' files an unknown caller. */
function missedKey(
  model: PhoneModel, key: PhoneKey,
  dial: (number: string, audio: AudioPath) => Result, next: (state: PhoneState) => Result, same: () => Result,
): Result {
  const s = model.state as Extract<PhoneState, { name: 'missed' }>;
  const selected = selectedMissed(model);
  switch (key) {
    case 'up': return next({ ...s, index: Math.max(0, s.index - 1) });
    case 'down': return next({ ...s, index: Math.min(model.missed.calls.length - 1, s.index + 1) });
    case 'ok':
    case 'redial':
    case '#':
      return selected ? dial(dialString(selected.number), model.offHook ? 'handset' : 'speaker') : same();
    case 'speaker': return selected ? dial(dialString(selected.number), 'speaker') : same();
    case 'contacts':
      return selected && !selected.name ? next({ name: 'saving', number: selected.number, text: '', lastKey: null }) : same();
    case 'cancel':
    case 'history':
      return next(IDLE);
    default: return same();
  }
}

/** Name entry for a new contact: multi-tap letters, backspace, OK saves. */
function savingKey(
  s: Extract<PhoneState, { name: 'saving' }>, key: PhoneKey, now: number, effects: PhoneEffect[],
  next: (state: PhoneState, extra?: Partial<PhoneModel>) => Result, same: () => Result,
): Result {
  const typed = multiTap(s, key, now, MAX_NAME, casedLike);
  if (typed) return typed === 'full' ? same() : next({ ...s, ...typed });
  switch (key) {
    case 'backspace': return next({ ...s, text: s.text.slice(0, -1), lastKey: null });
    case 'right': return next({ ...s, lastKey: null });
    case 'ok': {
      const name = s.text.trim();
      if (!name) return same();
      effects.push({ type: 'saveContact', number: s.number, name });
      return next({ name: 'idle', notice: `Saved ${name}`.slice(0, 30) });
    }
    case 'cancel': return next(IDLE);
    default: return same();
  }
}

/**
 * One key of multi-tap typing (ITU E.161 letters): the same key again within MULTI_TAP_MS cycles the last
 * letter, another key adds one. `cased` gives the letter its case from the text before it. null: not a
 * letter key; 'full': the text is at `max`.
 */
export function multiTap(
  typing: { text: string; lastKey: { key: string; at: number } | null }, key: string, now: number, max: number,
  cased: (letter: string, textBefore: string) => string = (letter) => letter,
): { text: string; lastKey: { key: string; at: number } } | 'full' | null {
  const letters = MULTI_TAP[key];
  if (!letters) return null;
  const { text, lastKey } = typing;
  if (lastKey?.key === key && now - lastKey.at < MULTI_TAP_MS && text.length > 0) {
    const cycled = letters[(letters.indexOf(text.at(-1)!.toLowerCase()) + 1) % letters.length];
    return { text: text.slice(0, -1) + cased(cycled, text), lastKey: { key, at: now } };
  }
  if (text.length >= max) return 'full';
  return { text: text + cased(letters[0], text + '_'), lastKey: { key, at: now } };
}

/** Names are typed in Title Case: a letter after a space (or the first) is upper case. */
function casedLike(letter: string, textBefore: string): string {
  const startOfWord = textBefore.length <= 1 || textBefore.at(-2) === ' ';
  return startOfWord ? letter.toUpperCase() : letter;
}

type OrderResult = { model: PhoneModel; effects: PhoneEffect[] };
/** Digits of an item code typed on the keypad. */
const MAX_CODE = 6;
const ORDER_DIGITS = new Set(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
/** The keys order entry takes; the others (speaker, hold, volume...) still work the call. */
const ORDER_KEYS = new Set<PhoneKey>([...ORDER_DIGITS as Set<PhoneKey>, '*', '#', 'ok', 'print', 'backspace', 'cancel']);

/** The caller of a call, as the customer of an order taken on it. */
function callCustomer(call: CallInfo, pop: ScreenPop | null): OrderCustomer {
  return { number: call.number ?? '', contactId: pop?.contact?.id ?? null, name: pop?.contact?.name ?? call.name, callId: call.callId };
}

function openOrder(model: PhoneModel, customer: OrderCustomer): OrderResult {
  const order: OrderDraft = { customer, lines: [], input: '', note: '', noteEdit: null, phase: 'entry', message: null };
  return { model: { ...model, offerOrder: null, order }, effects: [] };
}

/** Adds the typed line ('12*3', '12' = qty 1) to the order; the same item again adds to its quantity. */
function addLine(order: OrderDraft, catalog: readonly CatalogItem[]): OrderDraft {
  const [code, qtyText] = order.input.split('*');
  const typed = { ...order, input: '' };
  const item = catalog.find((c) => c.code === code);
  if (!item) return { ...typed, message: `no item ${code}` };
  return addItem(typed, item, qtyText === undefined || qtyText === '' ? 1 : Number(qtyText));
}

/** Adds one of the item whose barcode was scanned (what was typed for the next line stays). */
function scanned(order: OrderDraft, code: string, limits: PhoneLimits): OrderDraft {
  const item = (limits.catalog ?? []).find((c) => c.barcode === code);
  if (!item) return { ...order, message: `unknown barcode ${code}`.slice(0, 30) };
  return addItem(order, item, 1);
}

/** Adds `qty` of an item; the same item again adds to its quantity. */
function addItem(order: OrderDraft, item: CatalogItem, qty: number): OrderDraft {
  const existing = order.lines.findIndex((line) => line.code === item.code);
  const total = qty + (existing >= 0 ? order.lines[existing].qty : 0);
  if (qty < 1 || total > MAX_QTY) return { ...order, message: `qty 1-${MAX_QTY} (${item.name})` };
  if (existing >= 0) {
    const lines = order.lines.map((line, i) => (i === existing ? { ...line, qty: total } : line));
    return { ...order, lines, message: null };
  }
  if (order.lines.length >= MAX_ORDER_LINES) return { ...order, message: `at most ${MAX_ORDER_LINES} lines` };
  return { ...order, lines: [...order.lines, { code: item.code, name: item.name, qty, unitPrice: item.unitPrice }], message: null };
}

/**
 * Keys of order entry. entry: digits and '*' type `code*qty`, '#' adds the line, backspace deletes a
 * character (else the last line), OK shows the total, PRINT files and prints, cancel clears the typing
 * (else drops the order). review: OK files it, PRINT files and prints, cancel goes back. done: any of these closes.
 * null: not a key of order entry.
 */
function orderKey(model: PhoneModel, key: PhoneKey, limits: PhoneLimits, effects: PhoneEffect[]): OrderResult | null {
  if (!ORDER_KEYS.has(key)) return null;
  const order = model.order!;
  const catalog = limits.catalog ?? [];
  const put = (next: OrderDraft | null) => ({ model: { ...model, order: next }, effects });
  const send = (draft: OrderDraft, print: boolean) => {
    const { customer } = draft;
    effects.push({
      type: 'placeOrder', print,
      order: {
        number: customer.number, contactId: customer.contactId, callId: customer.callId,
        items: draft.lines.map(({ code, qty }) => ({ code, qty })), note: draft.note.trim() || null,
      },
    });
    return put({ ...draft, phase: 'sending', message: print ? 'Printing...' : 'Saving...' });
  };
  switch (order.phase) {
    case 'sending': return { model, effects };
    case 'done': return put(null);
    case 'review':
      if (key === 'print') return send(order, true);
      if (key === 'ok') return send(order, false);
      if (key === 'cancel' || key === 'backspace') return put({ ...order, phase: 'entry', message: null });
      if (key === '*') return put({ ...order, phase: 'note', noteEdit: { text: order.note, lastKey: null } });
      return { model, effects };
    case 'note': {
      const edit = order.noteEdit ?? { text: order.note, lastKey: null };
      const typed = multiTap(edit, key, limits.now, MAX_KEYPAD_NOTE);
      if (typed) return typed === 'full' ? { model, effects } : put({ ...order, noteEdit: typed });
      if (key === 'backspace') return put({ ...order, noteEdit: { text: edit.text.slice(0, -1), lastKey: null } });
      if (key === 'ok' || key === '#') return put({ ...order, phase: 'review', note: edit.text.trim(), noteEdit: null });
      if (key === 'cancel') return put({ ...order, phase: 'review', noteEdit: null });
      return { model, effects };
    }
    case 'entry':
      break;
  }
  const [code, qty] = order.input.split('*');
  if (ORDER_DIGITS.has(key)) {
    if (qty === undefined ? code.length >= MAX_CODE : qty.length >= String(MAX_QTY).length) return { model, effects };
    return put({ ...order, input: order.input + key, message: null });
  }
  switch (key) {
    case '*':
      return code && qty === undefined ? put({ ...order, input: `${order.input}*`, message: null }) : { model, effects };
    case '#':
      return code ? put(addLine(order, catalog)) : { model, effects };
    case 'ok': {
      const added = code ? addLine(order, catalog) : order;
      if (added.message || added.lines.length === 0) return put(added);
      return put({ ...added, phase: 'review' });
    }
    case 'print': {
      const added = code ? addLine(order, catalog) : order;
      if (added.message) return put(added);
      return added.lines.length > 0 ? send(added, true) : put({ ...added, message: 'no items yet' });
    }
    case 'backspace':
      if (order.input) return put({ ...order, input: order.input.slice(0, -1), message: null });
      return put({ ...order, lines: order.lines.slice(0, -1), message: null });
    case 'cancel':
      return order.input || order.message ? put({ ...order, input: '', message: null }) : put(null);
    default:
      return { model, effects };
  }
}
