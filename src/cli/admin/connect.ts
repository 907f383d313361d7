/**
 * The admin's MQTT session: `--url --ca --cert --key --username --password` (or DESKLINE_ADMIN_*) to mqtt.js
 * options, MQTT 5 with a clean session and a fresh client id, and connect failures turned into errors that say
 * what to fix. Passwords never appear in any message. mqtt.js is loaded only when an admin command connects.
 */
import { X509Certificate, createPrivateKey, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import type { IClientOptions, MqttClient } from 'mqtt';
import { errorCode, errorMessage } from '../../core/errors.js';
import { EXIT } from '../context.js';
import { AdminError, safeText } from './common.js';

export interface AdminConnectOptions {
  url?: string;
  ca?: string;
  cert?: string;
  key?: string;
  username?: string;
  password?: string;
}

/** The connection options of `deskline admin`, each also read from its DESKLINE_ADMIN_* variable. */
export function connectOptions(): Option[] {
  return [
    new Option('--url <url>', 'broker URL: mqtts://host:8883 (TLS) or mqtt://host:1883').env('DESKLINE_ADMIN_URL'),
    new Option('--ca <file>', "PEM file of the CA the broker's certificate must chain to (default: the system's CAs)").env('DESKLINE_ADMIN_CA'),
    new Option('--cert <file>', 'PEM file of the admin client certificate (its CN is the admin identity); needs --key').env('DESKLINE_ADMIN_CERT'),
    new Option('--key <file>', 'PEM file of the private key of --cert').env('DESKLINE_ADMIN_KEY'),
    new Option('--username <name>', 'MQTT user name when there is no client certificate (the admin identity)').env('DESKLINE_ADMIN_USERNAME'),
    new Option('--password <password>', 'MQTT password (prefer the variable: a command line is visible to other users)').env('DESKLINE_ADMIN_PASSWORD'),
  ];
}

export interface ResolvedConnection {
  /** the broker URL as given, without any user:password part */
  url: string;
  /** who the admin is: the certificate's CN, else the user name, else 'anonymous' */
  identity: string;
  options: IClientOptions;
}

type ReadFile = (path: string) => Buffer;

function readPem(what: '--ca' | '--cert' | '--key', path: string, read: ReadFile): Buffer {
  try {
    return read(path);
  } catch (error) {
    const code = errorCode(error);
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : errorMessage(error);
    throw new AdminError('ADMIN_TLS_FILE', `cannot read ${what} ${path}: ${why}`, EXIT.badConfig);
  }
}

/** The CN of a certificate's subject, or '' when it has none. */
export function commonName(subject: string): string {
  return /(?:^|\n)CN=([^\n]*)/.exec(subject)?.[1]?.trim() ?? '';
}

/** A client id of our own: `admin-<user>-<random>` (the user part limited to safe characters). */
export function adminClientId(identity: string, random = randomBytes(4).toString('hex')): string {
  const user = identity.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 32) || 'admin';
  return `admin-${user}-${random}`;
}

