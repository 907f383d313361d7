// A SIP line: one account (SipAccount: UserAgent + Registerer on our transport), calls as sip.js
// Inviter/Invitation sessions with the RTP SDP handler, media on the MediaEngine.
//
// Call states (src/calls/types.ts):
//   outbound: dialing -> alerting (180/183) -> active (2xx) -> ended
//   inbound:  ringing -> active (answer()) -> ended
// End reasons: remote BYE 'remote-hangup'; 486/600 'busy'; 487 or a remote CANCEL 'cancelled';
// 408/480 (and sip.js's own no-answer timeout) 'no-answer'; other 4xx/6xx 'rejected'; 5xx and
// transport failures 'failed'; local hangup the reason given (default 'local-hangup').

import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { Inviter, SessionState, UserAgent, type Core, type Info, type Invitation, type Session } from 'sip.js';
import { TypedEmitter } from '../../drivers/common/typed-emitter.js';
import type { Clock } from '../core/clock.js';
import { DesklineError } from '../core/errors.js';
import type { CallEndReason, CallInfo, CallState } from '../core/events.js';
import type { MediaEngine } from '../media/engine.js';
import type { Call, CallEvents, Line, LineEvents, LineStatus } from '../calls/types.js';
import { SipAccount, type SipAccountOptions, type SipAccountStateChange, type SipAccountTransport } from './registration/index.js';
import type { SipEndpoint } from './transport/index.js';
import { RtpSessionDescriptionHandler, createRtpSessionDescriptionHandlerFactory } from './sdp/handler.js';
import { EngineMediaSession, RtpPortAllocator } from './media-session.js';

export interface SipLineAccountConfig {
  /** line id (default the account's user@domain) */
  id?: string;
  user: string;
  /** SIP domain host[:port] */
  domain: string;
  password: string;
  authorizationUsername?: string;
  displayName?: string;
  /** host[:port]; default the domain */
  registrar?: string;
  /** host[:port] registered at when the registrar is down */
  backupRegistrar?: string;
  outboundProxy?: string;
  transport?: SipAccountTransport;
  expires?: number;
  /** local SIP listening address/port (default 0.0.0.0:5060; 0 = any free port) */
  localHost?: string;
  localPort?: number;
  /** the phone's shared SIP endpoint (several accounts on one socket); localHost/localPort then unused */
  endpoint?: SipEndpoint;
  /** sources besides the registrar/proxy allowed to send INVITEs (IP or CIDR); null = anyone */
  allowFrom?: string[] | null;
}

export interface SipLineSettings {
  /** answer incoming calls as soon as they are announced */
  autoAnswer: boolean;
}

export interface SipLineOptions {
  account: SipLineAccountConfig;
  engine: MediaEngine;
  /** the address we advertise in SDP (and bind RTP on unless rtpBindAddress is given) */
  localAddress: string;
  rtpBindAddress?: string;
  clock: Clock;
  log: Logger;
  /** read on each call, so config changes apply to the next call */
  settings: () => SipLineSettings;
  /**
   * Asked each time a call's media starts (again after a re-INVITE moved it): the file to record it to
   * (stereo WAV: left ours, right theirs), or null not to record. Whoever decides (the recordings
   * service) answers; the line only asks. Without it nothing is recorded.
   */
  recordPath?: (call: CallInfo) => string | null;
  /** seconds an unanswered inbound call rings before sip.js answers 480 (default 60) */
  noAnswerTimeoutSec?: number;
  /** passed to SipAccount (tests: trace, timers, back-off) */
  accountOverrides?: Partial<Omit<SipAccountOptions, 'userAgentOptions' | 'clock' | 'log'>>;
}

