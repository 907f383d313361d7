// The media worker thread (DESIGN.md: the 20 ms audio heartbeat runs off the main thread). It owns a
// UDP socket pair per call and a MediaSession for it; the main thread talks to it with messages.
import { createSocket, type Socket } from 'node:dgram';
import { isIP } from 'node:net';
import { parentPort } from 'node:worker_threads';
import { SystemClock } from '../core/clock.js';
import { MediaError } from './errors.js';
import type { MediaEvent, RecordRequest, StartStreamRequest, StreamStarted, WorkerMessage, WorkerRequest } from './messages.js';
import { MediaSession, type Endpoint } from './session.js';
import { WavRecorder } from './wav-recorder.js';

const port = parentPort;
if (!port) throw new MediaError('MEDIA_BAD_REQUEST', 'media worker started outside a worker thread');

const clock = new SystemClock('always');
const STATS_INTERVAL_MS = 5000;
const streams = new Map<string, { session: MediaSession; rtp: Socket; rtcp: Socket | null; statsTimer: ReturnType<SystemClock['setInterval']> }>();

function post(msg: WorkerMessage): void {
  port!.postMessage(msg);
}

function bind(address: string, p: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createSocket({ type: isIP(address) === 6 ? 'udp6' : 'udp4' });
    s.once('error', (e) => {
      s.close();
      reject(e);
    });
    s.bind({ address, port: p, exclusive: true }, () => {
      s.removeAllListeners('error');
      resolve(s);
    });
  });
}

/** RFC 3550 11: RTP on an even port, RTCP on the next (odd) one. */
async function bindPair(address: string, wanted: number | undefined, mux: boolean): Promise<{ rtp: Socket; rtcp: Socket | null }> {
  if (wanted) {
    const rtp = await bind(address, wanted);
    if (mux) return { rtp, rtcp: null };
    try {
      return { rtp, rtcp: await bind(address, wanted + 1) };
    } catch (e) {
      rtp.close();
      throw e;
    }
  }
  for (let attempt = 0; attempt < 50; attempt++) {
    const rtp = await bind(address, 0);
    const p = rtp.address().port;
    if (mux) return { rtp, rtcp: null };
    if (p % 2 === 0 && p < 65535) {
      try {
        return { rtp, rtcp: await bind(address, p + 1) };
      } catch {
        /* taken: try another */
      }
    }
    rtp.close();
  }
  throw new MediaError('MEDIA_SOCKET', 'no free RTP/RTCP port pair');
}

function checkRecord(record: RecordRequest): void {
  if (typeof record?.path !== 'string' || !record.path || record.path.length > 4096) throw new MediaError('MEDIA_BAD_REQUEST', 'record.path');
}

function failure(error: unknown): { code: string; message: string } {
  return { code: (error as { code?: string } | null)?.code ?? 'MEDIA_INTERNAL', message: String((error as Error)?.message ?? error) };
}

function checkStart(r: StartStreamRequest): void {
  const bad = (m: string) => new MediaError('MEDIA_BAD_REQUEST', m);
  if (typeof r.callId !== 'string' || !r.callId || r.callId.length > 256) throw bad('callId');
  if (!r.remote || isIP(r.remote.address) === 0) throw bad('remote.address must be an IP address');
  if (!Number.isInteger(r.remote.port) || r.remote.port < 1 || r.remote.port > 65535) throw bad('remote.port');
  if (r.localPort !== undefined && (!Number.isInteger(r.localPort) || r.localPort < 0 || r.localPort > 65534)) throw bad('localPort');
  if (r.dtmfPayloadType != null && (!Number.isInteger(r.dtmfPayloadType) || r.dtmfPayloadType < 96 || r.dtmfPayloadType > 127)) {
    throw bad('dtmfPayloadType must be dynamic (96-127)');
  }
  if (r.record) checkRecord(r.record);
}

