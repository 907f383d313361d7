import { describe, expect, it } from '@jest/globals';
import { SimPoleDisplay } from '../../../drivers/pole-display/sim.js';

describe('SimPoleDisplay', () => {
  it('shows text through the real command bytes and a decoder', async () => {
    const sim = new SimPoleDisplay();
    const events: boolean[] = [];
    sim.on('connectionChanged', ({ connected }) => events.push(connected));
    await sim.open();
    await sim.show(['TOTAL 36.00', 'Merci, à bientôt 王']);
    expect(sim.screen()).toEqual(['TOTAL 36.00         ', 'Merci, à bientôt ?  ']);
    expect(sim.decoder.cursorVisible).toBe(false);
    expect(sim.decoder.stats.initializations).toBe(1);
    expect(sim.bytesWritten).toBeGreaterThan(0);
    expect(events).toEqual([true]);
  });

  it('unplugged: dark screen, show resolves and keeps the text; replugged: shown again', async () => {
    const sim = new SimPoleDisplay({ columns: 10, rows: 1, brightness: 2 });
    const events: boolean[] = [];
    sim.on('connectionChanged', ({ connected }) => events.push(connected));
    await sim.open();
    sim.setConnected(false);
    expect(sim.connected()).toBe(false);
    expect(sim.screen()).toEqual(['          ']);
    await expect(sim.show(['CHANGE 4.00'])).resolves.toBeUndefined();
    expect(sim.screen()).toEqual(['          ']);
    sim.setConnected(true);
    expect(sim.connected()).toBe(true);
    expect(sim.screen()).toEqual(['CHANGE 4.0']);
    expect(sim.decoder.brightness).toBe(2);
    expect(events).toEqual([true, false, true]);
    await sim.close();
    expect(events).toEqual([true, false, true, false]);
  });

  it('starts unplugged when told to and connects on plug-in only while open', async () => {
    const sim = new SimPoleDisplay({ connected: false });
    await sim.open();
    expect(sim.connected()).toBe(false);
    await sim.close();
    sim.setConnected(true);
    expect(sim.connected()).toBe(false);
    await sim.open();
    expect(sim.connected()).toBe(true);
  });

  it('reports each change of what it shows (text, unplugged: dark, replugged), not repeats of the same text', async () => {
    const sim = new SimPoleDisplay({ columns: 8, rows: 2 });
    const seen: string[][] = [];
    sim.on('screenChanged', ({ rows }) => seen.push(rows));
    await sim.show(['Hello']); // not open yet: nothing on the display
    expect(seen).toEqual([]);
    await sim.open();
    await sim.show(['Hello']);
    await sim.show(['TOTAL', '9.50']);
    sim.setConnected(false);
    sim.setConnected(true);
    expect(seen).toEqual([
      ['Hello   ', '        '],
      ['TOTAL   ', '9.50    '],
      ['        ', '        '],
      ['TOTAL   ', '9.50    '],
    ]);
    expect(seen.at(-1)).toEqual(sim.screen());
  });
});
