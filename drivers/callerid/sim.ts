import { TypedEmitter } from '../common/typed-emitter.js';
import type { CallerId, CallerIdSource, CallerIdSourceEvents } from './types.js';

/** Simulated caller-ID decoder: tests and the virtual phone inject decoded or rejected messages. */
export class SimCallerIdSource extends TypedEmitter<CallerIdSourceEvents> implements CallerIdSource {
  isOpen = false;
  async open(): Promise<void> {
    this.isOpen = true;
  }
  async close(): Promise<void> {
    this.isOpen = false;
  }
  inject(callerId: Partial<CallerId> & { number: string | null }): void {
    this.emit('callerIdReceived', {
      format: 'mdmf', name: null, numberAbsent: null, nameAbsent: null, ...callerId,
    });
  }
  injectMessageWaiting(messageWaiting: boolean): void {
    this.emit('messageWaitingChanged', {
      messageWaiting,
      callerId: { format: 'mdmf', number: null, name: null, numberAbsent: null, nameAbsent: null, messageWaiting },
    });
  }
  injectRejected(reason: string, bytes: Uint8Array = new Uint8Array()): void {
    this.emit('callerIdRejected', { reason, bytes });
  }
}
