/**
 * SDP offer/answer for plain RTP/AVP audio: G.711 (PCMU, PCMA), RFC 4733 telephone-event, 20 ms
 * packets, hold and resume.
 *
 * Pure functions, no I/O. Parsing and writing go through sdp-transform; this module validates
 * what sdp-transform returns (it is lenient and never throws) and applies the rules of
 *   - RFC 4566  SDP: the session description format,
 *   - RFC 3264  the offer/answer model (§5 offer, §6 answer, §7 answer processing,
 *               §8 modifying the session, §8.4 putting a stream on hold),
 *   - RFC 3551  the RTP/AVP profile, whose static payload types 0 (PCMU) and 8 (PCMA) need no
 *               a=rtpmap (§6, table 4),
 *   - RFC 4733  telephone-event, a dynamic payload type taken from the peer's a=rtpmap,
 *   - RFC 3605  a=rtcp.
 *
 * Payload type numbers in an SDP say what its *sender* wants to receive (RFC 3264 §5.1), so
 * what we send uses the remote description's numbers and what we receive uses ours.
 */
import { isIP } from 'node:net';
import { randomInt } from 'node:crypto';
import * as sdpTransform from 'sdp-transform';
import { DesklineError } from '../../core/errors.js';

/** Largest SDP body we parse, in bytes (DESIGN.md: network input is bounded before parsing). */
export const MAX_SDP_BYTES = 16 * 1024;
/** Most m= sections we accept in one description. */
export const MAX_MEDIA_SECTIONS = 16;
/** Payload type we offer for telephone-event (any dynamic type, 96-127, would do: RFC 3551 §3). */
export const DEFAULT_DTMF_PAYLOAD_TYPE = 101;
/** Packetisation we ask for and assume when the peer says nothing (RFC 3551 §4.2: G.711 default 20 ms). */
export const DEFAULT_PTIME = 20;
/** Events we offer to receive: DTMF 0-9 * # A-D (0-15) and flash (16), RFC 4733 §3.2. */
export const TELEPHONE_EVENT_FMTP = '0-16';

export type AudioCodec = 'PCMU' | 'PCMA';
/** Our default preference when we are the offerer. */
export const DEFAULT_CODECS: readonly AudioCodec[] = ['PCMU', 'PCMA'];
/** RFC 3551 §6 table 4: static payload types for our codecs (8000 Hz, mono). */
export const STATIC_PAYLOAD_TYPES: Readonly<Record<AudioCodec, number>> = { PCMU: 0, PCMA: 8 };

/** An SDP direction attribute (RFC 4566 §6; RFC 3264 §5.1). */
export type MediaDirection = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';
/** Which way media flows for us once negotiated. */
export type MediaFlow = 'both' | 'send' | 'recv' | 'none';

export type SdpErrorCode =
  | 'SDP_TOO_LARGE'
  | 'SDP_MALFORMED'
  | 'SDP_NO_AUDIO'
  | 'SDP_UNSUPPORTED_TRANSPORT'
  | 'SDP_UNSUPPORTED_ADDRESS'
  | 'SDP_NO_COMMON_CODEC'
  | 'SDP_MEDIA_REJECTED'
  | 'SDP_ANSWER_MISMATCH'
  | 'SDP_INVALID_LOCAL'
  | 'SDP_HANDLER_CLOSED'
  | 'SDP_PORT_UNAVAILABLE'
  | 'SDP_MEDIA_FAILED';

const SIP_STATUS: Record<SdpErrorCode, number> = {
  SDP_TOO_LARGE: 413,
  SDP_MALFORMED: 400,
  SDP_NO_AUDIO: 488,
  SDP_UNSUPPORTED_TRANSPORT: 488,
  SDP_UNSUPPORTED_ADDRESS: 488,
  SDP_NO_COMMON_CODEC: 488,
  SDP_MEDIA_REJECTED: 488,
  SDP_ANSWER_MISMATCH: 488,
  SDP_INVALID_LOCAL: 500,
  SDP_HANDLER_CLOSED: 500,
  SDP_PORT_UNAVAILABLE: 500,
  SDP_MEDIA_FAILED: 500,
};