const DTMF_DIGIT = /^[0-9*#A-D]$/;

/**
 * A DTMF digit from a SIP INFO body: application/dtmf-relay (`Signal=5` and `Duration=160` lines,
 * the de-facto format of Cisco and most PBXs; some send 10/11 for * and #) or application/dtmf
 * (the bare digit). null when the body is neither.
 */
export function dtmfFromInfo(contentType: string, body: string): { digit: string; durationMs: number } | null {
  const type = contentType.split(';')[0].trim().toLowerCase();
  if (type === 'application/dtmf') {
    const digit = body.trim().toUpperCase();
    return DTMF_DIGIT.test(digit) ? { digit, durationMs: 160 } : null;
  }
  if (type !== 'application/dtmf-relay') return null;
  const fields = new Map<string, string>();
  for (const line of body.split(/\r?\n/).slice(0, 16)) {
    const eq = line.indexOf('=');
    if (eq > 0) fields.set(line.slice(0, eq).trim().toLowerCase(), line.slice(eq + 1).trim());
  }
  let digit = (fields.get('signal') ?? '').toUpperCase();
  if (digit === '10') digit = '*';
  else if (digit === '11') digit = '#';
  if (!DTMF_DIGIT.test(digit)) return null;
  const duration = Number(fields.get('duration'));
  return { digit, durationMs: Number.isInteger(duration) && duration > 0 && duration <= 10_000 ? duration : 160 };
}

/** What the phone shows about a SIP account's registration. */
export function lineStatus(change: SipAccountStateChange): LineStatus {
  switch (change.state) {
    case 'registered': return { state: 'ready', problem: null };
    case 'idle':
    case 'registering': return { state: 'connecting', problem: null };
    case 'auth-failed': return { state: 'failed', problem: 'wrong password' };
    case 'unregistered': return { state: 'failed', problem: 'not registered' };
    case 'failed': {
      const problems: Partial<Record<string, string>> = {
        timeout: 'registrar not answering',
        certificate: 'server certificate not trusted',
        transport: 'registrar not reachable',
      };
      return { state: 'failed', problem: problems[change.reason?.code ?? ''] ?? 'registration failed' };
    }
  }
}

/** The end reason for a final failure response to our INVITE. */
export function reasonForStatus(status: number): CallEndReason {
  if (status === 486 || status === 600) return 'busy';
  if (status === 487) return 'cancelled';
  if (status === 408 || status === 480) return 'no-answer';
  if (status >= 500 && status < 600) return 'failed';
  if (status >= 400) return 'rejected';
  return 'failed';
}

/** One call on a SIP line. */
export class SipCall extends TypedEmitter<CallEvents> implements Call {
  #state: CallState;
  /** why it is ending, set by whoever saw the cause first */
  #endReason: CallEndReason | null = null;

  constructor(
    readonly info: CallInfo,
    initial: CallState,
    readonly session: Session,
    private readonly log: Logger,
    private readonly onEnd: (call: SipCall) => void,
  ) {
    super();
    this.#state = initial;
    session.stateChange.addListener((s) => {
      if (s === SessionState.Established) this.transition('active');
      else if (s === SessionState.Terminated) this.transition('ended', this.#endReason ?? this.#defaultEndReason());
    });
    session.delegate = {
      ...session.delegate,
      // with an onBye delegate sip.js leaves answering the BYE to us (§15.1.2: 200 OK)
      onBye: (bye) => {
        this.setEndReason('remote-hangup');
        bye.accept().catch((error: unknown) => this.log.debug({ callId: this.info.callId, err: (error as Error).message }, 'BYE answer failed'));
      },
      onCancel: () => this.setEndReason('cancelled'),
      onInfo: (info) => this.#info(info),
    };
  }

  #info(info: Info): void {
    const request = info.request;
    const dtmf = dtmfFromInfo(request.getHeader('content-type') ?? '', request.body ?? '');
    const answered = dtmf ? info.accept() : info.reject({ statusCode: 415 });
    answered.catch((error: unknown) => this.log.debug({ callId: this.info.callId, err: (error as Error).message }, 'INFO answer failed'));
    if (dtmf) this.dtmfReceived(dtmf);
  }

  get state(): CallState {
    return this.#state;
  }

  #defaultEndReason(): CallEndReason {
    if (this.#state === 'active') return 'remote-hangup';
    // an unanswered inbound call that sip.js ended by itself (480 after noAnswerTimeout)
    if (this.#state === 'ringing') return 'no-answer';
    return 'failed';
  }

  /** Records why the call ends (the first cause wins). */
  setEndReason(reason: CallEndReason): void {
    this.#endReason ??= reason;
  }

  transition(state: CallState, reason?: CallEndReason): void {
    if (this.#state === 'ended' || this.#state === state) return;
    // states only move forward
    if (state === 'alerting' && this.#state !== 'dialing') return;
    this.#state = state;
    this.log.info({ callId: this.info.callId, state, reason }, 'sip call state');
    this.emit('stateChanged', reason ? { state, reason } : { state });
    if (state === 'ended') this.onEnd(this);
  }

  dtmfReceived(e: { digit: string; durationMs: number }): void {
    if (this.#state === 'active') this.emit('dtmf', e);
  }

  async answer(): Promise<void> {
    if (this.info.direction !== 'inbound' || this.#state !== 'ringing') {
      throw new DesklineError('CALL_INVALID_STATE', `call ${this.info.callId} cannot be answered while ${this.#state}`);
    }
    await (this.session as Invitation).accept();
  }

  async hangup(reason: CallEndReason = 'local-hangup'): Promise<void> {
    if (this.#state === 'ended') return;
    this.setEndReason(reason);
    const s = this.session;
    try {
      switch (s.state) {
        case SessionState.Initial:
        case SessionState.Establishing:
          if (s instanceof Inviter) await s.cancel();
          else await (s as Invitation).reject({ statusCode: reason === 'busy' ? 486 : 603 });
          break;
        case SessionState.Established:
          await s.bye();
          break;
        default:
          break;
      }
    } catch (error) {
      // the session moved on meanwhile (e.g. answered as we cancelled): end it for good
      this.log.debug({ callId: this.info.callId, err: (error as Error).message }, 'hangup raced the session');
      if (s.state === SessionState.Established) await s.bye().catch(() => undefined);
      else if (s.state !== SessionState.Terminated) await s.dispose().catch(() => undefined);
    }
  }

  async sendDtmf(digits: string): Promise<void> {
    if (this.#state !== 'active') throw new DesklineError('CALL_INVALID_STATE', `DTMF needs an active call, call is ${this.#state}`);
    const sdh = this.session.sessionDescriptionHandler as RtpSessionDescriptionHandler | undefined;
    if (!sdh || !sdh.sendDtmf(digits)) throw new DesklineError('CALL_DTMF_FAILED', `cannot send DTMF ${JSON.stringify(digits)} on call ${this.info.callId}`);
  }
}

/** A SIP account as a Line. */
export class SipLine extends TypedEmitter<LineEvents> implements Line {
  readonly id: string;
  readonly kind = 'sip' as const;
  readonly #o: SipLineOptions;
  readonly #log: Logger;
  readonly #ports: RtpPortAllocator;
  readonly #calls = new Map<string, SipCall>();
  /** sessions -> call ids, set before sip.js builds the session's SDP handler */
  readonly #sessionCalls = new WeakMap<Session, SipCall>();
  #account: SipAccount | null = null;

  constructor(options: SipLineOptions) {
    super();
    this.#o = options;
    this.id = options.account.id ?? `${options.account.user}@${options.account.domain}`;
    this.#log = options.log.child({ line: this.id });
    this.#ports = new RtpPortAllocator(options.rtpBindAddress ?? '0.0.0.0');
  }

  /** the registration (state, events); null before start() */
  get account(): SipAccount | null {
    return this.#account;
  }

  calls(): SipCall[] {
    return [...this.#calls.values()];
  }

  async start(): Promise<void> {
    if (this.#account) return;
    const a = this.#o.account;
    const sdhFactory = createRtpSessionDescriptionHandlerFactory({
      // behind NAT the address the registrar saw (RFC 3581); symmetric RTP does the rest
      localAddress: () => this.#account?.publicAddress?.address ?? this.#o.localAddress,
      allocatePort: () => this.#ports.allocate(),
      releasePort: (port) => this.#ports.release(port),
      onError: (error) => this.#log.warn({ err: (error as Error).message }, 'media error'),
      createMediaSession: (session) =>
        new EngineMediaSession({
          engine: this.#o.engine,
          callId: () => this.#sessionCalls.get(session)?.info.callId ?? session.id,
          bindAddress: this.#o.rtpBindAddress,
          recordPath: () => {
            const call = this.#sessionCalls.get(session);
            return call && this.#o.recordPath ? this.#o.recordPath(call.info) : null;
          },
          onDtmf: (e) => this.#sessionCalls.get(session)?.dtmfReceived(e),
          log: this.#log,
        }),
    });
    const account = new SipAccount({
      ...this.#o.accountOverrides,
      id: this.id,
      user: a.user,
      domain: a.domain,
      password: a.password,
      authorizationUsername: a.authorizationUsername,
      displayName: a.displayName,
      registrar: a.registrar,
      backupRegistrar: a.backupRegistrar,
      outboundProxy: a.outboundProxy,
      transport: a.transport,
      expires: a.expires,
      localHost: a.localHost,
      localPort: a.localPort,
      endpoint: a.endpoint,
      allowFrom: a.allowFrom,
      userAgentOptions: {
        sessionDescriptionHandlerFactory: sdhFactory,
        noAnswerTimeout: this.#o.noAnswerTimeoutSec ?? 60,
        delegate: { onInvite: (invitation) => this.#incoming(invitation) },
      },
      clock: this.#o.clock,
      log: this.#o.log,
    });
    this.#account = account;
    account.on('stateChanged', (change) => this.emit('statusChanged', lineStatus(change)));
    await account.start();
  }

  async stop(): Promise<void> {
    await Promise.all(this.calls().map((c) => c.hangup('local-hangup').catch(() => undefined)));
    for (const c of this.calls()) c.transition('ended', 'failed');
    await this.#account?.stop();
  }

  async placeCall(number: string): Promise<Call> {
    const ua = this.#account?.userAgent;
    if (!ua) throw new DesklineError('LINE_NOT_STARTED', `line ${this.id} is not started`);
    if (!/^[A-Za-z0-9*#+._~-]+$/.test(number)) throw new DesklineError('CALL_BAD_NUMBER', `cannot dial ${JSON.stringify(number)}`);
    const target = UserAgent.makeURI(`sip:${encodeURIComponent(number)}@${this.#o.account.domain}`);
    if (!target) throw new DesklineError('CALL_BAD_NUMBER', `cannot dial ${JSON.stringify(number)}`);
    const inviter = new Inviter(ua, target);
    const call = this.#newCall(inviter, { direction: 'outbound', number, name: null }, 'dialing');
    const onFinal = (r: Core.IncomingResponse): void => {
      const status = r.message.statusCode ?? 0;
      call.setEndReason(reasonForStatus(status));
    };
    try {
      await inviter.invite({
        requestDelegate: {
          onProgress: (r) => {
            const status = r.message.statusCode ?? 0;
            if (status === 180 || status === 183) call.transition('alerting');
          },
          onReject: onFinal,
        },
      });
    } catch (error) {
      this.#log.warn({ callId: call.info.callId, err: (error as Error).message }, 'INVITE not sent');
      call.transition('ended', 'failed');
    }
    return call;
  }

  #incoming(invitation: Invitation): void {
    const identity = invitation.remoteIdentity;
    const call = this.#newCall(
      invitation,
      { direction: 'inbound', number: identity.uri.user ?? '', name: identity.displayName || null },
      'ringing',
    );
    this.#log.info({ callId: call.info.callId, number: call.info.number }, 'incoming sip call');
    this.emit('incomingCall', call);
    if (this.#o.settings().autoAnswer && call.state === 'ringing') {
      call.answer().catch((error: unknown) => this.#log.warn({ callId: call.info.callId, err: (error as Error).message }, 'auto-answer failed'));
    }
  }

  #newCall(session: Session, details: Pick<CallInfo, 'direction' | 'number' | 'name'>, initial: CallState): SipCall {
    const info: CallInfo = { callId: randomUUID(), lineId: this.id, lineKind: 'sip', ...details };
    const call = new SipCall(info, initial, session, this.#log, (ended) => this.#calls.delete(ended.info.callId));
    this.#calls.set(info.callId, call);
    this.#sessionCalls.set(session, call);
    return call;
  }
}
