// Mosquitto as the MQTT broker on free loopback ports: a plain listener with a password file,
// optional ACL, persistence and a TLS listener (client certificates). Packages: mosquitto,
// mosquitto-clients (for mosquittoPub/mosquittoSub).
//
// Started as root, mosquitto drops to user `mosquitto` before reading its files: the temp dir is
// 0755, passwd/acl are root:mosquitto 0640, the key and the data dir belong to mosquitto.

import { execFile, spawn } from 'node:child_process';
import { chown, chmod, copyFile, mkdir, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { makeTempDir, requireBinary, spawnPeer, type PeerProcess } from '../process.js';
import { freeTcpPort } from '../ports.js';
import { mqttConnack } from '../mqtt.js';

const run = promisify(execFile);

export interface MosquittoTlsOptions {
  caFile: string;
  certFile: string;
  keyFile: string;
  /** clients must present a certificate signed by caFile (default true) */
  requireCertificate?: boolean;
  /** the client certificate's CN is the MQTT user name (default true) */
  useIdentityAsUsername?: boolean;
}

export interface MosquittoOptions {
  /** user -> password (password_file); default { deskline: 'deskline-pw' } */
  users?: Record<string, string>;
  /** default false */
  allowAnonymous?: boolean;
  /** lines of an acl_file (e.g. 'pattern readwrite dl/v1/%u/#'); none = no ACL */
  acl?: string[];
  /** persistence to <dir>/data/ (default false) */
  persistence?: boolean;
  /** also open a TLS listener on a second free port */
  tls?: MosquittoTlsOptions;
  /** more config lines, appended as they are */
  extraConfig?: string[];
  readyTimeoutMs?: number;
}

export interface Mosquitto {
  host: string;
  port: number;
  url: string;
  tlsPort?: number;
  tlsUrl?: string;
  users: Record<string, string>;
  dir: string;
  dataDir: string;
  configPath: string;
  process: PeerProcess;
  pid: number;
  stop(): Promise<void>;
  /** Starts the broker again on the same ports with the same config and data (after `stop`); `process` and `pid` follow. */
  start(): Promise<void>;
}

export const DEFAULT_MQTT_USERS: Readonly<Record<string, string>> = { deskline: 'deskline-pw' };

function systemUser(name: string): { uid: number; gid: number } | null {
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const f = line.split(':');
      if (f[0] === name) return { uid: Number(f[2]), gid: Number(f[3]) };
    }
  } catch {
    /* no passwd file */
  }
  return null;
}

export async function startMosquitto(o: MosquittoOptions = {}): Promise<Mosquitto> {
  const users = { ...(o.users ?? DEFAULT_MQTT_USERS) };
  const host = '127.0.0.1';
  const dir = await makeTempDir('mosquitto');
  const dataDir = join(dir, 'data');
  await mkdir(dataDir, { mode: 0o755 });
  const asRoot = process.getuid?.() === 0;
  const drop = asRoot ? systemUser('mosquitto') : null;
  const port = await freeTcpPort();
  const tlsPort = o.tls ? await freeTcpPort() : undefined;

  const lines = [
    '# Deskline test broker (written by test/support/peers/mosquitto.ts)',
    'per_listener_settings false',
    `allow_anonymous ${o.allowAnonymous ? 'true' : 'false'}`,
    'log_dest stderr',
    'log_type error',
    'log_type warning',
    'log_type notice',
    'log_type information',
    'connection_messages true',
  ];
  if (Object.keys(users).length) {
    const passwd = join(dir, 'passwd');
    const mp = requireBinary('mosquitto_passwd', 'mosquitto');
    // plain user:password lines hashed in one run (-U): one mosquitto_passwd per user takes seconds for a fleet
    await writeFile(passwd, Object.entries(users).map(([u, p]) => `${u}:${p}\n`).join(''), { mode: 0o640 });
    await run(mp, ['-U', passwd]);
    await restrict(passwd, drop, 0o640);
    lines.push(`password_file ${passwd}`);
  }
  if (o.acl) {
    const acl = join(dir, 'acl');
    await writeFile(acl, o.acl.join('\n') + '\n', { mode: 0o640 });
    await restrict(acl, drop, 0o640);
    lines.push(`acl_file ${acl}`);
  }
  if (o.persistence) {
    lines.push('persistence true', `persistence_location ${dataDir}/`, 'autosave_interval 1');
  } else {
    lines.push('persistence false');
  }
  if (drop) await chown(dataDir, drop.uid, drop.gid);
  lines.push(`listener ${port} ${host}`);
  if (o.tls && tlsPort) {
    const ca = join(dir, 'ca.crt');
    const cert = join(dir, 'server.crt');
    const key = join(dir, 'server.key');
    await copyFile(o.tls.caFile, ca);
    await copyFile(o.tls.certFile, cert);
    await copyFile(o.tls.keyFile, key);
    await chmod(ca, 0o644);
    await chmod(cert, 0o644);
    await chmod(key, 0o600);
    if (drop) await chown(key, drop.uid, drop.gid);
    lines.push(
      `listener ${tlsPort} ${host}`,
      `cafile ${ca}`,
      `certfile ${cert}`,
      `keyfile ${key}`,
      `require_certificate ${o.tls.requireCertificate === false ? 'false' : 'true'}`,
      `use_identity_as_username ${o.tls.useIdentityAsUsername === false ? 'false' : 'true'}`,
    );
  }
  lines.push(...(o.extraConfig ?? []));
  const configPath = join(dir, 'mosquitto.conf');
  await writeFile(configPath, lines.join('\n') + '\n', { mode: 0o644 });

  const ready: Parameters<typeof spawnPeer>[0]['ready'] = [
    { tcp: port, host },
    // any CONNACK (even "not authorised") proves the broker speaks MQTT on the port
    { check: async () => (await mqttConnack(port, { host, timeoutMs: 300 })) !== null, description: `an MQTT CONNACK on ${host}:${port}` },
  ];
  if (tlsPort) ready.push({ tcp: tlsPort, host });
  const spawnBroker = () => spawnPeer({
    name: 'mosquitto',
    command: 'mosquitto',
    debianPackage: 'mosquitto',
    args: ['-c', configPath],
    cwd: dir,
    ready,
    readyTimeoutMs: o.readyTimeoutMs ?? 10_000,
  });
  const proc = await spawnBroker();
  const broker: Mosquitto = {
    host,
    port,
    url: `mqtt://${host}:${port}`,
    tlsPort,
    tlsUrl: tlsPort ? `mqtts://${host}:${tlsPort}` : undefined,
    users,
    dir,
    dataDir,
    configPath,
    process: proc,
    pid: proc.pid,
    stop: async () => void (await broker.process.stop()),
    start: async () => {
      if (broker.process.running) throw new Error('mosquitto is still running: stop it first');
      broker.process = await spawnBroker();
      broker.pid = broker.process.pid;
    },
  };
  return broker;
}