/**
 * A description we cannot use. `sipStatus` is the response an INVITE carrying it deserves
 * (488 Not Acceptable Here for media we cannot do, 400 for a broken body).
 */
export class SdpError extends DesklineError {
  readonly sipStatus: number;
  constructor(code: SdpErrorCode, message: string, options?: { cause?: unknown; details?: unknown }) {
    super(code, message, options);
    this.name = 'SdpError';
    this.sipStatus = SIP_STATUS[code];
  }
  declare readonly code: SdpErrorCode;
}

// ---------------------------------------------------------------------------------------------
// Parsed form

export interface RtpMapEntry {
  encoding: string;
  clockRate: number;
  channels: number;
}

export interface SdpConnection {
  ipVersion: number;
  /** As written; validated when the stream is used (it may carry a TTL or be a host name). */
  address: string;
}

export interface SdpMedia {
  /** Position of the m= line (RFC 3264 §6: answers keep the offer's m= lines in order). */
  index: number;
  type: string;
  /** 0 = the stream is rejected or disabled (RFC 3264 §5.1, §6). */
  port: number;
  protocol: string;
  /** The format list exactly as written, for echoing in a rejected m= line. */
  formats: string;
  /** The format list as RTP payload types, in the sender's order of preference. */
  payloadTypes: number[];
  rtpmap: ReadonlyMap<number, RtpMapEntry>;
  fmtp: ReadonlyMap<number, string>;
  /** Media-level c= if present, else session-level c= (RFC 4566 §5.7), else null. */
  connection: SdpConnection | null;
  /** Media-level direction, else session-level, else sendrecv (RFC 3264 §5.1). */
  direction: MediaDirection;
  ptime: number | null;
  /** RFC 3605 a=rtcp port, if given. */
  rtcpPort: number | null;
}

export interface ParsedSdp {
  origin: { username: string; sessionId: string; version: string; address: string };
  timing: { start: number; stop: number };
  media: SdpMedia[];
}

function malformed(message: string): SdpError {
  return new SdpError('SDP_MALFORMED', message);
}

const DIRECTIONS: readonly MediaDirection[] = ['sendrecv', 'sendonly', 'recvonly', 'inactive'];

function asDirection(value: unknown): MediaDirection | undefined {
  return DIRECTIONS.includes(value as MediaDirection) ? (value as MediaDirection) : undefined;
}

function isPort(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 65535;
}

function isPayloadType(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 127;
}

function parseConnection(value: { version: number; ip: string } | undefined): SdpConnection | null {
  if (value === undefined) return null;
  if (typeof value.ip !== 'string' || value.ip === '') throw malformed('c= line without an address');
  return { ipVersion: Number(value.version), address: value.ip };
}

/**
 * Parse and validate a session description. Throws SdpError: SDP_TOO_LARGE over
 * {@link MAX_SDP_BYTES}, SDP_MALFORMED when it is not an SDP (RFC 4566 §5: v=0, o=, m= lines).
 */
