import { describe, it, expect } from '@jest/globals';
import * as sdpTransform from 'sdp-transform';
import type { Session, SessionDescriptionHandlerModifier } from 'sip.js';
import {
  RtpSessionDescriptionHandler,
  createRtpSessionDescriptionHandlerFactory,
  type DtmfDigit,
  type DtmfTiming,
  type MediaSession,
  type RtpSessionDescriptionHandlerConfig,
} from '../../../../src/sip/sdp/handler.js';
import { SdpError, type MediaParams } from '../../../../src/sip/sdp/negotiate.js';
import { BARESIP_OFFER, G729_ONLY_OFFER, offer, sdp } from './fixtures.js';

type Call =
  | { op: 'start' | 'update'; params: MediaParams }
  | { op: 'stop' }
  | { op: 'dtmf'; digit: DtmfDigit; timing: DtmfTiming };

class FakeMediaSession implements MediaSession {
  readonly calls: Call[] = [];
  failStart = false;
  acceptDtmf = true;
  start(params: MediaParams): Promise<void> {
    this.calls.push({ op: 'start', params });
    return this.failStart ? Promise.reject(new Error('socket busy')) : Promise.resolve();
  }
  update(params: MediaParams): void {
    this.calls.push({ op: 'update', params });
  }
  stop(): Promise<void> {
    this.calls.push({ op: 'stop' });
    return Promise.resolve();
  }
  sendDtmf(digit: DtmfDigit, timing: DtmfTiming): boolean {
    this.calls.push({ op: 'dtmf', digit, timing });
    return this.acceptDtmf;
  }
  ops(): string[] {
    return this.calls.map((c) => c.op);
  }
  last(op: 'start' | 'update'): MediaParams {
    const found = [...this.calls].reverse().find((c) => c.op === op);
    if (found === undefined || !('params' in found)) throw new Error(`no ${op} call`);
    return found.params;
  }
}

function setup(overrides: Partial<RtpSessionDescriptionHandlerConfig> = {}) {
  const media = new FakeMediaSession();
  const released: number[] = [];
  const errors: unknown[] = [];
  const handler = new RtpSessionDescriptionHandler({
    mediaSession: media,
    localAddress: '192.0.2.5',
    allocatePort: () => Promise.resolve(16000),
    releasePort: (port) => released.push(port),
    onError: (error) => errors.push(error),
    ...overrides,
  });
  return { media, handler, released, errors };
}

/** An answer from the far end to whatever we offered. */
const farAnswer = (direction = 'sendrecv', version = 1, formats = '0 101') =>
  sdp('v=0', `o=far 55 ${version} IN IP4 203.0.113.9`, 's=-', 'c=IN IP4 203.0.113.9', 't=0 0', `m=audio 30000 RTP/AVP ${formats}`, 'a=rtpmap:101 telephone-event/8000', 'a=ptime:20', `a=${direction}`);

const originVersion = (body: string) => sdpTransform.parse(body).origin.sessionVersion;
const directionOf = (body: string) => sdpTransform.parse(body).media[0].direction;

async function rejection(promise: Promise<unknown>): Promise<SdpError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(SdpError);
    return error as SdpError;
  }
  throw new Error('expected a rejection');
}

