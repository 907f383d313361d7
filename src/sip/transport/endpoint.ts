// The phone's SIP network endpoint (RFC 3261 §18): one UDP socket and one TCP listener, shared by
// every account (each a sip.js UserAgent attached as a sink), plus the stream flows: TCP (ours and
// the peers'), TLS (RFC 3261 §26.2.1, server certificate verified) and WebSocket (RFC 7118), the
// latter two opened by the phone and reused for requests coming back (RFC 5626 §5.3).
// It routes what sip.js sends (requests to the outbound proxy, the first loose Route or the
// Request-URI; responses by the top Via, RFC 3581), guards what arrives before sip.js sees it,
// hands each inbound message to the one account it belongs to (by Call-ID for what an account
// already sent or received, else by the sinks' routes: the Request-URI user), answers and sends
// CRLF keep-alives (RFC 5626), and runs the UDP retransmission timers.

import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, connect as tcpConnect, isIP, type Server, type Socket as TcpSocket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import WebSocket from 'ws';
import { lookup as dnsLookup } from 'node:dns/promises';
import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../../core/clock.js';
import { SipTransportError } from './errors.js';
import { FramingError, SipStreamFramer } from './framing.js';
import {
  MAX_SIP_MESSAGE_BYTES,
  defaultPort,
  isKeepAlive,
  parseSipUriTarget,
  probeSipMessage,
  responseDestination,
  stampReceived,
  statelessResponse,
  type SipProbe,
} from './message.js';
import { UdpReliability, type RetransmitTimers } from './retransmit.js';

export type SipTransportKind = 'UDP' | 'TCP' | 'TLS' | 'WS' | 'WSS';

/** Stream transports: one connection per peer, messages framed (TCP, TLS) or one per WebSocket message. */
type StreamKind = Exclude<SipTransportKind, 'UDP'>;

const STREAM_KINDS: ReadonlySet<string> = new Set(['TCP', 'TLS', 'WS', 'WSS']);

/** The transport a Via or URI transport token names, or null for one we do not speak (SCTP...). */
export function transportKind(token: string | null | undefined): SipTransportKind | null {
  const t = (token ?? '').toUpperCase();
  return t === 'UDP' || STREAM_KINDS.has(t) ? (t as SipTransportKind) : null;
}

export interface SipEndpointOptions {
  clock: Clock;
  log: Logger;
  /** address to bind; default 0.0.0.0 */
  host?: string;
  /** port for UDP (and TCP unless tcpPort is given); default 5060, 0 = any free port (the same one for both) */
  port?: number;
  /** TCP port when it differs from the UDP one */
  tcpPort?: number;
  /** listen for TCP too; default true */
  tcp?: boolean;
  /** upper bound of one inbound or outbound message in bytes; default 65 535 */
  maxMessageBytes?: number;
  /** UDP retransmission timers (RFC 3261 §17); default T1 500 ms, T2 4 s, T4 5 s */
  timers?: Partial<RetransmitTimers>;
  /** name resolution; default dns.lookup (IPv4) */
  lookup?: (host: string) => Promise<string>;
  /** interval of CRLF keep-alives (UDP datagrams, TCP pings); default 30 s; 0 = off */
  keepAliveIntervalMs?: number;
  /** RFC 5626 §4.4.1: a TCP flow without a pong within 10 s has failed */
  pongTimeoutMs?: number;
  /**
   * TLS and WSS client settings: trusted CAs (PEM; default Node's bundled roots) and whether an
   * unverifiable server certificate is refused (default true; false only for lab set-ups).
   */
  tls?: { ca?: string | Buffer | Array<string | Buffer>; verify?: boolean };
  /** path of WebSocket URLs (RFC 7118 leaves it to the server); default '/' */
  wsPath?: string;
  /** at most this many TCP connections (inbound + outbound); default 64 */
  maxConnections?: number;
  /** every message in and out (after the guard), for diagnostics and tests */
  trace?: (event: { direction: 'in' | 'out'; transport: SipTransportKind; address: string; port: number; text: string }) => void;
}