export function parseSdp(sdp: string): ParsedSdp {
  if (typeof sdp !== 'string') throw malformed('session description is not text');
  const bytes = Buffer.byteLength(sdp, 'utf8');
  if (bytes > MAX_SDP_BYTES) {
    throw new SdpError('SDP_TOO_LARGE', `session description is ${bytes} bytes, over the ${MAX_SDP_BYTES} byte limit`);
  }
  if (!/^v=0[ \t]*(\r?\n|$)/.test(sdp)) throw malformed('session description does not start with v=0');

  let raw: sdpTransform.SessionDescription;
  try {
    raw = sdpTransform.parse(sdp);
  } catch (cause) {
    throw new SdpError('SDP_MALFORMED', 'session description does not parse', { cause });
  }
  const origin = raw.origin as Partial<sdpTransform.SessionDescription['origin']> | undefined;
  if (origin === undefined || origin.sessionId === undefined || origin.sessionVersion === undefined) {
    throw malformed('session description has no valid o= line');
  }
  const media = raw.media ?? [];
  if (media.length === 0) throw malformed('session description has no m= line');
  if (media.length > MAX_MEDIA_SECTIONS) throw malformed(`more than ${MAX_MEDIA_SECTIONS} m= lines`);

  const sessionConnection = parseConnection(raw.connection);
  const sessionDirection = asDirection(raw.direction);

  const parsedMedia = media.map((m, index): SdpMedia => {
    if (typeof m.type !== 'string' || m.type === '' || !isPort(m.port) || typeof m.protocol !== 'string' || m.protocol === '') {
      throw malformed(`m= line ${index + 1} is malformed`);
    }
    const formats = m.payloads === undefined ? '' : String(m.payloads).trim();
    const payloadTypes: number[] = [];
    for (const token of formats.split(/\s+/)) {
      if (/^\d{1,3}$/.test(token) && isPayloadType(Number(token)) && !payloadTypes.includes(Number(token))) {
        payloadTypes.push(Number(token));
      }
    }
    // a=rtpmap / a=fmtp only count for payload types the m= line lists (RFC 4566 §6).
    const rtpmap = new Map<number, RtpMapEntry>();
    for (const entry of m.rtp ?? []) {
      if (!isPayloadType(entry.payload) || !payloadTypes.includes(entry.payload) || typeof entry.codec !== 'string') continue;
      const clockRate = Number(entry.rate);
      const channels = entry.encoding === undefined ? 1 : Number(entry.encoding);
      if (!Number.isInteger(clockRate) || clockRate <= 0 || !Number.isInteger(channels)) continue;
      if (!rtpmap.has(entry.payload)) rtpmap.set(entry.payload, { encoding: entry.codec, clockRate, channels });
    }
    const fmtp = new Map<number, string>();
    for (const entry of m.fmtp ?? []) {
      if (isPayloadType(entry.payload) && payloadTypes.includes(entry.payload) && typeof entry.config === 'string') {
        fmtp.set(entry.payload, entry.config);
      }
    }
    const ptime = Number.isFinite(m.ptime) && (m.ptime as number) > 0 ? (m.ptime as number) : null;
    const rtcpPort = m.rtcp !== undefined && isPort(m.rtcp.port) && m.rtcp.port > 0 ? m.rtcp.port : null;
    return {
      index,
      type: m.type.toLowerCase(),
      port: m.port,
      protocol: m.protocol,
      formats,
      payloadTypes,
      rtpmap,
      fmtp,
      connection: parseConnection(m.connection) ?? sessionConnection,
      direction: asDirection(m.direction) ?? sessionDirection ?? 'sendrecv',
      ptime,
      rtcpPort,
    };
  });

  return {
    origin: {
      username: String(origin.username ?? '-'),
      sessionId: String(origin.sessionId),
      version: String(origin.sessionVersion),
      address: String(origin.address ?? ''),
    },
    timing: {
      start: Number.isInteger(raw.timing?.start) ? raw.timing.start : 0,
      stop: Number.isInteger(raw.timing?.stop) ? raw.timing.stop : 0,
    },
    media: parsedMedia,
  };
}

// ---------------------------------------------------------------------------------------------
// Formats

type Format = AudioCodec | 'telephone-event';

/**
 * What a payload type of this m= line carries, if it is one we can use. a=rtpmap wins; without
 * one, the static types of RFC 3551 table 4 apply (trunks often omit rtpmap for 0 and 8).
 * G.711 and telephone-event must run at 8000 Hz, mono (RFC 4733 §2.1: same clock as the audio).
 */
function formatOf(media: SdpMedia, payloadType: number): Format | null {
  const map = media.rtpmap.get(payloadType);
  if (map === undefined) {
    if (payloadType === STATIC_PAYLOAD_TYPES.PCMU) return 'PCMU';
    if (payloadType === STATIC_PAYLOAD_TYPES.PCMA) return 'PCMA';
    return null;
  }
  if (map.clockRate !== 8000 || map.channels !== 1) return null;
  const name = map.encoding.toLowerCase();
  if (name === 'pcmu') return 'PCMU';
  if (name === 'pcma') return 'PCMA';
  if (name === 'telephone-event') return 'telephone-event';
  return null;
}

function payloadTypeFor(media: SdpMedia, format: Format): number | null {
  return media.payloadTypes.find((pt) => formatOf(media, pt) === format) ?? null;
}

/** RFC 3551: RTP/AVP. Transport names are compared case-insensitively for robustness. */
function isPlainRtp(media: SdpMedia): boolean {
  return media.protocol.toUpperCase() === 'RTP/AVP';
}

