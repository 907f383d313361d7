/**
 * The device's TLS identity for the cloud link, and its rotation without ever being locked out:
 *
 *   cert.rotate                  a new key (ECDSA P-256) is made on the device and kept aside; the answer is a
 *                                PKCS#10 request (CSR) for CN=<deviceId> signed with it. The key never leaves.
 *   cert.install {certificate}   the cloud's certificate for that request: checked (it must be for the pending
 *                                key and the device id, and valid now), then the link is rebuilt with it while
 *                                the old identity is kept. If the link comes up within cloud.health.linkBackS
 *                                the old one is dropped; if not, the old one is put back.
 *
 * Files under <data>/cloud/identity (0700; keys 0600): cert.pem + key.pem, the identity in use once rotated (they
 * take precedence over cloud.cert/cloud.key, the identity from provisioning); pending-key.pem; previous/ and
 * switch.json while a switch is on trial.
 */
import { X509Certificate, createPublicKey, webcrypto } from 'node:crypto';
import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DesklineError } from '../core/errors.js';
import { writeFileAtomic } from '../store/durable-file.js';

export interface TlsIdentity {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

const KEY_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const MAX_CERT_BYTES = 16 * 1024;

async function readIfThere(path: string): Promise<Buffer | null> {
  try {
    return await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}


export class DeviceIdentity {
  readonly dir: string;

  constructor(private readonly options: { dir: string; deviceId: string; now: () => number | null }) {
    this.dir = options.dir;
  }

  #path(name: string): string {
    return join(this.dir, name);
  }

  /** The rotated certificate and key, when there are (else the link uses cloud.cert/cloud.key). */
  async rotated(): Promise<{ cert: Buffer; key: Buffer } | null> {
    const [cert, key] = await Promise.all([readIfThere(this.#path('cert.pem')), readIfThere(this.#path('key.pem'))]);
    return cert && key ? { cert, key } : null;
  }

  /** A switch waiting for the link to prove the new identity. */
  async switchPending(): Promise<boolean> {
    return (await readIfThere(this.#path('switch.json'))) !== null;
  }

  /** cert.rotate: a new key kept aside, and the CSR for it. */
  async createRequest(): Promise<{ csr: string; subject: string }> {
    // @peculiar/x509 builds the PKCS#10 request (Node's crypto has no CSR builder); its DI container wants the
    // Reflect metadata polyfill, loaded here only, when a rotation runs
    await import('reflect-metadata');
    const x509 = await import('@peculiar/x509');
    x509.cryptoProvider.set(webcrypto as never); // Node's Web Crypto (its DOM type is not in our lib)
    const keys = await webcrypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify']);
    const subject = `CN=${this.options.deviceId}`;
    const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: subject, keys: keys as never, signingAlgorithm: KEY_ALGORITHM });
    const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await writeFileAtomic(this.#path('pending-key.pem'), x509.PemConverter.encode(pkcs8, 'PRIVATE KEY'));
    return { csr: csr.toString('pem'), subject };
  }

  /**
   * cert.install: checks the certificate against the pending key, the device id and the time, then makes it the
   * identity in use with the old one kept aside (commit or roll back with `settleSwitch`).
   */
  async install(certificatePem: string): Promise<{ serial: string; notAfter: string }> {
    if (typeof certificatePem !== 'string' || certificatePem.length > MAX_CERT_BYTES || !certificatePem.includes('-----BEGIN CERTIFICATE-----')) {
      throw new DesklineError('CERT_BAD_INPUT', 'args.certificate must be the PEM certificate issued for the request from cert.rotate');
    }
    const pendingKey = await readIfThere(this.#path('pending-key.pem'));
    if (!pendingKey) throw new DesklineError('CERT_NO_REQUEST', 'there is no pending key: run cert.rotate first and have its request signed');
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(certificatePem);
    } catch (error) {
      throw new DesklineError('CERT_BAD_INPUT', `the certificate can't be read: ${(error as Error).message}`);
    }
    const pendingPublic = createPublicKey(pendingKey).export({ type: 'spki', format: 'der' });
    if (!cert.publicKey.export({ type: 'spki', format: 'der' }).equals(pendingPublic)) {
      throw new DesklineError('CERT_KEY_MISMATCH', 'the certificate is not for the key of the pending request (was it issued for another cert.rotate?)');
    }
    const cn = /(?:^|\n)CN=([^\n]+)/.exec(cert.subject)?.[1];
    if (cn !== this.options.deviceId) throw new DesklineError('CERT_WRONG_SUBJECT', `the certificate is for CN=${cn ?? '(none)'}, this device is ${this.options.deviceId}`);
    const now = this.options.now();
    if (now !== null && (now < Date.parse(cert.validFrom) || now > Date.parse(cert.validTo))) {
      throw new DesklineError('CERT_NOT_VALID_NOW', `the certificate is valid from ${cert.validFrom} to ${cert.validTo}`);
    }
    const previous = this.#path('previous');
    await rm(previous, { recursive: true, force: true });
    await mkdir(previous, { recursive: true, mode: 0o700 });
    const current = await this.rotated();
    if (current) {
      await rename(this.#path('cert.pem'), join(previous, 'cert.pem'));
      await rename(this.#path('key.pem'), join(previous, 'key.pem'));
    }
    await writeFileAtomic(this.#path('switch.json'), JSON.stringify({ serial: cert.serialNumber, hadRotated: current !== null }));
    await writeFileAtomic(this.#path('cert.pem'), certificatePem);
    await rename(this.#path('pending-key.pem'), this.#path('key.pem'));
    return { serial: cert.serialNumber, notAfter: cert.validTo };
  }

  /** After the rebuilt link proved (or failed to prove) the new identity: drop the old one, or put it back. */
  async settleSwitch(linkCameUp: boolean): Promise<void> {
    const state = await readIfThere(this.#path('switch.json'));
    if (!state) return;
    const { hadRotated } = JSON.parse(state.toString()) as { hadRotated: boolean };
    const previous = this.#path('previous');
    if (!linkCameUp) {
      await rm(this.#path('cert.pem'), { force: true });
      await rm(this.#path('key.pem'), { force: true });
      if (hadRotated) {
        await rename(join(previous, 'cert.pem'), this.#path('cert.pem'));
        await rename(join(previous, 'key.pem'), this.#path('key.pem'));
      }
    }
    await rm(previous, { recursive: true, force: true });
    await rm(this.#path('switch.json'), { force: true });
  }
}
