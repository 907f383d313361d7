/**
 * Who may open the virtual phone's control channel. A browser page on another site (or a DNS
 * rebinding attack, where the Host header names the attacker's domain) must not drive the phone:
 * the Origin must be present, must be this server's own origin, and that origin's host must be a
 * loopback name or the address the server was told to listen on.
 */
const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

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
  const hostname = url.hostname.toLowerCase();
  return LOOPBACK.has(hostname) || hostname.endsWith('.localhost') || (listenHost !== '0.0.0.0' && listenHost !== '::' && hostname === listenHost.toLowerCase());
}
