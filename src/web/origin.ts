import { isIP } from 'node:net';

/**
 * Who may use the web UI's control paths (the virtual phone's channel, order entry). A browser page on another site
 * must not drive them (cross-site requests carry that site's Origin), nor may a DNS rebinding attack (the attacker's
 * domain made to resolve to this device, so the Host header and the Origin name the attacker's domain): the host
 * named must be a loopback name, the address the server was told to listen on, or a literal IP address (a name no
 * DNS answer can rebind, e.g. http://192.168.1.20:8080 on the shop LAN when the server listens on 0.0.0.0).
 */
const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);
/** name or [IPv6], and an optional port: nothing else belongs in a Host header */
const HOST_HEADER = /^(\[[0-9a-fA-F:.]{2,45}\]|[a-zA-Z0-9.-]{1,253})(?::[0-9]{1,5})?$/;

/** Whether a request's Host header names this server in a way DNS rebinding cannot fake (see above). */
export function hostAllowed(host: string | undefined, listenHost: string): boolean {
  const match = host === undefined ? null : HOST_HEADER.exec(host);
  return match !== null && hostnameAllowed(match[1], listenHost);
}

function hostnameAllowed(name: string, listenHost: string): boolean {
  const hostname = name.toLowerCase();
  if (LOOPBACK.has(hostname) || hostname.endsWith('.localhost')) return true;
  if (isIP(hostname.replace(/^\[(.*)\]$/, '$1')) !== 0) return true;
  return listenHost !== '0.0.0.0' && listenHost !== '::' && hostname === listenHost.toLowerCase();
}

/** Whether a request's Origin is this server's own page: present, http(s), the same host as the Host header, and a host DNS rebinding cannot fake. */
export function originAllowed(origin: string | undefined, host: string | undefined, listenHost: string): boolean {
  if (!origin || !host) return false;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
  if (url.host !== host.toLowerCase()) return false;
  return hostnameAllowed(url.hostname, listenHost);
}
