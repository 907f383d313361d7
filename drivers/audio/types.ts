export type AudioEndpoint = 'handset' | 'speaker' | 'headset' | 'line';

/** Every endpoint an audio driver may serve; a board may wire only some of them. */
export const AUDIO_ENDPOINTS: readonly AudioEndpoint[] = ['handset', 'speaker', 'headset', 'line'];

export type AudioDirection = 'capture' | 'playback';

export interface AudioFormat {
  /** 8000 (narrowband) or 16000 (wideband). */
  sampleRate: 8000 | 16000;
  channels: 1;
  /** Samples per period: 20 ms, i.e. 160 at 8 kHz. */
  frameSamples: number;
}

/** Captured audio, one period at a time (S16LE samples). */
export interface AudioCapture {
  readonly format: AudioFormat;
  /** The next period; resolves when a period is available. Rejects with DRIVER_NOT_OPEN once closed. */
  read(): Promise<Int16Array>;
  close(): Promise<void>;
}

export interface AudioPlayback {
  readonly format: AudioFormat;
  /** Queue one period for playback. A frame of the wrong length is rejected (DRIVER_INVALID_ARGUMENT). */
  write(frame: Int16Array): Promise<void>;
  close(): Promise<void>;
}

/** What an audio driver reports. None of these is fatal: the stream goes on (or is being restarted). */
export type AudioDriverEvents = {
  /** The device under- (playback) or over- (capture) ran and recovered; `count` is the stream's total so far. */
  xrunOccurred: { endpoint: AudioEndpoint; direction: AudioDirection; count: number; atLeastMs: number | null };
  /** The stream stopped unexpectedly (e.g. its process exited); it is restarted after `restartInMs`. */
  streamFailed: { endpoint: AudioEndpoint; direction: AudioDirection; reason: string; attempt: number; restartInMs: number };
  /** A failed stream runs again; `droppedPeriods` were lost since the last report (e.g. playback written while it was down). */
  streamRestarted: { endpoint: AudioEndpoint; direction: AudioDirection; attempt: number; droppedPeriods: number };
  /** Periods thrown away because the consumer fell behind (capture) or the device did (playback). */
  periodsDropped: { endpoint: AudioEndpoint; direction: AudioDirection; count: number };
};

/**
 * PCM audio for the handset, speaker and headset routes and the analog line's audio path.
 * - MUST deliver whole periods of `format.frameSamples` samples.
 * - MUST recover from xruns by itself (reported, never fatal).
 */
export interface AudioDriver {
  openCapture(endpoint: AudioEndpoint, format?: Partial<AudioFormat>): Promise<AudioCapture>;
  openPlayback(endpoint: AudioEndpoint, format?: Partial<AudioFormat>): Promise<AudioPlayback>;
  /** Subscribe to a driver event; returns an unsubscribe function. */
  on<K extends keyof AudioDriverEvents>(event: K, listener: (payload: AudioDriverEvents[K]) => void): () => void;
}