/** Is the c= address usable as a unicast destination? (FQDNs and multicast TTLs are not.) */
function usableAddress(connection: SdpConnection | null): boolean {
  if (connection === null) return false;
  const family = isIP(connection.address);
  return family !== 0 && family === connection.ipVersion;
}

/** RFC 2543 hold (c=0.0.0.0), still sent by old trunks and PBXes; RFC 3264 §8.4 keeps it legal. */
function isNullAddress(connection: SdpConnection | null): boolean {
  return connection !== null && (connection.address === '0.0.0.0' || connection.address === '::');
}

// ---------------------------------------------------------------------------------------------
// Choosing the stream and codec of an offer

export interface AudioChoice {
  /** Index of the audio m= line we take; every other m= line is rejected. */
  mediaIndex: number;
  codec: AudioCodec;
  payloadType: number;
  /** The offerer's telephone-event/8000 payload type, or null if it offered none. */
  dtmfPayloadType: number | null;
}

const REASON_RANK: Record<string, number> = {
  SDP_NO_AUDIO: 0,
  SDP_MEDIA_REJECTED: 1,
  SDP_UNSUPPORTED_ADDRESS: 2,
  SDP_UNSUPPORTED_TRANSPORT: 3,
  SDP_NO_COMMON_CODEC: 4,
};

/**
 * Pick the audio stream and codec to answer an offer with (RFC 3264 §6.1): the first audio m= line
 * over RTP/AVP with a usable address and a codec we support; among its codecs the offerer's order
 * wins. Throws SdpError (488-worthy) with the most telling reason when no stream fits.
 */
export function selectAudio(offer: ParsedSdp, codecs: readonly AudioCodec[] = DEFAULT_CODECS): AudioChoice {
  const reasons: { index: number; code: SdpErrorCode; message: string }[] = [];
  for (const media of offer.media) {
    if (media.type !== 'audio') continue;
    const reject = (code: SdpErrorCode, message: string) => reasons.push({ index: media.index, code, message });
    if (media.port === 0) {
      reject('SDP_MEDIA_REJECTED', 'audio stream has port 0');
      continue;
    }
    if (!isPlainRtp(media)) {
      reject('SDP_UNSUPPORTED_TRANSPORT', `audio transport ${media.protocol} is not supported (only RTP/AVP)`);
      continue;
    }
    if (!usableAddress(media.connection)) {
      reject('SDP_UNSUPPORTED_ADDRESS', `audio address ${media.connection?.address ?? '(none)'} is not a unicast IP address`);
      continue;
    }
    const payloadType = media.payloadTypes.find((pt) => {
      const format = formatOf(media, pt);
      return format !== null && format !== 'telephone-event' && codecs.includes(format);
    });
    if (payloadType === undefined) {
      reject('SDP_NO_COMMON_CODEC', `no common codec in "${media.formats}" (we support ${codecs.join(', ')})`);
      continue;
    }
    return {
      mediaIndex: media.index,
      codec: formatOf(media, payloadType) as AudioCodec,
      payloadType,
      dtmfPayloadType: payloadTypeFor(media, 'telephone-event'),
    };
  }
  if (reasons.length === 0) throw new SdpError('SDP_NO_AUDIO', 'offer has no audio stream');
  const worst = reasons.reduce((a, b) => (REASON_RANK[b.code] > REASON_RANK[a.code] ? b : a));
  throw new SdpError(worst.code, worst.message, { details: reasons });
}

// ---------------------------------------------------------------------------------------------
// Writing our side

export interface LocalSdpOptions {
  /** Our IP address for o= and c=. */
  address: string;
  /** Our RTP port (RTCP on port + 1, RFC 3550 §11). */
  port: number;
  /** o= sess-id: numeric, fixed for the session (RFC 4566 §5.2). */
  sessionId: string;
  /** o= sess-version: incremented whenever our description changes (RFC 3264 §8). */
  version: number;
  username?: string;
  sessionName?: string;
  /** a=ptime we ask for (default 20). */
  ptime?: number;
}

