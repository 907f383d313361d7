import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SerialPort } from 'serialport';
import { SimMcuFirmware } from '../../drivers/mcu/sim-firmware.js';
import { createApp, type App } from '../../src/app/app.js';
import type { Board } from '../../src/board/board.js';
import { validateConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { silentLogger } from '../../src/core/log.js';
import { startSocatPtyPair } from './peers/socat.js';
import { openPort, closePort, writePort } from './serial.js';




export interface AnalogRig {
  app: App;
  /** The simulated MCU firmware on the far end of the MCU's pty. */
  firmware: SimMcuFirmware;
  /** The far end of the caller-ID pty: what a decoder chip would write. */
  callerIdPort: SerialPort;
  stop(): Promise<void>;
}

/**
 * The whole runtime on a board whose MCU and caller-ID decoder are UARTs: two socat pty pairs, the
 * real SerialMcu and SerialCallerIdSource on the app's ends, the sim MCU firmware and a writer on
 * the far ends (every byte goes through serialport, the real UART code path).
 */
export async function startAnalogRig(configOverrides: Record<string, unknown> = {}): Promise<AnalogRig> {
  const mcuPair = await startSocatPtyPair();
  const cidPair = await startSocatPtyPair();
  const firmwarePort = await openPort(mcuPair.b);
  const firmware = new SimMcuFirmware(firmwarePort, { timeScale: 0.1 });
  await firmware.start();
  const callerIdPort = await openPort(cidPair.b, 1200);
  const board: Board = {
    id: 'pty-test',
    name: 'MCU and caller-ID decoder on pty pairs',
    compatible: [],
    display: { width: 240, height: 128 },
    mcu: { driver: 'serial', path: mcuPair.a, baudRate: 115200 },
    callerId: { driver: 'serial', path: cidPair.a, baudRate: 1200, format: 'fsk-raw' },
    hid: { driver: 'sim' },
    printer: { driver: 'sim', paperWidthMm: 80 },
    modem: { driver: 'sim' },
    audio: { driver: 'sim' },
  };
  const { config, issues } = validateConfig({ board: 'pty-test', web: { port: 0 }, simLine: { enabled: false }, clock: { trustWallTime: 'always' }, ...configOverrides });
  if (!config) throw new Error(`bad test config: ${JSON.stringify(issues)}`);
  const dataDir = mkdtempSync(join(tmpdir(), 'analog-rig-'));
  const app = createApp({ config: config as Config, board, dataDir, log: silentLogger(), socketPath: join(dataDir, 'ctl.sock'), env: {} });
  const report = await app.start();
  const failed = report.filter((r) => r.status !== 'running');
  if (failed.length > 0) throw new Error(`services did not start: ${JSON.stringify(failed)}`);
  return {
    app,
    firmware,
    callerIdPort,
    stop: async () => {
      await app.stop();
      await firmware.stop();
      await closePort(firmwarePort);
      await closePort(callerIdPort);
      await mcuPair.stop();
      await cidPair.stop();
    },
  };
}

export { openPort, writePort };
