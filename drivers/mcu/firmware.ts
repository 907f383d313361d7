import { DriverError } from '../common/errors.js';
import { crc16, crc32 } from './frame.js';
import type { McuLink } from './link.js';
import {
  capabilityNames, decodeCrc32, decodeHelloReply, encodeFwBegin, encodeFwBlock, encodeHello, encodeMagic, ERR, FW_BLOCK_HEADER, McuNakError, MSG,
  PROTOCOL_VERSION_MAX, PROTOCOL_VERSION_MIN, type HelloReply, type McuMode,
} from './protocol.js';
import { checkHello, type SerialMcuInfo } from './serial.js';
import { silentLog, systemTimers, type McuLog, type McuTimers } from './timers.js';

/**
 * Field update of the MCU firmware over the MCU link (board/mcu-protocol.md §7):
 * FW_ENTER_BOOTLOADER -> (MCU resets) -> HELLO until the bootloader answers -> FW_BEGIN (erase)
 * -> FW_BLOCK × n (each with its CRC-16; NAK BLOCK_CRC resends the block) -> FW_VERIFY (CRC-32 of
 * the whole image) -> FW_REBOOT -> HELLO until the new application answers.
 * A failure leaves the MCU in its bootloader, where the update can simply be run again.
 */

export type FirmwareUpdatePhase = 'bootloader' | 'begin' | 'transfer' | 'verify' | 'reboot' | 'done';

export interface FirmwareUpdateProgress {
  phase: FirmwareUpdatePhase;
  sentBytes: number;
  totalBytes: number;
}

/** The update failed in `phase`; `mcuCode` is the MCU's NAK code name when it refused something. */
export class McuFirmwareError extends DriverError {
  constructor(
    readonly phase: FirmwareUpdatePhase,
    readonly mcuCode: string | null,
    message: string,
    options?: { cause?: unknown },
  ) {
    super('DRIVER_IO', message, options);
    this.name = 'McuFirmwareError';
  }
}

/** Something that can lend the link exclusively (SerialMcu), or the bare link. */
export interface ExclusiveLinkProvider {
  withExclusiveLink<T>(fn: (link: McuLink) => Promise<T>): Promise<T>;
}

export interface McuFirmwareUpdaterOptions {
  /** Image bytes per FW_BLOCK (capped by the MCU's maxPayload). Default 256. */
  blockSize?: number;
  /** Resends of one block after NAK BLOCK_CRC. Default 3. */
  blockRetries?: number;
  /** How long the MCU may take to come back after a reset. Default 5000 ms. */
  resetTimeoutMs?: number;
  /** Pause between HELLOs while waiting for it. Default 100 ms. */
  pollMs?: number;
  timers?: McuTimers;
  log?: McuLog;
}

export interface FirmwareUpdateResult {
  /** The firmware that ran before. */
  previous: string;
  /** HELLO of the new application. */
  info: SerialMcuInfo;
  imageCrc32: number;
  blocks: number;
}

export class McuFirmwareUpdater {
  readonly #provider: ExclusiveLinkProvider;
  readonly #timers: McuTimers;
  readonly #log: McuLog;
  readonly #options: Required<Pick<McuFirmwareUpdaterOptions, 'blockSize' | 'blockRetries' | 'resetTimeoutMs' | 'pollMs'>>;