describe('RtpSessionDescriptionHandler as answerer (incoming call)', () => {
  it('offer -> answer -> start with the negotiated parameters', async () => {
    const { media, handler } = setup();
    await handler.setDescription(BARESIP_OFFER);
    expect(handler.signalingState).toBe('have-remote-offer');
    expect(media.calls).toEqual([]);

    const answer = await handler.getDescription();
    expect(answer.contentType).toBe('application/sdp');
    expect(answer.body).toContain('m=audio 16000 RTP/AVP 0 101\r\n');
    expect(answer.body).toContain('c=IN IP4 192.0.2.5\r\n');
    expect(handler.signalingState).toBe('stable');
    expect(media.ops()).toEqual(['start']);
    expect(media.last('start')).toMatchObject({
      localAddress: '192.0.2.5',
      localPort: 16000,
      remoteAddress: '127.0.0.1',
      remotePort: 10004,
      codec: 'PCMU',
      payloadType: 0,
      dtmfPayloadType: 101,
      ptime: 20,
      direction: 'both',
    });
    expect(handler.mediaParams).toEqual(media.last('start'));
  });

  it('re-offer sendonly -> answer recvonly -> update with recv; resume -> both', async () => {
    const { media, handler } = setup();
    await handler.setDescription(offer({ version: 1 }));
    const first = await handler.getDescription();

    await handler.setDescription(offer({ version: 2, attributes: ['a=rtpmap:101 telephone-event/8000', 'a=sendonly'] }));
    const held = await handler.getDescription();
    expect(directionOf(held.body)).toBe('recvonly');
    expect(media.ops()).toEqual(['start', 'update']);
    expect(media.last('update')).toMatchObject({ direction: 'recv', remoteHold: true, localHold: false });
    // Our description changed, so its version went up by one (RFC 3264 §8).
    expect(originVersion(held.body)).toBe(originVersion(first.body) + 1);

    await handler.setDescription(offer({ version: 3 }));
    const resumed = await handler.getDescription();
    expect(directionOf(resumed.body)).toBe('sendrecv');
    expect(media.ops()).toEqual(['start', 'update', 'update']);
    expect(media.last('update')).toMatchObject({ direction: 'both', remoteHold: false });
    expect(originVersion(resumed.body)).toBe(originVersion(first.body) + 2);
  });

  it('an unchanged re-offer (session refresh) keeps our version and does not touch the media', async () => {
    const { media, handler } = setup();
    await handler.setDescription(BARESIP_OFFER);
    const first = await handler.getDescription();
    await handler.setDescription(BARESIP_OFFER);
    const again = await handler.getDescription();
    expect(again.body).toBe(first.body);
    expect(media.ops()).toEqual(['start']);
  });

  it('a new remote address in a re-offer is passed on with update', async () => {
    const { media, handler } = setup();
    await handler.setDescription(offer({ sessionC: '198.51.100.1' }));
    await handler.getDescription();
    await handler.setDescription(offer({ version: 2, sessionC: '198.51.100.2', port: 41000 }));
    await handler.getDescription();
    expect(media.last('update')).toMatchObject({ remoteAddress: '198.51.100.2', remotePort: 41000 });
  });

  it('an offer we cannot take (G.729 only) is refused in setDescription and leaves the session stable', async () => {
    const { media, handler } = setup();
    const error = await rejection(handler.setDescription(G729_ONLY_OFFER));
    expect(error.code).toBe('SDP_NO_COMMON_CODEC');
    expect(error.sipStatus).toBe(488);
    expect(handler.signalingState).toBe('stable');
    expect(media.calls).toEqual([]);
  });

  it('an oversized offer is refused before parsing', async () => {
    const { handler } = setup();
    const error = await rejection(handler.setDescription(BARESIP_OFFER + 'a=x:' + 'y'.repeat(17 * 1024) + '\r\n'));
    expect(error.code).toBe('SDP_TOO_LARGE');
  });

  it('while we hold (sip.js hold option), a sendrecv re-offer is answered sendonly', async () => {
    const { media, handler } = setup();
    await handler.setDescription(offer({}));
    await handler.getDescription();
    await handler.setDescription(offer({ version: 2, port: 40100 }), { hold: true });
    const answer = await handler.getDescription({ hold: true });
    expect(directionOf(answer.body)).toBe('sendonly');
    expect(media.last('update')).toMatchObject({ direction: 'send', localHold: true });
  });

  it('a failing MediaSession.start rejects the answer with SDP_MEDIA_FAILED', async () => {
    const { media, handler } = setup();
    media.failStart = true;
    await handler.setDescription(BARESIP_OFFER);
    const error = await rejection(handler.getDescription());
    expect(error.code).toBe('SDP_MEDIA_FAILED');
    expect((error.cause as Error).message).toBe('socket busy');
    expect(handler.signalingState).toBe('stable');
  });
});

