import { describe, it, expect } from '@jest/globals';
import * as sdpTransform from 'sdp-transform';
import {
  MAX_SDP_BYTES,
  SdpError,
  buildAnswer,
  buildHoldOffer,
  buildOffer,
  buildResumeOffer,
  holdDirection,
  negotiate,
  newSessionId,
  parseSdp,
  selectAudio,
  type AnswerOptions,
  type MediaParams,
} from '../../../../src/sip/sdp/negotiate.js';
import { ASTERISK_OFFER, BARESIP_OFFER, G729_ONLY_OFFER, TRUNK_OFFER, offer, sdp } from './fixtures.js';

const LOCAL: AnswerOptions = { address: '192.0.2.5', port: 16000, sessionId: '777', version: 0 };

/** Answer an offer and return the answer's audio section and the negotiated parameters. */
function answerTo(offerSdp: string, options: Partial<AnswerOptions> = {}) {
  const parsedOffer = parseSdp(offerSdp);
  const answer = buildAnswer(parsedOffer, { ...LOCAL, ...options });
  const params = negotiate(parsedOffer, parseSdp(answer), 'answerer', { localHold: options.hold });
  return { answer, raw: sdpTransform.parse(answer), params };
}

function expectSdpError(fn: () => unknown, code: string, sipStatus?: number): SdpError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(SdpError);
  const error = caught as SdpError;
  expect(error.code).toBe(code);
  if (sipStatus !== undefined) expect(error.sipStatus).toBe(sipStatus);
  return error;
}

describe('buildOffer', () => {
  it('offers PCMU, PCMA and telephone-event over RTP/AVP with ptime 20 and sendrecv', () => {
    const text = buildOffer({ address: '192.0.2.5', port: 16000, sessionId: '123456', version: 3 });
    expect(text).toContain('m=audio 16000 RTP/AVP 0 8 101\r\n');
    const raw = sdpTransform.parse(text);
    expect(raw.version).toBe(0);
    expect(raw.origin).toEqual({ username: '-', sessionId: 123456, sessionVersion: 3, netType: 'IN', ipVer: 4, address: '192.0.2.5' });
    expect(raw.name).toBe('Deskline');
    expect(raw.connection).toEqual({ version: 4, ip: '192.0.2.5' });
    expect(raw.timing).toEqual({ start: 0, stop: 0 });
    expect(raw.media).toHaveLength(1);
    const audio = raw.media[0];
    expect(audio.rtp).toEqual([
      { payload: 0, codec: 'PCMU', rate: 8000 },
      { payload: 8, codec: 'PCMA', rate: 8000 },
      { payload: 101, codec: 'telephone-event', rate: 8000 },
    ]);
    expect(audio.fmtp).toEqual([{ payload: 101, config: '0-16' }]);
    expect(audio.ptime).toBe(20);
    expect(audio.direction).toBe('sendrecv');
  });

  it('honours codec order, a different DTMF type and none at all', () => {
    const text = buildOffer({ ...LOCAL, codecs: ['PCMA'], dtmfPayloadType: 96 });
    expect(text).toContain('m=audio 16000 RTP/AVP 8 96\r\n');
    expect(text).toContain('a=rtpmap:96 telephone-event/8000\r\n');
    const noDtmf = buildOffer({ ...LOCAL, dtmfPayloadType: null });
    expect(noDtmf).toContain('m=audio 16000 RTP/AVP 0 8\r\n');
    expect(noDtmf).not.toContain('telephone-event');
  });

  it('writes an IPv6 address as IP6', () => {
    const text = buildOffer({ ...LOCAL, address: '2001:db8::5' });
    expect(text).toContain('c=IN IP6 2001:db8::5\r\n');
    expect(text).toMatch(/^o=- 777 0 IN IP6 2001:db8::5\r$/m);
  });

  it('rejects a bad local address, port, session id or DTMF type', () => {
    expectSdpError(() => buildOffer({ ...LOCAL, address: 'phone.local' }), 'SDP_INVALID_LOCAL');
    expectSdpError(() => buildOffer({ ...LOCAL, port: 0 }), 'SDP_INVALID_LOCAL');
    expectSdpError(() => buildOffer({ ...LOCAL, sessionId: 'abc' }), 'SDP_INVALID_LOCAL');
    expectSdpError(() => buildOffer({ ...LOCAL, dtmfPayloadType: 8 }), 'SDP_INVALID_LOCAL');
    expectSdpError(() => buildOffer({ ...LOCAL, codecs: [] }), 'SDP_INVALID_LOCAL');
  });

  it('hold offers sendonly, or inactive when we were only receiving (RFC 3264 §8.4); resume offers sendrecv', () => {
    expect(holdDirection('both')).toBe('sendonly');
    expect(holdDirection(null)).toBe('sendonly');
    expect(holdDirection('recv')).toBe('inactive');
    expect(holdDirection('none')).toBe('inactive');
    expect(buildHoldOffer(LOCAL, 'both')).toContain('a=sendonly\r\n');
    expect(buildHoldOffer(LOCAL, 'recv')).toContain('a=inactive\r\n');
    expect(buildResumeOffer(LOCAL)).toContain('a=sendrecv\r\n');
  });

  it('makes numeric session ids', () => {
    const a = newSessionId();
    expect(a).toMatch(/^\d+$/);
    expect(Number(a)).toBeLessThan(2 ** 47);
  });
});