async function restrict(path: string, drop: { uid: number; gid: number } | null, mode: number): Promise<void> {
  if (drop) await chown(path, 0, drop.gid);
  await chmod(path, mode);
}

export interface MqttClientOptions {
  port: number;
  host?: string;
  username?: string;
  password?: string;
  /** MQTT protocol version for mosquitto-clients: 'mqttv311' (default) or 'mqttv5' */
  protocol?: 'mqttv311' | 'mqttv5';
  qos?: 0 | 1 | 2;
  timeoutMs?: number;
}

function clientArgs(o: MqttClientOptions): string[] {
  const a = ['-h', o.host ?? '127.0.0.1', '-p', String(o.port), '-V', o.protocol ?? 'mqttv311', '-q', String(o.qos ?? 1)];
  if (o.username !== undefined) a.push('-u', o.username);
  if (o.password !== undefined) a.push('-P', o.password);
  return a;
}

/** Publishes one message with mosquitto_pub; rejects with its output if it fails. */
export async function mosquittoPub(o: MqttClientOptions & { topic: string; message: string; retain?: boolean }): Promise<void> {
  const bin = requireBinary('mosquitto_pub', 'mosquitto-clients');
  const args = [...clientArgs(o), '-t', o.topic, '-m', o.message];
  if (o.retain) args.push('-r');
  await run(bin, args, { timeout: o.timeoutMs ?? 5000 });
}

function findStdbuf(): string | null {
  try {
    return requireBinary('stdbuf', 'coreutils');
  } catch {
    return null;
  }
}

export interface MosquittoSub {
  /** resolves once the subscription is acknowledged (SUBACK), rejects if the client fails first */
  subscribed: Promise<void>;
  /** resolves with the `count` messages as "topic payload" lines */
  messages: Promise<string[]>;
  pid: number;
  stop(): void;
}

/**
 * Subscribes with mosquitto_sub (-v, -C count) and collects `count` messages. `subscribed`
 * resolves when the broker has acknowledged the subscription (-d debug output shows SUBACK).
 */
export function mosquittoSub(o: MqttClientOptions & { topic: string; count: number }): MosquittoSub {
  const bin = requireBinary('mosquitto_sub', 'mosquitto-clients');
  const args = [...clientArgs(o), '-t', o.topic, '-v', '-d', '-C', String(o.count), '-W', String(Math.ceil((o.timeoutMs ?? 10_000) / 1000))];
  // its stdout is a pipe: without line buffering the SUBACK line would only show at exit
  const stdbuf = findStdbuf();
  const child = stdbuf
    ? spawn(stdbuf, ['-oL', '-eL', bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let onSub: () => void = () => {};
  const subscribed = new Promise<void>((resolve) => (onSub = resolve));
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (d: string) => {
    out += d;
    if (/received SUBACK/.test(out)) onSub();
  });
  child.stderr.on('data', (d: string) => (err += d));
  const messages = new Promise<string[]>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => {
      // -d interleaves "Client ... received PUBLISH/sending PINGREQ" debug lines with the messages
      const msgs = out.split('\n').filter((l) => l && !/^Client \S+ (sending|received) /.test(l) && !/^Subscribed \(mid/.test(l));
      if (code === 0) resolve(msgs);
      else reject(new Error(`mosquitto_sub exited ${code}\n${out}${err}`));
    });
  });
  const failedFirst = messages.then(
    () => undefined,
    (e: unknown) => Promise.reject(e),
  );
  return {
    subscribed: Promise.race([subscribed, failedFirst]),
    messages,
    pid: child.pid ?? -1,
    stop: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    },
  };
}
