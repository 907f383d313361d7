import { AlsaAudio } from '../../drivers/audio/alsa.js';
import { SimAudio } from '../../drivers/audio/sim.js';
import type { AudioDriver } from '../../drivers/audio/types.js';
import { SerialCallerIdSource } from '../../drivers/callerid/serial.js';
import { SimCallerIdSource } from '../../drivers/callerid/sim.js';
import type { CallerIdSource } from '../../drivers/callerid/types.js';
import { HidrawTelephony } from '../../drivers/hid/hidraw.js';
import { SimTelephonyHid } from '../../drivers/hid/sim.js';
import type { TelephonyHidDriver } from '../../drivers/hid/types.js';
import { SerialMcu } from '../../drivers/mcu/serial.js';
import { SimMcu } from '../../drivers/mcu/sim.js';
import type { McuDriver } from '../../drivers/mcu/types.js';
import { SimModem } from '../../drivers/modem/sim.js';
import type { ModemDriver } from '../../drivers/modem/types.js';
import { VirtualReceiptPrinter } from '../../drivers/printer/virtual/printer.js';
import { LpReceiptPrinter } from '../../drivers/printer/lp.js';
import { NetworkReceiptPrinter } from '../../drivers/printer/network.js';
import { UsbReceiptPrinter } from '../../drivers/printer/usb.js';
import type { ReceiptPrinter } from '../../drivers/printer/types.js';
import { SerialPoleDisplay } from '../../drivers/pole-display/serial.js';
import { SimPoleDisplay } from '../../drivers/pole-display/sim.js';
import type { PoleDisplayDriver } from '../../drivers/pole-display/types.js';
import { HidrawBarcodeScanner } from '../../drivers/scanner/hidraw.js';
import { SimBarcodeScanner, VIRTUAL_SCANNER } from '../../drivers/scanner/sim.js';
import type { BarcodeScannerDriver } from '../../drivers/scanner/types.js';
import type { Board } from '../board/board.js';
import type { Clock } from '../core/clock.js';
import { DesklineError } from '../core/errors.js';
import type { Logger } from '../core/log.js';

/** Every driver the board has, behind its interface. Services see only these. */
export interface DriverSet {
  mcu: McuDriver;
  callerId: CallerIdSource | null;
  hid: TelephonyHidDriver;
  printer: ReceiptPrinter;
  /** null: the board has none */
  scanner: BarcodeScannerDriver | null;
  poleDisplay: PoleDisplayDriver | null;
  modem: ModemDriver | null;
  audio: AudioDriver;
}

/** The concrete sims, for tests and the virtual phone (only on the sim board). */
export interface SimDrivers {
  mcu: SimMcu;
  callerId: SimCallerIdSource;
  hid: SimTelephonyHid;
  printer: VirtualReceiptPrinter;
  /** the sim board's scanner and pole display (absent when its board file leaves them out) */
  scanner?: SimBarcodeScanner;
  poleDisplay?: SimPoleDisplay;
  modem: SimModem;
  audio: SimAudio;
}

/** The sim board's scanner, with the virtual scanner plugged in. */
function simScanner(): SimBarcodeScanner {
  const scanner = new SimBarcodeScanner();
  scanner.attach(VIRTUAL_SCANNER);
  return scanner;
}

function notYet(role: string, driver: string, board: Board): never {
  throw new DesklineError(
    'DRIVER_NOT_AVAILABLE',
    `board '${board.id}' needs the '${driver}' driver for ${role}, which this build does not include yet; run with --board sim (or "board": "sim") to use the simulated board`,
  );
}

/**
 * Build the concrete drivers the board file names. A real board whose drivers cannot be built is an
 * error, never a silent fall-back to the simulation.
 */
export function createDrivers(board: Board, clock: Clock, log: Logger): { drivers: DriverSet; sim: SimDrivers | null } {
  const mcuLog = log.child({ ns: 'mcu' });
  const sims: Partial<SimDrivers> = {};
  const { width: displayWidth, height: displayHeight } = board.display;
  const mcu = board.mcu.driver === 'sim'
    ? (sims.mcu = new SimMcu({ displayWidth, displayHeight }))
    : new SerialMcu({ path: board.mcu.path, baudRate: board.mcu.baudRate, displayWidth, displayHeight, timers: clock, log: mcuLog });
  const cid = board.callerId;
  const callerId = cid.driver === 'none' ? null
    : cid.driver === 'sim' ? (sims.callerId = new SimCallerIdSource())
    : new SerialCallerIdSource({ path: cid.path, baudRate: cid.baudRate, format: cid.format });
  const hid = board.hid.driver === 'sim' ? (sims.hid = new SimTelephonyHid()) : new HidrawTelephony({ match: board.hid.match, timer: clock });
  const p = board.printer;
  const printerOptions = { paperWidthMm: p.paperWidthMm, timers: clock, log: log.child({ ns: 'printer' }) };
  const printer = p.driver === 'sim' ? (sims.printer = new VirtualReceiptPrinter({ paperWidthMm: p.paperWidthMm }))
    : p.driver === 'usb' ? new UsbReceiptPrinter({ ...printerOptions, match: p.match })
    : p.driver === 'lp' ? new LpReceiptPrinter({ ...printerOptions, path: p.path })
    : new NetworkReceiptPrinter({ ...printerOptions, host: p.host, port: p.port });
  const sc = board.scanner ?? { driver: 'none' };
  const scanner = sc.driver === 'none' ? null
    : sc.driver === 'sim' ? (sims.scanner = simScanner())
    : new HidrawBarcodeScanner({ match: sc.match, timer: clock });
  const pd = board.poleDisplay ?? { driver: 'none' };
  const poleDisplay = pd.driver === 'none' ? null
    : pd.driver === 'sim' ? (sims.poleDisplay = new SimPoleDisplay({ columns: pd.columns, rows: pd.rows }))
    : new SerialPoleDisplay({ path: pd.path, match: pd.match, baudRate: pd.baudRate, columns: pd.columns, rows: pd.rows, timer: clock, log: log.child({ ns: 'pole-display' }) });
  const modem = board.modem.driver === 'none' ? null : board.modem.driver === 'sim' ? (sims.modem = new SimModem()) : notYet('the cellular modem', board.modem.driver, board);
  const audio = board.audio.driver === 'sim'
    ? (sims.audio = new SimAudio())
    : new AlsaAudio({ board: board.id, devices: board.audio.devices, bufferMs: board.audio.bufferMs, timers: clock, log: log.child({ ns: 'audio' }) });
  const complete = sims.mcu && sims.callerId && sims.hid && sims.printer && sims.modem && sims.audio;
  return { drivers: { mcu, callerId, hid, printer, scanner, poleDisplay, modem, audio }, sim: complete ? (sims as SimDrivers) : null };
}
