// sip.js's Transport (lib/api/transport.d.ts) over the phone's shared SipEndpoint. The state
// machine follows the interface's contract: connect() moves to Connecting before it returns and
// to Connected before it resolves; losing the flow to the outbound proxy (TCP, TLS, WS) moves to
// Disconnected with an error so the UserAgent and the account can recover.

import { EmitterImpl, TransportState, type Emitter, type Transport } from 'sip.js';
import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../../core/clock.js';
import { SipTransportError } from './errors.js';
import { isIP } from 'node:net';
import type { FlowInfo, InboundInfo, InboundSink, SinkRoute, SipEndpoint, SipTransportKind } from './endpoint.js';
import type { SipProbe } from './message.js';

export interface DesklineTransportOptions {
  endpoint: SipEndpoint;
  /** Via sent-protocol transport of requests sip.js builds */
  protocol: SipTransportKind;
  /** every request goes here when set (a SIP URI, e.g. sip:proxy.example.net:5060;lr) */
  outboundProxy?: string;
  /** the server the phone keeps its flow to (registrar or proxy): keep-alives go there */
  server?: { host: string; port: number };
  /** UDP keep-alive interval (CRLF datagrams); default 30 s, 0 = off. TCP pings are the endpoint's. */
  keepAliveIntervalMs?: number;
  /** the new inbound requests that are this user agent's (on an endpoint shared by several accounts) */
  route?: SinkRoute;
  /**
   * Whether a new INVITE from this source may ring the phone (registrar, proxy, allow-list); a
   * refused one gets 403 and never reaches sip.js. Default: every source.
   */
  admitInvite?: (info: InboundInfo, probe: SipProbe) => boolean;
  clock: Clock;
  log: Logger;
}

export class DesklineTransport implements Transport {
  readonly protocol: string;
  onConnect: (() => void) | undefined;
  onDisconnect: ((error?: Error) => void) | undefined;
  onMessage: ((message: string) => void) | undefined;
  readonly #stateChange = new EmitterImpl<TransportState>();
  #state: TransportState = TransportState.Disconnected;
  readonly #o: DesklineTransportOptions;
  #detach: (() => void) | null = null;
  #sink: InboundSink | null = null;
  #unflow: (() => void) | null = null;
  #keepAlive: TimerHandle | null = null;
  /** why the last send failed (cleared by a successful one): sip.js only reports a 503 */
  lastSendError: SipTransportError | null = null;

  /** sip.js calls `new transportConstructor(logger, transportOptions)`; its logger is not used. */
  constructor(_sipjsLogger: unknown, options: DesklineTransportOptions) {
    if (!options?.endpoint) throw new TypeError('DesklineTransport needs transportOptions.endpoint (use createSipTransport)');
    this.#o = options;
    this.protocol = options.protocol;
  }

  get state(): TransportState {
    return this.#state;
  }
  get stateChange(): Emitter<TransportState> {
    return this.#stateChange;
  }
  isConnected(): boolean {
    return this.#state === TransportState.Connected;
  }

  async connect(): Promise<void> {
    if (this.#state === TransportState.Connected) return;
    if (this.#state !== TransportState.Connecting) this.#transition(TransportState.Connecting);
    await Promise.resolve(); // state handlers must not loop back synchronously
    if (this.#state !== TransportState.Connecting) throw new SipTransportError('SIP_NOT_CONNECTED', `connect interrupted (${this.#state})`);
    if (!this.#o.endpoint.listening) {
      this.#transition(TransportState.Disconnected);
      throw new SipTransportError('SIP_NOT_CONNECTED', 'SIP endpoint is not listening');
    }
    const sink: InboundSink = (text, info, probe) => {
      if (this.#state !== TransportState.Connected) return;
      if (probe.kind === 'request' && probe.method === 'INVITE' && !probe.toTag && this.#o.admitInvite && !this.#o.admitInvite(info, probe)) {
        this.#o.log.warn({ from: `${info.address}:${info.port}`, transport: info.transport }, 'INVITE from an address not allowed: 403');
        this.#o.endpoint.reject(text, probe, 403, 'Forbidden').catch((error: Error) => this.#o.log.debug({ err: error.message }, '403 not sent'));
        return;
      }
      this.onMessage?.(text); // a throw here is caught and logged by the endpoint's guard
    };
    this.#sink = sink;
    this.#detach = this.#o.endpoint.attach(sink, this.#o.route);
    this.#unflow = this.#o.endpoint.onFlowFailed((key, error) => this.#onFlowFailed(key, error));
    this.#startKeepAlive();
    this.#transition(TransportState.Connected);
  }

  async disconnect(): Promise<void> {
    if (this.#state === TransportState.Disconnected) return;
    this.#transition(TransportState.Disconnecting);
    await Promise.resolve();
    this.#release();
    this.#transition(TransportState.Disconnected);
  }

  async dispose(): Promise<void> {
    await this.disconnect();
  }

  async send(message: string): Promise<void> {
    if (this.#state !== TransportState.Connected) {
      throw new SipTransportError('SIP_NOT_CONNECTED', `cannot send while ${this.#state}`);
    }
    try {
      await this.#o.endpoint.send(message, this.#o.protocol, this.#o.outboundProxy, this.#sink ?? undefined);
      this.lastSendError = null;
    } catch (error) {
      if (error instanceof SipTransportError) this.lastSendError = error;
      throw error;
    }
  }

  #onFlowFailed(flow: FlowInfo, error: SipTransportError): void {
    const server = this.#o.server;
    // the flow to our server: same transport and port (and address, when it was given as one)
    if (!server || flow.kind !== this.#o.protocol || flow.port !== server.port || (isIP(server.host) && flow.address !== server.host)) return;
    if (this.#state !== TransportState.Connected) return;
    this.#o.log.warn({ flow: `${flow.kind}:${flow.address}:${flow.port}`, err: error.message }, 'sip flow to the server lost');
    this.#release();
    this.#transition(TransportState.Disconnected, error);
  }

  #startKeepAlive(): void {
    const interval = this.#o.keepAliveIntervalMs ?? 30_000;
    const server = this.#o.server;
    if (this.#o.protocol !== 'UDP' || !server || interval <= 0) return;
    this.#keepAlive = this.#o.clock.setInterval(() => {
      this.#o.endpoint.keepAlive('UDP', server.host, server.port).catch((error: Error) => this.#o.log.debug({ err: error.message }, 'keep-alive failed'));
    }, interval);
  }

  #release(): void {
    this.#o.clock.clear(this.#keepAlive);
    this.#keepAlive = null;
    this.#detach?.();
    this.#unflow?.();
    this.#detach = null;
    this.#unflow = null;
  }

  #transition(next: TransportState, error?: Error): void {
    const previous = this.#state;
    this.#state = next;
    this.#stateChange.emit(next);
    if (next === TransportState.Connected) this.onConnect?.();
    // onDisconnect runs on every transition away from Connected (error undefined when asked for)
    if (previous === TransportState.Connected && next !== TransportState.Connected) this.onDisconnect?.(error);
  }
}