async function startStream(r: StartStreamRequest): Promise<StreamStarted> {
  checkStart(r);
  if (streams.has(r.callId)) throw new MediaError('MEDIA_STREAM_EXISTS', `stream ${r.callId} exists`);
  // every recording asked for ends with exactly one recordingFinished, also when it never started
  const recordingFailed = (error: unknown) => {
    if (r.record) post({ type: 'recordingFinished', callId: r.callId, path: r.record.path, seconds: 0, error: failure(error) });
  };
  const mux = r.rtcpMux ?? false;
  let sockets: { rtp: Socket; rtcp: Socket | null };
  try {
    sockets = await bindPair(r.localAddress ?? '0.0.0.0', r.localPort || undefined, mux);
  } catch (error) {
    recordingFailed(error);
    throw error;
  }
  const { rtp, rtcp } = sockets;
  let recorder: WavRecorder | null = null;
  let attached = false;
  try {
    // A recording file that cannot be created (disk full, no directory) must not fail the call.
    if (r.record) {
      recorder = await WavRecorder.open(r.record.path, { stereo: r.record.stereo ?? false }).catch((error: unknown) => {
        post({ type: 'error', callId: r.callId, code: failure(error).code, message: `recording not started: ${failure(error).message}` });
        recordingFailed(error);
        return null;
      });
    }
    const emit = (e: MediaEvent) => post(e);
    const send = (sock: Socket) => (buf: Uint8Array, to: Endpoint) => {
      sock.send(buf, to.port, to.address, (error) => {
        if (error) post({ type: 'error', callId: r.callId, code: 'MEDIA_SOCKET', message: error.message });
      });
    };
    const session = new MediaSession(
      { callId: r.callId, remote: r.remote, payloadType: r.payloadType, dtmfPayloadType: r.dtmfPayloadType ?? null, rtcpMux: mux, tapReceived: r.tapReceived, rtcpIntervalMs: r.rtcpIntervalMs, jitter: r.jitter },
      { clock, transport: { sendRtp: send(rtp), sendRtcp: send(rtcp ?? rtp) }, emit },
    );
    if (r.audio) session.play(r.audio.samples, r.audio.loop ?? false);
    const from = (info: { address: string; port: number }) => ({ address: info.address, port: info.port });
    rtp.on('message', (msg, info) => session.onRtpDatagram(msg, from(info), clock.monotonic()));
    rtcp?.on('message', (msg, info) => session.onRtcpDatagram(msg, from(info), clock.monotonic()));
    for (const s of [rtp, rtcp]) s?.on('error', (e) => post({ type: 'error', callId: r.callId, code: 'MEDIA_SOCKET', message: e.message }));
    const statsTimer = clock.setInterval(() => post({ type: 'stats', callId: r.callId, stats: session.stats }), STATS_INTERVAL_MS);
    streams.set(r.callId, { session, rtp, rtcp, statsTimer });
    if (recorder) {
      session.attachRecorder(recorder);
      attached = true;
    }
    session.start();
    return { callId: r.callId, localPort: rtp.address().port, localRtcpPort: rtcp?.address().port ?? null, localSsrc: session.localSsrc };
  } catch (error) {
    rtp.close();
    rtcp?.close();
    if (recorder && !attached) {
      await recorder.close().catch(() => undefined);
      recordingFailed(error);
    }
    throw error;
  }
}

/** Starts recording a running stream mid-call (an on-demand recording). */
async function startRecording(callId: string, record: RecordRequest): Promise<null> {
  checkRecord(record);
  const s = stream(callId);
  // checked before opening, so a second request never truncates a file being recorded
  if (s.session.recordingPath !== null) throw new MediaError('MEDIA_RECORDING_EXISTS', `stream ${callId} is already recording to ${s.session.recordingPath}`);
  const recorder = await WavRecorder.open(record.path, { stereo: record.stereo ?? false });
  try {
    // the stream may have stopped (or started recording) while the file was being created
    if (streams.get(callId) !== s) throw new MediaError('MEDIA_NO_STREAM', `stream ${callId} stopped`);
    s.session.attachRecorder(recorder);
  } catch (error) {
    await recorder.close().catch(() => undefined);
    throw error;
  }
  return null;
}

function stream(callId: string) {
  const s = streams.get(callId);
  if (!s) throw new MediaError('MEDIA_NO_STREAM', `no stream ${callId}`);
  return s;
}

async function stopStream(callId: string) {
  const s = stream(callId);
  streams.delete(callId);
  clock.clear(s.statsTimer);
  const stats = await s.session.stop();
  s.rtp.close();
  s.rtcp?.close();
  post({ type: 'stats', callId, stats });
  return stats;
}

async function handle(m: WorkerRequest): Promise<unknown> {
  switch (m.op) {
    case 'startStream':
      return startStream(m.req);
    case 'sendDtmf':
      stream(m.callId).session.sendDtmf(String(m.digits), m.durationMs);
      return null;
    case 'play':
      if (!(m.samples instanceof Int16Array)) throw new MediaError('MEDIA_BAD_REQUEST', 'samples must be an Int16Array');
      stream(m.callId).session.play(m.samples, m.loop ?? false);
      return null;
    case 'getStats':
      return stream(m.callId).session.stats;
    case 'startRecording':
      return startRecording(m.callId, m.record);
    case 'stopRecording':
      await stream(m.callId).session.stopRecording();
      return null;
    case 'stopStream':
      return stopStream(m.callId);
    case 'shutdown':
      for (const id of [...streams.keys()]) await stopStream(id);
      clock.dispose();
      return null;
    default:
      throw new MediaError('MEDIA_BAD_REQUEST', `unknown op ${(m as { op?: unknown }).op as string}`);
  }
}

port.on('message', (m: WorkerRequest) => {
  handle(m).then(
    (value) => post({ type: 'reply', id: m.id, ok: true, value }),
    (error: unknown) => post({ type: 'reply', id: m.id, ok: false, ...failure(error) }),
  );
});
