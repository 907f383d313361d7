import type { HidPhoneButton, TelephonyHidDriver, TelephonyLeds } from '../../drivers/hid/types.js';
import type { PhoneKey } from '../../drivers/mcu/types.js';
import type { EventBus } from '../core/bus.js';
import { errorMessage } from '../core/errors.js';
import type { BusEvents } from '../core/events.js';
import type { Logger } from '../core/log.js';
import type { Service } from '../core/services.js';

export interface HidServiceContext {
  bus: EventBus<BusEvents>;
  log: Logger;
  hid: TelephonyHidDriver;
}

/** What a relative HID button means to the phone. */
const BUTTON_KEYS: Partial<Record<HidPhoneButton, PhoneKey>> = {
  mute: 'mute',
  redial: 'redial',
  hold: 'hold',
  transfer: 'transfer',
  speakerPhone: 'speaker',
  drop: 'cancel',
};

/**
 * USB handsets and headsets (HID telephony): owns the HID driver, turns its hook, keys and buttons
 * into `hookChanged` / `keyPressed` facts (source 'hid'), and echoes the phone's state on the
 * devices' LEDs (headsets expect the host to light off-hook and ring), also right after a hot-plug.
 */
export class HidService implements Service {
  readonly #off: Array<() => void> = [];
  #leds: Partial<TelephonyLeds> = { offHook: false, ring: false };

  constructor(private readonly ctx: HidServiceContext) {}

  async start(): Promise<void> {
    const { hid, bus, log } = this.ctx;
    this.#off.push(
      hid.on('deviceAttached', (device) => {
        log.info({ device: device.id, product: device.product }, 'HID telephony device attached');
        bus.emit('peripheralChanged', { kind: 'hid', id: device.id, attached: true, product: device.product });
        this.write(device.id, this.#leds);
      }),
      hid.on('deviceDetached', ({ id }) => {
        log.info({ device: id }, 'HID telephony device detached');
        bus.emit('peripheralChanged', { kind: 'hid', id, attached: false, product: null });
      }),
      hid.on('deviceError', ({ path, error }) => log.warn({ path, code: error.code }, `HID device unusable: ${error.message}`)),
      hid.on('hookChanged', ({ offHook }) => bus.emit('hookChanged', { offHook, source: 'hid' })),
      hid.on('keyPressed', ({ key }) => bus.emit('keyPressed', { key, long: false, source: 'hid' })),
      hid.on('buttonPressed', ({ button }) => {
        const key = BUTTON_KEYS[button];
        if (key) bus.emit('keyPressed', { key, long: false, source: 'hid' });
      }),
      bus.on('hid', 'phoneStateChanged', ({ state }) => this.update({ offHook: state === 'dialing' || state === 'calling' || state === 'talking' })),
      bus.on('hid', 'ringerChanged', ({ ringing }) => this.update({ ring: ringing })),
    );
    await hid.open();
  }

  async stop(): Promise<void> {
    for (const off of this.#off.splice(0)) off();
    await this.ctx.hid.close();
  }

  private update(change: Partial<TelephonyLeds>): void {
    this.#leds = { ...this.#leds, ...change };
    for (const device of this.ctx.hid.devices()) this.write(device.id, change);
  }

  private write(deviceId: string, leds: Partial<TelephonyLeds>): void {
    this.ctx.hid.setLeds(deviceId, leds).catch((error: unknown) => this.ctx.log.warn({ device: deviceId }, `HID LED write failed: ${errorMessage(error)}`));
  }
}
