// Messages between the main thread (MediaEngine) and the media worker (worker.ts).
import type { Endpoint, SessionStats } from './session.js';

export interface StartStreamRequest {
  callId: string;
  /** Local RTP port; 0/absent: any free even port with the next one free for RTCP. */
  localPort?: number;
  /** Local address to bind (default 0.0.0.0). */
  localAddress?: string;
  remote: Endpoint;
  payloadType: number;
  dtmfPayloadType?: number | null;
  /** RFC 5761 RTCP multiplexed on the RTP port (default false: RTCP on port + 1). */
  rtcpMux?: boolean;
  /**
   * Record the call from the first tick. A file that cannot be created does not fail the stream: the
   * stream runs unrecorded and `recordingFinished` reports the error.
   */
  record?: RecordRequest;
  /** Audio to send instead of silence. */
  audio?: { samples: Int16Array; loop?: boolean };
  /** Post every played-out received frame as an `audio` event (tests, taps). */
  tapReceived?: boolean;
  rtcpIntervalMs?: number;
  jitter?: { minDelayMs?: number; maxDelayMs?: number };
}

export interface RecordRequest {
  path: string;
  /** Left = local (what we send), right = remote (what we hear). Default false: mono mix. */
  stereo?: boolean;
}

export interface StreamStarted {
  callId: string;
  localPort: number;
  localRtcpPort: number | null;
  localSsrc: number;
}

export type WorkerRequest =
  | { id: number; op: 'startStream'; req: StartStreamRequest }
  | { id: number; op: 'sendDtmf'; callId: string; digits: string; durationMs?: number }
  | { id: number; op: 'play'; callId: string; samples: Int16Array; loop?: boolean }
  | { id: number; op: 'getStats'; callId: string }
  | { id: number; op: 'startRecording'; callId: string; record: RecordRequest }
  | { id: number; op: 'stopRecording'; callId: string }
  | { id: number; op: 'stopStream'; callId: string }
  | { id: number; op: 'shutdown' };

export type WorkerReply =
  | { type: 'reply'; id: number; ok: true; value: unknown }
  | { type: 'reply'; id: number; ok: false; code: string; message: string };

export type MediaEvent =
  | { type: 'dtmfReceived'; callId: string; digit: string; durationMs: number; endLost: boolean }
  | { type: 'audio'; callId: string; samples: Int16Array }
  | { type: 'stats'; callId: string; stats: SessionStats }
  /** A stream's recorder opened its file (at stream start or mid-call). */
  | { type: 'recordingStarted'; callId: string; path: string }
  /**
   * A recording asked for (startStream `record` or startRecording) is over: stopped, its stream stopped,
   * or its file failed (disk full: `error` set, the file keeps what was flushed before). Sent exactly once
   * per recording, also when its file could not be created (`seconds` 0) or its stream did not start.
   */
  | RecordingFinished
  | { type: 'error'; callId: string | null; code: string; message: string };

export interface RecordingFinished {
  type: 'recordingFinished';
  callId: string;
  path: string;
  /** seconds of audio durably in the file */
  seconds: number;
  error: { code: string; message: string } | null;
}

export type WorkerMessage = WorkerReply | MediaEvent;
