import { existsSync, linkSync, readdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { Low } from 'lowdb';
import { DurableFile, type FileRecovery } from '../../../src/store/durable-file.js';
import { makeTempDir, stopAllPeers } from '../../support/process.js';

interface Settings {
  version: number;
  names: string[];
}

const isSettings = (value: unknown): value is Settings =>
  typeof value === 'object' && value !== null && typeof (value as Settings).version === 'number' && Array.isArray((value as Settings).names);

function settingsFile(path: string, recoveries: FileRecovery[] = []): DurableFile<Settings> {
  return new DurableFile<Settings>(path, { is: isSettings, shape: 'a settings document', onRecovery: (r) => recoveries.push(r) });
}

afterAll(async () => {
  await stopAllPeers(); // removes the temp dirs
});

describe('DurableFile', () => {
  it('is a lowdb adapter', async () => {
    const path = join(await makeTempDir('durable'), 'settings.json');
    const db = new Low(settingsFile(path), { version: 0, names: [] });
    await db.read();
    expect(db.data).toEqual({ version: 0, names: [] });
    await db.update((data) => {
      data.version = 1;
      data.names.push('ada');
    });
    const again = new Low(settingsFile(path), { version: 0, names: [] });
    await again.read();
    expect(again.data).toEqual({ version: 1, names: ['ada'] });
  });

  it('replaces the file through a fsynced temp file and keeps the previous content as .bak', async () => {
    const dir = await makeTempDir('durable');
    const path = join(dir, 'settings.json');
    const file = settingsFile(path);
    const written: number[] = [];
    const counted = new DurableFile<Settings>(path, { is: isSettings, shape: 'settings', onWrite: (w) => written.push(w.bytes) });
    await file.write({ version: 1, names: [] });
    expect(existsSync(`${path}.bak`)).toBe(false);
    const firstInode = statSync(path).ino;
    await counted.write({ version: 2, names: ['b'] });
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ version: 2, names: ['b'] });
    expect(JSON.parse(readFileSync(`${path}.bak`, 'utf8'))).toEqual({ version: 1, names: [] });
    expect(statSync(`${path}.bak`).ino).toBe(firstInode); // the old file itself, linked, never copied
    expect(written).toEqual([statSync(path).size]);
    expect(readdirSync(dir).sort()).toEqual(['settings.json', 'settings.json.bak']);
  });

  it('writes one at a time; the last write wins', async () => {
    const path = join(await makeTempDir('durable'), 'settings.json');
    const file = settingsFile(path);
    await Promise.all(Array.from({ length: 20 }, (_, i) => file.write({ version: i, names: [String(i)] })));
    expect(await file.read()).toEqual({ version: 19, names: ['19'] });
  });

  it('gets past a backup link left by a crash', async () => {
    const dir = await makeTempDir('durable');
    const path = join(dir, 'settings.json');
    const file = settingsFile(path);
    await file.write({ version: 1, names: [] });
    linkSync(path, join(dir, '.settings.json.bak.tmp'));
    await file.write({ version: 2, names: [] });
    expect(await file.read()).toEqual({ version: 2, names: [] });
    expect(existsSync(join(dir, '.settings.json.bak.tmp'))).toBe(false);
  });

  it('reads null when there is no file', async () => {
    const recoveries: FileRecovery[] = [];
    expect(await settingsFile(join(await makeTempDir('durable'), 'none.json'), recoveries).read()).toBeNull();
    expect(recoveries).toEqual([]);
  });

  it.each([
    ['truncated', (path: string) => writeFileSync(path, readFileSync(path, 'utf8').slice(0, 10)), /JSON|Unexpected|Unterminated/],
    ['empty', (path: string) => writeFileSync(path, ''), /empty file/],
    ['of another shape', (path: string) => writeFileSync(path, '{"hello":1}'), /not a settings document/],
    ['missing', (path: string) => unlinkSync(path), /file missing/],
  ])('restores a %s file from its backup', async (label, damage, problem) => {
    const dir = await makeTempDir('durable');
    const path = join(dir, 'settings.json');
    const recoveries: FileRecovery[] = [];
    const file = settingsFile(path, recoveries);
    await file.write({ version: 1, names: ['kept'] });
    await file.write({ version: 2, names: ['lost'] });
    damage(path);
    expect(await file.read()).toEqual({ version: 1, names: ['kept'] });
    expect(recoveries).toEqual([{ file: path, problem: expect.stringMatching(problem), action: 'restored-backup' }]);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ version: 1, names: ['kept'] });
    const aside = readdirSync(dir).filter((name) => name.startsWith('settings.json.corrupt-'));
    expect(aside).toHaveLength(label === 'missing' ? 0 : 1); // the damaged file is kept, never deleted
    expect(await settingsFile(path, recoveries).read()).toEqual({ version: 1, names: ['kept'] });
    expect(recoveries).toHaveLength(1);
  });

  it('starts empty when neither the file nor its backup is readable, keeping both aside', async () => {
    const dir = await makeTempDir('durable');
    const path = join(dir, 'settings.json');
    const recoveries: FileRecovery[] = [];
    const file = settingsFile(path, recoveries);
    await file.write({ version: 1, names: [] });
    await file.write({ version: 2, names: [] });
    writeFileSync(path, 'garbage');
    writeFileSync(`${path}.bak`, '{"version":');
    expect(await file.read()).toBeNull();
    expect(recoveries).toEqual([{ file: path, problem: expect.stringMatching(/JSON.*; backup: .*JSON/), action: 'started-empty' }]);
    const names = readdirSync(dir);
    expect(names.filter((name) => /^settings\.json\.corrupt-/.test(name)).map((name) => readFileSync(join(dir, name), 'utf8'))).toEqual(['garbage']);
    expect(names.filter((name) => /^settings\.json\.bak\.corrupt-/.test(name))).toHaveLength(1);
    expect(names).not.toContain('settings.json');
    await file.write({ version: 3, names: [] });
    expect(await file.read()).toEqual({ version: 3, names: [] });
  });
});