describe('parseSdp', () => {
  it('bounds the size before parsing', () => {
    const big = BARESIP_OFFER + 'a=x-padding:' + 'x'.repeat(MAX_SDP_BYTES) + '\r\n';
    expectSdpError(() => parseSdp(big), 'SDP_TOO_LARGE');
    // Multi-byte characters count as bytes, not as UTF-16 units.
    const wide = BARESIP_OFFER + 'a=x-name:' + '電'.repeat(Math.ceil(MAX_SDP_BYTES / 3)) + '\r\n';
    expect(wide.length).toBeLessThan(MAX_SDP_BYTES);
    expectSdpError(() => parseSdp(wide), 'SDP_TOO_LARGE', 413);
    expect(() => parseSdp(BARESIP_OFFER)).not.toThrow();
  });

  it('rejects what is not an SDP', () => {
    expectSdpError(() => parseSdp('hello world'), 'SDP_MALFORMED', 400);
    expectSdpError(() => parseSdp(''), 'SDP_MALFORMED');
    expectSdpError(() => parseSdp(sdp('v=0', 's=-', 't=0 0', 'm=audio 4000 RTP/AVP 0')), 'SDP_MALFORMED');
    expectSdpError(() => parseSdp(sdp('v=0', 'o=- 1 1 IN IP4 1.2.3.4', 's=-', 't=0 0')), 'SDP_MALFORMED');
    expectSdpError(() => parseSdp(sdp('v=0', 'o=- 1 1 IN IP4 1.2.3.4', 's=-', 't=0 0', 'm=audio x RTP/AVP 0')), 'SDP_MALFORMED');
    expectSdpError(() => parseSdp(sdp('v=0', 'o=- 1 1 IN IP4 1.2.3.4', 's=-', 't=0 0', 'm=audio 70000 RTP/AVP 0')), 'SDP_MALFORMED');
    const many = Array.from({ length: 17 }, (_, i) => `m=audio ${4000 + 2 * i} RTP/AVP 0`);
    expectSdpError(() => parseSdp(sdp('v=0', 'o=- 1 1 IN IP4 1.2.3.4', 's=-', 'c=IN IP4 1.2.3.4', 't=0 0', ...many)), 'SDP_MALFORMED');
  });

  it('resolves c= and direction from media level, else session level', () => {
    const parsed = parseSdp(offer({ sessionC: '198.51.100.1', mediaC: '198.51.100.99', sessionAttributes: ['a=sendonly'], attributes: ['a=rtpmap:0 PCMU/8000'] }));
    expect(parsed.media[0].connection).toEqual({ ipVersion: 4, address: '198.51.100.99' });
    expect(parsed.media[0].direction).toBe('sendonly');
    const sessionOnly = parseSdp(offer({ attributes: ['a=recvonly'] }));
    expect(sessionOnly.media[0].connection).toEqual({ ipVersion: 4, address: '198.51.100.1' });
    expect(sessionOnly.media[0].direction).toBe('recvonly');
  });

  it('keeps large session ids and versions exact', () => {
    const parsed = parseSdp(sdp('v=0', 'o=- 18446744073709551615 9007199254740993 IN IP4 1.2.3.4', 's=-', 'c=IN IP4 1.2.3.4', 't=0 0', 'm=audio 4000 RTP/AVP 0'));
    expect(parsed.origin.sessionId).toBe('18446744073709551615');
    expect(parsed.origin.version).toBe('9007199254740993');
  });

  it('ignores rtpmap lines for payload types the m= line does not list', () => {
    const parsed = parseSdp(offer({ formats: '0', attributes: ['a=rtpmap:0 PCMU/8000', 'a=rtpmap:101 telephone-event/8000'] }));
    expect([...parsed.media[0].rtpmap.keys()]).toEqual([0]);
  });
});

