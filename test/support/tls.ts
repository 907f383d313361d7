// A throw-away certificate authority for TLS tests (openssl, from Debian's openssl package): a CA
// and a server certificate for 127.0.0.1/localhost signed by it, all PEM files in one temp dir.

import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { makeTempDir } from './process.js';

const run = promisify(execFile);

export interface TestCa {
  dir: string;
  caCertFile: string;
  serverCertFile: string;
  serverKeyFile: string;
}

/** Makes a CA named `name` and a server certificate (SAN IP:127.0.0.1, DNS:localhost) it signed. */
export async function makeTestCa(name = 'Deskline Test CA'): Promise<TestCa> {
  const dir = await makeTempDir('tls-ca');
  const f = (n: string) => join(dir, n);
  await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=${name}`, '-keyout', f('ca.key'), '-out', f('ca.crt')]);
  await run('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-keyout', f('server.key'), '-out', f('server.csr')]);
  await writeFile(f('san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  await run('openssl', ['x509', '-req', '-in', f('server.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-days', '2', '-extfile', f('san.ext'), '-out', f('server.crt')]);
  return { dir, caCertFile: f('ca.crt'), serverCertFile: f('server.crt'), serverKeyFile: f('server.key') };
}

export interface ClientCert {
  certFile: string;
  keyFile: string;
}

/** Issues a client certificate with the common name `cn` (the device id), signed by the CA of `ca`. */
export async function issueClientCert(ca: TestCa, cn: string): Promise<ClientCert> {
  const f = (n: string) => join(ca.dir, `${cn}.${n}`);
  await run('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${cn}`, '-keyout', f('key'), '-out', f('csr')]);
  await writeFile(f('ext'), 'extendedKeyUsage=clientAuth\n');
  await run('openssl', ['x509', '-req', '-in', f('csr'), '-CA', ca.caCertFile, '-CAkey', join(ca.dir, 'ca.key'), '-CAcreateserial', '-days', '2', '-extfile', f('ext'), '-out', f('crt')]);
  return { certFile: f('crt'), keyFile: f('key') };
}
