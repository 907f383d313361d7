import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from '@jest/globals';
import { adminClientId, commonName, connectError, resolveConnection } from '../../../../src/cli/admin/connect.js';
import { EXIT } from '../../../../src/cli/context.js';
import { stopAllPeers } from '../../../support/process.js';
import { makeTestCa } from '../../../support/tls.js';

afterAll(async () => {
  await stopAllPeers(); // removes the temp dirs
});

const noFiles = (path: string): Buffer => {
  throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
};

describe('admin connect: options to mqtt.js', () => {
  it('user name and password: MQTT 5, clean session, no reconnect, client id admin-<user>-<random>', () => {
    const c = resolveConnection({ url: 'mqtt://broker.example:1883', username: 'ops@hq', password: 's3cret' }, noFiles);
    expect(c.url).toBe('mqtt://broker.example:1883');
    expect(c.identity).toBe('ops@hq');
    expect(c.options).toMatchObject({ protocolVersion: 5, clean: true, reconnectPeriod: 0, username: 'ops@hq', password: 's3cret', properties: { sessionExpiryInterval: 0 } });
    expect(c.options.clientId).toMatch(/^admin-ops_hq-[0-9a-f]{8}$/);
    expect(resolveConnection({ url: 'mqtt://h:1', username: 'ops' }, noFiles).options.clientId).not.toBe(resolveConnection({ url: 'mqtt://h:1', username: 'ops' }, noFiles).options.clientId);
    expect(adminClientId('', 'r')).toBe('admin-admin-r');
  });

  it('credentials in the URL are used but never shown', () => {
    const c = resolveConnection({ url: 'mqtt://ops:pa%40ss@broker.example:1883' }, noFiles);
    expect(c.url).toBe('mqtt://broker.example:1883');
    expect(c.options).toMatchObject({ username: 'ops', password: 'pa@ss' });
  });

  it('refuses what cannot work before connecting, with exit 2 and no password in the message', () => {
    const cases: Array<[Parameters<typeof resolveConnection>[0], string, RegExp]> = [
      [{}, 'ADMIN_NO_URL', /DESKLINE_ADMIN_URL/],
      [{ url: 'broker:1883' }, 'ADMIN_BAD_URL', /mqtts:\/\//],
      [{ url: 'http://x:user-pw@h' }, 'ADMIN_BAD_URL', /got http:/],
      [{ url: 'not a url :pw-in-here@' }, 'ADMIN_BAD_URL', /is not a URL/],
      [{ url: 'mqtt://h:1', password: 'pw-in-here' }, 'ADMIN_BAD_OPTION', /needs a user name/],
      [{ url: 'mqtts://h:1', cert: 'c.pem' }, 'ADMIN_BAD_OPTION', /--cert and --key go together/],
      [{ url: 'mqtt://h:1', ca: 'ca.pem' }, 'ADMIN_BAD_OPTION', /need TLS/],
      [{ url: 'mqtts://h:1', ca: '/no/ca.pem' }, 'ADMIN_TLS_FILE', /cannot read --ca \/no\/ca.pem: no such file/],
    ];
    for (const [options, code, message] of cases) {
      let caught: unknown;
      try {
        resolveConnection(options, noFiles);
      } catch (error) {
        caught = error;
      }
      expect(caught).toMatchObject({ code, exitCode: EXIT.badConfig, message: expect.stringMatching(message) });
      expect((caught as Error).message).not.toContain('pw-in-here');
    }
  });

  it('reads the client certificate: its CN is the identity; a key that does not match is refused', async () => {
    const ca = await makeTestCa('Admin Unit CA');
    const c = resolveConnection({ url: 'mqtts://127.0.0.1:8883', ca: ca.caCertFile, cert: ca.serverCertFile, key: ca.serverKeyFile, username: 'ignored' });
    expect(c.identity).toBe('localhost');
    expect(c.options.clientId).toMatch(/^admin-localhost-/);
    expect(c.options).toMatchObject({ rejectUnauthorized: true, ca: readFileSync(ca.caCertFile), cert: readFileSync(ca.serverCertFile) });
    expect(() => resolveConnection({ url: 'mqtts://h:1', cert: ca.caCertFile, key: ca.serverKeyFile })).toThrow(expect.objectContaining({ code: 'ADMIN_TLS_FILE', message: expect.stringMatching(/is not the private key of --cert/) }));
    expect(() => resolveConnection({ url: 'mqtts://h:1', cert: ca.serverKeyFile, key: ca.serverKeyFile })).toThrow(expect.objectContaining({ code: 'ADMIN_TLS_FILE', message: expect.stringMatching(/is not a PEM certificate/) }));
    expect(() => resolveConnection({ url: 'mqtts://h:1', cert: ca.serverCertFile, key: ca.serverCertFile })).toThrow(expect.objectContaining({ code: 'ADMIN_TLS_FILE', message: expect.stringMatching(/is not an unencrypted PEM private key/) }));
    expect(commonName('O=Shop\nCN=ops-admin')).toBe('ops-admin');
    expect(commonName('O=Shop')).toBe('');
  });

  it('says what a failed connect means', () => {
    const url = 'mqtt://b:1';
    const reason = (code: number) => Object.assign(new Error('Connection refused: x'), { code });
    expect(connectError(reason(134), url, 'ops')).toMatchObject({ code: 'ADMIN_BAD_CREDENTIALS', message: "deskline admin: the broker at mqtt://b:1 refused the credentials of 'ops' (bad user name or password)" });
    expect(connectError(reason(135), url, 'ops')).toMatchObject({ code: 'ADMIN_NOT_AUTHORISED', message: expect.stringMatching(/not authorised: check the user name and password/) });
    expect(connectError(reason(132), url, 'ops')).toMatchObject({ code: 'ADMIN_PROTOCOL', message: expect.stringMatching(/MQTT 5/) });
    expect(connectError(reason(137), url, 'ops')).toMatchObject({ code: 'ADMIN_CONNECT_REFUSED', message: expect.stringMatching(/reason code 137: x/) });
    expect(connectError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), url, 'ops')).toMatchObject({ code: 'ADMIN_UNREACHABLE', message: expect.stringMatching(/connection refused/) });
    expect(connectError(Object.assign(new Error('getaddrinfo'), { code: 'ENOTFOUND' }), url, 'ops')).toMatchObject({ code: 'ADMIN_UNREACHABLE', message: expect.stringMatching(/host not found/) });
    expect(connectError(Object.assign(new Error('self-signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }), url, 'ops')).toMatchObject({ code: 'ADMIN_TLS', message: expect.stringMatching(/not trusted.*--ca/) });
    expect(connectError(new Error('connack timeout'), url, 'ops')).toMatchObject({ code: 'ADMIN_UNREACHABLE', message: expect.stringMatching(/no answer/) });
    expect(connectError(reason(134), url, 'ops').exitCode).toBe(EXIT.failure);
  });
});
