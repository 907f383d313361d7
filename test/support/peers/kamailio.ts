// Kamailio as the SIP registrar/proxy with digest auth (users in an htable, locations in memory),
// on a free UDP+TCP port (and optionally a WebSocket port). Package: kamailio
// (+ kamailio-websocket-modules for websocket).

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir, spawnPeer, type PeerProcess } from '../process.js';
import { freePort, freeTcpPort } from '../ports.js';
import { sipOptions } from '../sip.js';
import { writeTemplate } from './templates.js';

export const DEFAULT_SIP_USERS: Readonly<Record<string, string>> = { alice: 'alicepw', bob: 'bobpw', '1000': 'secret1000' };

export interface KamailioOptions {
  /** user -> password for digest auth; default DEFAULT_SIP_USERS */
  users?: Record<string, string>;
  /** also listen for SIP over WebSocket (ws://127.0.0.1:wsPort) */
  websocket?: boolean;
  /** also listen for SIP over TLS (tlsPort) with this server certificate and key (PEM files) */
  tls?: { certFile: string; keyFile: string };
  /** kamailio `debug` level (2 = info: one line per request) */
  debug?: number;
  /** registrar min_expires in seconds (kamailio's default 60); lower it for refresh tests */
  minExpires?: number;
  readyTimeoutMs?: number;
}

export interface Kamailio {
  host: string;
  /** SIP port, UDP and TCP */
  port: number;
  /** "127.0.0.1:port", the SIP domain users register at */
  domain: string;
  wsPort?: number;
  wsUrl?: string;
  tlsPort?: number;
  users: Record<string, string>;
  dir: string;
  cfgPath: string;
  process: PeerProcess;
  pid: number;
  stop(): Promise<void>;
}

const SAFE_USER = /^[A-Za-z0-9._~+-]+$/;
const SAFE_PASSWORD = /^[^"\\\r\n$]+$/;

export async function startKamailio(o: KamailioOptions = {}): Promise<Kamailio> {
  const users = { ...(o.users ?? DEFAULT_SIP_USERS) };
  for (const [u, p] of Object.entries(users)) {
    if (!SAFE_USER.test(u)) throw new Error(`startKamailio: user name not allowed in the htable: ${JSON.stringify(u)}`);
    if (!SAFE_PASSWORD.test(p)) throw new Error(`startKamailio: password for ${u} has a character kamailio.cfg cannot carry`);
  }
  const host = '127.0.0.1';
  const dir = await makeTempDir('kamailio');
  const port = await freePort();
  const wsPort = o.websocket ? await freeTcpPort() : undefined;
  const tlsPort = o.tls ? await freeTcpPort() : undefined;
  const tlsCfg = join(dir, 'tls.cfg');
  if (o.tls) {
    // kamailio's tls module: the server side presents the certificate; clients are not asked for one
    await writeFile(tlsCfg, `[server:default]\nmethod = TLSv1.2+\nverify_certificate = no\nrequire_certificate = no\nprivate_key = ${o.tls.keyFile}\ncertificate = ${o.tls.certFile}\n\n[client:default]\nmethod = TLSv1.2+\nverify_certificate = no\nrequire_certificate = no\n`);
  }
  const cfgPath = await writeTemplate('kamailio.cfg', dir, {
    HOST: host,
    SIP_PORT: port,
    WS_PORT: wsPort ?? 0,
    TLS_PORT: tlsPort ?? 0,
    TLS_CFG: tlsCfg,
    DEBUG: o.debug ?? 2,
    MIN_EXPIRES: o.minExpires ?? 60,
    USERS: Object.entries(users)
      .map(([u, p]) => `    $sht(users=>${u}) = "${p}";`)
      .join('\n'),
  });
  const args = ['-f', cfgPath, '-DD', '-E', '-m', '64', '-M', '8', '-P', join(dir, 'kamailio.pid'), '-Y', dir, '-w', dir];
  if (o.websocket) args.push('-A', 'WITH_WS');
  if (o.tls) args.push('-A', 'WITH_TLS');
  const ready: Parameters<typeof spawnPeer>[0]['ready'] = [
    { check: async () => (await sipOptions(port, host, 200)) !== null, description: `a SIP OPTIONS answer on udp ${host}:${port}` },
    { tcp: port, host },
  ];
  if (wsPort) ready.push({ tcp: wsPort, host });
  if (tlsPort) ready.push({ tcp: tlsPort, host });
  const proc = await spawnPeer({
    name: 'kamailio',
    command: 'kamailio',
    debianPackage: ['kamailio', ...(o.websocket ? ['kamailio-websocket-modules'] : []), ...(o.tls ? ['kamailio-tls-modules'] : [])].join(' '),
    args,
    cwd: dir,
    ready,
    readyTimeoutMs: o.readyTimeoutMs ?? 15_000,
  });
  return {
    host,
    port,
    domain: `${host}:${port}`,
    wsPort,
    wsUrl: wsPort ? `ws://${host}:${wsPort}` : undefined,
    tlsPort,
    users,
    dir,
    cfgPath,
    process: proc,
    pid: proc.pid,
    stop: async () => void (await proc.stop()),
  };
}
