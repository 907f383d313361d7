import { DriverError } from '../common/errors.js';
import { TypedEmitter } from '../common/typed-emitter.js';
import type { HidDeviceInfo, HidPhoneKey, TelephonyHidDriver, TelephonyHidEvents, TelephonyLeds } from './types.js';

/** Simulated HID telephony devices: attach/detach, inject hook and keys, record LED writes. */
export class SimTelephonyHid extends TypedEmitter<TelephonyHidEvents> implements TelephonyHidDriver {
  readonly #devices = new Map<string, HidDeviceInfo>();
  readonly leds = new Map<string, TelephonyLeds>();

  async open(): Promise<void> {}
  async close(): Promise<void> {}

  devices(): HidDeviceInfo[] {
    return [...this.#devices.values()];
  }

  async setLeds(deviceId: string, leds: Partial<TelephonyLeds>): Promise<void> {
    if (!this.#devices.has(deviceId)) throw new DriverError('DRIVER_NOT_OPEN', `no HID device '${deviceId}'`);
    const current = this.leds.get(deviceId) ?? { offHook: false, ring: false, mute: false, hold: false, microphone: false };
    this.leds.set(deviceId, { ...current, ...leds });
  }

  attach(info: HidDeviceInfo): void {
    this.#devices.set(info.id, info);
    this.emit('deviceAttached', info);
  }
  detach(id: string): void {
    if (this.#devices.delete(id)) this.emit('deviceDetached', { id });
  }
  injectHook(deviceId: string, offHook: boolean): void {
    this.emit('hookChanged', { deviceId, offHook });
  }
  injectKey(deviceId: string, key: HidPhoneKey): void {
    this.emit('keyPressed', { deviceId, key });
  }
}
