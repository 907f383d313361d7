import { networkInterfaces } from 'node:os';
import { isIP } from 'node:net';
import type { Config } from '../config/schema.js';
import { DesklineError } from '../core/errors.js';
import type { SipLineAccountConfig } from './line.js';

type AccountConfig = Config['sip']['accounts'][number];

/** host[:port] from a SIP URI (`sip:pbx.example.com:5060;transport=udp` -> `pbx.example.com:5060`). */
function hostPort(uri: string): string {
  return uri.replace(/^sips?:/, '').replace(/^[^@]*@/, '').split(/[;?]/)[0];
}

/** A configured SIP account as the SIP line takes it (all accounts share the phone's endpoint on sip.listen). */
export function sipLineAccount(account: AccountConfig, shared: Pick<SipLineAccountConfig, 'endpoint' | 'allowFrom'>): SipLineAccountConfig {
  const match = /^sips?:([^@]+)@(.+)$/.exec(account.uri);
  if (!match) throw new DesklineError('SIP_BAD_URI', `sip.accounts '${account.id}': '${account.uri}' is not sip:user@domain`);
  return {
    id: account.id,
    user: decodeURIComponent(match[1]),
    domain: hostPort(account.uri),
    password: account.password,
    authorizationUsername: account.authorizationUsername,
    registrar: account.registrar ? hostPort(account.registrar) : undefined,
    backupRegistrar: account.backupRegistrar ? hostPort(account.backupRegistrar) : undefined,
    // a SIP URI: the transport sends every request there (loose routing, ;transport= honoured)
    outboundProxy: account.outboundProxy,
    transport: account.transport,
    expires: account.expires,
    ...shared,
  };
}

/**
 * The address we put in SDP: loopback for a registrar on this machine, else this board's first
 * non-internal IPv4 address (NAT is learned later from rport/received).
 */
export function advertisedAddress(server: string): string {
  const host = server.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  if (host === 'localhost' || (isIP(host) === 4 && host.startsWith('127.'))) return '127.0.0.1';
  for (const addresses of Object.values(networkInterfaces())) {
    for (const a of addresses ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}