export interface InboundInfo {
  transport: SipTransportKind;
  address: string;
  port: number;
}

/** A stream flow the phone opened (to a registrar or proxy). */
export interface FlowInfo {
  kind: Exclude<SipTransportKind, 'UDP'>;
  address: string;
  port: number;
}

/** Receives guarded inbound messages (the sip.js Transport). */
export type InboundSink = (text: string, info: InboundInfo, probe: SipProbe) => void;

/** Which new inbound requests a sink takes (its account's users by Request-URI); the first attached sink takes the rest. */
export type SinkRoute = (probe: SipProbe, info: InboundInfo) => boolean;

/** Call-IDs remembered per sink; beyond this the oldest are forgotten (their messages go by route). */
const MAX_TRACKED_CALL_IDS = 4096;

export interface EndpointStats {
  received: number;
  sent: number;
  /** inbound messages the guard refused */
  dropped: number;
  /** inbound messages whose dispatch into sip.js threw */
  dispatchErrors: number;
  keepAlivesReceived: number;
}

interface Connection {
  /** `${kind}:${address}:${port}` of the peer */
  key: string;
  kind: StreamKind;
  address: string;
  port: number;
  write(text: string): Promise<void>;
  /** a CRLF ping (TCP/TLS, RFC 5626 §4.4.1) or a WebSocket ping; the pong clears the deadline */
  ping(): void;
  destroy(): void;
  outbound: boolean;
  ready: Promise<void>;
  /** connected (a flow that never came up fails its send, not the flow) */
  established: boolean;
  pingTimer: TimerHandle | null;
  pongDeadline: TimerHandle | null;
}

const CRLFCRLF = '\r\n\r\n';

export class SipEndpoint {
  readonly stats: EndpointStats = { received: 0, sent: 0, dropped: 0, dispatchErrors: 0, keepAlivesReceived: 0 };
  readonly reliability: UdpReliability;
  readonly #o: SipEndpointOptions;
  readonly #log: Logger;
  readonly #max: number;
  readonly #lookup: (host: string) => Promise<string>;
  #udp: UdpSocket | null = null;
  #tcp: Server | null = null;
  #port = 0;
  #tcpPort = 0;
  #address = '0.0.0.0';
  readonly #connections = new Map<string, Connection>();
  /** attached sinks in attach order, each with its route */
  readonly #sinks = new Map<InboundSink, SinkRoute | null>();
  /** Call-ID -> the sink whose dialog or transaction it is */
  readonly #owners = new Map<string, InboundSink>();
  readonly #flowListeners = new Set<(flow: FlowInfo, error: SipTransportError) => void>();
  #closed = false;

  constructor(options: SipEndpointOptions) {
    this.#o = options;
    this.#log = options.log;
    this.#max = options.maxMessageBytes ?? MAX_SIP_MESSAGE_BYTES;
    this.#lookup = options.lookup ?? (async (host) => (await dnsLookup(host, { family: 4 })).address);
    this.reliability = new UdpReliability({
      clock: options.clock,
      timers: options.timers,
      onRetransmit: (r) => this.#log.debug({ ...r }, 'sip retransmission'),
    });
  }

  /** The bound UDP port (and TCP port unless tcpPort was given). */
  get port(): number {
    return this.#port;
  }
  /** The port a transport listens on (for Contact headers). */
  portFor(kind: SipTransportKind): number {
    return kind === 'TCP' && this.#tcpPort ? this.#tcpPort : this.#port;
  }
  get address(): string {
    return this.#address;
  }
  get listening(): boolean {
    return this.#udp !== null && !this.#closed;
  }
  /** Open TCP connections. */
  get connectionCount(): number {
    return this.#connections.size;
  }

