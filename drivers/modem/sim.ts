import { DriverError } from '../common/errors.js';
import { TypedEmitter } from '../common/typed-emitter.js';
import type { ModemDriver, ModemEvents } from './types.js';

/** Simulated cellular modem: records sent SMS, lets tests inject received SMS, calls and failures. */
export class SimModem extends TypedEmitter<ModemEvents> implements ModemDriver {
  readonly sent: Array<{ to: string; text: string; reference: number }> = [];
  /** When set, the next sendSms fails with this +CMS ERROR code. */
  failNextWith: number | null = null;
  rssi: number | null = 20;
  #reference = 0;

  async open(): Promise<void> {
    this.emit('registrationChanged', { registered: true, operator: 'SIM-NET' });
  }
  async close(): Promise<void> {}

  async sendSms(message: { to: string; text: string }): Promise<{ references: number[] }> {
    if (this.failNextWith !== null) {
      const code = this.failNextWith;
      this.failNextWith = null;
      throw new DriverError('DRIVER_IO', `+CMS ERROR: ${code}`);
    }
    const reference = this.#reference++ & 0xff;
    this.sent.push({ ...message, reference });
    return { references: [reference] };
  }

  async signalQuality(): Promise<{ rssi: number | null }> {
    return { rssi: this.rssi };
  }

  injectSms(from: string, text: string, receivedAt: string | null = null): void {
    this.emit('smsReceived', { from, text, receivedAt });
  }
  injectCall(number: string | null): void {
    this.emit('incomingCall', { number, withheld: number === null });
  }
}
