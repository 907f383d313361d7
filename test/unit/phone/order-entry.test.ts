import { describe, expect, it } from '@jest/globals';
import type { PhoneKey } from '../../../drivers/mcu/types.js';
import type { CallInfo, ScreenPop } from '../../../src/core/events.js';
import { textOf } from '../../../src/display/screen.js';
import { initialModel, MAX_KEYPAD_NOTE, multiTap, reduce, softKeyAction, type PhoneEffect, type PhoneInput, type PhoneModel } from '../../../src/phone/state.js';
import { daysAgo, lastOrderLine, orderLineText, phoneView, printerProblem } from '../../../src/phone/view.js';

const catalog = [
  { code: '12', name: 'Noodles', unitPrice: 1800, barcode: '6901234567892' },
  { code: '7', name: 'Soup', unitPrice: 650 },
];

function run(inputs: PhoneInput[], start: PhoneModel = initialModel()) {
  let model = start;
  const effects: PhoneEffect[] = [];
  for (const input of inputs) {
    const result = reduce(model, input, { maxDigits: 8, now: 1000, catalog });
    model = result.model;
    effects.push(...result.effects);
  }
  return { model, effects };
}
const keys = (...k: PhoneKey[]): PhoneInput[] => k.map((key) => ({ type: 'key', key }));
const typed = (text: string): PhoneInput[] => keys(...([...text] as PhoneKey[]));
const call: CallInfo = { callId: 'in-1', lineId: 'sim', lineKind: 'sim', direction: 'inbound', number: '13800138000', name: null };
const pop: ScreenPop = {
  callId: 'in-1', lineId: 'sim', direction: 'inbound', number: '13800138000', displayNumber: '138 0013 8000',
  contact: { id: 'c-1', name: 'Wang Li', company: null, tag: null, note: null }, interactionCount: 0, recent: [], lastOrder: null, openItems: [],
};
const screen = (model: PhoneModel) => textOf(phoneView(model, { deviceName: 'Shop', wallTime: new Date(2026, 10, 24, 12), now: 1000, currency: 'CNY' })).map((r) => r.trim());

/** Ringing with a pop, answered: talking to Wang Li. */
function talking() {
  return run([{ type: 'screenPop', pop }, { type: 'call', call, state: 'ringing' }, ...keys('ok'), { type: 'call', call, state: 'active' }]).model;
}