/** Options (or the environment) to what mqtt.js needs; every problem is found before any network traffic. */
export function resolveConnection(o: AdminConnectOptions, read: ReadFile = (p) => readFileSync(p)): ResolvedConnection {
  if (!o.url) throw new AdminError('ADMIN_NO_URL', 'no broker: pass --url mqtts://host:8883 or set DESKLINE_ADMIN_URL', EXIT.badConfig);
  let url: URL;
  try {
    url = new URL(o.url);
  } catch {
    // not echoed: it may hold a password
    throw new AdminError('ADMIN_BAD_URL', '--url is not a URL (want mqtts://host:8883 or mqtt://host:1883)', EXIT.badConfig);
  }
  if (url.protocol !== 'mqtt:' && url.protocol !== 'mqtts:') {
    throw new AdminError('ADMIN_BAD_URL', `--url must start with mqtts:// (TLS) or mqtt://, got ${safeText(url.protocol, 20)}//`, EXIT.badConfig);
  }
  const fromUrl = { username: decodeURIComponent(url.username), password: decodeURIComponent(url.password) };
  url.username = '';
  url.password = '';
  const shown = url.toString().replace(/\/$/, '');
  const username = o.username || fromUrl.username || undefined;
  const password = o.password || fromUrl.password || undefined;
  if (password !== undefined && username === undefined) throw new AdminError('ADMIN_BAD_OPTION', 'a password needs a user name (--username or DESKLINE_ADMIN_USERNAME)', EXIT.badConfig);
  if (Boolean(o.cert) !== Boolean(o.key)) throw new AdminError('ADMIN_BAD_OPTION', '--cert and --key go together (the client certificate and its private key)', EXIT.badConfig);
  if ((o.cert || o.ca) && url.protocol !== 'mqtts:') throw new AdminError('ADMIN_BAD_OPTION', `--ca and --cert need TLS: use an mqtts:// URL (got ${shown})`, EXIT.badConfig);

  const options: IClientOptions = {
    protocolVersion: 5,
    clean: true,
    reconnectPeriod: 0,
    connectTimeout: 10_000,
    keepalive: 30,
    properties: { sessionExpiryInterval: 0 },
    ...(username !== undefined ? { username } : {}),
    ...(password !== undefined ? { password } : {}),
  };
  let identity = username ?? 'anonymous';
  if (url.protocol === 'mqtts:') {
    options.rejectUnauthorized = true;
    if (o.ca) options.ca = readPem('--ca', o.ca, read);
  }
  if (o.cert && o.key) {
    const cert = readPem('--cert', o.cert, read);
    const key = readPem('--key', o.key, read);
    let x509: X509Certificate;
    try {
      x509 = new X509Certificate(cert);
    } catch {
      throw new AdminError('ADMIN_TLS_FILE', `--cert ${o.cert} is not a PEM certificate`, EXIT.badConfig);
    }
    let privateKey;
    try {
      privateKey = createPrivateKey(key);
    } catch {
      throw new AdminError('ADMIN_TLS_FILE', `--key ${o.key} is not an unencrypted PEM private key`, EXIT.badConfig);
    }
    if (!x509.checkPrivateKey(privateKey)) throw new AdminError('ADMIN_TLS_FILE', `--key ${o.key} is not the private key of --cert ${o.cert}`, EXIT.badConfig);
    options.cert = cert;
    options.key = key;
    identity = commonName(x509.subject) || identity;
  }
  options.clientId = adminClientId(identity);
  return { url: shown, identity, options };
}

const TLS_TRUST = new Set(['DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_UNTRUSTED']);

