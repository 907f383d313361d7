export type AudioEndpoint = 'handset' | 'speaker' | 'headset' | 'line';

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
  /** The next period; resolves when a period is available. */
  read(): Promise<Int16Array>;
  close(): Promise<void>;
}

export interface AudioPlayback {
  readonly format: AudioFormat;
  /** Queue one period for playback. A frame of the wrong length is rejected (DRIVER_INVALID_ARGUMENT). */
  write(frame: Int16Array): Promise<void>;
  close(): Promise<void>;
}

/**
 * PCM audio for the handset, speaker and headset routes and the analog line's audio path.
 * - MUST deliver whole periods of `format.frameSamples` samples.
 * - MUST recover from xruns by itself (reported, never fatal).
 */
export interface AudioDriver {
  openCapture(endpoint: AudioEndpoint, format?: Partial<AudioFormat>): Promise<AudioCapture>;
  openPlayback(endpoint: AudioEndpoint, format?: Partial<AudioFormat>): Promise<AudioPlayback>;
}
