import type { CallInfo } from '../core/events.js';
import type { ScreenModel } from '../display/screen.js';
import type { PhoneModel } from './state.js';

export interface ViewContext {
  deviceName: string;
  /** Wall time, or null while it is not trusted (no battery-backed clock). */
  wallTime: Date | null;
  /** Monotonic ms, for the talk timer. */
  now: number;
  /** A line that cannot carry calls and why ('main: wrong password'), or null. */
  lineProblem?: string | null;
}

const two = (n: number) => String(n).padStart(2, '0');

export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const hours = Math.floor(total / 3600);
  const rest = `${two(Math.floor((total % 3600) / 60))}:${two(total % 60)}`;
  return hours > 0 ? `${hours}:${rest}` : rest;
}

/** Who is calling, in words: the name, else why caller ID has none. */
export function callerLabel(call: CallInfo): string {
  if (call.name) return call.name;
  if (call.numberAbsent === 'private' || call.nameAbsent === 'private') return 'Private caller';
  if (call.number) return 'Unknown caller';
  return call.numberAbsent === 'unavailable' ? 'Number unavailable' : 'Incoming call';
}

/** What the 240x128 display shows in each phone state: 8 rows of 16 px, status bar on top, soft keys at the bottom. */
export function phoneView(model: PhoneModel, view: ViewContext): ScreenModel {
  const s = model.state;
  const title = (text: string) => ({ text: ` ${text}`, inverse: true });
  const softKeys = (left: string, right: string) => ({ text: `${left}${' '.repeat(Math.max(1, 30 - left.length - right.length))}${right}` });
  switch (s.name) {
    case 'idle': {
      const time = view.wallTime ? `${two(view.wallTime.getHours())}:${two(view.wallTime.getMinutes())}` : '--:--';
      const date = view.wallTime ? view.wallTime.toISOString().slice(0, 10) : 'time not set';
      return {
        rows: [
          title(view.deviceName), null,
          { text: time, align: 'center' }, { text: date, align: 'center' }, null,
          s.notice ? { text: s.notice, align: 'center' } : null,
          view.lineProblem ? { text: view.lineProblem, align: 'center', inverse: true } : null,
          softKeys('Redial', 'Menu'),
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
    case 'ringing':
      return {
        rows: [
          title('Incoming call'), null,
          { text: callerLabel(s.call), align: 'center' }, { text: s.call.number, align: 'center' }, null,
          { text: s.answering ? 'Answering...' : 'Ringing', align: 'center' }, null,
          softKeys('Reject', 'Answer'),
        ],
      };
    case 'calling':
      return {
        rows: [
          title('Calling'), null,
          { text: s.call?.name ?? s.number, align: 'center' }, s.call?.name ? { text: s.number, align: 'center' } : null, null,
          { text: s.alerting ? 'Ringing...' : 'Dialing...', align: 'center' }, null,
          softKeys('', 'End'),
        ],
      };
    case 'talking':
      return {
        rows: [
          title(s.audio === 'speaker' ? 'Connected (speaker)' : 'Connected'), null,
          { text: s.call.name ?? (s.call.number || callerLabel(s.call)), align: 'center' }, s.call.name ? { text: s.call.number, align: 'center' } : null, null,
          { text: formatDuration(view.now - s.since), align: 'center' }, null,
          softKeys('Hold', 'End'),
        ],
      };
  }
}
