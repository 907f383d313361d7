import { readFile, readdir } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { DesklineError } from '../core/errors.js';
import { mergeLayers } from '../config/load.js';
import { projectRoot } from '../core/paths.js';
import { BoardSchema, type Board } from './schema.js';

export type { Board };

/** board/ at the top of the project. */
export function defaultBoardDir(): string {
  return join(projectRoot(), 'board');
}

export const DEVICE_TREE_COMPATIBLE = '/proc/device-tree/compatible';

async function readRaw(dir: string, id: string): Promise<Record<string, unknown>> {
  try {
    return JSON.parse(await readFile(join(dir, `${id}.json`), 'utf8')) as Record<string, unknown>;
  } catch (error) {
    // a board file kept elsewhere (a technician's own) may extend one of the project's boards
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' && dir !== defaultBoardDir()) return readRaw(defaultBoardDir(), id);
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new DesklineError('BOARD_UNKNOWN', `unknown board '${id}'; known boards: ${(await listBoards(dir)).join(', ')}`);
    }
    throw new DesklineError('BOARD_INVALID', `${join(dir, `${id}.json`)}: ${(error as Error).message}`);
  }
}

/** Ids of the board files in `dir`. */
export async function listBoards(dir = defaultBoardDir()): Promise<string[]> {
  return (await readdir(dir)).filter((f) => f.endsWith('.json') && !f.endsWith('.schema.json')).map((f) => f.slice(0, -5)).sort();
}

/** Load a board by id, resolving `extends` (a revision inherits its base), and validate it. */
export async function loadBoard(id: string, dir = defaultBoardDir()): Promise<Board> {
  const chain: Record<string, unknown>[] = [];
  const seen = new Set<string>();
  let next: string | undefined = id;
  while (next) {
    if (seen.has(next)) throw new DesklineError('BOARD_INVALID', `board '${id}': 'extends' loops through '${next}'`);
    seen.add(next);
    const raw = await readRaw(dir, next);
    chain.unshift(raw);
    next = typeof raw.extends === 'string' ? raw.extends : undefined;
  }
  // Each device role is replaced whole by a revision, never merged field by field.
  const merged: Record<string, unknown> = {};
  for (const layer of chain) {
    for (const [key, value] of Object.entries(layer)) merged[key] = key === 'display' ? mergeLayers(merged[key], value) : value;
  }
  merged.id = id;
  const errors = [...Value.Errors(BoardSchema, merged)].map((e) => ({ path: e.path, message: e.message }));
  if (errors.length === 0) errors.push(...crossFieldErrors(merged as Board));
  if (errors.length > 0) {
    throw new DesklineError('BOARD_INVALID', `${join(dir, `${id}.json`)} is invalid:\n${errors.map((e) => `  ${e.path || '/'}: ${e.message}`).join('\n')}`);
  }
  return merged as Board;
}

/** What the schema cannot say of one field alone. */
function crossFieldErrors(board: Board): Array<{ path: string; message: string }> {
  const pole = board.poleDisplay;
  if (pole?.driver === 'serial' && (pole.path === undefined) === (pole.match === undefined)) {
    return [{ path: '/poleDisplay', message: 'give exactly one of path (a fixed serial port) and match (USB-serial adapters by VID/PID)' }];
  }
  return [];
}

/**
 * Pick the board: an explicit name, or 'auto' = by /proc/device-tree/compatible.
 * No device tree (a laptop, CI) -> 'sim'. A device tree that no board file claims is an error,
 * never a silent fall-back to the simulation.
 */
export async function resolveBoard(name: string, options: { dir?: string; compatiblePath?: string } = {}): Promise<Board> {
  const dir = options.dir ?? defaultBoardDir();
  // a path to a board file of one's own (a new board being brought up, a test rig)
  if (name.endsWith('.json')) return loadBoard(basename(name, '.json'), dirname(resolve(name)));
  if (name !== 'auto') return loadBoard(name, dir);
  let compatible: string[];
  try {
    compatible = (await readFile(options.compatiblePath ?? DEVICE_TREE_COMPATIBLE, 'latin1')).split('\0').filter(Boolean);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return loadBoard('sim', dir);
    throw new DesklineError('BOARD_DETECT_FAILED', `cannot read ${options.compatiblePath ?? DEVICE_TREE_COMPATIBLE}: ${(error as Error).message}`);
  }
  const ids = await listBoards(dir);
  const boards = await Promise.all(ids.map((id) => loadBoard(id, dir)));
  // The device tree lists the most specific string first: a revision wins over its base.
  for (const entry of compatible) {
    const board = boards.find((b) => b.compatible.includes(entry));
    if (board) return board;
  }
  throw new DesklineError(
    'BOARD_UNKNOWN',
    `no board file matches this device tree (compatible: ${compatible.join(', ') || 'empty'}); known boards: ${ids.join(', ')}. Set "board" in the config to one of them.`,
  );
}
