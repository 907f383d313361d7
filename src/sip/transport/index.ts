// What the rest of the runtime uses of the SIP transport: a listening endpoint and the options
// that make sip.js's UserAgent use it correctly in Node (see the sip.js pitfalls: viaHost,
// forceRport, contactParams and the contact port).

import { createSocket } from 'node:dgram';
import { isIP } from 'node:net';
import type { UserAgent, UserAgentOptions } from 'sip.js';
import type { Logger } from 'pino';
import type { Clock } from '../../core/clock.js';
import { SipEndpoint, type SipEndpointOptions, type SipTransportKind } from './endpoint.js';
import { DesklineTransport, type DesklineTransportOptions } from './transport.js';

export { SipEndpoint, redactCredentials } from './endpoint.js';
export type { SipEndpointOptions, SipTransportKind, EndpointStats, InboundInfo, SinkRoute, FlowInfo } from './endpoint.js';
export { transportKind } from './endpoint.js';
export { DesklineTransport } from './transport.js';
export type { DesklineTransportOptions } from './transport.js';
export { SipTransportError } from './errors.js';
export type { SipTransportErrorCode } from './errors.js';
export { UdpReliability, DEFAULT_TIMERS } from './retransmit.js';
export type { RetransmitTimers, ReliabilityStats } from './retransmit.js';
export { probeSipMessage, MAX_SIP_MESSAGE_BYTES } from './message.js';
export { SipStreamFramer, FramingError } from './framing.js';

export interface SipTransportSetupOptions {
  /** a listening endpoint to share; created (and listened) from endpointOptions otherwise */
  endpoint?: SipEndpoint;
  endpointOptions?: Omit<SipEndpointOptions, 'clock' | 'log'>;
  protocol: SipTransportKind;
  /** registrar or proxy the phone talks to: keep-alives go there, and it picks the local address */
  server: { host: string; port: number };
  outboundProxy?: string;
  /** the address put in Via and Contact; default: the local address that routes to `server` */
  viaHost?: string;
  /** the address-of-record user: new requests for it (or for our Contact) reach this user agent */
  user?: string;
  /** see DesklineTransportOptions.admitInvite */
  admitInvite?: DesklineTransportOptions['admitInvite'];
  keepAliveIntervalMs?: number;
  clock: Clock;
  log: Logger;
}

export interface SipTransportSetup {
  endpoint: SipEndpoint;
  /** spread into `new UserAgent({...})` */
  userAgentOptions: Required<Pick<UserAgentOptions, 'transportConstructor' | 'transportOptions' | 'viaHost' | 'contactParams' | 'forceRport'>>;
  /** after `new UserAgent(...)`: puts our listening port into the Contact URI */
  applyContact(ua: UserAgent): void;
}

/** Listens (unless given an endpoint) and returns the UserAgent options for the transport. */
export async function createSipTransport(o: SipTransportSetupOptions): Promise<SipTransportSetup> {
  const endpoint = o.endpoint ?? new SipEndpoint({ ...o.endpointOptions, clock: o.clock, log: o.log });
  const { address } = await endpoint.listen();
  const viaHost = o.viaHost ?? (address !== '0.0.0.0' ? address : await localAddressFor(o.server.host, o.server.port));
  // users this user agent answers for: the AOR user, and the Contact user sip.js makes up
  const users = new Set<string>(o.user ? [o.user] : []);
  const transportOptions: DesklineTransportOptions = {
    endpoint,
    protocol: o.protocol,
    outboundProxy: o.outboundProxy,
    server: o.server,
    keepAliveIntervalMs: o.keepAliveIntervalMs,
    // sip.js answers 404 to any other user (RFC 3261 §8.2.2.1)
    route: (p) => p.requestUser !== null && users.has(p.requestUser),
    admitInvite: o.admitInvite,
    clock: o.clock,
    log: o.log,
  };
  return {
    endpoint,
    userAgentOptions: {
      transportConstructor: DesklineTransport,
      transportOptions,
      viaHost,
      // RFC 3581: ask the server to answer to the source port (NAT, and our shared socket)
      forceRport: true,
      contactParams: { transport: o.protocol.toLowerCase() },
    },
    applyContact(ua: UserAgent): void {
      ua.contact.uri.port = endpoint.portFor(o.protocol);
      if (ua.contact.uri.user) users.add(ua.contact.uri.user);
    },
  };
}

/** The local IPv4 address the kernel would use to reach host:port (no packet is sent). */
export async function localAddressFor(host: string, port: number): Promise<string> {
  if (isIP(host) && (host.startsWith('127.') || host === 'localhost')) return '127.0.0.1';
  const sock = createSocket('udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.connect(port, host, () => resolve());
    });
    return sock.address().address;
  } catch {
    return '127.0.0.1';
  } finally {
    sock.close();
  }
}