describe('answering offers', () => {
  it("baresip: takes PCMU, the first G.711 in baresip's order, and its telephone-event", () => {
    const { answer, raw, params } = answerTo(BARESIP_OFFER);
    expect(answer).toContain('m=audio 16000 RTP/AVP 0 101\r\n');
    expect(raw.media[0].rtp).toEqual([
      { payload: 0, codec: 'PCMU', rate: 8000 },
      { payload: 101, codec: 'telephone-event', rate: 8000 },
    ]);
    expect(raw.media[0].direction).toBe('sendrecv');
    expect(raw.media[0].ptime).toBe(20);
    expect(raw.origin.sessionId).toBe(777);
    const expected: MediaParams = {
      localAddress: '192.0.2.5',
      localPort: 16000,
      remoteAddress: '127.0.0.1',
      remotePort: 10004,
      remoteRtcpPort: 10005,
      codec: 'PCMU',
      payloadType: 0,
      clockRate: 8000,
      dtmfPayloadType: 101,
      dtmfReceivePayloadType: 101,
      ptime: 20,
      direction: 'both',
      localHold: false,
      remoteHold: false,
    };
    expect(params).toEqual(expected);
  });

  it('SIP trunk: recognises static 8 and 0 without rtpmap and keeps the offerer order (PCMA first)', () => {
    const { answer, params } = answerTo(TRUNK_OFFER);
    expect(answer).toContain('m=audio 16000 RTP/AVP 8 101\r\n');
    expect(answer).toContain('a=rtpmap:8 PCMA/8000\r\n');
    expect(params.codec).toBe('PCMA');
    expect(params.payloadType).toBe(8);
    expect(params.remoteAddress).toBe('203.0.113.20');
    expect(params.remotePort).toBe(20584);
    expect(params.dtmfPayloadType).toBe(101);
  });

  it('Asterisk with many codecs: skips G.722/opus and answers PCMU only', () => {
    const { raw, params } = answerTo(ASTERISK_OFFER);
    expect(raw.media[0].payloads).toBe('0 101');
    expect(params.codec).toBe('PCMU');
    expect(params.ptime).toBe(20);
  });

  it('our codec list filters what we may answer with', () => {
    const { params } = answerTo(ASTERISK_OFFER, { codecs: ['PCMA'] });
    expect(params.codec).toBe('PCMA');
    expect(params.payloadType).toBe(8);
  });

  it('G.729 only: SDP_NO_COMMON_CODEC, worth a 488', () => {
    const error = expectSdpError(() => buildAnswer(parseSdp(G729_ONLY_OFFER), LOCAL), 'SDP_NO_COMMON_CODEC', 488);
    expect(error.message).toContain('18 101');
  });

  it('telephone-event on another dynamic type is answered with the offerer number (96, 110)', () => {
    for (const pt of [96, 110]) {
      const text = offer({ formats: `8 ${pt}`, attributes: [`a=rtpmap:${pt} telephone-event/8000`, `a=fmtp:${pt} 0-15`] });
      const { answer, params } = answerTo(text);
      expect(answer).toContain(`m=audio 16000 RTP/AVP 8 ${pt}\r\n`);
      expect(answer).toContain(`a=rtpmap:${pt} telephone-event/8000\r\n`);
      expect(params.dtmfPayloadType).toBe(pt);
      expect(params.dtmfReceivePayloadType).toBe(pt);
    }
  });

  it('picks the 8000 Hz telephone-event when a 48000 Hz one is offered too', () => {
    const text = offer({
      formats: '111 0 110 101',
      attributes: ['a=rtpmap:111 opus/48000/2', 'a=rtpmap:110 telephone-event/48000', 'a=rtpmap:101 telephone-event/8000'],
    });
    const { raw, params } = answerTo(text);
    expect(raw.media[0].payloads).toBe('0 101');
    expect(params.dtmfPayloadType).toBe(101);
  });

  it('without telephone-event in the offer, none in the answer and no DTMF type', () => {
    const { answer, params } = answerTo(offer({ formats: '0', attributes: [] }));
    expect(answer).not.toContain('telephone-event');
    expect(params.dtmfPayloadType).toBeNull();
    expect(params.dtmfReceivePayloadType).toBeNull();
  });

  it('does not take PCMU at another clock rate or in stereo', () => {
    const text = offer({ formats: '0 97 98', attributes: ['a=rtpmap:0 PCMU/16000', 'a=rtpmap:97 PCMA/8000/2', 'a=rtpmap:98 PCMA/8000'] });
    const { params } = answerTo(text);
    expect(params.codec).toBe('PCMA');
    expect(params.payloadType).toBe(98);
  });

  it('media-level c= wins over session-level c=; session-level alone is used', () => {
    expect(answerTo(offer({ sessionC: '198.51.100.1', mediaC: '198.51.100.50' })).params.remoteAddress).toBe('198.51.100.50');
    expect(answerTo(offer({ sessionC: null, mediaC: '198.51.100.60' })).params.remoteAddress).toBe('198.51.100.60');
    expect(answerTo(offer({ sessionC: '198.51.100.70' })).params.remoteAddress).toBe('198.51.100.70');
  });

  it('refuses an audio stream without any c=, or with a host name', () => {
    expectSdpError(() => answerTo(offer({ sessionC: null })), 'SDP_UNSUPPORTED_ADDRESS', 488);
    expectSdpError(() => answerTo(offer({ sessionC: 'pbx.example.com' })), 'SDP_UNSUPPORTED_ADDRESS');
  });

  it('uses a=ptime we can do and a=rtcp (RFC 3605)', () => {
    const { params } = answerTo(offer({ attributes: ['a=ptime:30', 'a=rtcp:40011 IN IP4 198.51.100.1'] }));
    expect(params.ptime).toBe(30);
    expect(params.remoteRtcpPort).toBe(40011);
    expect(answerTo(offer({ attributes: ['a=ptime:25'] })).params.ptime).toBe(20);
  });

  it('port 0 on the only audio stream: SDP_MEDIA_REJECTED', () => {
    expectSdpError(() => answerTo(offer({ port: 0 })), 'SDP_MEDIA_REJECTED', 488);
  });

  it('RTP/SAVP only: SDP_UNSUPPORTED_TRANSPORT', () => {
    const text = sdp('v=0', 'o=- 1 1 IN IP4 198.51.100.1', 's=-', 'c=IN IP4 198.51.100.1', 't=0 0', 'm=audio 40000 RTP/SAVP 0 8', 'a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVzcyAoc2VjdXJlKQ==');
    expectSdpError(() => answerTo(text), 'SDP_UNSUPPORTED_TRANSPORT', 488);
  });

  it('best-effort SRTP (SAVP then AVP): refuses the SAVP line with port 0 and answers the AVP one', () => {
    const text = sdp(
      'v=0', 'o=- 1 1 IN IP4 198.51.100.1', 's=-', 'c=IN IP4 198.51.100.1', 't=0 0',
      'm=audio 40000 RTP/SAVP 0 8', 'a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVzcyAoc2VjdXJlKQ==',
      'm=audio 40002 RTP/AVP 8 0 101', 'a=rtpmap:101 telephone-event/8000',
    );
    const { answer, raw, params } = answerTo(text);
    expect(raw.media).toHaveLength(2);
    expect(answer).toContain('m=audio 0 RTP/SAVP 0 8\r\n');
    expect(answer).toContain('m=audio 16000 RTP/AVP 8 101\r\n');
    expect(answer).not.toContain('a=crypto');
    expect(params.remotePort).toBe(40002);
    expect(params.codec).toBe('PCMA');
  });

  it('audio + video: refuses video with port 0 in the same position', () => {
    const text = offer({ extraMedia: ['m=video 40010 RTP/AVP 96', 'a=rtpmap:96 H264/90000'] });
    const { raw, params } = answerTo(text);
    expect(raw.media.map((m) => [m.type, m.port])).toEqual([['audio', 16000], ['video', 0]]);
    expect(params.remotePort).toBe(40000);
  });

  it('video (or T.38) only: SDP_NO_AUDIO', () => {
    const video = sdp('v=0', 'o=- 1 1 IN IP4 198.51.100.1', 's=-', 'c=IN IP4 198.51.100.1', 't=0 0', 'm=video 40010 RTP/AVP 96', 'a=rtpmap:96 H264/90000');
    expectSdpError(() => answerTo(video), 'SDP_NO_AUDIO', 488);
    const fax = sdp('v=0', 'o=- 1 1 IN IP4 198.51.100.1', 's=-', 'c=IN IP4 198.51.100.1', 't=0 0', 'm=image 40010 udptl t38');
    expectSdpError(() => answerTo(fax), 'SDP_NO_AUDIO');
  });

  it('reports the most telling reason when several audio lines fail', () => {
    const text = sdp('v=0', 'o=- 1 1 IN IP4 198.51.100.1', 's=-', 'c=IN IP4 198.51.100.1', 't=0 0', 'm=audio 40000 RTP/SAVP 0', 'm=audio 40002 RTP/AVP 18');
    const error = expectSdpError(() => selectAudio(parseSdp(text)), 'SDP_NO_COMMON_CODEC');
    expect(error.details).toEqual([
      expect.objectContaining({ index: 0, code: 'SDP_UNSUPPORTED_TRANSPORT' }),
      expect.objectContaining({ index: 1, code: 'SDP_NO_COMMON_CODEC' }),
    ]);
  });

  it('copies the t= line of the offer (RFC 3264 §6)', () => {
    const text = BARESIP_OFFER.replace('t=0 0', 't=3034423619 3042462419');
    expect(answerTo(text).answer).toContain('t=3034423619 3042462419\r\n');
  });
});

