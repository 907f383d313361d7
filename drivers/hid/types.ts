import type { DriverError } from '../common/errors.js';
import type { TypedEmitter } from '../common/typed-emitter.js';

/** Keys a HID telephony device (usage page 0x0B) can report. */
export type HidPhoneKey = '0' | '1' | '2' | '3' | '4' | '5' | '6' | '7' | '8' | '9' | '*' | '#';

/** Relative (momentary) telephony controls reported as `buttonPressed`. */
export type HidPhoneButton = 'mute' | 'flash' | 'redial' | 'hold' | 'drop' | 'transfer' | 'line' | 'speakerPhone';

/** What a device's report descriptor offers (real drivers fill this in; the sim may leave it out). */
export interface HidTelephonyCapabilities {
  hookSwitch: boolean;
  keypad: boolean;
  buttons: HidPhoneButton[];
  /** The LEDs `setLeds` can drive on this device. */
  leds: (keyof TelephonyLeds)[];
}

export interface HidDeviceInfo {
  id: string;
  vendorId: number;
  productId: number;
  product: string;
  /** Device node (e.g. /dev/hidraw3) for real devices. */
  path?: string;
  capabilities?: HidTelephonyCapabilities;
}

export interface TelephonyHidEvents {
  [event: string]: unknown;
  deviceAttached: HidDeviceInfo;
  deviceDetached: { id: string };
  hookChanged: { deviceId: string; offHook: boolean };
  keyPressed: { deviceId: string; key: HidPhoneKey };
  /** Relative controls (mute, flash, redial, ...) pressed once. */
  buttonPressed: { deviceId: string; button: HidPhoneButton };
  /**
   * A matching device could not be used (descriptor unreadable or malformed, open failed) or the
   * device list could not be read. `path` is null for list failures. Retried when the device
   * appears again.
   */
  deviceError: { path: string | null; error: DriverError };
}

/** LED page 0x08 usages a telephony device may expose. */
export interface TelephonyLeds {
  offHook: boolean;
  ring: boolean;
  mute: boolean;
  hold: boolean;
  microphone: boolean;
  /** The device's ringer (telephony page 0x0B usage 0x9E, an output), where it has one. */
  ringer?: boolean;
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