describe('RtpSessionDescriptionHandler as offerer (outgoing call, hold, resume)', () => {
  it('offer -> answer -> start; hold -> sendonly offer -> update send; resume -> sendrecv', async () => {
    const { media, handler } = setup();
    const initial = await handler.getDescription();
    expect(initial.body).toContain('m=audio 16000 RTP/AVP 0 8 101\r\n');
    expect(initial.body).toContain('a=ptime:20\r\n');
    expect(directionOf(initial.body)).toBe('sendrecv');
    expect(handler.signalingState).toBe('have-local-offer');
    expect(media.calls).toEqual([]);

    await handler.setDescription(farAnswer('sendrecv', 1, '8 101'));
    expect(handler.signalingState).toBe('stable');
    expect(media.ops()).toEqual(['start']);
    expect(media.last('start')).toMatchObject({ remoteAddress: '203.0.113.9', remotePort: 30000, codec: 'PCMA', payloadType: 8, dtmfPayloadType: 101, direction: 'both' });

    const hold = await handler.getDescription({ hold: true });
    expect(directionOf(hold.body)).toBe('sendonly');
    expect(originVersion(hold.body)).toBe(originVersion(initial.body) + 1);
    await handler.setDescription(farAnswer('recvonly', 2, '8 101'));
    expect(media.last('update')).toMatchObject({ direction: 'send', localHold: true, remoteHold: false });

    const resume = await handler.getDescription({ hold: false });
    expect(directionOf(resume.body)).toBe('sendrecv');
    expect(originVersion(resume.body)).toBe(originVersion(initial.body) + 2);
    await handler.setDescription(farAnswer('sendrecv', 3, '8 101'));
    expect(media.last('update')).toMatchObject({ direction: 'both', localHold: false });
    expect(media.ops()).toEqual(['start', 'update', 'update']);
  });

  it('holding while the peer holds us offers inactive (RFC 3264 §8.4)', async () => {
    const { handler } = setup();
    await handler.setDescription(offer({ attributes: ['a=sendonly'] }));
    await handler.getDescription();
    expect(handler.mediaParams?.direction).toBe('recv');
    const hold = await handler.getDescription({ hold: true });
    expect(directionOf(hold.body)).toBe('inactive');
  });

  it('rollback after a refused hold re-INVITE returns to the last stable state', async () => {
    const { media, handler } = setup();
    const initial = await handler.getDescription();
    await handler.setDescription(farAnswer());
    const hold = await handler.getDescription({ hold: true });
    await handler.rollbackDescription();
    expect(handler.signalingState).toBe('stable');
    expect(handler.mediaParams?.localHold).toBe(false);
    // The next offer without options is not a hold, and versions never go back.
    const next = await handler.getDescription();
    expect(directionOf(next.body)).toBe('sendrecv');
    expect(originVersion(next.body)).toBeGreaterThan(originVersion(hold.body));
    expect(originVersion(hold.body)).toBeGreaterThan(originVersion(initial.body));
    expect(media.ops()).toEqual(['start']);
  });

  it('an answer refusing the audio stream rejects with SDP_MEDIA_REJECTED and starts nothing', async () => {
    const { media, handler } = setup();
    await handler.getDescription();
    const answer = sdp('v=0', 'o=far 1 1 IN IP4 203.0.113.9', 's=-', 'c=IN IP4 203.0.113.9', 't=0 0', 'm=audio 0 RTP/AVP 0');
    const error = await rejection(handler.setDescription(answer));
    expect(error.code).toBe('SDP_MEDIA_REJECTED');
    expect(media.calls).toEqual([]);
  });

  it('applies sip.js description modifiers to what it sends and negotiates from the result', async () => {
    const { media, handler } = setup();
    const toSendonly: SessionDescriptionHandlerModifier = (description) =>
      Promise.resolve({ ...description, sdp: (description.sdp ?? '').replace('a=sendrecv', 'a=sendonly') });
    const sent = await handler.getDescription({}, [toSendonly]);
    expect(directionOf(sent.body)).toBe('sendonly');
    await handler.setDescription(farAnswer('recvonly'));
    expect(media.last('start').direction).toBe('send');
    const broken: SessionDescriptionHandlerModifier = () => Promise.resolve({ type: 'offer' });
    expect((await rejection(handler.getDescription({}, [broken]))).code).toBe('SDP_INVALID_LOCAL');
  });
});