describe('hold and resume (RFC 3264 §8.4)', () => {
  it('peer sendonly: we answer recvonly and only receive', () => {
    const { raw, params } = answerTo(offer({ attributes: ['a=rtpmap:101 telephone-event/8000', 'a=sendonly'] }));
    expect(raw.media[0].direction).toBe('recvonly');
    expect(params.direction).toBe('recv');
    expect(params.remoteHold).toBe(true);
  });

  it('peer inactive: we answer inactive', () => {
    const { raw, params } = answerTo(offer({ attributes: ['a=inactive'] }));
    expect(raw.media[0].direction).toBe('inactive');
    expect(params.direction).toBe('none');
    expect(params.remoteHold).toBe(true);
  });

  it('peer session-level sendonly counts as the stream direction', () => {
    const { raw, params } = answerTo(offer({ sessionAttributes: ['a=sendonly'], attributes: [] }));
    expect(raw.media[0].direction).toBe('recvonly');
    expect(params.remoteHold).toBe(true);
  });

  it('old-style hold c=0.0.0.0 (RFC 2543) is hold: we do not send', () => {
    const { raw, params } = answerTo(offer({ sessionC: '0.0.0.0' }));
    expect(raw.media[0].direction).toBe('recvonly');
    expect(params.direction).toBe('recv');
    expect(params.remoteHold).toBe(true);
    expect(params.remoteAddress).toBe('0.0.0.0');
  });

  it('peer resumes with sendrecv: both ways again', () => {
    const { raw, params } = answerTo(offer({ version: 3 }));
    expect(raw.media[0].direction).toBe('sendrecv');
    expect(params.direction).toBe('both');
    expect(params.remoteHold).toBe(false);
  });

  it('peer recvonly (it stops sending): we answer sendonly, not a hold of ours', () => {
    const { raw, params } = answerTo(offer({ attributes: ['a=recvonly'] }));
    expect(raw.media[0].direction).toBe('sendonly');
    expect(params.direction).toBe('send');
    expect(params.remoteHold).toBe(false);
  });

  it('while we hold, a sendrecv offer is answered sendonly and a sendonly offer inactive (RFC 6337 §5.3)', () => {
    const a = answerTo(offer({}), { hold: true });
    expect(a.raw.media[0].direction).toBe('sendonly');
    expect(a.params.direction).toBe('send');
    expect(a.params.localHold).toBe(true);
    const b = answerTo(offer({ attributes: ['a=sendonly'] }), { hold: true });
    expect(b.raw.media[0].direction).toBe('inactive');
    expect(b.params.direction).toBe('none');
  });
});

