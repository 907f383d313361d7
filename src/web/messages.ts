import { isPhoneKey, type LedId, type LedState, type PhoneKey, type RingCadence } from '../../drivers/mcu/types.js';
import { MAX_SCAN_LENGTH } from '../../drivers/scanner/types.js';
import type { ScreenPop } from '../core/events.js';
import type { OrderCaller } from './orders-api.js';
import type { PrinterMessage, SlipMessage } from './paper.js';
import type { PoleMessage, PosHello } from './pos.js';

/** The virtual phone's WebSocket protocol (JSON text frames), both directions, validated and bounded. */

export type ClientMessage =
  | { type: 'key'; key: PhoneKey; long?: boolean }
  | { type: 'hook'; offHook: boolean }
  | { type: 'incomingCall'; number: string; name: string | null; line: 'sim' | 'analog' }
  | { type: 'remoteHangup' }
  /** the sim board's barcode scanner reads `code` (printable ASCII, 1 to MAX_SCAN_LENGTH characters) */
  | { type: 'scan'; code: string };

export type ServerMessage =
  /** `pos`: the sim board's barcode scanner and pole display, for the page's boxes (pos.ts) */
  | { type: 'hello'; board: string; display: { width: number; height: number }; pos: PosHello }
  | { type: 'frame'; x: number; y: number; width: number; height: number; bits: string }
  | { type: 'text'; rows: string[] }
  | { type: 'ringer'; cadence: RingCadence | null }
  | { type: 'led'; led: LedId; state: LedState }
  | { type: 'hook'; offHook: boolean }
  | { type: 'phone'; state: string }
  | { type: 'screenPop'; pop: ScreenPop }
  /** the customer of the current or last call, for the Orders panel (every board also has GET /api/orders/caller) */
  | { type: 'caller'; caller: OrderCaller | null }
  /** a printed slip for the paper strip (sim board; bounded in paper.ts) */
  | SlipMessage
  /** the printer indicator */
  | PrinterMessage
  /** what the customer pole display shows (sim board; bounded in pos.ts) */
  | PoleMessage
  | { type: 'error'; message: string };

export const MAX_CLIENT_MESSAGE_BYTES = 4096;
const NUMBER = /^\+?[0-9*#]{1,32}$/;
/** what a scanner can type: printable ASCII (space to tilde), as the scanner drivers check it */
const SCAN_CODE = new RegExp(`^[\\x20-\\x7e]{1,${MAX_SCAN_LENGTH}}$`);

/** Parse one message from the browser; returns an error string for anything malformed. */
export function parseClientMessage(data: string): ClientMessage | { error: string } {
  if (data.length > MAX_CLIENT_MESSAGE_BYTES) return { error: `message exceeds ${MAX_CLIENT_MESSAGE_BYTES} bytes` };
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(data) as Record<string, unknown>;
  } catch {
    return { error: 'message is not JSON' };
  }
  if (typeof raw !== 'object' || raw === null) return { error: 'message must be a JSON object' };
  switch (raw.type) {
    case 'key':
      if (!isPhoneKey(raw.key)) return { error: `unknown key ${JSON.stringify(raw.key)}` };
      return { type: 'key', key: raw.key, long: raw.long === true };
    case 'hook':
      if (typeof raw.offHook !== 'boolean') return { error: 'hook needs offHook: true|false' };
      return { type: 'hook', offHook: raw.offHook };
    case 'incomingCall': {
      if (typeof raw.number !== 'string' || !NUMBER.test(raw.number)) return { error: 'caller number: 1 to 32 digits, * or #, optional leading +' };
      const name = raw.name === undefined || raw.name === null || raw.name === '' ? null : raw.name;
      if (name !== null && (typeof name !== 'string' || name.length > 64)) return { error: 'caller name: text of at most 64 characters' };
      const line = raw.line === undefined ? 'sim' : raw.line;
      if (line !== 'sim' && line !== 'analog') return { error: "line: 'sim' or 'analog'" };
      return { type: 'incomingCall', number: raw.number, name, line };
    }
    case 'remoteHangup':
      return { type: 'remoteHangup' };
    case 'scan':
      if (typeof raw.code !== 'string' || !SCAN_CODE.test(raw.code)) return { error: `barcode: 1 to ${MAX_SCAN_LENGTH} printable ASCII characters` };
      return { type: 'scan', code: raw.code };
    default:
      return { error: `unknown message type ${JSON.stringify(raw.type)}` };
  }
}