export interface OfferOptions extends LocalSdpOptions {
  direction?: MediaDirection;
  /** Codecs in our order of preference (default PCMU, PCMA). */
  codecs?: readonly AudioCodec[];
  /** Dynamic payload type for telephone-event (96-127, default 101); null to offer none. */
  dtmfPayloadType?: number | null;
}

export interface AnswerOptions extends LocalSdpOptions {
  /** We hold the call: our answer does not receive (RFC 3264 §8.4, RFC 6337 §5.3). */
  hold?: boolean;
  codecs?: readonly AudioCodec[];
  /** Answer without telephone-event even if offered. */
  noDtmf?: boolean;
}

function checkLocal(options: LocalSdpOptions): 4 | 6 {
  const family = isIP(options.address);
  if (family !== 4 && family !== 6) throw new SdpError('SDP_INVALID_LOCAL', `local address ${options.address} is not an IP address`);
  if (!isPort(options.port) || options.port === 0) throw new SdpError('SDP_INVALID_LOCAL', `local RTP port ${options.port} is invalid`);
  if (!/^\d{1,20}$/.test(options.sessionId)) throw new SdpError('SDP_INVALID_LOCAL', 'o= session id must be numeric');
  if (!Number.isSafeInteger(options.version) || options.version < 0) throw new SdpError('SDP_INVALID_LOCAL', 'o= version must be a non-negative integer');
  return family;
}

function sessionSkeleton(options: LocalSdpOptions, family: 4 | 6, timing = { start: 0, stop: 0 }) {
  return {
    version: 0,
    origin: {
      username: options.username ?? '-',
      sessionId: options.sessionId,
      sessionVersion: options.version,
      netType: 'IN',
      ipVer: family,
      address: options.address,
    },
    name: options.sessionName ?? 'Deskline',
    connection: { version: family, ip: options.address },
    timing,
  };
}

function audioSection(
  port: number,
  codecs: readonly { payloadType: number; codec: AudioCodec }[],
  dtmfPayloadType: number | null,
  ptime: number,
  direction: MediaDirection,
): sdpTransform.MediaDescription {
  const rtp: sdpTransform.MediaDescription['rtp'] = codecs.map((c) => ({ payload: c.payloadType, codec: c.codec, rate: 8000 }));
  const fmtp: sdpTransform.MediaDescription['fmtp'] = [];
  const payloads = codecs.map((c) => c.payloadType);
  if (dtmfPayloadType !== null) {
    // RFC 4733 §7.1.1: telephone-event/8000 with the events we accept in a=fmtp.
    rtp.push({ payload: dtmfPayloadType, codec: 'telephone-event', rate: 8000 });
    fmtp.push({ payload: dtmfPayloadType, config: TELEPHONE_EVENT_FMTP });
    payloads.push(dtmfPayloadType);
  }
  return { type: 'audio', port, protocol: 'RTP/AVP', payloads: payloads.join(' '), rtp, fmtp, ptime, direction };
}

/**
 * An initial or re-offer (RFC 3264 §5): one audio m= line over RTP/AVP with our codecs
 * (static PTs 0/8, rtpmap written anyway), telephone-event, a=ptime and the direction.
 */
export function buildOffer(options: OfferOptions): string {
  const family = checkLocal(options);
  const codecs = options.codecs ?? DEFAULT_CODECS;
  if (codecs.length === 0) throw new SdpError('SDP_INVALID_LOCAL', 'no codec to offer');
  const dtmf = options.dtmfPayloadType === undefined ? DEFAULT_DTMF_PAYLOAD_TYPE : options.dtmfPayloadType;
  if (dtmf !== null && (!Number.isInteger(dtmf) || dtmf < 96 || dtmf > 127)) {
    throw new SdpError('SDP_INVALID_LOCAL', `telephone-event payload type ${dtmf} is not dynamic (96-127)`);
  }
  const section = audioSection(
    options.port,
    codecs.map((codec) => ({ codec, payloadType: STATIC_PAYLOAD_TYPES[codec] })),
    dtmf,
    options.ptime ?? DEFAULT_PTIME,
    options.direction ?? 'sendrecv',
  );
  return sdpTransform.write({ ...sessionSkeleton(options, family), media: [section] });
}

