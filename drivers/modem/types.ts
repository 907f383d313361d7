import type { TypedEmitter } from '../common/typed-emitter.js';

export interface ModemEvents {
  [event: string]: unknown;
  smsReceived: { from: string; text: string; receivedAt: string | null };
  /** +CLIP on the cellular modem. */
  incomingCall: { number: string | null; withheld: boolean };
  registrationChanged: { registered: boolean; operator: string | null };
}

/**
 * A cellular modem speaking AT commands, used for SMS.
 * - `sendSms` resolves with the network's message reference(s) (one per part) or rejects with the
 *   modem's +CMS ERROR code in the message.
 */
export interface ModemDriver extends Pick<TypedEmitter<ModemEvents>, 'on' | 'once'> {
  open(): Promise<void>;
  close(): Promise<void>;
  sendSms(message: { to: string; text: string }): Promise<{ references: number[] }>;
  signalQuality(): Promise<{ rssi: number | null }>;
}