describe('processing answers to our offers (RFC 3264 §7)', () => {
  const ours = parseSdp(buildOffer(LOCAL));
  const answer = (direction: string, formats = '0 101', port = 30000, extra: string[] = []) =>
    parseSdp(sdp('v=0', 'o=- 9 9 IN IP4 203.0.113.9', 's=-', 'c=IN IP4 203.0.113.9', 't=0 0', `m=audio ${port} RTP/AVP ${formats}`, 'a=rtpmap:101 telephone-event/8000', `a=${direction}`, ...extra));

  it('takes the answered codec and the answerer telephone-event number', () => {
    const params = negotiate(ours, answer('sendrecv', '8 96', 30000, ['a=rtpmap:96 telephone-event/8000']), 'offerer');
    expect(params.codec).toBe('PCMA');
    expect(params.payloadType).toBe(8);
    expect(params.dtmfPayloadType).toBe(96);
    expect(params.dtmfReceivePayloadType).toBe(101);
    expect(params.remoteAddress).toBe('203.0.113.9');
    expect(params.localPort).toBe(16000);
    expect(params.direction).toBe('both');
  });

  it('static types without rtpmap in the answer are recognised', () => {
    const bare = parseSdp(sdp('v=0', 'o=- 9 9 IN IP4 203.0.113.9', 's=-', 'c=IN IP4 203.0.113.9', 't=0 0', 'm=audio 30000 RTP/AVP 0'));
    const params = negotiate(ours, bare, 'offerer');
    expect(params.codec).toBe('PCMU');
    expect(params.dtmfPayloadType).toBeNull();
  });

  it('our hold offer answered recvonly: we send only, the peer is not holding', () => {
    const hold = parseSdp(buildHoldOffer(LOCAL, 'both'));
    const params = negotiate(hold, answer('recvonly'), 'offerer', { localHold: true });
    expect(params.direction).toBe('send');
    expect(params.localHold).toBe(true);
    expect(params.remoteHold).toBe(false);
    // A peer that ignores hold and answers sendrecv still gets nothing from us to receive.
    expect(negotiate(hold, answer('sendrecv'), 'offerer').direction).toBe('send');
    // A peer that holds too answers inactive.
    const both = negotiate(hold, answer('inactive'), 'offerer', { localHold: true });
    expect(both.direction).toBe('none');
    expect(both.remoteHold).toBe(true);
  });

  it('refused audio (port 0), a codec we did not offer, or a different m= count are errors', () => {
    expectSdpError(() => negotiate(ours, answer('sendrecv', '0', 0), 'offerer'), 'SDP_MEDIA_REJECTED');
    expectSdpError(() => negotiate(ours, answer('sendrecv', '18'), 'offerer'), 'SDP_NO_COMMON_CODEC');
    expectSdpError(() => negotiate(ours, answer('sendrecv', '0', 30000, ['m=video 0 RTP/AVP 96']), 'offerer'), 'SDP_ANSWER_MISMATCH');
  });
});