/**
 * Direction of a hold offer, RFC 3264 §8.4: sendonly, or inactive if we were only receiving
 * (the peer had already put us on hold).
 */
export function holdDirection(previous: MediaFlow | null | undefined): MediaDirection {
  return previous === 'recv' || previous === 'none' ? 'inactive' : 'sendonly';
}

/** A re-offer that puts the call on hold (RFC 3264 §8.4). */
export function buildHoldOffer(options: Omit<OfferOptions, 'direction'>, previous?: MediaFlow | null): string {
  return buildOffer({ ...options, direction: holdDirection(previous) });
}

/** A re-offer that takes the call off hold: sendrecv again (RFC 3264 §8.4). */
export function buildResumeOffer(options: Omit<OfferOptions, 'direction'>): string {
  return buildOffer({ ...options, direction: 'sendrecv' });
}

/** The peer's direction as it affects us: c=0.0.0.0 means "do not send to me" (RFC 2543 hold). */
function effectiveDirection(media: SdpMedia): MediaDirection {
  if (!isNullAddress(media.connection)) return media.direction;
  if (media.direction === 'sendrecv') return 'sendonly';
  if (media.direction === 'recvonly') return 'inactive';
  return media.direction;
}

const sends = (d: MediaDirection) => d === 'sendrecv' || d === 'sendonly';
const receives = (d: MediaDirection) => d === 'sendrecv' || d === 'recvonly';

function directionOf(send: boolean, receive: boolean): MediaDirection {
  if (send && receive) return 'sendrecv';
  if (send) return 'sendonly';
  if (receive) return 'recvonly';
  return 'inactive';
}

/**
 * The answer to an offer (RFC 3264 §6): one m= line per offered m= line, in order. The chosen
 * audio stream carries the chosen codec and the offerer's telephone-event type with the offerer's
 * payload type numbers (§6.1); every other stream is refused with port 0 (§6). The direction
 * mirrors the offer's (sendonly -> recvonly, recvonly -> sendonly, inactive -> inactive), minus
 * receiving while we hold. Throws SdpError when the offer has nothing we can take.
 */
export function buildAnswer(offer: ParsedSdp, options: AnswerOptions): string {
  const family = checkLocal(options);
  const choice = selectAudio(offer, options.codecs ?? DEFAULT_CODECS);
  const media = offer.media.map((m): sdpTransform.MediaDescription => {
    if (m.index !== choice.mediaIndex) {
      // RFC 3264 §6: a refused stream keeps its m= line with port 0; the formats are echoed
      // because RFC 4566 requires at least one.
      return { type: m.type, port: 0, protocol: m.protocol, payloads: m.formats || '0', rtp: [], fmtp: [] };
    }
    const remote = effectiveDirection(m);
    const direction = directionOf(receives(remote), sends(remote) && options.hold !== true);
    return audioSection(
      options.port,
      [{ codec: choice.codec, payloadType: choice.payloadType }],
      options.noDtmf === true ? null : choice.dtmfPayloadType,
      options.ptime ?? DEFAULT_PTIME,
      direction,
    );
  });
  // RFC 3264 §6: the t= line of the answer equals that of the offer.
  return sdpTransform.write({ ...sessionSkeleton(options, family, offer.timing), media });
}

// ---------------------------------------------------------------------------------------------
// Result of a completed exchange

/** Everything the media engine needs for one call after an offer/answer exchange. */
export interface MediaParams {
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  /** RFC 3605 a=rtcp, else RTP port + 1 (RFC 3550 §11). */
  remoteRtcpPort: number;
  codec: AudioCodec;
  /** RTP payload type of the audio we send (and, G.711 being static, receive). */
  payloadType: number;
  clockRate: 8000;
  /** telephone-event payload type to send DTMF with (the peer's number), or null: no RFC 4733. */
  dtmfPayloadType: number | null;
  /** telephone-event payload type the peer sends to us (our number), or null. */
  dtmfReceivePayloadType: number | null;
  /** Packet duration to send, in ms: the peer's a=ptime if we can do it, else 20. */
  ptime: number;
  /** Which way media flows for us. */
  direction: MediaFlow;
  /** We hold the call. */
  localHold: boolean;
  /** The peer holds the call (sendonly, inactive or c=0.0.0.0 towards us). */
  remoteHold: boolean;
}

