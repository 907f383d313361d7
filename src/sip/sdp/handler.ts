/**
 * sip.js SessionDescriptionHandler for Node: plain RTP/AVP audio, no WebRTC.
 *
 * sip.js drives offer/answer (RFC 3264) through this object and tells it nothing about roles,
 * so the handler keeps its own signalling state, like RTCPeerConnection does:
 *   stable --getDescription--> have-local-offer --setDescription(answer)--> stable
 *   stable --setDescription(offer)--> have-remote-offer --getDescription(answer)--> stable
 * Each completed exchange yields MediaParams for the call's MediaSession: start() the first time,
 * update() when they change afterwards, stop() on close().
 *
 * Hold follows sip.js's convention (its SessionManager sets `hold` in the re-INVITE options):
 * `getDescription({ hold: true })` offers sendonly (or inactive, RFC 3264 §8.4) and answers
 * without receiving; `hold: false` resumes. Without `hold` the last state is kept.
 */
import type {
  BodyAndContentType,
  Session,
  SessionDescriptionHandler,
  SessionDescriptionHandlerFactory,
  SessionDescriptionHandlerModifier,
  SessionDescriptionHandlerOptions,
} from 'sip.js';
import {
  type AudioCodec,
  type MediaParams,
  type ParsedSdp,
  DEFAULT_CODECS,
  DEFAULT_DTMF_PAYLOAD_TYPE,
  DEFAULT_PTIME,
  SdpError,
  buildAnswer,
  buildOffer,
  holdDirection,
  negotiate,
  newSessionId,
  parseSdp,
  selectAudio,
} from './negotiate.js';

export const SDP_CONTENT_TYPE = 'application/sdp';

/** One RFC 4733 event we send: DTMF digits 0-9, *, #, A-D (events 0-15). */
export type DtmfDigit = '0' | '1' | '2' | '3' | '4' | '5' | '6' | '7' | '8' | '9' | '*' | '#' | 'A' | 'B' | 'C' | 'D';

export interface DtmfTiming {
  /** Tone duration in ms. */
  durationMs: number;
  /** Silence after the tone in ms, before the next digit. */
  gapMs: number;
}

/**
 * The RTP media of one call, implemented by the media engine. Calls are serialised: update()
 * and stop() never overtake a start() that has not settled.
 */
export interface MediaSession {
  /** Begin media with the parameters of the first completed offer/answer. */
  start(params: MediaParams): Promise<void> | void;
  /** Apply the parameters of a later exchange (re-INVITE: hold, resume, new address or codec). */
  update(params: MediaParams): Promise<void> | void;
  /** End media for good. */
  stop(): Promise<void> | void;
  /** Queue one RFC 4733 event after those already queued; false if it cannot be sent. */
  sendDtmf(digit: DtmfDigit, timing: DtmfTiming): boolean;
}

/** sip.js's options plus the `hold` flag its SessionManager sets for re-INVITEs. */
export interface RtpSessionDescriptionHandlerOptions extends SessionDescriptionHandlerOptions {
  hold?: boolean;
}

export interface RtpSessionDescriptionHandlerConfig {
  mediaSession: MediaSession;
  /** The IP address we put in o= and c= (the one the peer can reach us on). */
  localAddress: string;
  /** Reserve our RTP port (even, RTCP on port + 1); called once, on the first offer or answer. */
  allocatePort: () => number | Promise<number>;
  /** Give the port back; called once after close() and after stop() settled. */
  releasePort?: (port: number) => void;
  /** Codecs in our order of preference (default PCMU, PCMA). */
  codecs?: readonly AudioCodec[];
  /** telephone-event payload type we offer (default 101). */
  dtmfPayloadType?: number;
  /** a=ptime we ask for (default 20). */
  ptime?: number;
  /** Errors nobody awaits (stop() failing after close()). */
  onError?: (error: unknown) => void;
}