describe('RtpSessionDescriptionHandler DTMF, close and resources', () => {
  async function established(answer = farAnswer()) {
    const context = setup();
    await context.handler.getDescription();
    await context.handler.setDescription(answer);
    return context;
  }

  it('forwards DTMF digit by digit with bounded timing', async () => {
    const { media, handler } = await established();
    expect(handler.sendDtmf('1#a', { duration: 160, interToneGap: 10 })).toBe(true);
    expect(media.calls.filter((c) => c.op === 'dtmf')).toEqual([
      { op: 'dtmf', digit: '1', timing: { durationMs: 160, gapMs: 30 } },
      { op: 'dtmf', digit: '#', timing: { durationMs: 160, gapMs: 30 } },
      { op: 'dtmf', digit: 'A', timing: { durationMs: 160, gapMs: 30 } },
    ]);
    expect(handler.sendDtmf('5')).toBe(true);
    expect(media.calls.at(-1)).toEqual({ op: 'dtmf', digit: '5', timing: { durationMs: 100, gapMs: 70 } });
  });

  it('refuses DTMF that is invalid, unnegotiated, on hold, or refused by the engine', async () => {
    const before = setup();
    expect(before.handler.sendDtmf('1')).toBe(false);

    const { media, handler } = await established();
    const count = media.calls.length;
    expect(handler.sendDtmf('')).toBe(false);
    expect(handler.sendDtmf('12x')).toBe(false);
    expect(handler.sendDtmf('1'.repeat(65))).toBe(false);
    expect(media.calls.length).toBe(count);
    media.acceptDtmf = false;
    expect(handler.sendDtmf('1')).toBe(false);

    const noEvents = await established(farAnswer('sendrecv', 1, '0'));
    expect(noEvents.handler.sendDtmf('1')).toBe(false);
    const peerHolds = await established(farAnswer('inactive'));
    expect(peerHolds.handler.sendDtmf('1')).toBe(false);
  });

  it('close stops the media, releases the port once and refuses further use', async () => {
    const { media, handler, released } = await established();
    handler.close();
    handler.close();
    await handler.settled();
    expect(media.ops()).toEqual(['start', 'stop']);
    expect(released).toEqual([16000]);
    expect(handler.isClosed).toBe(true);
    expect((await rejection(handler.getDescription())).code).toBe('SDP_HANDLER_CLOSED');
    expect((await rejection(handler.setDescription(BARESIP_OFFER))).code).toBe('SDP_HANDLER_CLOSED');
    expect(handler.sendDtmf('1')).toBe(false);
  });

  it('close before any exchange does not stop media that never started, but releases the port', async () => {
    const { media, handler, released } = setup();
    await handler.getDescription();
    handler.close();
    await handler.settled();
    expect(media.calls).toEqual([]);
    expect(released).toEqual([16000]);
  });

  it('close while the port is still being allocated releases it when it arrives', async () => {
    let resolvePort: (port: number) => void = () => undefined;
    const { handler, released } = setup({ allocatePort: () => new Promise<number>((resolve) => (resolvePort = resolve)) });
    const pending = handler.getDescription();
    handler.close();
    resolvePort(16002);
    expect((await rejection(pending)).code).toBe('SDP_HANDLER_CLOSED');
    await handler.settled();
    expect(released).toEqual([16002]);
  });

  it('a port that cannot be allocated rejects with SDP_PORT_UNAVAILABLE', async () => {
    const { handler } = setup({ allocatePort: () => Promise.reject(new Error('EADDRINUSE')) });
    expect((await rejection(handler.getDescription())).code).toBe('SDP_PORT_UNAVAILABLE');
    const throwing = setup({
      allocatePort: () => {
        throw new Error('no ports left');
      },
    });
    const error = await rejection(throwing.handler.getDescription());
    expect(error.code).toBe('SDP_PORT_UNAVAILABLE');
    expect((error.cause as Error).message).toBe('no ports left');
    const bad = setup({ allocatePort: () => 70000 });
    expect((await rejection(bad.handler.getDescription())).code).toBe('SDP_PORT_UNAVAILABLE');
  });

  it('handles only application/sdp', () => {
    const { handler } = setup();
    expect(handler.hasDescription('application/sdp')).toBe(true);
    expect(handler.hasDescription('Application/SDP; charset=utf-8')).toBe(true);
    expect(handler.hasDescription('application/dtmf-relay')).toBe(false);
    expect(handler.hasDescription('multipart/mixed; boundary=x')).toBe(false);
  });
});

describe('createRtpSessionDescriptionHandlerFactory', () => {
  it('builds a handler per session with its own MediaSession and the current address', async () => {
    const sessions: Session[] = [];
    let address = '192.0.2.5';
    let nextPort = 16000;
    const factory = createRtpSessionDescriptionHandlerFactory({
      localAddress: () => address,
      allocatePort: () => (nextPort += 2),
      createMediaSession: (session) => {
        sessions.push(session);
        return new FakeMediaSession();
      },
    });
    const sessionA = { id: 'a' } as unknown as Session;
    const sessionB = { id: 'b' } as unknown as Session;
    const a = factory(sessionA, {});
    address = '192.0.2.6';
    const b = factory(sessionB);
    expect(a).toBeInstanceOf(RtpSessionDescriptionHandler);
    expect(sessions).toEqual([sessionA, sessionB]);
    const offerA = await a.getDescription();
    const offerB = await b.getDescription();
    expect(offerA.body).toContain('c=IN IP4 192.0.2.5\r\n');
    expect(offerA.body).toContain('m=audio 16002 ');
    expect(offerB.body).toContain('c=IN IP4 192.0.2.6\r\n');
    expect(offerB.body).toContain('m=audio 16004 ');
    // Each session has its own o= session id.
    expect(sdpTransform.parse(offerA.body).origin.sessionId).not.toBe(sdpTransform.parse(offerB.body).origin.sessionId);
  });
});