export interface NegotiateOptions {
  /** Our own hold state, reported in the result (the directions already account for it). */
  localHold?: boolean;
}

const SUPPORTED_PTIMES = [10, 20, 30, 40, 50, 60];

/**
 * Media parameters from a completed exchange (RFC 3264 §6 for the answerer, §7 for the offerer).
 * `role` is our role in it. Checks the answer against the offer: same number of m= lines, the
 * audio stream not refused, a codec that was offered. Throws SdpError.
 */
export function negotiate(offer: ParsedSdp, answer: ParsedSdp, role: 'offerer' | 'answerer', options: NegotiateOptions = {}): MediaParams {
  if (offer.media.length !== answer.media.length) {
    throw new SdpError('SDP_ANSWER_MISMATCH', `answer has ${answer.media.length} m= lines for ${offer.media.length} offered (RFC 3264 §6)`);
  }
  const index = offer.media.findIndex((m, i) => m.type === 'audio' && m.port !== 0 && answer.media[i].port !== 0);
  if (index < 0) throw new SdpError('SDP_MEDIA_REJECTED', 'the audio stream was refused (port 0)');
  const offered = offer.media[index];
  const answered = answer.media[index];
  if (answered.type !== 'audio' || !isPlainRtp(answered) || !isPlainRtp(offered)) {
    throw new SdpError('SDP_ANSWER_MISMATCH', `answer stream ${index + 1} is ${answered.type} over ${answered.protocol}, not audio over RTP/AVP`);
  }
  const local = role === 'offerer' ? offered : answered;
  const remote = role === 'offerer' ? answered : offered;

  // RFC 3264 §7: the offerer may send any answered format it offered; the first one wins.
  let codec: AudioCodec | null = null;
  for (const pt of answered.payloadTypes) {
    const format = formatOf(answered, pt);
    if (format === 'PCMU' || format === 'PCMA') {
      if (payloadTypeFor(offered, format) !== null) {
        codec = format;
        break;
      }
    }
  }
  if (codec === null) throw new SdpError('SDP_NO_COMMON_CODEC', `answer formats "${answered.formats}" contain no offered G.711 codec`);
  const payloadType = payloadTypeFor(remote, codec) as number;

  const remoteDtmf = payloadTypeFor(remote, 'telephone-event');
  const localDtmf = payloadTypeFor(local, 'telephone-event');
  const dtmfNegotiated = remoteDtmf !== null && localDtmf !== null;

  const remoteConnection = remote.connection;
  if (remoteConnection === null || !usableAddress(remoteConnection)) {
    throw new SdpError('SDP_UNSUPPORTED_ADDRESS', `remote audio address ${remoteConnection?.address ?? '(none)'} is not a unicast IP address`);
  }
  if (local.connection === null) throw new SdpError('SDP_INVALID_LOCAL', 'our description has no c= line');

  const remoteDirection = effectiveDirection(remote);
  const send = sends(local.direction) && receives(remoteDirection);
  const receive = receives(local.direction) && sends(remoteDirection);
  const remoteHold = role === 'answerer' ? !receives(remoteDirection) : !receives(remoteDirection) && sends(local.direction);

  const ptime = remote.ptime !== null && SUPPORTED_PTIMES.includes(remote.ptime) ? remote.ptime : DEFAULT_PTIME;
  return {
    localAddress: local.connection.address,
    localPort: local.port,
    remoteAddress: remoteConnection.address,
    remotePort: remote.port,
    remoteRtcpPort: remote.rtcpPort ?? Math.min(remote.port + 1, 65535),
    codec,
    payloadType,
    clockRate: 8000,
    dtmfPayloadType: dtmfNegotiated ? remoteDtmf : null,
    dtmfReceivePayloadType: dtmfNegotiated ? localDtmf : null,
    ptime,
    direction: send && receive ? 'both' : send ? 'send' : receive ? 'recv' : 'none',
    localHold: options.localHold === true,
    remoteHold,
  };
}

/** A fresh o= session id: numeric, random, below 2^48 so it survives any parser (RFC 4566 §5.2). */
export function newSessionId(): string {
  return String(randomInt(1, 2 ** 47));
}