  /** Binds UDP, then TCP on the same port (retrying a few free ports when port 0 was asked). */
  async listen(): Promise<{ address: string; port: number }> {
    if (this.#udp) return { address: this.#address, port: this.#port };
    const host = this.#o.host ?? '0.0.0.0';
    const wanted = this.#o.port ?? 5060;
    let lastError: unknown;
    for (let attempt = 0; attempt < (wanted === 0 ? 10 : 1); attempt++) {
      const udp = createSocket({ type: 'udp4', reuseAddr: false });
      try {
        await new Promise<void>((resolve, reject) => {
          udp.once('error', reject);
          udp.bind({ port: wanted, address: host, exclusive: true }, () => {
            udp.off('error', reject);
            resolve();
          });
        });
        const port = udp.address().port;
        const tcpPort = this.#o.tcpPort ?? port;
        const tcp = this.#o.tcp === false ? null : await this.#listenTcp(host, tcpPort);
        this.#udp = udp;
        this.#tcp = tcp;
        this.#port = port;
        this.#tcpPort = tcp ? (tcp.address() as { port: number }).port : 0;
        this.#address = udp.address().address;
        udp.on('message', (msg, rinfo) => this.#onDatagram(msg, rinfo.address, rinfo.port));
        udp.on('error', (error) => this.#log.error({ err: error }, 'sip udp socket error'));
        this.#log.info({ address: this.#address, port, tcpPort: this.#tcpPort || null }, 'sip endpoint listening');
        return { address: this.#address, port };
      } catch (error) {
        lastError = error;
        udp.close();
      }
    }
    throw new SipTransportError('SIP_LISTEN_FAILED', `cannot listen for SIP on ${host}:${wanted}: ${(lastError as Error)?.message}`, {
      cause: lastError,
    });
  }

  #listenTcp(host: string, port: number): Promise<Server> {
    return new Promise((resolve, reject) => {
      const server = createServer((socket) => this.#accept(socket));
      server.maxConnections = this.#o.maxConnections ?? 64;
      server.once('error', reject);
      server.listen({ port, host, exclusive: true }, () => {
        server.off('error', reject);
        server.on('error', (error) => this.#log.error({ err: error }, 'sip tcp listener error'));
        resolve(server);
      });
    });
  }

  /**
   * Adds a receiver of guarded inbound messages; returns a remover. Each message reaches one sink:
   * the one that sent or took a message with its Call-ID, else the first whose route takes it,
   * else the first attached (the primary account: direct calls to the phone's address).
   */
  attach(sink: InboundSink, route?: SinkRoute): () => void {
    this.#sinks.set(sink, route ?? null);
    return () => {
      this.#sinks.delete(sink);
      for (const [callId, owner] of this.#owners) if (owner === sink) this.#owners.delete(callId);
    };
  }

  #own(callId: string, sink: InboundSink): void {
    this.#owners.delete(callId);
    this.#owners.set(callId, sink);
    if (this.#owners.size > MAX_TRACKED_CALL_IDS) this.#owners.delete(this.#owners.keys().next().value!);
  }

  #sinkFor(p: SipProbe, info: InboundInfo): InboundSink | undefined {
    const owner = this.#owners.get(p.callId);
    if (owner && this.#sinks.has(owner)) return owner;
    if (p.kind === 'response') return this.#sinks.size === 1 ? this.#sinks.keys().next().value : undefined;
    for (const [sink, route] of this.#sinks) if (route?.(p, info)) return sink;
    return this.#sinks.keys().next().value;
  }

  /** Called when a stream flow we opened fails (closed by the peer, no pong). */
  onFlowFailed(fn: (flow: FlowInfo, error: SipTransportError) => void): () => void {
    this.#flowListeners.add(fn);
    return () => void this.#flowListeners.delete(fn);
  }

  /**
   * Sends a message from sip.js. Requests go over `transport` to `outboundProxy` (a SIP URI),
   * else the first Route if it is a loose router (§16.12.1.1 / §8.1.2), else the Request-URI;
   * responses go where their top Via says (§18.2.2, RFC 3581 §4).
   */
  async send(text: string, transport: SipTransportKind, outboundProxy?: string, from?: InboundSink): Promise<void> {
    if (!this.listening) throw new SipTransportError('SIP_NOT_CONNECTED', 'SIP endpoint is not listening');
    const bytes = Buffer.byteLength(text, 'utf8');
    if (bytes > this.#max) throw new SipTransportError('SIP_SEND_FAILED', `outgoing message of ${bytes} bytes exceeds ${this.#max}`);
    const probed = probeSipMessage(text, this.#max);
    if (!probed.ok) throw new SipTransportError('SIP_ROUTE_FAILED', `cannot route outgoing message: ${probed.reason}`);
    const p = probed.probe;
    if (from) this.#own(p.callId, from);
    if (p.kind === 'response') {
      const dest = responseDestination(p.via);
      const kind = transportKind(p.via.transport);
      if (!kind) throw new SipTransportError('SIP_ROUTE_FAILED', `cannot answer over ${p.via.transport}`);
      if (kind === 'UDP') {
        const address = await this.#resolve(dest.host);
        await this.#sendUdp(text, address, dest.port);
        this.reliability.responseSent(p, () => void this.#sendUdp(text, address, dest.port).catch(() => undefined));
      } else {
        // §18.2.2: over the connection the request came on (it is still open), else a new one
        await this.#sendStream(kind, text, dest.host, dest.port);
      }
      return;
    }
    const target = this.#requestTarget(p, outboundProxy);
    const kind = transportKind(target.transport) ?? (target.secure && transport === 'TCP' ? 'TLS' : transport);
    const port = target.port ?? defaultPort(kind);
    if (kind === 'UDP') {
      const address = await this.#resolve(target.host);
      await this.#sendUdp(text, address, port);
      this.reliability.requestSent(p, () => void this.#sendUdp(text, address, port).catch(() => undefined));
    } else {
      await this.#sendStream(kind, text, target.host, port);
    }
  }

  #requestTarget(p: SipProbe, outboundProxy?: string): NonNullable<ReturnType<typeof parseSipUriTarget>> {
    const candidates = [outboundProxy, p.route, p.requestUri];
    for (const c of candidates) {
      if (!c) continue;
      const t = parseSipUriTarget(c);
      if (!t) continue;
      if (c === p.route && !t.lr) continue; // strict router: the Request-URI holds the next hop
      return t;
    }
    throw new SipTransportError('SIP_ROUTE_FAILED', `no destination for ${p.method} ${p.requestUri ?? ''}`);
  }

  async #resolve(host: string): Promise<string> {
    if (isIP(host)) return host;
    try {
      return await this.#lookup(host);
    } catch (error) {
      throw new SipTransportError('SIP_ROUTE_FAILED', `cannot resolve ${host}: ${(error as Error).message}`, { cause: error });
    }
  }

  /** Sends a keep-alive to host:port: a CRLF datagram over UDP, a ping over a stream (RFC 5626). */
  async keepAlive(kind: SipTransportKind, host: string, port: number): Promise<void> {
    if (kind === 'UDP') await this.#rawUdp(CRLFCRLF, await this.#resolve(host), port);
    else this.#ping(await this.#connection(kind, host, port));
  }

  #sendUdp(text: string, address: string, port: number): Promise<void> {
    this.#trace('out', 'UDP', address, port, text);
    return this.#rawUdp(text, address, port);
  }

  #rawUdp(text: string, address: string, port: number): Promise<void> {
    const udp = this.#udp;
    if (!udp) return Promise.reject(new SipTransportError('SIP_NOT_CONNECTED', 'SIP endpoint is closed'));
    return new Promise((resolve, reject) => {
      udp.send(text, port, address, (error) => {
        if (error) reject(new SipTransportError('SIP_SEND_FAILED', `udp send to ${address}:${port}: ${error.message}`, { cause: error }));
        else {
          this.stats.sent++;
          resolve();
        }
      });
    });
  }

  async #sendStream(kind: StreamKind, text: string, host: string, port: number): Promise<void> {
    const conn = await this.#connection(kind, host, port);
    this.#trace('out', kind, conn.address, conn.port, text);
    await conn.write(text);
    this.stats.sent++;
  }

  /**
   * An open connection of `kind` to host:port (inbound ones and the flows we opened are reused,
   * §18.2.2, RFC 5626 §5.3), or a new one. TLS checks the server certificate against the name we
   * were given (RFC 5922 §7.2): the host name when there is one, else the IP address.
   */
  async #connection(kind: StreamKind, host: string, port: number): Promise<Connection> {
    const address = await this.#resolve(host);
    const key = `${kind}:${address}:${port}`;
    const existing = this.#connections.get(key);
    if (existing) {
      await existing.ready;
      return existing;
    }
    if (this.#connections.size >= (this.#o.maxConnections ?? 64)) {
      throw new SipTransportError('SIP_SEND_FAILED', `too many SIP connections (${this.#connections.size})`);
    }
    const tls = this.#o.tls ?? {};
    const secure = { ca: tls.ca, rejectUnauthorized: tls.verify !== false };
    let conn: Connection;
    if (kind === 'WS' || kind === 'WSS') {
      const name = isIP(host) === 6 ? `[${host}]` : host;
      const url = `${kind === 'WSS' ? 'wss' : 'ws'}://${name}:${port}${this.#o.wsPath ?? '/'}`;
      // RFC 7118 §4: the "sip" subprotocol
      const ws = new WebSocket(url, 'sip', { ...secure, maxPayload: this.#max, handshakeTimeout: 10_000 });
      conn = this.#trackWebSocket(key, kind, address, port, ws, true);
    } else {
      const socket = kind === 'TLS'
        // Node checks the certificate against servername, else against host (IP SANs)
        ? tlsConnect({ host: address, port, servername: isIP(host) ? undefined : host, ...secure })
        : tcpConnect({ host: address, port });
      conn = this.#trackSocket(key, kind, socket, true);
      conn.ready = new Promise<void>((resolve, reject) => {
        socket.once(kind === 'TLS' ? 'secureConnect' : 'connect', () => resolve());
        socket.once('error', (error) => reject(new SipTransportError('SIP_SEND_FAILED', `${kind.toLowerCase()} connect to ${host}:${port}: ${error.message}`, { cause: error })));
      });
    }
    conn.ready.catch(() => undefined);
    try {
      await conn.ready;
    } catch (error) {
      this.#untrack(conn);
      conn.destroy();
      throw error;
    }
    conn.established = true;
    this.#startPings(conn);
    return conn;
  }

  #accept(socket: TcpSocket): void {
    if (this.#closed || !socket.remoteAddress || !socket.remotePort) {
      socket.destroy();
      return;
    }
    this.#trackSocket(`TCP:${socket.remoteAddress.replace(/^::ffff:/, '')}:${socket.remotePort}`, 'TCP', socket, false);
  }

  /** A TCP or TLS connection: messages framed by Content-Length (§18.3), CRLF pings answered. */
  #trackSocket(key: string, kind: 'TCP' | 'TLS', socket: TcpSocket, outbound: boolean): Connection {
    const [address, port] = peerOf(key);
    const framer = new SipStreamFramer({ maxMessageBytes: this.#max });
    const conn: Connection = {
      key, kind, address, port, outbound,
      write: (text) =>
        new Promise<void>((resolve, reject) => {
          socket.write(text, (error) => (error ? reject(new SipTransportError('SIP_SEND_FAILED', `${kind.toLowerCase()} send to ${address}:${port}: ${error.message}`, { cause: error })) : resolve()));
        }),
      ping: () => void (socket.destroyed || socket.write(CRLFCRLF)),
      destroy: () => socket.destroy(),
      ready: Promise.resolve(),
      established: !outbound,
      pingTimer: null,
      pongDeadline: null,
    };
    this.#connections.set(key, conn);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      let frames;
      try {
        frames = framer.push(chunk);
      } catch (error) {
        // a stream that cannot be framed cannot be resynchronised: close it (§18.3)
        this.stats.dropped++;
        this.#log.warn({ peer: key, reason: (error as Error).message }, 'sip stream unusable, closing');
        socket.destroy(error instanceof FramingError ? undefined : (error as Error));
        return;
      }
      for (const f of frames) {
        if (f.type === 'ping') {
          this.stats.keepAlivesReceived++;
          socket.write('\r\n'); // pong (RFC 5626 §4.4.1)
        } else if (f.type === 'pong') {
          this.#ponged(conn);
        } else {
          this.#deliver(f.text, { transport: kind, address, port });
        }
      }
    });
    socket.on('error', (error) => this.#log.debug({ peer: key, err: error.message }, 'sip connection error'));
    socket.on('close', () => {
      this.#untrack(conn);
      if (conn.established && outbound && !this.#closed) this.#flowFailed(conn, 'connection closed');
    });
    return conn;
  }

  /** A WebSocket flow (RFC 7118): one SIP message per text or binary message, WebSocket pings. */
  #trackWebSocket(key: string, kind: 'WS' | 'WSS', address: string, port: number, ws: WebSocket, outbound: boolean): Connection {
    const conn: Connection = {
      key, kind, address, port, outbound,
      write: (text) =>
        new Promise<void>((resolve, reject) => {
          ws.send(text, (error) => (error ? reject(new SipTransportError('SIP_SEND_FAILED', `websocket send to ${address}:${port}: ${error.message}`, { cause: error })) : resolve()));
        }),
      ping: () => {
        if (ws.readyState === WebSocket.OPEN) ws.ping();
      },
      destroy: () => ws.terminate(),
      ready: new Promise<void>((resolve, reject) => {
        ws.once('open', () => (ws.protocol === 'sip' ? resolve() : reject(new SipTransportError('SIP_SEND_FAILED', `websocket ${address}:${port} did not accept the "sip" subprotocol`))));
        ws.once('error', (error) => reject(new SipTransportError('SIP_SEND_FAILED', `websocket connect to ${address}:${port}: ${error.message}`, { cause: error })));
      }),
      established: false,
      pingTimer: null,
      pongDeadline: null,
    };
    this.#connections.set(key, conn);
    ws.on('message', (data: Buffer | ArrayBuffer | Buffer[], isBinary) => {
      const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
      const text = buf.toString('utf8');
      if (isKeepAlive(text)) {
        this.stats.keepAlivesReceived++;
        return;
      }
      if (isBinary) this.#log.debug({ peer: key }, 'binary websocket message taken as SIP');
      this.#deliver(text, { transport: kind, address, port });
    });
    ws.on('pong', () => this.#ponged(conn));
    ws.on('error', (error) => this.#log.debug({ peer: key, err: error.message }, 'sip websocket error'));
    ws.on('close', () => {
      this.#untrack(conn);
      if (conn.established && !this.#closed) this.#flowFailed(conn, 'websocket closed');
    });
    return conn;
  }

  #ponged(conn: Connection): void {
    this.stats.keepAlivesReceived++;
    this.#o.clock.clear(conn.pongDeadline);
    conn.pongDeadline = null;
  }

  #startPings(conn: Connection): void {
    const interval = this.#o.keepAliveIntervalMs ?? 30_000;
    if (interval <= 0 || conn.pingTimer) return;
    conn.pingTimer = this.#o.clock.setInterval(() => this.#ping(conn), interval);
  }

  #ping(conn: Connection): void {
    if (this.#connections.get(conn.key) !== conn) return;
    conn.ping();
    if (conn.pongDeadline) return;
    conn.pongDeadline = this.#o.clock.setTimeout(() => {
      conn.pongDeadline = null;
      this.#log.warn({ peer: conn.key }, 'no keep-alive pong, closing the sip flow');
      this.#flowFailed(conn, 'no keep-alive pong');
      conn.destroy();
    }, this.#o.pongTimeoutMs ?? 10_000);
  }

  #flowFailed(conn: Connection, why: string): void {
    this.#untrack(conn);
    const error = new SipTransportError('SIP_FLOW_FAILED', `sip ${conn.kind} flow to ${conn.address}:${conn.port} failed: ${why}`);
    for (const fn of [...this.#flowListeners]) {
      try {
        fn({ kind: conn.kind, address: conn.address, port: conn.port }, error);
      } catch (e) {
        this.#log.error({ err: e }, 'flow listener threw');
      }
    }
  }

  #untrack(conn: Connection): void {
    this.#o.clock.clear(conn.pingTimer);
    this.#o.clock.clear(conn.pongDeadline);
    conn.pingTimer = null;
    conn.pongDeadline = null;
    if (this.#connections.get(conn.key) === conn) this.#connections.delete(conn.key);
  }

  #onDatagram(msg: Buffer, address: string, port: number): void {
    if (msg.length > this.#max) {
      this.stats.dropped++;
      this.#log.warn({ from: `${address}:${port}`, bytes: msg.length }, 'oversized sip datagram dropped');
      return;
    }
    const text = msg.toString('utf8');
    if (isKeepAlive(text)) {
      this.stats.keepAlivesReceived++;
      return;
    }
    this.#deliver(text, { transport: 'UDP', address, port });
  }

  /** The guard: everything inbound passes here; what fails is dropped and logged, never thrown. */
  #deliver(raw: string, info: InboundInfo): void {
    this.stats.received++;
    const probed = probeSipMessage(raw, this.#max);
    if (!probed.ok) {
      this.stats.dropped++;
      this.#log.warn({ from: `${info.address}:${info.port}`, transport: info.transport, reason: probed.reason }, 'malformed sip message dropped');
      return;
    }
    let text = raw;
    let p = probed.probe;
    if (p.kind === 'request') {
      const stamped = stampReceived(raw, p, info.address, info.port);
      text = stamped.text;
      p = { ...p, via: stamped.via };
      if (info.transport === 'UDP' && this.reliability.requestReceived(p)) return;
    } else if (info.transport === 'UDP' && this.reliability.responseReceived(p)) {
      return;
    }
    this.#trace('in', info.transport, info.address, info.port, text);
    const sink = this.#sinkFor(p, info);
    if (!sink) {
      this.stats.dropped++;
      this.#log.debug({ from: `${info.address}:${info.port}`, status: p.status, method: p.method }, 'stray sip response dropped');
      return;
    }
    if (p.kind === 'request') this.#own(p.callId, sink);
    try {
      sink(text, info, p);
    } catch (error) {
      this.stats.dispatchErrors++;
      this.#log.error(
        { from: `${info.address}:${info.port}`, err: (error as Error).message, method: p.method, status: p.status },
        'sip message dispatch threw; message dropped',
      );
    }
  }

  /**
   * Answers an inbound request without passing it on (e.g. 403 to an INVITE from a stranger);
   * over UDP an INVITE's final is retransmitted until the ACK like any other (§17.2.1).
   */
  async reject(request: string, p: SipProbe, status: number, reason: string): Promise<void> {
    // a response goes where its Via says, over that Via's transport
    await this.send(statelessResponse(request, p, status, reason), transportKind(p.via.transport) ?? 'UDP');
  }

  #trace(direction: 'in' | 'out', transport: SipTransportKind, address: string, port: number, text: string): void {
    if (!this.#o.trace) return;
    try {
      this.#o.trace({ direction, transport, address, port, text });
    } catch {
      /* a tracer must not break the transport */
    }
  }

  /** Closes the sockets and every connection, stops all timers. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.reliability.clear();
    this.#owners.clear();
    for (const conn of [...this.#connections.values()]) {
      this.#untrack(conn);
      conn.destroy();
    }
    const udp = this.#udp;
    const tcp = this.#tcp;
    this.#udp = null;
    this.#tcp = null;
    await Promise.all([
      udp ? new Promise<void>((r) => udp.close(() => r())) : undefined,
      tcp ? new Promise<void>((r) => tcp.close(() => r())) : undefined,
    ]);
  }
}

/** `${kind}:${address}:${port}` -> [address, port] (IPv6 addresses contain colons). */
function peerOf(key: string): [string, number] {
  const last = key.lastIndexOf(':');
  return [key.slice(key.indexOf(':') + 1, last), Number(key.slice(last + 1))];
}

/** Trace text without credentials: Authorization headers carry digest responses. */
export function redactCredentials(text: string): string {
  return text.replace(/^((?:proxy-)?authorization[ \t]*:).*$/gim, '$1 [redacted]');
}
