import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { defaultBoardDir, listBoards, loadBoard, resolveBoard } from '../../../src/board/board.js';
import { BoardSchema } from '../../../src/board/schema.js';
import { udevRules } from '../../../src/board/udev.js';

const compatible = (...strings: string[]) => {
  const file = join(mkdtempSync(join(tmpdir(), 'dt-')), 'compatible');
  writeFileSync(file, `${strings.join('\0')}\0`);
  return file;
};

describe('boards', () => {
  it('every board file is valid and the published schema matches the code', async () => {
    const ids = await listBoards();
    expect(ids).toEqual(expect.arrayContaining(['sim', 'dp-a53', 'dp-a53-r2']));
    for (const id of ids) await expect(loadBoard(id)).resolves.toMatchObject({ id });
    const published = JSON.parse(readFileSync(join(defaultBoardDir(), 'board.schema.json'), 'utf8'));
    expect(published).toEqual(JSON.parse(JSON.stringify(BoardSchema)));
  });

  it('a revision inherits its base and replaces whole device roles', async () => {
    const r2 = await loadBoard('dp-a53-r2');
    expect(r2.mcu).toEqual((await loadBoard('dp-a53')).mcu);
    expect(r2.callerId).toMatchObject({ driver: 'serial', format: 'text-lines', baudRate: 9600 });
  });

  it("'auto' uses sim without a device tree", async () => {
    const board = await resolveBoard('auto', { compatiblePath: '/nonexistent/compatible' });
    expect(board.id).toBe('sim');
  });

  it("'auto' picks the most specific board from the device tree", async () => {
    expect((await resolveBoard('auto', { compatiblePath: compatible('deskline,dp-a53-r2', 'deskline,dp-a53', 'rockchip,rk3566') })).id).toBe('dp-a53-r2');
    expect((await resolveBoard('auto', { compatiblePath: compatible('deskline,dp-a53', 'rockchip,rk3566') })).id).toBe('dp-a53');
  });

  it('an unknown device tree is an error, never a fall-back to sim', async () => {
    await expect(resolveBoard('auto', { compatiblePath: compatible('acme,router') })).rejects.toThrow(/no board file matches.*acme,router.*known boards: dp-a53, dp-a53-r2, sim/);
  });

  it('an unknown board name lists the known boards', async () => {
    await expect(resolveBoard('nokia')).rejects.toMatchObject({ code: 'BOARD_UNKNOWN', message: expect.stringMatching(/unknown board 'nokia'; known boards: dp-a53, dp-a53-r2, sim/) });
  });

  it('reports every schema violation of a broken board file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'boards-'));
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ id: 'bad', name: 'Bad', compatible: [], display: { width: 10, height: 128 }, mcu: { driver: 'sim' } }));
    await expect(loadBoard('bad', dir)).rejects.toMatchObject({ code: 'BOARD_INVALID', message: expect.stringMatching(/\/display\/width[\s\S]*\/callerId/) });
  });

  it('a serial pole display needs exactly one of a fixed path and a VID/PID match', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'boards-'));
    const pole = { driver: 'serial', baudRate: 9600, columns: 20, rows: 2 };
    for (const [name, extra] of [['neither', {}], ['both', { path: '/dev/ttyS1', match: [{ vendorId: 0x0403 }] }]] as const) {
      writeFileSync(join(dir, `${name}.json`), JSON.stringify({ extends: 'sim', poleDisplay: { ...pole, ...extra } }));
      await expect(loadBoard(name, dir)).rejects.toMatchObject({ code: 'BOARD_INVALID', message: expect.stringMatching(/\/poleDisplay: give exactly one of path .* and match/) });
    }
    writeFileSync(join(dir, 'path.json'), JSON.stringify({ extends: 'sim', poleDisplay: { ...pole, path: '/dev/ttyS1' } }));
    await expect(loadBoard('path', dir)).resolves.toMatchObject({ poleDisplay: { path: '/dev/ttyS1' } });
  });

  it('a path to a board file of its own is loaded, and it may extend a board of the project', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'boards-'));
    const path = join(dir, 'rig.json');
    writeFileSync(path, JSON.stringify({ extends: 'sim', name: 'Test rig', printer: { driver: 'network', host: '127.0.0.1', port: 9191, paperWidthMm: 58 } }));
    const board = await resolveBoard(path);
    expect(board).toMatchObject({ id: 'rig', name: 'Test rig', printer: { driver: 'network', port: 9191, paperWidthMm: 58 }, mcu: { driver: 'sim' } });
    writeFileSync(path, JSON.stringify({ extends: 'sim', printer: { driver: 'network', paperWidthMm: 58 } }));
    await expect(resolveBoard(path)).rejects.toMatchObject({ code: 'BOARD_INVALID', message: expect.stringContaining(path) });
  });

  it("udev rules give the runtime's user the board's hot-plugged devices by VID/PID; the shipped file is the generator's output", async () => {
    const board = await loadBoard('dp-a53');
    const rules = udevRules(board);
    expect(readFileSync(join(defaultBoardDir(), 'udev', 'dp-a53.rules'), 'utf8')).toBe(rules);
    const lines = rules.split('\n').filter((line) => line && !line.startsWith('#'));
    // the printers (libusb opens the usb_device node), scanners (hidraw), pole display and modem (tty)
    expect(lines).toContain('SUBSYSTEM=="usb", ENV{DEVTYPE}=="usb_device", ATTRS{idVendor}=="0416", ATTRS{idProduct}=="5011", GROUP="plugdev", MODE="0660", TAG+="systemd"');
    expect(lines).toContain('SUBSYSTEM=="hidraw", ATTRS{idVendor}=="0c2e", GROUP="plugdev", MODE="0660"');
    expect(lines).toContain('SUBSYSTEM=="tty", ATTRS{idVendor}=="0403", ATTRS{idProduct}=="6001", SYMLINK+="deskline/pole-display", GROUP="dialout", MODE="0660", TAG+="systemd"');
    expect(lines.filter((line) => line.includes('deskline/modem'))).toHaveLength(1);
    // every rule is KEY=="value" / KEY="value" / KEY+="value" pairs, and no device is world-writable
    for (const line of lines) {
      for (const pair of line.split(', ')) expect(pair).toMatch(/^[A-Z]+(\{[A-Za-z_]+\})?(==|\+=|=)"[^"]*"$/);
      expect(line).toMatch(/MODE="0660"/);
    }
    // the fixed on-board nodes are listed for the integrator, not guessed
    expect(rules).toMatch(/#\s+mcu: \/dev\/deskline\/mcu/);
    // the sim board needs none
    expect(udevRules(await loadBoard('sim')).split('\n').filter((line) => line && !line.startsWith('#'))).toEqual([]);
  });
});