/** A failed connect as an AdminError that says what to fix. */
export function connectError(error: unknown, url: string, identity: string): AdminError {
  const code = (error as { code?: unknown } | null)?.code;
  const message = errorMessage(error);
  if (typeof code === 'number') {
    // CONNACK reason codes (MQTT 5; the 3.1.1 return codes 1-5 too)
    if (code === 134 || code === 4) return new AdminError('ADMIN_BAD_CREDENTIALS', `the broker at ${url} refused the credentials of '${safeText(identity, 64)}' (bad user name or password)`);
    // Mosquitto answers a wrong password with 'not authorised' (0x87) rather than 0x86
    if (code === 135 || code === 5) return new AdminError('ADMIN_NOT_AUTHORISED', `the broker at ${url} does not let '${safeText(identity, 64)}' connect (not authorised: check the user name and password, or the client certificate)`);
    if (code === 132 || code === 1) return new AdminError('ADMIN_PROTOCOL', `the broker at ${url} does not speak MQTT 5, which the admin commands need`);
    if (code === 138) return new AdminError('ADMIN_NOT_AUTHORISED', `the broker at ${url} has banned '${safeText(identity, 64)}'`);
    return new AdminError('ADMIN_CONNECT_REFUSED', `the broker at ${url} refused the connection (reason code ${code}: ${message.replace(/^Connection refused: /, '')})`);
  }
  switch (code) {
    case 'ECONNREFUSED':
      return new AdminError('ADMIN_UNREACHABLE', `cannot reach the broker at ${url}: connection refused (is it running, is the port right?)`);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new AdminError('ADMIN_UNREACHABLE', `cannot reach the broker at ${url}: host not found`);
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return new AdminError('ADMIN_UNREACHABLE', `cannot reach the broker at ${url}: ${code === 'ETIMEDOUT' ? 'timed out' : 'no route to the host'}`);
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return new AdminError('ADMIN_TLS', `the broker's certificate is not for the host in ${url} (${message})`);
    case 'CERT_HAS_EXPIRED':
      return new AdminError('ADMIN_TLS', `the broker's certificate at ${url} has expired`);
    default:
      break;
  }
  if (typeof code === 'string' && TLS_TRUST.has(code)) return new AdminError('ADMIN_TLS', `the broker's certificate at ${url} is not trusted (${message}): pass its CA with --ca`);
  if (/alert|handshake|certificate/i.test(message) || code === 'ECONNRESET') {
    return new AdminError('ADMIN_TLS', `the broker at ${url} ended the connection during the handshake (${message}): it may want a client certificate its CA signed (--cert, --key)`);
  }
  if (message === 'connack timeout') return new AdminError('ADMIN_UNREACHABLE', `no answer from the broker at ${url} within 10 s`);
  return new AdminError('ADMIN_CONNECT_FAILED', `cannot connect to the broker at ${url}: ${message}`);
}

export interface AdminSession {
  client: MqttClient;
  /** the admin identity: certificate CN or user name (the `by` of commands) */
  identity: string;
  url: string;
  /** rejects with ADMIN_CONNECTION_LOST when the connection drops before close() (never resolves) */
  lost: Promise<never>;
  close(): Promise<void>;
}

/** Connect with the admin options of `command` (and its parents) and the DESKLINE_ADMIN_* variables. */
export async function openSession(command: Command): Promise<AdminSession> {
  const resolved = resolveConnection(command.optsWithGlobals<AdminConnectOptions>());
  const { connect } = await import('mqtt');
  const client = connect(resolved.url, resolved.options);
  try {
    await new Promise<void>((resolve, reject) => {
      const done = (error?: unknown) => {
        client.off('connect', onConnect);
        client.off('error', done);
        client.off('close', onClose);
        if (error === undefined) resolve();
        else reject(error as Error);
      };
      const onConnect = () => done();
      const onClose = () => done(new Error('the broker closed the connection before accepting it'));
      client.once('connect', onConnect);
      client.once('error', done);
      client.once('close', onClose);
    });
  } catch (error) {
    client.end(true);
    throw connectError(error, resolved.url, resolved.identity);
  }
  // after the CONNACK, a dropped connection fails the command that is waiting (no reconnect: reconnectPeriod 0)
  let closing = false;
  let lastError = '';
  client.on('error', (error) => void (lastError = errorMessage(error)));
  const lost = new Promise<never>((_resolve, reject) => {
    client.once('close', () => {
      if (!closing) reject(new AdminError('ADMIN_CONNECTION_LOST', `lost the connection to the broker at ${resolved.url}${lastError ? ` (${lastError})` : ''}`));
    });
  });
  lost.catch(() => undefined); // observed by whoever races with it
  return {
    client,
    identity: resolved.identity,
    url: resolved.url,
    lost,
    close: async () => {
      closing = true;
      if (client.connected) await client.endAsync();
      else client.end(true);
    },
  };
}

/** For command groups that only need the client (e.g. `admin recordings`): a connected mqtt.js client. */
export async function connectAdmin(command: Command): Promise<MqttClient> {
  return (await openSession(command)).client;
}

/** Run `use` with a session and always close it. */
export async function withSession<T>(command: Command, use: (session: AdminSession) => Promise<T>): Promise<T> {
  const session = await openSession(command);
  try {
    return await use(session);
  } finally {
    await session.close().catch(() => undefined);
  }
}
