import { describe, expect, it } from '@jest/globals';
import type { PhoneKey } from '../../../drivers/mcu/types.js';
import type { CallInfo } from '../../../src/core/events.js';
import { initialModel, reduce, type PhoneEffect, type PhoneInput, type PhoneModel } from '../../../src/phone/state.js';

/** Feed inputs through the reducer, collecting effects. */
function run(inputs: PhoneInput[], start: PhoneModel = initialModel()) {
  let model = start;
  const effects: PhoneEffect[] = [];
  for (const input of inputs) {
    const result = reduce(model, input, { maxDigits: 8, now: 1000 });
    model = result.model;
    effects.push(...result.effects);
  }
  return { model, effects };
}
const keys = (...k: PhoneKey[]): PhoneInput[] => k.map((key) => ({ type: 'key', key }));
const inbound: CallInfo = { callId: 'in-1', lineId: 'sim', lineKind: 'sim', direction: 'inbound', number: '13800138000', name: 'Wang Li' };
const outbound = (number: string): CallInfo => ({ callId: 'out-1', lineId: 'sim', lineKind: 'sim', direction: 'outbound', number, name: null });

describe('phone state machine', () => {
  it('predials on-hook, edits with backspace, and dials on # using the speaker', () => {
    const { model, effects } = run([...keys('5', '5', '7', 'backspace', '1', '#')]);
    expect(effects).toEqual([{ type: 'placeCall', number: '551' }]);
    expect(model.state).toMatchObject({ name: 'calling', number: '551', audio: 'speaker' });
    expect(model.lastDialed).toBe('551');
  });

  it('backspace on the last predial digit returns to idle; # without digits does nothing', () => {
    expect(run(keys('5', 'backspace')).model.state.name).toBe('idle');
    expect(run(keys('#')).model.state.name).toBe('idle');
  });

  it('off-hook dialing dials on the inter-digit timeout, not before there are digits', () => {
    const lifted = run([{ type: 'hook', offHook: true }, { type: 'dialTimeout' }]);
    expect(lifted.model.state).toMatchObject({ name: 'dialing', digits: '', audio: 'handset' });
    const { model, effects } = run([{ type: 'dialTimeout' }, ...keys('1', '2')], lifted.model);
    expect(effects).toEqual([]);
    const dialed = run([{ type: 'dialTimeout' }], model);
    expect(dialed.effects).toEqual([{ type: 'placeCall', number: '12' }]);
    expect(dialed.model.state).toMatchObject({ name: 'calling', audio: 'handset' });
  });

  it('predial timeout clears on-hook digits; lifting the handset after predial dials', () => {
    expect(run([...keys('1', '2'), { type: 'predialTimeout' }]).model.state.name).toBe('idle');
    const { effects, model } = run([...keys('1', '2'), { type: 'hook', offHook: true }]);
    expect(effects).toEqual([{ type: 'placeCall', number: '12' }]);
    expect(model.state).toMatchObject({ name: 'calling', audio: 'handset' });
  });

  it('caps the number of digits', () => {
    expect(run(keys('1', '2', '3', '4', '5', '6', '7', '8', '9', '0')).model.state).toMatchObject({ digits: '12345678' });
  });

  it('outgoing call: attaches the line call, shows alerting, talks when answered, ends on hook down', () => {
    let r = run([{ type: 'hook', offHook: true }, ...keys('5', '#')]);
    r = run([{ type: 'call', call: outbound('5'), state: 'alerting' }], r.model);
    expect(r.model.state).toMatchObject({ name: 'calling', alerting: true, call: { callId: 'out-1' } });
    r = run([{ type: 'call', call: outbound('5'), state: 'active' }], r.model);
    expect(r.model.state).toMatchObject({ name: 'talking', since: 1000, audio: 'handset' });
    r = run([{ type: 'key', key: '9' }], r.model);
    expect(r.effects).toEqual([{ type: 'sendDtmf', callId: 'out-1', digits: '9' }]);
    r = run([{ type: 'hook', offHook: false }], r.model);
    expect(r.effects).toEqual([{ type: 'hangup', callId: 'out-1', reason: 'local-hangup' }]);
    expect(r.model.state.name).toBe('idle');
  });

  it('a busy far end returns to idle with a notice', () => {
    let r = run(keys('5', '#'));
    r = run([{ type: 'call', call: outbound('5'), state: 'alerting' }, { type: 'call', call: outbound('5'), state: 'ended', reason: 'busy' }], r.model);
    expect(r.model.state).toEqual({ name: 'idle', notice: 'Busy' });
  });

  it('incoming call rings, is answered by lifting the handset, and ends when the far end hangs up', () => {
    let r = run([{ type: 'call', call: inbound, state: 'ringing' }]);
    expect(r.model.state).toMatchObject({ name: 'ringing', answering: null });
    r = run([{ type: 'hook', offHook: true }], r.model);
    expect(r.effects).toEqual([{ type: 'answer', callId: 'in-1' }]);
    r = run([{ type: 'call', call: inbound, state: 'active' }], r.model);
    expect(r.model.state).toMatchObject({ name: 'talking', audio: 'handset' });
    r = run([{ type: 'call', call: inbound, state: 'ended', reason: 'remote-hangup' }], r.model);
    expect(r.model.state).toEqual({ name: 'idle', notice: 'Call ended' });
  });

  it('incoming call answered on speaker; speaker again hangs up', () => {
    let r = run([{ type: 'call', call: inbound, state: 'ringing' }, { type: 'key', key: 'speaker' }, { type: 'call', call: inbound, state: 'active' }]);
    expect(r.model.state).toMatchObject({ name: 'talking', audio: 'speaker' });
    r = run([{ type: 'key', key: 'speaker' }], r.model);
    expect(r.effects).toEqual([{ type: 'hangup', callId: 'in-1', reason: 'local-hangup' }]);
  });

  it('cancel rejects a ringing call; a second call while busy is refused as busy', () => {
    const rejected = run([{ type: 'call', call: inbound, state: 'ringing' }, { type: 'key', key: 'cancel' }]);
    expect(rejected.effects).toEqual([{ type: 'hangup', callId: 'in-1', reason: 'rejected' }]);
    const second = { ...inbound, callId: 'in-2' };
    const busy = run([{ type: 'call', call: inbound, state: 'ringing' }, { type: 'call', call: second, state: 'ringing' }]);
    expect(busy.effects).toEqual([{ type: 'hangup', callId: 'in-2', reason: 'busy' }]);
    expect(busy.model.state).toMatchObject({ name: 'ringing', call: { callId: 'in-1' } });
  });

  it('switches a call from handset to speaker so replacing the handset keeps it', () => {
    let r = run([{ type: 'hook', offHook: true }, ...keys('5', '#'), { type: 'call', call: outbound('5'), state: 'active' }, { type: 'key', key: 'speaker' }]);
    expect(r.model.state).toMatchObject({ name: 'talking', audio: 'speaker' });
    r = run([{ type: 'hook', offHook: false }], r.model);
    expect(r.effects).toEqual([]);
    expect(r.model.state.name).toBe('talking');
  });

  it('redial dials the last number; a failed call shows why', () => {
    let r = run(keys('7', '7', '#'));
    r = run([{ type: 'call', call: outbound('77'), state: 'ended', reason: 'local-hangup' }, { type: 'hangup' }], r.model);
    r = run([{ type: 'key', key: 'redial' }], { ...r.model, state: { name: 'idle', notice: null } });
    expect(r.effects).toEqual([{ type: 'placeCall', number: '77' }]);
    r = run([{ type: 'callFailed', message: 'no line is configured' }], r.model);
    expect(r.model.state).toEqual({ name: 'idle', notice: 'no line is configured' });
  });

  it('soft keys do what the bottom row of the display says', () => {
    const dialing = run(keys('1', '2', 'soft1'));
    expect(dialing.model.state).toMatchObject({ name: 'dialing', digits: '1' });
    expect(run(['soft4'].map((k) => ({ type: 'key', key: k }) as PhoneInput), dialing.model).effects).toEqual([{ type: 'placeCall', number: '1' }]);
    const ringing = run([{ type: 'call', call: inbound, state: 'ringing' }]);
    expect(run(keys('soft4'), ringing.model).effects).toEqual([{ type: 'answer', callId: 'in-1' }]);
    expect(run(keys('soft1'), ringing.model).effects).toEqual([{ type: 'hangup', callId: 'in-1', reason: 'rejected' }]);
  });
});

