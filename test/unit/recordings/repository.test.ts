import { describe, expect, it } from '@jest/globals';
import { RecordingsRepository, recordingsSpec, type RecordingEntry } from '../../../src/recordings/repository.js';
import { fileStoresForTests } from '../../support/file-store.js';

// the real store (a temp dir per test)
const stores = fileStoresForTests();
const fileStore = async () => stores.open(await stores.tempDir());

function entry(id: string, startedAt: number, over: Partial<RecordingEntry> = {}): RecordingEntry {
  return {
    id, callId: `call-${id}`, lineId: 'line-1', file: `call-${id}.wav`, startedAt, startedAtTrusted: true,
    durationMs: 1000, bytes: 16_044, sha256: 'ab'.repeat(32), uploaded: false, direction: 'inbound', number: '5551234', contactId: null,
    state: 'saved', ...over,
  };
}

describe('RecordingsRepository', () => {
  it('is a hash-placed collection named recordings', () => {
    expect(recordingsSpec).toMatchObject({ name: 'recordings', placement: { kind: 'hash', shards: 32 } });
    expect(recordingsSpec.isValid?.(entry('a', 1))).toBe(true);
    expect(recordingsSpec.isValid?.({ ...entry('a', 1), file: '../etc/passwd' })).toBe(false);
    expect(recordingsSpec.isValid?.({ ...entry('a', 1), direction: 'sideways' })).toBe(false);
  });

  it('adds, lists newest first with a limit, finds by call, marks uploaded, deletes', async () => {
    const repo = await RecordingsRepository.open(await fileStore());
    await repo.add(entry('b', 2000));
    await repo.add(entry('a', 1000));
    await repo.add(entry('c', 3000, { state: 'recording', durationMs: 0, bytes: 0, sha256: '' }));
    await repo.add(entry('d', 4000, { callId: 'call-a', file: 'call-a-2.wav' }));
    await expect(repo.add(entry('a', 1))).rejects.toMatchObject({ code: 'RECORDING_BAD_REQUEST' });

    expect(repo.list().map((e) => e.id)).toEqual(['d', 'b', 'a']);
    expect(repo.list({ limit: 2 }).map((e) => e.id)).toEqual(['d', 'b']);
    expect(repo.inProgress().map((e) => e.id)).toEqual(['c']);
    expect(repo.byCallId('call-a').map((e) => e.id)).toEqual(['a', 'd']);
    expect(repo.byFile('call-b.wav')?.id).toBe('b');
    expect(repo.oldestUploaded()).toBeUndefined();

    await expect(repo.markUploaded('c')).rejects.toMatchObject({ code: 'RECORDING_IN_PROGRESS' });
    await expect(repo.markUploaded('zz')).rejects.toMatchObject({ code: 'RECORDING_NOT_FOUND' });
    expect((await repo.markUploaded('b')).uploaded).toBe(true);
    await repo.markUploaded('d');
    expect(repo.oldestUploaded()?.id).toBe('b');
    expect(repo.uploadedOldestFirst().map((e) => e.id)).toEqual(['b', 'd']);

    const finished = await repo.finish('c', { durationMs: 2500, bytes: 80_044, sha256: 'cd'.repeat(32) });
    expect(finished).toMatchObject({ state: 'saved', durationMs: 2500, bytes: 80_044 });
    expect(repo.list().map((e) => e.id)).toEqual(['d', 'c', 'b', 'a']);

    expect(await repo.delete('b')).toBe(true);
    expect(await repo.delete('b')).toBe(false);
    expect(repo.get('b')).toBeUndefined();
    expect(repo.size).toBe(3);
  });

  it('returns copies: changing a listed entry changes nothing stored', async () => {
    const repo = await RecordingsRepository.open(await fileStore());
    await repo.add(entry('a', 1));
    repo.list()[0].uploaded = true;
    repo.get('a')!.uploaded = true;
    expect(repo.get('a')?.uploaded).toBe(false);
  });

  it('lists what waits for upload oldest first, and marks uploaded only with the checksum the cloud confirmed', async () => {
    const repo = await RecordingsRepository.open(await fileStore());
    await repo.add(entry('new', 3000));
    await repo.add(entry('old', 1000));
    await repo.add(entry('busy', 2000, { state: 'recording', durationMs: 0, bytes: 0, sha256: '' }));
    await repo.add(entry('done', 500, { uploaded: true }));
    expect(repo.pendingUploads().map((e) => e.id)).toEqual(['old', 'new']);

    await expect(repo.markUploaded('old', { sha256: 'cd'.repeat(32), at: 5000 })).rejects.toMatchObject({ code: 'RECORDING_BAD_REQUEST' });
    expect(repo.get('old')?.uploaded).toBe(false);
    expect(await repo.markUploaded('old', { sha256: 'ab'.repeat(32), at: 5000 })).toMatchObject({ uploaded: true, uploadedAt: 5000 });
    expect(await repo.markUploaded('new', { sha256: 'ab'.repeat(32), at: null })).toMatchObject({ uploaded: true, uploadedAt: null });
    expect(repo.pendingUploads()).toEqual([]);
    expect(recordingsSpec.isValid?.({ ...entry('x', 1), uploadedAt: 'yesterday' })).toBe(false);
    // entries written before uploadedAt existed stay valid
    expect(recordingsSpec.isValid?.(entry('x', 1))).toBe(true);
  });
});
