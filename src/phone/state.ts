import type { PhoneKey } from '../../drivers/mcu/types.js';
import type { CallEndReason, CallInfo, CallState, PhoneStateName } from '../core/events.js';

/**
 * The phone's state machine, pure: (model, input) -> (model, effects). The PhoneService feeds it
 * driver and bus events and carries out the effects; tests drive it directly.
 *
 * idle -> dialing (digits, backspace, '#' / OK / timeout dials) -> calling -> talking -> idle
 * idle -> ringing (caller shown, ringer on) -> talking (handset, speaker or OK) -> idle
 */

/** Where the audio goes: 'none' while predialing on-hook. */
export type AudioPath = 'none' | 'handset' | 'speaker';

export type PhoneState =
  | { name: 'idle'; notice: string | null }
  | { name: 'dialing'; digits: string; audio: AudioPath }
  | { name: 'ringing'; call: CallInfo; answering: AudioPath | null }
  | { name: 'calling'; number: string; call: CallInfo | null; audio: AudioPath; alerting: boolean }
  | { name: 'talking'; call: CallInfo; audio: AudioPath; since: number };

export interface PhoneModel {
  state: PhoneState;
  offHook: boolean;
  lastDialed: string | null;
}

export type PhoneInput =
  | { type: 'hook'; offHook: boolean }
  | { type: 'key'; key: PhoneKey }
  | { type: 'dialTimeout' }
  | { type: 'predialTimeout' }
  | { type: 'dial'; number: string }
  | { type: 'hangup' }
  | { type: 'call'; call: CallInfo; state: CallState; reason?: CallEndReason }
  | { type: 'identified'; call: CallInfo }
  | { type: 'callFailed'; message: string };

export type PhoneEffect =
  | { type: 'placeCall'; number: string }
  | { type: 'answer'; callId: string }
  | { type: 'hangup'; callId: string; reason: CallEndReason }
  | { type: 'sendDtmf'; callId: string; digits: string };

export interface PhoneLimits {
  maxDigits: number;
  /** Monotonic ms, for the talk timer. */
  now: number;
}

export function initialModel(offHook = false): PhoneModel {
  return { state: offHook ? { name: 'dialing', digits: '', audio: 'handset' } : { name: 'idle', notice: null }, offHook, lastDialed: null };
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
export function softKeyAction(state: PhoneState, key: PhoneKey): PhoneKey {
  if (key !== 'soft1' && key !== 'soft4') return key;
  const left = key === 'soft1';
  switch (state.name) {
    case 'idle': return left ? 'redial' : 'menu';
    case 'dialing': return left ? 'backspace' : 'ok';
    case 'ringing': return left ? 'cancel' : 'ok';
    case 'calling': return left ? key : 'cancel';
    case 'talking': return left ? 'hold' : 'cancel';
  }
}

export function reduce(model: PhoneModel, input: PhoneInput, limits: PhoneLimits): { model: PhoneModel; effects: PhoneEffect[] } {
  const effects: PhoneEffect[] = [];
  // The hook input updates `offHook` first; every helper builds on `current`.
  let current = model;
  const next = (state: PhoneState, extra: Partial<PhoneModel> = {}) => ({ model: { ...current, ...extra, state }, effects });
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
      const key = softKeyAction(s, input.key);
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

    case 'callFailed':
      return s.name === 'calling' ? next({ name: 'idle', notice: input.message }) : same();

    case 'call': {
      const { call, state } = input;
      const mine = (s.name === 'ringing' || s.name === 'talking' || s.name === 'calling') && s.call?.callId === call.callId;
      if (state === 'ringing' && call.direction === 'inbound') {
        if (s.name === 'idle') return next({ name: 'ringing', call, answering: null });
        effects.push({ type: 'hangup', callId: call.callId, reason: 'busy' });
        return same();
      }
      // The first event of the call we placed: from now on it is ours.
      const placed = s.name === 'calling' && !s.call && call.direction === 'outbound' && call.number === s.number;
      if (!mine && !placed) return same();
      if (s.name === 'calling' && (state === 'dialing' || state === 'alerting')) return next({ ...s, call, alerting: state === 'alerting' });
      if (state === 'active' && s.name === 'ringing') return next({ name: 'talking', call, audio: s.answering ?? 'speaker', since: limits.now });
      if (state === 'active' && s.name === 'calling') return next({ name: 'talking', call, audio: s.audio, since: limits.now });
      if (state === 'ended') {
        const notice = input.reason === 'local-hangup' ? null : (input.reason && END_NOTICES[input.reason]) ?? 'Call ended';
        return next({ name: 'idle', notice });
      }
      return same();
    }
  }
}