describe('phone: screen pop, missed calls and saving a caller', () => {
  const missed = {
    count: 2,
    calls: [
      { id: 'h2', number: '13900000002', displayNumber: '139 0000 0002', name: null, at: null },
      { id: 'h1', number: '13800138000', displayNumber: '138 0013 8000', name: 'Wang Li', at: null },
    ],
  };
  const pop = (contact: boolean) => ({
    callId: 'in-1', lineId: 'sim', direction: 'inbound' as const, number: '13800138000', displayNumber: '138 0013 8000',
    contact: contact ? { id: 'c1', name: 'Wang Li', company: 'Garden Cafe', tag: null, note: null } : null,
    interactionCount: 0, recent: [], lastOrder: null, openItems: [],
  });

  it('keeps the screen pop of the ringing call into the conversation', () => {
    const { model } = run([
      { type: 'call', call: inbound, state: 'ringing' },
      { type: 'screenPop', pop: { ...pop(true), callId: 'other' } },
      { type: 'screenPop', pop: pop(true) },
      { type: 'hook', offHook: true },
      { type: 'call', call: inbound, state: 'active' },
    ]);
    expect(model.state).toMatchObject({ name: 'talking', pop: { contact: { name: 'Wang Li' } } });
  });

  it('one key calls a missed caller back; the handset does too', () => {
    const listed = run([{ type: 'missedCalls', missed }, ...keys('soft2')]);
    expect(listed.model.state).toEqual({ name: 'missed', index: 0 });
    const second = run(keys('down', 'down', 'ok'), listed.model);
    expect(second.effects).toEqual([{ type: 'placeCall', number: '13800138000' }]);
    const lifted = run([{ type: 'hook', offHook: true }], listed.model);
    expect(lifted.effects).toEqual([{ type: 'placeCall', number: '13900000002' }]);
    expect(lifted.model.state).toMatchObject({ name: 'calling', audio: 'handset' });
    expect(run(keys('history', 'cancel'), listed.model).model.state.name).toBe('idle');
    // without missed calls the History key says so
    expect(run(keys('history')).model.state).toEqual({ name: 'idle', notice: 'No missed calls' });
  });

  it('the list follows changes and closes when the last missed call is handled', () => {
    const listed = run([{ type: 'missedCalls', missed }, ...keys('history', 'down')]);
    const shorter = run([{ type: 'missedCalls', missed: { count: 1, calls: [missed.calls[0]] } }], listed.model);
    expect(shorter.model.state).toEqual({ name: 'missed', index: 0 });
    expect(run([{ type: 'missedCalls', missed: { count: 0, calls: [] } }], shorter.model).model.state.name).toBe('idle');
  });

  it('saves an unknown caller after the call by multi-tap', () => {
    let now = 0;
    const step = (model: PhoneModel, input: PhoneInput, dt = 2000) => {
      now += dt;
      return reduce(model, input, { maxDigits: 8, now });
    };
    let { model } = run([
      { type: 'call', call: inbound, state: 'ringing' },
      { type: 'screenPop', pop: pop(false) },
      { type: 'call', call: inbound, state: 'ended', reason: 'cancelled' },
    ]);
    expect(model.offerSave).toBe('13800138000');
    model = step(model, { type: 'key', key: 'soft2' }).model;
    expect(model.state).toMatchObject({ name: 'saving', number: '13800138000', text: '' });
    // 9 9 9 (w x y), pause, 4 4 4 (i), 0 (space), 5 (j): "Yi J"
    for (const [key, dt] of [['9', 2000], ['9', 300], ['9', 300], ['4', 2000], ['4', 300], ['4', 300], ['0', 2000], ['5', 2000]] as const) {
      model = step(model, { type: 'key', key }, dt).model;
    }
    expect(model.state).toMatchObject({ text: 'Yi J' });
    model = step(model, { type: 'key', key: 'backspace' }).model;
    const saved = step(model, { type: 'key', key: 'ok' });
    expect(saved.effects).toEqual([{ type: 'saveContact', number: '13800138000', name: 'Yi' }]);
    expect(saved.model.state).toEqual({ name: 'idle', notice: 'Saved Yi' });
    expect(saved.model.offerSave).toBeNull();
  });

  it("a known caller is not offered for saving; 'Save' on the missed list only for unknown numbers", () => {
    const { model } = run([
      { type: 'call', call: inbound, state: 'ringing' },
      { type: 'screenPop', pop: pop(true) },
      { type: 'call', call: inbound, state: 'ended', reason: 'cancelled' },
    ]);
    expect(model.offerSave).toBeNull();
    const listed = run([{ type: 'missedCalls', missed }, ...keys('history')]);
    expect(run(keys('soft1'), listed.model).model.state).toMatchObject({ name: 'saving', number: '13900000002' });
    expect(run(keys('down', 'soft1'), listed.model).model.state).toMatchObject({ name: 'missed', index: 1 });
  });
});
