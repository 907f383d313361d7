import type { TypedEmitter } from '../common/typed-emitter.js';

/** Keys a HID telephony device (usage page 0x0B) can report. */
export type HidPhoneKey = '0' | '1' | '2' | '3' | '4' | '5' | '6' | '7' | '8' | '9' | '*' | '#';

export interface HidDeviceInfo {
  id: string;
  vendorId: number;
  productId: number;
  product: string;
}

export interface TelephonyHidEvents {
  [event: string]: unknown;
  deviceAttached: HidDeviceInfo;
  deviceDetached: { id: string };
  hookChanged: { deviceId: string; offHook: boolean };
  keyPressed: { deviceId: string; key: HidPhoneKey };
  /** Relative controls (mute, flash, redial, ...) pressed once. */
  buttonPressed: { deviceId: string; button: 'mute' | 'flash' | 'redial' | 'hold' | 'drop' | 'transfer' | 'line' | 'speakerPhone' };
}

/** LED page 0x08 usages a telephony device may expose. */
export interface TelephonyLeds {
  offHook: boolean;
  ring: boolean;
  mute: boolean;
  hold: boolean;
  microphone: boolean;
}

/**
 * USB handsets, headsets and keypads speaking HID telephony.
 * - MUST emit `deviceAttached`/`deviceDetached` on hot-plug without a restart.
 * - `setLeds` writes only the LEDs the device's descriptor has; others are ignored.
 */
export interface TelephonyHidDriver extends Pick<TypedEmitter<TelephonyHidEvents>, 'on' | 'once'> {
  devices(): HidDeviceInfo[];
  setLeds(deviceId: string, leds: Partial<TelephonyLeds>): Promise<void>;
  open(): Promise<void>;
  close(): Promise<void>;
}
