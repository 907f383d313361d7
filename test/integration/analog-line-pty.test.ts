import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { loadUnifont, type BitmapFont } from '../../src/display/font.js';
import { startAnalogRig, writePort, type AnalogRig } from '../support/analog-rig.js';
import { findText } from '../support/display-text.js';
import { waitFor } from '../support/mcu.js';
import { stopAllPeers } from '../support/process.js';

/** MDMF: date 03/21 14:05, number 2125551234, name "ACME HARDWARE" (protocols.md vector). */
const MDMF = Buffer.from('80 25 01 08 30 33 32 31 31 34 30 35 02 0A 32 31 32 35 35 35 31 32 33 34 07 0D 41 43 4D 45 20 48 41 52 44 57 41 52 45 20'.replace(/ /g, ''), 'hex');
/** What a decoder chip passes on before the message: channel seizure (0x55) and marks. */
const SEIZURE = Buffer.alloc(30, 0x55);

let rig: AnalogRig;
let font: BitmapFont;
beforeAll(async () => {
  font = await loadUnifont();
  rig = await startAnalogRig();
});
afterAll(async () => {
  await rig?.stop();
  await stopAllPeers();
});

const screen = () => ({ width: rig.firmware.displayWidth, height: rig.firmware.displayHeight, getPixel: (x: number, y: number) => rig.firmware.getPixel(x, y) });
const shows = (text: string) => findText(screen(), font, text) !== null;

describe('the analog line over UARTs (socat pty pairs)', () => {
  it('ring -> caller ID bytes on the caller-ID UART -> the display shows the caller; off-hook seizes, keys dial DTMF, on-hook releases', async () => {
    const { app, firmware, callerIdPort } = rig;
    await waitFor(() => shows('Deskline'), "shows('Deskline')", 5000);

    await firmware.ring(true);
    await waitFor(() => app.phone.describe().state === 'ringing', "app.phone.describe().state === 'ringing'", 3000);
    await firmware.ring(false);
    await waitFor(() => shows('Incoming call'), "shows('Incoming call')", 3000);
    // split writes, seizure noise first: the decoder resyncs and assembles the message
    await writePort(callerIdPort, SEIZURE);
    await writePort(callerIdPort, MDMF.subarray(0, 17));
    await writePort(callerIdPort, MDMF.subarray(17));
    await waitFor(() => shows('(212) 555-1234') && shows('ACME HARDWARE'), "shows('(212) 555-1234') && shows('ACME HARDWARE')", 5000);
    expect(firmware.ringer.cadence.length).toBeGreaterThan(0);

    await firmware.setHook(true);
    await waitFor(() => app.phone.describe().state === 'talking', 'talking', 3000);
    expect(firmware.seized).toBe(true);
    await waitFor(() => firmware.ringer.cadence.length === 0, 'firmware.ringer.cadence.length === 0', 3000);

    await firmware.pressKey('4');
    await firmware.pressKey('#');
    await waitFor(() => firmware.dialed.map((d) => d.digits).join('') === '4#', "firmware.dialed.map((d) => d.digits).join('') === '4#'", 3000);

    await firmware.setHook(false);
    await waitFor(() => !firmware.seized, '!firmware.seized', 3000);
    expect(firmware.lineActions).toEqual(['seize', 'release']);
    await waitFor(() => shows('Deskline'), "shows('Deskline')", 3000);
  });

  it('a corrupted caller-ID message never shows a number; the next good one does', async () => {
    const { app, firmware, callerIdPort } = rig;
    const bad = Buffer.from(MDMF);
    bad[bad.length - 1] ^= 0xff;
    await firmware.ring(true);
    await waitFor(() => app.phone.describe().state === 'ringing', "app.phone.describe().state === 'ringing'", 3000);
    await firmware.ring(false);
    await writePort(callerIdPort, Buffer.concat([SEIZURE, bad]));
    await new Promise((r) => setTimeout(r, 500));
    expect(shows('(212) 555-1234')).toBe(false);
    await writePort(callerIdPort, Buffer.concat([SEIZURE, MDMF]));
    await waitFor(() => shows('(212) 555-1234'), "shows('(212) 555-1234')", 5000);
    await firmware.setHook(true);
    await waitFor(() => app.phone.describe().state === 'talking', 'talking', 3000);
    await firmware.setHook(false);
    await waitFor(() => !firmware.seized, '!firmware.seized', 3000);
  });
});