describe('order entry on the phone', () => {
  it("the talking screen offers 'Order'; PRINT opens order entry for the caller while the call goes on", () => {
    const model = talking();
    expect(screen(model).at(-1)).toMatch(/^Hold\s+Order\s+End$/);
    expect(softKeyAction(model, 'soft2')).toBe('print');
    const { model: ordering, effects } = run(keys('print'), model);
    expect(effects).toEqual([]);
    expect(ordering.state.name).toBe('talking');
    expect(ordering.order).toMatchObject({ customer: { number: '13800138000', contactId: 'c-1', name: 'Wang Li', callId: 'in-1' }, phase: 'entry', lines: [] });
    expect(screen(ordering)[0]).toBe('Order: Wang Li');
    expect(screen(ordering)).toContain('code*qty # add, OK total');
    // digits go to the order, not down the line as DTMF
    const typing = run(typed('12*3'), ordering);
    expect(typing.effects).toEqual([]);
    expect(screen(typing.model)).toContain('Item 12*3_');
  });

  it('12*3# adds "3x Noodles 54.00", 7# adds one soup, the same item again adds to its quantity, the total follows', () => {
    let r = run([...keys('print'), ...typed('12*3#')], talking());
    expect(r.model.order!.lines).toEqual([{ code: '12', name: 'Noodles', qty: 3, unitPrice: 1800 }]);
    expect(screen(r.model)).toContain('3x Noodles 54.00');
    r = run([...typed('7#'), ...typed('12*2#')], r.model);
    expect(r.model.order!.lines.map((l) => [l.code, l.qty])).toEqual([['12', 5], ['7', 1]]);
    expect(screen(r.model)).toContain('Total 96.50');
  });

  it('says "no item 77" for an unknown code, refuses quantities outside 1-99 and more than 20 lines', () => {
    let r = run([...keys('print'), ...typed('77#')], talking());
    expect(r.model.order).toMatchObject({ lines: [], input: '', message: 'no item 77' });
    expect(screen(r.model)).toContain('no item 77');
    r = run(typed('12*0#'), r.model);
    expect(r.model.order).toMatchObject({ lines: [], message: 'qty 1-99 (Noodles)' });
    // the quantity takes two digits at most, the code six
    r = run(typed('12*999'), r.model);
    expect(r.model.order!.input).toBe('12*99');
    r = run([...keys('cancel'), ...typed('1234567')], r.model);
    expect(r.model.order!.input).toBe('123456');
    r = run([...keys('cancel'), ...typed('12*99#'), ...typed('12#')], r.model);
    expect(r.model.order).toMatchObject({ lines: [{ qty: 99 }], message: 'qty 1-99 (Noodles)' });
    const many = Array.from({ length: 25 }, (_, i) => ({ code: String(i + 100), name: `Item ${i}`, unitPrice: 100 }));
    let model = run(keys('print'), talking()).model;
    for (let i = 0; i < 21; i++) {
      model = reduce(model, { type: 'key', key: '1' }, { maxDigits: 8, now: 0, catalog: many }).model;
      for (const key of String(i).padStart(2, '0')) model = reduce(model, { type: 'key', key: key as PhoneKey }, { maxDigits: 8, now: 0, catalog: many }).model;
      model = reduce(model, { type: 'key', key: '#' }, { maxDigits: 8, now: 0, catalog: many }).model;
    }
    expect(model.order!.lines).toHaveLength(20);
    expect(model.order!.message).toBe('at most 20 lines');
  });

  it('backspace deletes a digit, then the last line; cancel clears the typing, then drops the order', () => {
    let r = run([...keys('print'), ...typed('12#7*2'), ...keys('backspace')], talking());
    expect(r.model.order!.input).toBe('7*');
    r = run(keys('backspace', 'backspace', 'backspace'), r.model);
    expect(r.model.order!.input).toBe('');
    expect(r.model.order!.lines).toEqual([]);
    r = run([...typed('12#5'), ...keys('cancel')], r.model);
    expect(r.model.order).toMatchObject({ input: '', lines: [{ code: '12' }] });
    r = run(keys('cancel'), r.model);
    expect(r.model.order).toBeNull();
    expect(r.model.state.name).toBe('talking');
    expect(r.effects).toEqual([]);
  });

  it('OK shows the total; PRINT files the order with its slip; the result shows until the next key', () => {
    let r = run([...keys('print'), ...typed('12*2#'), ...keys('ok')], talking());
    expect(r.model.order!.phase).toBe('review');
    expect(screen(r.model)).toContain('1 line, total 36.00');
    expect(screen(r.model).at(-1)).toMatch(/^Back\s+Save\s+Print$/);
    r = run(keys('print'), r.model);
    expect(r.effects).toEqual([{ type: 'placeOrder', print: true, order: { number: '13800138000', contactId: 'c-1', callId: 'in-1', items: [{ code: '12', qty: 2 }], note: null } }]);
    expect(r.model.order!.phase).toBe('sending');
    expect(run(typed('5'), r.model).model).toBe(r.model); // keys wait while it is sent
    r = run([{ type: 'orderResult', ok: true, message: 'Order saved, slip printing' }], r.model);
    expect(screen(r.model)).toContain('Order saved, slip printing');
    r = run(keys('ok'), r.model);
    expect(r.model.order).toBeNull();
    expect(screen(r.model)[0]).toBe('Connected (speaker)');
  });

  it('PRINT straight from entry adds the typed line first; OK in review saves without printing', () => {
    const direct = run([...keys('print'), ...typed('7*2'), ...keys('print')], talking());
    expect(direct.effects).toEqual([{ type: 'placeOrder', print: true, order: expect.objectContaining({ items: [{ code: '7', qty: 2 }] }) }]);
    const saved = run([...keys('print'), ...typed('7#'), ...keys('ok', 'ok')], talking());
    expect(saved.effects).toEqual([{ type: 'placeOrder', print: false, order: expect.objectContaining({ items: [{ code: '7', qty: 1 }] }) }]);
    const empty = run(keys('print', 'print'), talking());
    expect(empty.effects).toEqual([]);
    expect(empty.model.order!.message).toBe('no items yet');
  });

  it('a failed order goes back to entry with the lines kept and the reason shown', () => {
    let r = run([...keys('print'), ...typed('12#'), ...keys('print')], talking());
    r = run([{ type: 'orderResult', ok: false, message: 'Not saved: disk full' }], r.model);
    expect(r.model.order).toMatchObject({ phase: 'entry', message: 'Not saved: disk full', lines: [{ code: '12' }] });
  });

  it('the call ending keeps the order on the screen; hanging up still works during entry', () => {
    let r = run([...keys('print'), ...typed('12#')], talking());
    r = run([{ type: 'call', call, state: 'ended', reason: 'remote-hangup' }], r.model);
    expect(r.model.state.name).toBe('idle');
    expect(screen(r.model)[0]).toBe('Order: Wang Li');
    const held = run([{ type: 'hook', offHook: true }, ...keys('print'), { type: 'hook', offHook: false }], talking());
    expect(held.effects).toEqual([{ type: 'hangup', callId: 'in-1', reason: 'local-hangup' }]);
    expect(held.model.order).not.toBeNull();
  });

  it("right after a call the idle screen offers 'Order' for that caller; it goes with the next state change", () => {
    const ended = run([{ type: 'call', call, state: 'ended', reason: 'remote-hangup' }], talking()).model;
    expect(ended.offerOrder).toEqual({ number: '13800138000', contactId: 'c-1', name: 'Wang Li', callId: 'in-1' });
    expect(screen(ended).at(-1)).toMatch(/^Redial\s+Order\s+Menu$/);
    const opened = run(keys('soft2'), ended).model;
    expect(opened.order).toMatchObject({ customer: { contactId: 'c-1', callId: 'in-1' }, phase: 'entry' });
    expect(run(keys('cancel', 'print'), ended).model.order).toBeNull();
    // a call that was never answered offers no order
    const missed = run([{ type: 'call', call, state: 'ringing' }, { type: 'call', call, state: 'ended', reason: 'cancelled' }]).model;
    expect(missed.offerOrder).toBeNull();
  });

  it('a new call rings over an order being entered, which comes back afterwards; a finished order is cleared', () => {
    const other: CallInfo = { ...call, callId: 'in-2', number: '13900000000' };
    let r = run([...keys('print'), ...typed('12#'), { type: 'call', call, state: 'ended', reason: 'remote-hangup' }], talking());
    r = run([{ type: 'call', call: other, state: 'ringing' }], r.model);
    expect(r.model.state.name).toBe('ringing');
    expect(screen(r.model)[0]).toBe('Incoming call');
    r = run([{ type: 'call', call: other, state: 'ended', reason: 'cancelled' }], r.model);
    expect(r.model.order!.lines).toHaveLength(1);
    r = run([...keys('print'), { type: 'orderResult', ok: true, message: 'Order saved' }, { type: 'call', call: other, state: 'ringing' }], r.model);
    expect(r.model.order).toBeNull();
  });

  it('the screen pop shows the last order with its age', () => {
    const now = new Date(2026, 10, 24, 12);
    expect(daysAgo(new Date(2026, 10, 21, 18).getTime(), now)).toBe('3 days ago');
    expect(daysAgo(new Date(2026, 10, 23, 23).getTime(), now)).toBe('yesterday');
    expect(daysAgo(now.getTime(), now)).toBe('today');
    expect(daysAgo(null, now)).toBeNull();
    expect(lastOrderLine({ at: new Date(2026, 10, 21).getTime(), summary: '2x Noodles, 36.00' }, null)).toBe('Last order 2x Noodles, 36.00');
    expect(lastOrderLine({ at: now.getTime(), summary: '2x Noodles' }, now)).toBe('Last order 2x Noodles, today');
    const ringing = run([{ type: 'screenPop', pop: { ...pop, interactionCount: 2, lastOrder: { kind: 'order', at: null, summary: '2x Noodles, 36.00' } } }, { type: 'call', call, state: 'ringing' }]).model;
    expect(screen(ringing)).toContain('Last order 2x Noodles, 36.00');
  });

  it('an order line keeps its amount whole and cuts a long name', () => {
    expect(orderLineText({ qty: 3, name: 'Noodles', unitPrice: 1800 }, 'CNY')).toBe('3x Noodles 54.00');
    const long = orderLineText({ qty: 12, name: 'Extra large seafood noodle soup bowl', unitPrice: 12345 }, 'CNY');
    expect(long).toHaveLength(30);
    expect(long.endsWith('~ 1481.40')).toBe(true);
  });

  it("'*' in review types a note by multi-tap; OK keeps it, cancel drops the change; the note goes with the order", () => {
    const at = (now: number, ...k: PhoneKey[]) => (model: PhoneModel) => {
      for (const key of k) model = reduce(model, { type: 'key', key }, { maxDigits: 8, now, catalog }).model;
      return model;
    };
    let model = run([...keys('print'), ...typed('12#'), ...keys('ok')], talking()).model;
    expect(screen(model)).toContain('* adds a note, PRINT slip');
    model = at(0, '*')(model);
    expect(model.order!.phase).toBe('note');
    expect(screen(model)).toContain('Note for the order:');
    // 'ring' then a space and '2x': 7-7-7 r, 4-4-4 i, 6-6 n, 4 g (new key each time), 0 space
    model = at(2000, '7', '7', '7')(model);
    model = at(4000, '4', '4', '4')(model);
    model = at(6000, '6', '6')(model);
    model = at(8000, '4')(model);
    model = at(10_000, '0')(model);
    model = at(12_000, '2', '2')(model);
    expect(model.order!.noteEdit!.text).toBe('ring b');
    model = at(14_000, 'backspace', 'backspace')(model);
    expect(model.order!.noteEdit!.text).toBe('ring');
    expect(screen(model)).toContain('ring_');
    expect(screen(model).at(-1)).toMatch(/^Del\s+Done$/);
    expect(softKeyAction(model, 'soft4')).toBe('ok');
    model = at(16_000, 'ok')(model);
    expect(model.order).toMatchObject({ phase: 'review', note: 'ring', noteEdit: null });
    expect(screen(model)).toContain('Note: ring');
    // editing again and cancelling keeps the note as it was
    model = at(18_000, '*', '9', 'cancel')(model);
    expect(model.order).toMatchObject({ phase: 'review', note: 'ring' });
    const { effects } = run(keys('print'), model);
    expect(effects).toEqual([{ type: 'placeOrder', print: true, order: expect.objectContaining({ note: 'ring', items: [{ code: '12', qty: 1 }] }) }]);
    // the note is bounded on the keypad
    let long = at(0, '*')(model);
    for (let i = 0; i < MAX_KEYPAD_NOTE + 5; i++) long = at(i * 2000, i % 2 ? '2' : '3')(long);
    expect(long.order!.noteEdit!.text).toHaveLength(MAX_KEYPAD_NOTE);
  });

  it('multi-tap cycles the letters of one key within the time, and another key or a pause starts a new letter', () => {
    let typing = { text: '', lastKey: null as { key: string; at: number } | null };
    for (const [key, now] of [['2', 0], ['2', 500], ['2', 900], ['3', 1000], ['3', 3000]] as const) {
      const next = multiTap(typing, key, now, 10);
      if (next === null || next === 'full') throw new Error('not typed');
      typing = next;
    }
    expect(typing.text).toBe('cdd');
    expect(multiTap(typing, 'ok', 0, 10)).toBeNull();
    expect(multiTap({ text: 'abc', lastKey: null }, '2', 0, 3)).toBe('full');
  });

  it('a scan adds one of the item with that barcode; an unknown barcode is said and changes nothing', () => {
    let r = run([...keys('print'), ...typed('7#'), ...typed('12'), { type: 'barcode', code: '6901234567892' }, { type: 'barcode', code: '6901234567892' }], talking());
    expect(r.model.order!.lines.map((l) => [l.code, l.qty])).toEqual([['7', 1], ['12', 2]]);
    // what was typed for the next line stays
    expect(r.model.order!.input).toBe('12');
    r = run([{ type: 'barcode', code: '0000000000000' }], r.model);
    expect(r.model.order).toMatchObject({ message: 'unknown barcode 0000000000000', lines: [{ qty: 1 }, { qty: 2 }] });
    // scans wait while the order is reviewed or sent
    const review = run([...keys('cancel', 'ok')], r.model).model;
    expect(review.order!.phase).toBe('review');
    expect(run([{ type: 'barcode', code: '6901234567892' }], review).model).toBe(review);
  });

  it('a scan opens the order: for the caller during a call, for the last caller after it, else a counter order', () => {
    const during = run([{ type: 'barcode', code: '6901234567892' }], talking()).model;
    expect(during.order).toMatchObject({ customer: { number: '13800138000', name: 'Wang Li' }, lines: [{ code: '12', qty: 1 }] });
    const after = run([{ type: 'call', call, state: 'ended', reason: 'remote-hangup' }, { type: 'barcode', code: '6901234567892' }], talking()).model;
    expect(after.order).toMatchObject({ customer: { callId: 'in-1' }, lines: [{ qty: 1 }] });
    const counter = run([{ type: 'barcode', code: '6901234567892' }]);
    expect(counter.model.order).toMatchObject({ customer: { number: '', name: 'Counter', callId: null }, lines: [{ code: '12' }] });
    expect(screen(counter.model)[0]).toBe('Order: Counter');
    const filed = run([...keys('print')], counter.model);
    expect(filed.effects).toEqual([{ type: 'placeOrder', print: true, order: { number: '', contactId: null, callId: null, items: [{ code: '12', qty: 1 }], note: null } }]);
    // ringing or dialing: a scan is not an order
    const ringing = run([{ type: 'call', call, state: 'ringing' }]).model;
    expect(run([{ type: 'barcode', code: '6901234567892' }], ringing).model).toBe(ringing);
  });

  it("the printer's trouble shows on the idle screen: paper, cover and offline always, a missing printer only while slips wait", () => {
    const ok = { online: true, coverOpen: false, paperNearEnd: false, paperOut: false };
    expect(printerProblem({ connected: true, status: ok }, 0)).toBeNull();
    expect(printerProblem({ connected: false, status: null }, 0)).toBeNull();
    expect(printerProblem({ connected: false, status: null }, 2)).toBe('No printer, 2 slips wait');
    expect(printerProblem({ connected: true, status: { ...ok, paperOut: true, online: false } }, 1)).toBe('Printer paper out, 1 slip waits');
    expect(printerProblem({ connected: true, status: { ...ok, coverOpen: true, online: false } }, 0)).toBe('Printer cover open');
    expect(printerProblem({ connected: true, status: { ...ok, online: false } }, 0)).toBe('Printer offline');
    expect(printerProblem({ connected: true, status: { ...ok, paperNearEnd: true } }, 3)).toBe('Printer paper low');
    const idle = textOf(phoneView(initialModel(), { deviceName: 'Shop', wallTime: null, now: 0, printerProblem: 'Printer paper out' })).map((r) => r.trim());
    expect(idle).toContain('Printer paper out');
    // a line that cannot carry calls matters more
    const both = textOf(phoneView(initialModel(), { deviceName: 'Shop', wallTime: null, now: 0, printerProblem: 'Printer paper out', lineProblem: 'main: wrong password' })).map((r) => r.trim());
    expect(both).toContain('main: wrong password');
    // in review, where PRINT is next
    const review = run([...keys('print'), ...typed('12#'), ...keys('ok')], talking()).model;
    const rows = textOf(phoneView(review, { deviceName: 'Shop', wallTime: null, now: 0, currency: 'CNY', printerProblem: 'Printer cover open' })).map((r) => r.trim());
    expect(rows).toContain('Printer cover open');
  });
});