type SignalingState = 'stable' | 'have-local-offer' | 'have-remote-offer';

interface LocalDescriptionInit {
  type: 'offer' | 'answer';
  sdp: string;
}

const MAX_DTMF_TONES = 64;
const DTMF_DURATION = { min: 40, max: 6000, default: 100 } as const; // as RTCDTMFSender
const DTMF_GAP = { min: 30, max: 6000, default: 70 } as const;

function clamp(value: unknown, range: { min: number; max: number; default: number }): number {
  const n = typeof value === 'number' && Number.isFinite(value) ? value : range.default;
  return Math.min(range.max, Math.max(range.min, Math.round(n)));
}

/** The o= line aside, has our description changed? (RFC 3264 §8: bump the version iff so.) */
function withoutOrigin(sdp: string): string {
  return sdp.replace(/^o=.*$/m, '');
}

export class RtpSessionDescriptionHandler implements SessionDescriptionHandler {
  private readonly config: RtpSessionDescriptionHandlerConfig;
  private readonly sessionId = newSessionId();
  private version = 0;
  private lastSent: string | null = null;

  private state: SignalingState = 'stable';
  private closed = false;
  private hold = false;
  private pendingLocalOffer: { parsed: ParsedSdp; hold: boolean } | null = null;
  private pendingRemoteOffer: ParsedSdp | null = null;
  private params: MediaParams | null = null;

  private portPromise: Promise<number> | null = null;
  private port: number | null = null;
  private started = false;
  /** Serialises MediaSession calls. Never rejects. */
  private mediaChain: Promise<unknown> = Promise.resolve();

  constructor(config: RtpSessionDescriptionHandlerConfig) {
    this.config = config;
  }

  /** Parameters of the last completed offer/answer, or null before the first one. */
  get mediaParams(): MediaParams | null {
    return this.params;
  }

