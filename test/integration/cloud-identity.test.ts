// Client certificate rotation end to end: the built daemon links to a real Mosquitto over TLS with the certificate
// from provisioning; cert.rotate makes a new key and a CSR on the device, the test signs it as the cloud's CA would,
// cert.install switches to it (kept, because the link comes up with it), and a certificate the broker does not
// trust is rolled back to the previous identity within the deadline.

import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { projectRoot } from '../../src/core/paths.js';
import { AdminClient, startCloudBroker } from '../support/cloud.js';
import { freeTcpPort, makeTempDir, spawnPeer, stopAllPeers, type PeerProcess } from '../support/index.js';
import type { Mosquitto } from '../support/peers/mosquitto.js';
import { issueClientCert, makeTestCa, type TestCa } from '../support/tls.js';

const run = promisify(execFile);
const MAIN = join(projectRoot(), 'dist', 'src', 'main.js');
const ID = 'id-dev';
const T = (kind: string) => `dl/v1/${ID}/${kind}`;

let ca: TestCa;
let rogue: TestCa;
let broker: Mosquitto;
let admin: AdminClient;
let data: string;
let daemon: PeerProcess;
let provisioned: { certFile: string; keyFile: string };

async function cmd(name: string, id: string, args: Record<string, unknown> = {}) {
  await admin.publish(T(`cmd/${name}`), { id, by: 'pki@example.com', args }, { expiryS: 60 });
  return admin.waitFor(T(`cmd/${name}/result`), (p) => p.id === id, 30_000);
}

/** Signs a CSR with a CA as the cloud's PKI would (clientAuth, 2 days). */
async function sign(csr: string, authority: TestCa): Promise<string> {
  const dir = await makeTempDir('csr');
  await writeFile(join(dir, 'req.csr'), csr);
  await writeFile(join(dir, 'ext'), 'extendedKeyUsage=clientAuth\n');
  await run('openssl', ['x509', '-req', '-in', join(dir, 'req.csr'), '-CA', authority.caCertFile, '-CAkey', join(authority.dir, 'ca.key'), '-CAcreateserial', '-days', '2', '-extfile', join(dir, 'ext'), '-out', join(dir, 'new.crt')]);
  return readFile(join(dir, 'new.crt'), 'utf8');
}

beforeAll(async () => {
  ca = await makeTestCa();
  rogue = await makeTestCa('Rogue CA');
  broker = await startCloudBroker({ tls: { caFile: ca.caCertFile, certFile: ca.serverCertFile, keyFile: ca.serverKeyFile } });
  provisioned = await issueClientCert(ca, ID);
  data = await makeTempDir('cloud-identity-data');
  const configFile = join(data, 'deskline.json');
  await writeFile(configFile, JSON.stringify({
    board: 'sim', device: { id: ID },
    cloud: { url: broker.tlsUrl, ca: ca.caCertFile, cert: provisioned.certFile, key: provisioned.keyFile, reconnectMaxS: 1, health: { linkBackS: 5 } },
  }));
  admin = await AdminClient.connect(broker, { subscribe: [`dl/v1/${ID}/#`] });
  daemon = await spawnPeer({
    name: 'deskline', command: process.execPath, debianPackage: 'nodejs',
    args: [MAIN, 'start', '--config', configFile, '--data', data, '--port', String(await freeTcpPort())],
    env: { ...process.env, DESKLINE_CONFIG: '' }, ready: { line: /"msg":"deskline started"/ }, readyTimeoutMs: 30_000,
  });
  await admin.waitFor(T('presence'), (p) => p.state === 'online');
});

afterAll(async () => {
  await daemon?.stop();
  await admin?.close();
  await stopAllPeers();
});

describe('client certificate rotation (daemon, Mosquitto TLS)', () => {
  it('makes a key and CSR on the device, refuses a certificate for another key, and switches to the signed one once the link is up with it', async () => {
    const rotate = await cmd('cert.rotate', 'r-1');
    expect(rotate).toMatchObject({ status: 'ok', data: { subject: `CN=${ID}`, csr: expect.stringContaining('BEGIN CERTIFICATE REQUEST') } });
    const csr = (rotate.data as { csr: string }).csr;

    const wrongKey = await cmd('cert.install', 'i-wrong', { certificate: await readFile(provisioned.certFile, 'utf8') });
    expect(wrongKey).toMatchObject({ status: 'error', error: { code: 'CERT_KEY_MISMATCH' } });

    const certificate = await sign(csr, ca);
    const installed = await cmd('cert.install', 'i-1', { certificate });
    expect(installed).toMatchObject({ status: 'ok', data: { switching: true, serial: expect.any(String) } });
    await admin.waitFor(T('events/identity'), (p) => p.type === 'cert.switched', 30_000);
    expect(await readFile(join(data, 'cloud', 'identity', 'cert.pem'), 'utf8')).toBe(certificate);
    expect((await readFile(join(data, 'cloud', 'identity', 'key.pem'))).length).toBeGreaterThan(0);
  });

  it('puts the previous certificate back when the link does not come up with the new one', async () => {
    const before = await readFile(join(data, 'cloud', 'identity', 'cert.pem'), 'utf8');
    const onlines = () => admin.messages(T('presence')).filter((m) => JSON.parse(m.payload).state === 'online').length;
    const rotate = await cmd('cert.rotate', 'r-2');
    const untrusted = await sign((rotate.data as { csr: string }).csr, rogue);
    expect(await cmd('cert.install', 'i-2', { certificate: untrusted })).toMatchObject({ status: 'ok', data: { switching: true } });
    const onlineBefore = onlines();
    const failed = await admin.waitFor(T('events/identity'), (p) => p.type === 'cert.switch_failed', 60_000);
    expect((failed.data as { reason: string }).reason).toMatch(/not up within 5 s/);
    expect(await readFile(join(data, 'cloud', 'identity', 'cert.pem'), 'utf8')).toBe(before);
    // and the link is back with it
    await admin.waitCount(onlines, onlineBefore + 1, 30_000);
  });
});
