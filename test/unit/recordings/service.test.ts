import { createHash } from 'node:crypto';
import { access, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import { parseWav as parseSinkWav } from '../../../drivers/audio/wav.js';
import { WavRecorder, parseWav } from '../../../src/media/wav-recorder.js';
import { RecordingsRepository, type RecordingEntry } from '../../../src/recordings/repository.js';
import { recordingBeep, wavBytes } from '../../../src/recordings/wav.js';
import { waitFor } from '../../support/wait.js';
import { callInfo, makeRig, recordedCall, type Rig } from './harness.js';

const MB = 1024 * 1024;
const stereoBytes = (seconds: number) => 44 + seconds * 8000 * 4;
const exists = (path: string) => access(path).then(() => true, () => false);

let rigs: Rig[] = [];
async function rig(...args: Parameters<typeof makeRig>): Promise<Rig> {
  const r = await makeRig(...args);
  rigs.push(r);
  await r.service.start();
  return r;
}
afterEach(async () => {
  for (const r of rigs) await r.dispose();
  rigs = [];
});

function saved(r: Rig): Array<BusPayload<'recordingSaved'>> {
  return r.events.filter((e) => e.event === 'recordingSaved').map((e) => e.payload as BusPayload<'recordingSaved'>);
}
function suspensions(r: Rig): Array<BusPayload<'recordingSuspendedChanged'>> {
  return r.events.filter((e) => e.event === 'recordingSuspendedChanged').map((e) => e.payload as BusPayload<'recordingSuspendedChanged'>);
}
type BusPayload<K extends string> = import('../../../src/core/events.js').BusEvents[K];

describe('RecordingsService: recording and indexing', () => {
  it('records an always-mode call and indexes it with the WAV length, size and SHA-256', async () => {
    const r = await rig();
    const call = await recordedCall(r, 2);
    const [event] = saved(r);
    const path = join(r.dir, `${call.callId}.wav`);
    const bytes = await readFile(path);
    expect(event).toEqual({
      recordingId: expect.any(String), callId: call.callId, file: `${call.callId}.wav`, durationMs: 2000,
      bytes: stereoBytes(2), sha256: createHash('sha256').update(bytes).digest('hex'),
    });
    expect(parseWav(bytes)).toMatchObject({ channels: 2, sampleRate: 8000, seconds: 2 });
    expect(r.service.repository.get(event.recordingId)).toMatchObject({
      callId: call.callId, direction: 'inbound', number: '5551234', uploaded: false, state: 'saved', startedAtTrusted: true, startedAt: r.clock.now(),
    });
  });

  it('follows rules by direction and contact tag; a failing contact lookup leaves the call unrecorded, never failing it', async () => {
    const tags = new Map([['+15550001', ['staff']], ['+15550002', ['vip']]]);
    const r = await rig({ mode: 'off', rules: [{ tag: 'staff', mode: 'off' }, { direction: 'inbound', tag: 'vip', mode: 'always' }, { direction: 'outbound', mode: 'always' }] }, {
      contactTags: (number) => {
        if (number === '+15559999') throw new Error('contacts not loaded');
        return tags.get(number) ?? [];
      },
    });
    const decide = (over: Parameters<typeof callInfo>[0]) => {
      const call = callInfo(over);
      r.callState(call, 'ringing');
      return r.service.recordPathFor(call);
    };
    expect(decide({ direction: 'inbound', e164: '+15550002' })).toMatch(/\.wav$/);
    expect(decide({ direction: 'inbound', e164: '+15550003' })).toBeNull();
    expect(decide({ direction: 'outbound', e164: '+15550001' })).toBeNull();
    expect(decide({ direction: 'outbound', e164: '+15550003' })).toMatch(/\.wav$/);
    expect(decide({ direction: 'outbound', e164: '+15559999' })).toBeNull();
  });

  it('on demand: not recorded until asked, started and stopped mid-call, each part indexed', async () => {
    const r = await rig({ mode: 'on-demand' });
    const call = callInfo();
    r.callState(call, 'active');
    expect(r.service.recordPathFor(call)).toBeNull();
    await r.media.startMedia(call.callId, null);
    await r.media.talk(call.callId, 1);

    const started = await r.service.startRecording(call.callId);
    expect(started).toMatchObject({ callId: call.callId, file: `${call.callId}.wav`, waitingForMedia: false });
    expect(r.service.status().recordingCalls).toEqual([call.callId]);
    await r.media.talk(call.callId, 1);
    expect(await r.service.stopRecording(call.callId)).toBe(true);
    await r.service.idle();
    expect(saved(r).map((s) => [s.file, s.durationMs])).toEqual([[`${call.callId}.wav`, 1000]]);

    // a media restart (re-INVITE) after a stop does not record again
    expect(r.service.recordPathFor(call)).toBeNull();
    r.clock.advance(1000);
    await r.service.startRecording(call.callId);
    await r.media.talk(call.callId, 3);
    r.callState(call, 'ended');
    await r.media.endMedia(call.callId);
    await r.service.idle();
    expect(r.service.repository.byCallId(call.callId).map((e) => [e.file, e.durationMs])).toEqual([[`${call.callId}.wav`, 1000], [`${call.callId}-2.wav`, 3000]]);
    await expect(r.service.startRecording(call.callId)).rejects.toMatchObject({ code: 'RECORDING_NOT_FOUND' });
  });

  it('on demand before the media runs: the wish is kept and the media starts recorded', async () => {
    const r = await rig({ mode: 'on-demand', rules: [{ direction: 'outbound', mode: 'off' }] });
    const call = callInfo();
    r.callState(call, 'ringing');
    expect(await r.service.startRecording(call.callId)).toMatchObject({ recordingId: null, waitingForMedia: true });
    expect(r.service.recordPathFor(call)).toBe(join(r.dir, `${call.callId}.wav`));

    const outbound = callInfo({ direction: 'outbound' });
    r.callState(outbound, 'dialing');
    await expect(r.service.startRecording(outbound.callId)).rejects.toMatchObject({ code: 'RECORDING_UNAVAILABLE' });
  });

  it('indexes what was saved when the disk filled mid-call; drops a recording without audio', async () => {
    const r = await rig();
    const call = callInfo();
    r.callState(call, 'active');
    await r.media.startMedia(call.callId, r.service.recordPathFor(call));
    await r.media.talk(call.callId, 1);
    await r.media.endMedia(call.callId, { code: 'ENOSPC', message: 'no space left on device' });
    await r.service.idle();
    expect(saved(r)).toEqual([expect.objectContaining({ callId: call.callId, durationMs: 1000 })]);

    const silent = callInfo();
    r.callState(silent, 'active');
    await r.media.startMedia(silent.callId, r.service.recordPathFor(silent));
    await r.media.endMedia(silent.callId);
    await r.service.idle();
    expect(r.service.repository.byCallId(silent.callId)).toEqual([]);
    expect(await exists(join(r.dir, `${silent.callId}.wav`))).toBe(false);
  });

  it('indexes a recording the media never reported closed, 30 s after its call ended', async () => {
    const r = await rig();
    const call = callInfo();
    r.callState(call, 'active');
    await r.media.startMedia(call.callId, r.service.recordPathFor(call));
    await r.media.talk(call.callId, 1);
    r.callState(call, 'ended');
    r.clock.advance(29_000);
    await r.service.idle();
    expect(saved(r)).toEqual([]);
    r.clock.advance(1000);
    await r.service.idle();
    expect(saved(r)).toEqual([expect.objectContaining({ callId: call.callId, durationMs: 1000 })]);
    await r.media.endMedia(call.callId);
    await r.service.idle();
    expect(saved(r)).toHaveLength(1);
  });

  it('after a restart, indexes what a recording in progress left on disk', async () => {
    const r = await makeRig();
    rigs.push(r);
    const repo = await RecordingsRepository.open(r.store);
    const base: RecordingEntry = {
      id: 'rec-crashed', callId: 'call-crashed', lineId: 'sip-1', file: 'call-crashed.wav', startedAt: 1, startedAtTrusted: true,
      durationMs: 0, bytes: 0, sha256: '', uploaded: false, direction: 'outbound', number: '100', contactId: null, state: 'recording',
    };
    await repo.add(base);
    await repo.add({ ...base, id: 'rec-never-written', callId: 'call-lost', file: 'call-lost.wav' });
    const recorder = await WavRecorder.open(join(r.dir, 'call-crashed.wav'), { stereo: true });
    for (let i = 0; i < 75; i++) recorder.write(new Int16Array(160).fill(1000), new Int16Array(160).fill(-1000));
    await recorder.flush(); // 1.5 s on disk; the "crash" leaves the file open

    await r.service.start();
    expect(saved(r)).toEqual([expect.objectContaining({ recordingId: 'rec-crashed', durationMs: 1500, bytes: stereoBytes(1.5) })]);
    expect(repo.get('rec-never-written')).toBeUndefined();
    await recorder.close();
  });
});

describe('RecordingsService: quota, free space and retention', () => {
  it('deletes the oldest uploaded recordings first, never one not uploaded; suspends and resumes new recordings', async () => {
    const r = await rig({ quotaMb: 1 });
    // a minute apart, so oldest means something
    const later = async () => {
      r.clock.advance(60_000);
      return recordedCall(r, 10);
    };
    const [a, b, c] = [await later(), await later(), await later()];
    const id = (call: { callId: string }) => r.service.repository.byCallId(call.callId)[0]?.id;
    const file = (call: { callId: string }) => join(r.dir, `${call.callId}.wav`);
    await r.service.markUploaded(id(c));
    await r.service.markUploaded(id(a));

    const d = await later(); // 4 x 320 kB > 1 MB: the oldest uploaded (a) goes
    expect(await exists(file(a))).toBe(false);
    expect(id(a)).toBeUndefined();
    for (const kept of [b, c, d]) expect(await exists(file(kept))).toBe(true);

    const e = await later(); // c, the only uploaded one left, goes
    expect(await exists(file(c))).toBe(false);
    expect(suspensions(r)).toEqual([]);

    const f = await later(); // nothing uploaded left: new calls are not recorded
    for (const kept of [b, d, e, f]) expect(await exists(file(kept))).toBe(true);
    expect(suspensions(r)).toEqual([{ suspended: true, reason: expect.stringMatching(/quota/), usedBytes: 4 * stereoBytes(10), quotaBytes: MB, freeBytes: r.disk.freeBytes }]);
    expect(r.service.status()).toMatchObject({ suspended: true, usedBytes: 4 * stereoBytes(10), recordings: 4, notUploaded: 4 });
    const unrecorded = callInfo();
    r.callState(unrecorded, 'active');
    expect(r.service.recordPathFor(unrecorded)).toBeNull();
    await expect(r.service.startRecording(unrecorded.callId)).rejects.toMatchObject({ code: 'RECORDING_SUSPENDED' });

    await r.service.markUploaded(id(b)); // the upload frees its space: recording resumes
    await r.service.idle();
    expect(await exists(file(b))).toBe(false);
    expect(suspensions(r).at(-1)).toEqual({ suspended: false, reason: null, usedBytes: 3 * stereoBytes(10), quotaBytes: MB, freeBytes: r.disk.freeBytes });
    expect(r.service.recordPathFor(callInfo())).toMatch(/\.wav$/);
  });

  it('suspends while the disk is short of minFreeMb and nothing uploaded can go, resumes on the periodic check', async () => {
    const r = await rig({ minFreeMb: 200 });
    await recordedCall(r, 1);
    r.disk.freeBytes = 150 * MB;
    r.clock.advance(60 * 60 * 1000);
    await r.service.idle();
    expect(suspensions(r)).toEqual([expect.objectContaining({ suspended: true, reason: expect.stringMatching(/150\.?\d* MB free/), freeBytes: 150 * MB })]);
    r.disk.freeBytes = 500 * MB;
    r.clock.advance(60 * 60 * 1000);
    await r.service.idle();
    expect(suspensions(r).map((s) => s.suspended)).toEqual([true, false]);
  });

  it('deletes uploaded recordings past retentionDays; keeps newer and not uploaded ones', async () => {
    const r = await rig({ retentionDays: 1 });
    const old = await recordedCall(r, 1);
    const oldNotUploaded = await recordedCall(r, 1);
    await r.service.markUploaded(r.service.repository.byCallId(old.callId)[0].id);
    r.clock.advance(20 * 60 * 60 * 1000);
    const recent = await recordedCall(r, 1);
    await r.service.markUploaded(r.service.repository.byCallId(recent.callId)[0].id);
    r.clock.advance(5 * 60 * 60 * 1000); // 25 h after the first two
    await r.service.idle();
    expect(r.service.repository.byCallId(old.callId)).toEqual([]);
    expect(await exists(join(r.dir, `${old.callId}.wav`))).toBe(false);
    expect(r.service.repository.byCallId(oldNotUploaded.callId)).toHaveLength(1);
    expect(r.service.repository.byCallId(recent.callId)).toHaveLength(1);
  });
});

describe('RecordingsService: notice and playback', () => {
  it("plays the beep to the far end when recording starts ('beep')", async () => {
    const r = await rig({ notice: 'beep' });
    const call = await recordedCall(r, 1);
    await waitFor(() => r.media.played.length > 0, 'notice played');
    expect(r.media.played).toEqual([{ callId: call.callId, samples: recordingBeep() }]);
    expect(recordingBeep().length).toBe(8 * 460);
  });

  it("plays the announcement file, stereo mixed to mono ('announcement')", async () => {
    const r = await rig({ notice: 'announcement' });
    const announcement = join(dirname(r.handsetSink), 'announcement.wav');
    const samples = Int16Array.from({ length: 4000 }, (_, i) => (i % 100) * 50);
    await writeFile(announcement, wavBytes(samples));
    r.config.announcementFile = announcement;
    await recordedCall(r, 1);
    await waitFor(() => r.media.played.length > 0, 'notice played');
    expect(r.media.played[0].samples).toEqual(samples);
    expect(await r.service.noticeSamples()).toEqual(samples);
    r.config.announcementFile = join(r.dir, 'missing.wav');
    expect(await r.service.noticeSamples()).toEqual(recordingBeep());
  });

  it('plays a recording through the handset in real time, mixed to mono, period by period', async () => {
    const r = await rig();
    const call = await recordedCall(r, 2);
    const { id } = r.service.repository.byCallId(call.callId)[0];
    const playing = () => r.service.status().playback !== null;
    const timers = r.clock.pending;
    // each 20 ms step of fake time releases one period, once the playback waits for its timer
    const step = async () => {
      await waitFor(() => r.clock.pending > timers || !playing(), 'playback waiting');
      r.clock.advance(20);
    };
    expect(await r.service.play(id)).toEqual({ recordingId: id, durationMs: 2000 });
    await waitFor(() => r.clock.pending > timers, 'playback waiting');
    expect(r.audio.framesPlayed.get('handset')).toBe(4); // 3 periods ahead of real time + the current one
    for (let i = 0; i < 25; i++) await step();
    await waitFor(() => r.clock.pending > timers, 'playback waiting');
    expect(r.audio.framesPlayed.get('handset')).toBe(29);
    expect(r.service.status().playback).toEqual({ recordingId: id, positionMs: 29 * 20, durationMs: 2000 });
    while (playing()) await step();
    await r.service.playbackDone();
    expect(r.audio.framesPlayed.get('handset')).toBe(100);

    const recording = parseWav(await readFile(join(r.dir, `${call.callId}.wav`)));
    const mix = new Int16Array(recording.samples.length / 2);
    for (let i = 0; i < mix.length; i++) mix[i] = Math.max(-32768, Math.min(32767, recording.samples[2 * i] + recording.samples[2 * i + 1]));
    const heard = parseSinkWav(await readFile(r.handsetSink));
    expect(heard.channels).toBe(1);
    expect(heard.samples).toEqual(mix);
  });

  it('stops playback on request and when a call connects; control methods', async () => {
    const r = await rig();
    const call = await recordedCall(r, 2);
    const { id } = r.service.repository.byCallId(call.callId)[0];
    const control = async (method: string, params?: unknown) => r.control.get(method)!(params);

    expect(await control('recordings.list', { limit: 1 })).toEqual([expect.objectContaining({ id, callId: call.callId })]);
    await expect(control('recordings.list', { limit: 0 })).rejects.toMatchObject({ code: 'RECORDING_BAD_REQUEST' });
    await expect(control('recordings.play', { id: 'nope' })).rejects.toMatchObject({ code: 'RECORDING_NOT_FOUND' });
    expect(await control('recordings.play', { id })).toEqual({ recordingId: id, durationMs: 2000 });
    expect(await control('recordings.stop')).toEqual({ stopped: true });
    expect(await control('recordings.stop')).toEqual({ stopped: false });
    expect(r.audio.framesPlayed.get('handset') ?? 0).toBeLessThan(10);

    await control('recordings.play', { id });
    const next = callInfo({ direction: 'outbound' });
    r.callState(next, 'dialing');
    await r.service.playbackDone();
    expect(r.service.status().playback).toBeNull();

    expect(await control('recordings.markUploaded', { id })).toMatchObject({ id, uploaded: true });
    expect(await control('recordings.status')).toMatchObject({ suspended: false, recordings: 1, notUploaded: 0, usedBytes: stereoBytes(2), quotaBytes: 2048 * MB });
  });
});