  get signalingState(): SignalingState {
    return this.state;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  hasDescription(contentType: string): boolean {
    return typeof contentType === 'string' && contentType.split(';')[0].trim().toLowerCase() === SDP_CONTENT_TYPE;
  }

  async getDescription(
    options?: RtpSessionDescriptionHandlerOptions,
    modifiers?: SessionDescriptionHandlerModifier[],
  ): Promise<BodyAndContentType> {
    this.assertOpen();
    const hold = typeof options?.hold === 'boolean' ? options.hold : this.hold;
    const port = await this.localPort();
    this.assertOpen();
    const local = {
      address: this.config.localAddress,
      port,
      sessionId: this.sessionId,
      version: this.version,
      ptime: this.config.ptime ?? DEFAULT_PTIME,
    };
    const codecs = this.config.codecs ?? DEFAULT_CODECS;

    if (this.state === 'have-remote-offer' && this.pendingRemoteOffer !== null) {
      const offer = this.pendingRemoteOffer;
      let sdp: string;
      let final: string;
      let params: MediaParams;
      try {
        sdp = this.versioned((version) => buildAnswer(offer, { ...local, version, hold, codecs }));
        final = await this.modify({ type: 'answer', sdp }, modifiers);
        params = negotiate(offer, parseSdp(final), 'answerer', { localHold: hold });
        this.assertOpen();
        await this.applyMedia(params);
      } catch (error) {
        // The offer is refused (sip.js sends 488); the session stays as it was (RFC 3264 §8).
        this.pendingRemoteOffer = null;
        this.state = 'stable';
        throw error;
      }
      this.commitSent(sdp);
      this.pendingRemoteOffer = null;
      this.state = 'stable';
      this.hold = hold;
      this.params = params;
      return { body: final, contentType: SDP_CONTENT_TYPE };
    }

    // A new offer: initial INVITE, re-INVITE (hold/resume/refresh), or an INVITE without SDP.
    const direction = hold ? holdDirection(this.params?.direction) : 'sendrecv';
    const sdp = this.versioned((version) =>
      buildOffer({ ...local, version, direction, codecs, dtmfPayloadType: this.config.dtmfPayloadType ?? DEFAULT_DTMF_PAYLOAD_TYPE }),
    );
    const final = await this.modify({ type: 'offer', sdp }, modifiers);
    const parsed = parseSdp(final);
    this.assertOpen();
    this.commitSent(sdp);
    this.pendingLocalOffer = { parsed, hold };
    this.pendingRemoteOffer = null;
    this.state = 'have-local-offer';
    return { body: final, contentType: SDP_CONTENT_TYPE };
  }

  async setDescription(
    sdp: string,
    options?: RtpSessionDescriptionHandlerOptions,
    modifiers?: SessionDescriptionHandlerModifier[],
  ): Promise<void> {
    this.assertOpen();
    if (typeof options?.hold === 'boolean') this.hold = options.hold;

    if (this.state === 'have-local-offer' && this.pendingLocalOffer !== null) {
      // RFC 3264 §7: the answer to our offer.
      const { parsed: offer, hold } = this.pendingLocalOffer;
      const answer = parseSdp(await this.modify({ type: 'answer', sdp }, modifiers));
      const params = negotiate(offer, answer, 'offerer', { localHold: hold });
      this.assertOpen();
      await this.applyMedia(params);
      this.pendingLocalOffer = null;
      this.state = 'stable';
      this.hold = hold;
      this.params = params;
      return;
    }

    // A new offer from the peer. Check now that we can answer it, so the failure is the offer's
    // (sip.js answers a re-INVITE with 488) rather than a surprise in getDescription.
    const offer = parseSdp(await this.modify({ type: 'offer', sdp }, modifiers));
    selectAudio(offer, this.config.codecs ?? DEFAULT_CODECS);
    this.assertOpen();
    this.pendingRemoteOffer = offer;
    this.state = 'have-remote-offer';
  }

  /** Undo a pending offer (ours refused, e.g. 488/491 to a re-INVITE): back to the last stable state. */
  rollbackDescription(): Promise<void> {
    this.pendingLocalOffer = null;
    this.pendingRemoteOffer = null;
    this.state = 'stable';
    return Promise.resolve();
  }

  sendDtmf(tones: string, options?: unknown): boolean {
    const params = this.params;
    if (this.closed || !this.started || params === null) return false;
    if (params.dtmfPayloadType === null || params.direction === 'recv' || params.direction === 'none') return false;
    if (typeof tones !== 'string' || tones.length === 0 || tones.length > MAX_DTMF_TONES) return false;
    if (!/^[0-9A-D*#]+$/i.test(tones)) return false;
    const opts = (typeof options === 'object' && options !== null ? options : {}) as { duration?: unknown; interToneGap?: unknown };
    const timing: DtmfTiming = { durationMs: clamp(opts.duration, DTMF_DURATION), gapMs: clamp(opts.interToneGap, DTMF_GAP) };
    for (const tone of tones.toUpperCase()) {
      if (!this.config.mediaSession.sendDtmf(tone as DtmfDigit, timing)) return false;
    }
    return true;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.pendingLocalOffer = null;
    this.pendingRemoteOffer = null;
    const wasStarted = this.started;
    this.mediaChain = this.mediaChain
      .then(() => (wasStarted || this.started ? this.config.mediaSession.stop() : undefined))
      .catch((error: unknown) => this.config.onError?.(error))
      .then(() => this.releasePort());
  }

  /** Settles once every MediaSession call so far has (close() included). For tests and shutdown. */
  async settled(): Promise<void> {
    await this.mediaChain;
    if (this.portPromise !== null) await this.portPromise.catch(() => undefined);
  }

  private assertOpen(): void {
    if (this.closed) throw new SdpError('SDP_HANDLER_CLOSED', 'session description handler is closed');
  }

  private localPort(): Promise<number> {
    if (this.portPromise === null) {
      let allocated: number | Promise<number>;
      try {
        allocated = this.config.allocatePort();
      } catch (error) {
        allocated = Promise.reject(error);
      }
      this.portPromise = Promise.resolve(allocated)
        .then((port) => {
          if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`allocated RTP port ${String(port)} is invalid`);
          this.port = port;
          if (this.closed) this.releasePort();
          return port;
        })
        .catch((cause: unknown) => {
          throw new SdpError('SDP_PORT_UNAVAILABLE', 'no local RTP port', { cause });
        });
      // Whoever awaits sees the rejection; this keeps an unawaited one from being unhandled.
      this.portPromise.catch(() => undefined);
    }
    return this.portPromise;
  }

  private releasePort(): void {
    if (this.port === null || !this.closed) return;
    const port = this.port;
    this.port = null;
    try {
      this.config.releasePort?.(port);
    } catch (error) {
      this.config.onError?.(error);
    }
  }

  /** Build with the current version; if the description changed since the last one sent, bump it. */
  private versioned(build: (version: number) => string): string {
    const sdp = build(this.version);
    if (this.lastSent === null || withoutOrigin(sdp) === withoutOrigin(this.lastSent)) return sdp;
    return build(this.version + 1);
  }

  private commitSent(sdp: string): void {
    if (this.lastSent !== null && withoutOrigin(sdp) !== withoutOrigin(this.lastSent)) this.version += 1;
    this.lastSent = sdp;
  }

  private async modify(description: LocalDescriptionInit, modifiers: SessionDescriptionHandlerModifier[] | undefined): Promise<string> {
    let current: LocalDescriptionInit = description;
    for (const modifier of modifiers ?? []) {
      const next: unknown = await modifier(current);
      const sdp = (next as { sdp?: unknown } | null)?.sdp;
      if (typeof sdp !== 'string') throw new SdpError('SDP_INVALID_LOCAL', 'a description modifier returned no SDP');
      current = { type: description.type, sdp };
    }
    return current.sdp;
  }

  private applyMedia(params: MediaParams): Promise<void> {
    const media = this.config.mediaSession;
    const run = async () => {
      if (this.closed) throw new SdpError('SDP_HANDLER_CLOSED', 'session description handler is closed');
      if (!this.started) {
        this.started = true;
        await media.start(params);
      } else if (JSON.stringify(params) !== JSON.stringify(this.params)) {
        await media.update(params);
      }
    };
    const result = this.mediaChain.then(run).catch((cause: unknown) => {
      if (cause instanceof SdpError) throw cause;
      throw new SdpError('SDP_MEDIA_FAILED', 'media session did not accept the negotiated parameters', { cause });
    });
    this.mediaChain = result.catch(() => undefined);
    return result;
  }
}

export interface RtpSessionDescriptionHandlerFactoryConfig extends Omit<RtpSessionDescriptionHandlerConfig, 'mediaSession' | 'localAddress'> {
  /** Our address for SDP, or a function giving the current one (DHCP may change it between calls). */
  localAddress: string | (() => string);
  /** The media of one call. */
  createMediaSession: (session: Session) => MediaSession;
}

/**
 * A sip.js SessionDescriptionHandlerFactory (UserAgentOptions.sessionDescriptionHandlerFactory).
 * The factory options sip.js passes through (sessionDescriptionHandlerFactoryOptions) are ignored.
 */
export function createRtpSessionDescriptionHandlerFactory(config: RtpSessionDescriptionHandlerFactoryConfig): SessionDescriptionHandlerFactory {
  return (session: Session): RtpSessionDescriptionHandler => {
    const { createMediaSession, localAddress, ...rest } = config;
    return new RtpSessionDescriptionHandler({
      ...rest,
      localAddress: typeof localAddress === 'function' ? localAddress() : localAddress,
      mediaSession: createMediaSession(session),
    });
  };
}
