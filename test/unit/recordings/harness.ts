// A recordings service on fake time, a temp directory, MemoryStore, SimAudio and a stand-in for the media
// engine that writes real WAV files with the engine's own recorder.
import { EventEmitter } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { SimAudio } from '../../../drivers/audio/sim.js';
import type { Config } from '../../../src/config/schema.js';
import { ControlRegistry } from '../../../src/control/protocol.js';
import { EventBus } from '../../../src/core/bus.js';
import type { BusEvents, CallInfo, CallState } from '../../../src/core/events.js';
import { silentLogger } from '../../../src/core/log.js';
import type { MediaEngineEvents, RecordRequest } from '../../../src/media/engine.js';
import { MediaError } from '../../../src/media/errors.js';
import { WavRecorder } from '../../../src/media/wav-recorder.js';
import { RecordingsService, type RecordingsContext } from '../../../src/recordings/service.js';
import { MemoryStore } from '../../../src/store/memory.js';
import { FakeClock } from '../../support/fake-clock.js';

/** The media engine's recording side, in process: streams are just open (or not) recorders. */
export class FakeMedia extends EventEmitter<MediaEngineEvents> {
  readonly streams = new Map<string, WavRecorder | null>();
  readonly played: Array<{ callId: string; samples: Int16Array }> = [];

  /** The call's media starts, recording to `path` when given (what startStream with `record` does). */
  async startMedia(callId: string, path: string | null): Promise<void> {
    this.streams.set(callId, null);
    if (path) await this.#attach(callId, { path, stereo: true });
  }

  /** Writes `seconds` of audio: left `local` Hz, right `remote` Hz tones (0 = silence). */
  async talk(callId: string, seconds: number, local = 440, remote = 1000): Promise<void> {
    const recorder = this.streams.get(callId);
    if (!recorder) return;
    for (let frame = 0; frame < seconds * 50; frame++) {
      const tone = (hz: number) => {
        const out = new Int16Array(160);
        if (hz) for (let i = 0; i < 160; i++) out[i] = Math.round(6000 * Math.sin((2 * Math.PI * hz * (frame * 160 + i)) / 8000));
        return out;
      };
      recorder.write(tone(local), tone(remote));
    }
    await recorder.idle();
  }

  async endMedia(callId: string, error: { code: string; message: string } | null = null): Promise<void> {
    const recorder = this.streams.get(callId);
    this.streams.delete(callId);
    if (recorder) await this.#close(callId, recorder, error);
  }

  async startRecording(callId: string, record: RecordRequest): Promise<void> {
    if (!this.streams.has(callId)) throw new MediaError('MEDIA_NO_STREAM', `no stream ${callId}`);
    if (this.streams.get(callId)) throw new MediaError('MEDIA_RECORDING_EXISTS', `stream ${callId} records`);
    await this.#attach(callId, record);
  }

  async stopRecording(callId: string): Promise<void> {
    const recorder = this.streams.get(callId);
    if (!recorder) throw new MediaError('MEDIA_NOT_RECORDING', `stream ${callId} does not record`);
    this.streams.set(callId, null);
    await this.#close(callId, recorder, null);
  }

  async play(callId: string, samples: Int16Array): Promise<void> {
    this.played.push({ callId, samples });
  }

  async #attach(callId: string, record: RecordRequest): Promise<void> {
    const recorder = await WavRecorder.open(record.path, { stereo: record.stereo });
    this.streams.set(callId, recorder);
    this.emit('recordingStarted', { type: 'recordingStarted', callId, path: record.path });
  }

  async #close(callId: string, recorder: WavRecorder, error: { code: string; message: string } | null): Promise<void> {
    await recorder.close();
    this.emit('recordingFinished', { type: 'recordingFinished', callId, path: recorder.path, seconds: recorder.secondsWritten, error });
  }
}

export const recordingDefaults: Config['recording'] = {
  mode: 'always', rules: [], notice: 'none', announcementFile: '', quotaMb: 2048, minFreeMb: 200, retentionDays: 0,
};

export interface Rig {
  service: RecordingsService;
  bus: EventBus<BusEvents>;
  clock: FakeClock;
  media: FakeMedia;
  audio: SimAudio;
  store: MemoryStore;
  control: ControlRegistry;
  config: Config['recording'];
  dir: string;
  /** what the sim handset played, as a WAV file */
  handsetSink: string;
  disk: { freeBytes: number };
  events: Array<{ event: string; payload: unknown }>;
  /** A call's facts as the call service publishes them. */
  callState(call: CallInfo, state: CallState): void;
  /** Stops the service and removes the temp directories. */
  dispose(): Promise<void>;
}

let calls = 0;

export function callInfo(over: Partial<CallInfo> = {}): CallInfo {
  calls++;
  return { callId: `call-${calls}`, lineId: 'sip-1', lineKind: 'sip', direction: 'inbound', number: '5551234', name: null, e164: '+15551234', ...over };
}

export async function makeRig(over: Partial<Config['recording']> = {}, context: Partial<RecordingsContext> = {}): Promise<Rig> {
  const dir = await mkdtemp(join(tmpdir(), 'deskline-recordings-'));
  const clock = new FakeClock();
  const bus = new EventBus<BusEvents>(silentLogger());
  const media = new FakeMedia();
  const handsetSink = join(await mkdtemp(join(tmpdir(), 'deskline-handset-')), 'handset.wav');
  const audio = new SimAudio({ sinks: { handset: handsetSink } });
  const store = new MemoryStore();
  const control = new ControlRegistry();
  const config: Config['recording'] = { ...recordingDefaults, ...over };
  const disk = { freeBytes: 50 * 1024 * 1024 * 1024 };
  const events: Rig['events'] = [];
  for (const event of ['recordingSaved', 'recordingSuspendedChanged'] as const) bus.on('test', event, (payload) => void events.push({ event, payload }));
  const service = new RecordingsService({
    bus, clock, log: silentLogger(), store, config: () => config, dir, audio, control, media,
    diskUsage: async () => ({ freeBytes: disk.freeBytes }),
    checkIntervalMs: 60 * 60 * 1000,
    ...context,
  });
  return {
    service, bus, clock, media, audio, store, control, config, dir, handsetSink, disk, events,
    callState: (call, state) => bus.emit('callStateChanged', { ...call, state, at: clock.now() }),
    dispose: async () => {
      await service.stop();
      for (const path of [dir, dirname(handsetSink)]) await rm(path, { recursive: true, force: true });
    },
  };
}

/** A whole recorded call: announced, media with `seconds` of audio, ended; resolves once indexed. */
export async function recordedCall(rig: Rig, seconds: number, over: Partial<CallInfo> = {}): Promise<CallInfo> {
  const call = callInfo(over);
  rig.callState(call, 'ringing');
  rig.callState(call, 'active');
  await rig.media.startMedia(call.callId, rig.service.recordPathFor(call));
  await rig.media.talk(call.callId, seconds);
  rig.callState(call, 'ended');
  await rig.media.endMedia(call.callId);
  await rig.service.idle();
  return call;
}