  constructor(target: ExclusiveLinkProvider | McuLink, options: McuFirmwareUpdaterOptions = {}) {
    this.#provider = 'withExclusiveLink' in target ? target : { withExclusiveLink: (fn) => fn(target) };
    this.#timers = options.timers ?? systemTimers;
    this.#log = options.log ?? silentLog;
    this.#options = {
      blockSize: options.blockSize ?? 256,
      blockRetries: options.blockRetries ?? 3,
      resetTimeoutMs: options.resetTimeoutMs ?? 5000,
      pollMs: options.pollMs ?? 100,
    };
    if (!Number.isInteger(this.#options.blockSize) || this.#options.blockSize < 16) throw new DriverError('DRIVER_INVALID_ARGUMENT', 'blockSize must be an integer >= 16');
  }

  update(image: Uint8Array, options: { onProgress?: (p: FirmwareUpdateProgress) => void } = {}): Promise<FirmwareUpdateResult> {
    if (image.length === 0) return Promise.reject(new DriverError('DRIVER_INVALID_ARGUMENT', 'empty firmware image'));
    return this.#provider.withExclusiveLink((link) => this.run(link, image, options.onProgress ?? (() => undefined)));
  }

  private async run(link: McuLink, image: Uint8Array, progress: (p: FirmwareUpdateProgress) => void): Promise<FirmwareUpdateResult> {
    const total = image.length;
    let phase: FirmwareUpdatePhase = 'bootloader';
    const report = (sentBytes: number): void => progress({ phase, sentBytes, totalBytes: total });
    try {
      // 1. Into the bootloader (unless a failed update left the MCU there).
      report(0);
      const first = await this.hello(link);
      const previous = first.firmware;
      if (first.mode === 'application') {
        if (!capabilityNames(first.capabilities).includes('firmware-update')) {
          throw new McuFirmwareError(phase, null, `the MCU firmware ${first.firmware} does not support field updates`);
        }
        await link.request(MSG.FW_ENTER_BOOTLOADER, encodeMagic());
        await this.waitForMode(link, 'bootloader', first.bootId);
      }
      const boot = await this.hello(link);
      const blockSize = Math.min(this.#options.blockSize, boot.maxPayload - FW_BLOCK_HEADER);

      // 2. Erase and announce the image.
      phase = 'begin';
      report(0);
      const imageCrc32 = crc32(image);
      await link.request(MSG.FW_BEGIN, encodeFwBegin({ imageSize: total, imageCrc32, blockSize }));

      // 3. Blocks, in order; a BLOCK_CRC NAK (bad flash read-back) resends the block.
      phase = 'transfer';
      let blocks = 0;
      for (let offset = 0; offset < total; offset += blockSize) {
        const data = image.subarray(offset, Math.min(total, offset + blockSize));
        const payload = encodeFwBlock({ offset, crc16: crc16(data), data });
        for (let attempt = 0; ; attempt++) {
          try {
            await link.request(MSG.FW_BLOCK, payload);
            break;
          } catch (error) {
            if (error instanceof McuNakError && error.nakCode === ERR.BLOCK_CRC && attempt < this.#options.blockRetries) {
              this.#log.warn({ offset, attempt }, 'MCU firmware block failed its CRC check; resending');
              continue;
            }
            throw error;
          }
        }
        blocks++;
        report(offset + data.length);
      }

      // 4. Whole-image CRC.
      phase = 'verify';
      report(total);
      const computed = decodeCrc32(await link.request(MSG.FW_VERIFY), 'FW_VERIFY reply');
      if (computed !== imageCrc32) throw new McuFirmwareError(phase, 'IMAGE_CRC', `the MCU verified CRC 0x${hex32(computed)}, the image has 0x${hex32(imageCrc32)}`);

      // 5. Start the new application.
      phase = 'reboot';
      report(total);
      await link.request(MSG.FW_REBOOT);
      const app = await this.waitForMode(link, 'application', boot.bootId);
      phase = 'done';
      report(total);
      this.#log.info({ previous, firmware: app.firmware, bytes: total }, 'MCU firmware updated');
      return { previous, info: checkHello(app, { min: PROTOCOL_VERSION_MIN, max: PROTOCOL_VERSION_MAX }, null), imageCrc32, blocks };
    } catch (error) {
      if (error instanceof McuFirmwareError) throw error;
      const nak = error instanceof McuNakError ? error : null;
      let detail = '';
      if (nak?.nakCode === ERR.IMAGE_CRC && nak.detail.length >= 4) detail = ` (MCU computed 0x${hex32(decodeCrc32(nak.detail, 'IMAGE_CRC detail'))})`;
      throw new McuFirmwareError(
        phase,
        nak?.mcuCode ?? null,
        `MCU firmware update failed during ${phase}: ${error instanceof Error ? error.message : String(error)}${detail}` +
          (phase === 'bootloader' ? '' : '; the MCU stays in its bootloader, run the update again'),
        { cause: error },
      );
    }
  }

  /** HELLO in any mode, without arming the MCU's fail-safe (heartbeat 0) during the update. */
  private async hello(link: McuLink, policy?: { timeoutMs: number; retries: number }): Promise<HelloReply> {
    const body = await link.request(MSG.HELLO, encodeHello({ protoMin: PROTOCOL_VERSION_MIN, protoMax: PROTOCOL_VERSION_MAX, resetOutputs: false, heartbeatMs: 0 }), policy);
    const reply = decodeHelloReply(body);
    checkHello(reply, { min: PROTOCOL_VERSION_MIN, max: PROTOCOL_VERSION_MAX }, null, true);
    return reply;
  }

  /** Polls HELLO until the MCU answers in `mode` with a boot id other than `oldBootId`. */
  private async waitForMode(link: McuLink, mode: McuMode, oldBootId: number): Promise<HelloReply> {
    let last = 'no answer';
    let waited = 0;
    while (waited <= this.#options.resetTimeoutMs) {
      await this.sleep(this.#options.pollMs);
      waited += this.#options.pollMs + 200;
      try {
        const reply = await this.hello(link, { timeoutMs: 200, retries: 0 });
        if (reply.mode === mode && reply.bootId !== oldBootId) return reply;
        last = `answered in ${reply.mode} mode (${reply.firmware})`;
      } catch (error) {
        last = error instanceof Error ? error.message : String(error);
      }
    }
    throw new DriverError('DRIVER_TIMEOUT', `the MCU did not come back in ${mode} mode within ${this.#options.resetTimeoutMs} ms: ${last}`);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.#timers.setTimeout(resolve, ms));
  }
}

function hex32(n: number): string {
  return n.toString(16).padStart(8, '0');
}
