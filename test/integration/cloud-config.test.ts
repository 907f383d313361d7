// Config push end to end: the built daemon on the sim board with a SIP account at a real Kamailio, linked to a
// real Mosquitto (per-device ACL, persistence); the test plays the cloud with an admin connection. Device and
// group documents are applied and reported, bad ones rejected with per-field errors while the old config keeps
// running, a push that breaks the SIP registration or the cloud link is reverted within its deadline, and the
// applied config and its revision survive a broker restart and a device restart.

import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ADMIN, AdminClient, deviceUsers, startCloudBroker } from '../support/cloud.js';
import { freeTcpPort, makeTempDir, spawnPeer, startKamailio, stopAllPeers, type Kamailio, type PeerProcess } from '../support/index.js';
import type { Mosquitto } from '../support/peers/mosquitto.js';
import { DESKLINE_MAIN, runDeskline } from '../support/deskline.js';

const MAIN = DESKLINE_MAIN;
const ID = 'cfg-dev';
const T = (kind: string) => `dl/v1/${ID}/${kind}`;

let broker: Mosquitto;
let kam: Kamailio;
let admin: AdminClient;
let data: string;
let configFile: string;
let daemon: PeerProcess;
let account: { id: string; uri: string; password: string; expires: number };

const deskline = (args: string[]) => runDeskline(args, {}, 20_000);

async function status(): Promise<{ services: Array<{ name: string; status: string }>; lines: Array<{ lineId: string; state: string }>; cloud: { connected: boolean; config: { rev: number; status: string } | null } }> {
  const result = await deskline(['status', '--json', '--data', data]);
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout);
}

async function startDaemon(): Promise<PeerProcess> {
  return spawnPeer({
    name: 'deskline', command: process.execPath, debianPackage: 'nodejs',
    args: [MAIN, 'start', '--config', configFile, '--data', data, '--port', String(await freeTcpPort())],
    env: { ...process.env, DESKLINE_CONFIG: '' },
    ready: { line: /"msg":"deskline started"/ }, readyTimeoutMs: 30_000, keepOutput: 1024 * 1024,
  });
}

/** The next report with this device revision and status, published after `since` messages (retained or live). */
function report(rev: number, statusWanted: string, timeoutMs = 30_000) {
  return admin.waitFor(T('config/reported'), (p) => p.rev === rev && p.status === statusWanted, timeoutMs);
}

beforeAll(async () => {
  kam = await startKamailio({ minExpires: 10 });
  broker = await startCloudBroker({ devices: [ID] });
  data = await makeTempDir('cloud-config-data');
  configFile = join(data, 'deskline.json');
  account = { id: 'main', uri: `sip:alice@${kam.domain}`, password: 'alicepw', expires: 60 };
  await writeFile(configFile, JSON.stringify({
    board: 'sim',
    log: { level: 'info' },
    device: { id: ID, groups: ['north'] },
    cloud: { url: broker.url, password: deviceUsers([ID])[ID], reconnectMaxS: 1, health: { sipRegisteredS: 5, linkBackS: 6 } },
    sip: { listen: { udp: 0, tcp: 0 }, accounts: [account] },
  }));
  admin = await AdminClient.connect(broker, { subscribe: [`dl/v1/${ID}/#`] });
  daemon = await startDaemon();
  await admin.waitFor(T('presence'), (p) => p.state === 'online');
});

afterAll(async () => {
  await admin?.close();
  await stopAllPeers();
});

describe('config push (daemon, Mosquitto, Kamailio)', () => {
  it('applies and reports a device document and a group document', async () => {
    await admin.publish(T('config/desired'), { rev: 1, by: 'ops@example.com', config: { device: { name: 'Front desk' } } }, { retain: true });
    const applied = await report(1, 'applied');
    expect(applied).toMatchObject({ errors: [], groups: {}, localEdits: [] });
    expect(applied.appliedAt).toEqual(expect.any(Number));

    await admin.publish('dl/v1/groups/north/config/desired', { rev: 7, by: 'ops@example.com', config: { phone: { dialTimeoutMs: 3000 } } }, { retain: true });
    await admin.waitFor(T('config/reported'), (p) => p.status === 'applied' && (p.groups as Record<string, number>).north === 7);
    // the admin identity is in the audit trail
    const audit = await admin.waitFor(T('events/audit'), (p) => p.type === 'config.push');
    expect((audit.data as { by: string }).by).toBe('ops@example.com');
  });

  it('rejects a group document holding a secret, and a device document with bad fields, naming each field; the old config keeps running', async () => {
    await admin.publish('dl/v1/groups/north/config/desired', { rev: 8, config: { cloud: { password: 'shared-secret' } } }, { retain: true });
    const secret = await admin.waitFor(T('config/reported'), (p) => p.status === 'rejected' && (p.groups as Record<string, number>).north === 8);
    expect(secret.errors).toEqual([expect.objectContaining({ path: 'cloud.password', message: expect.stringMatching(/group 'north' sets a secret/) })]);
    expect(JSON.stringify(secret)).not.toContain('shared-secret');

    await admin.publish(T('config/desired'), { rev: 2, config: { phone: { dialTimeoutMs: 'soon' }, web: { port: 99999 } } }, { retain: true });
    const bad = await report(2, 'rejected');
    expect((bad.errors as Array<{ path: string }>).map((e) => e.path).sort()).toEqual(['phone.dialTimeoutMs', 'web.port']);
    const now = await status();
    expect(now.services.every((s) => s.status === 'running')).toBe(true);
    expect(now.cloud.connected).toBe(true);
  });

  it('reverts a push that breaks the SIP registration within its deadline, and says why', async () => {
    const broken = { ...account, password: 'not-the-password' };
    await admin.publish(T('config/desired'), { rev: 3, config: { device: { name: 'Front desk' }, sip: { accounts: [broken] } } }, { retain: true });
    await report(3, 'pending_restart');
    const reverted = await report(3, 'reverted', 40_000);
    expect(reverted.reason).toMatch(/SIP account 'main'.*not registered within 5 s/);
    // back on the last good config: the account registers again
    for (let i = 0; ; i++) {
      const lines = (await status()).lines;
      if (lines.some((l) => l.lineId === 'main' && l.state === 'ready')) break;
      if (i > 40) throw new Error(`account main did not register again: ${JSON.stringify(lines)}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  });

  it('reverts a push that breaks the cloud link within its deadline, and reports it once the link is back', async () => {
    const deadPort = await freeTcpPort();
    await admin.publish(T('config/desired'), { rev: 4, config: { device: { name: 'Front desk' }, cloud: { url: `mqtt://127.0.0.1:${deadPort}` } } }, { retain: true });
    await report(4, 'pending_restart');
    const reverted = await report(4, 'reverted', 60_000);
    expect(reverted.reason).toMatch(/cloud link not back within 6 s/);
    expect((await status()).cloud.connected).toBe(true);
  });

  it('keeps the applied config and its revision through a broker restart and a device restart', async () => {
    await admin.publish(T('config/desired'), { rev: 5, config: { device: { name: 'Till 2' } } }, { retain: true });
    await report(5, 'applied');
    await admin.close();
    await broker.stop();
    await broker.start();
    await daemon.stop();
    daemon = await startDaemon();
    admin = await AdminClient.connect(broker, { subscribe: [`dl/v1/${ID}/#`] });
    await admin.waitFor(T('presence'), (p) => p.state === 'online');
    const retained = await admin.waitFor(T('config/reported'), (_p, m) => m.retain);
    expect(retained).toMatchObject({ rev: 5, status: 'applied', groups: { north: 7 } });
    const now = await status();
    expect(now.cloud.config).toMatchObject({ rev: 5, status: 'applied' });
    // the retained desired documents came again at connect; nothing was re-applied or reported anew
    expect(admin.messages(T('config/reported')).filter((m) => !m.retain && JSON.parse(m.payload).rev !== 5)).toEqual([]);
  });
});

describe('cloud commands (daemon, Mosquitto)', () => {
  const cmd = async (name: string, body: Record<string, unknown>) => {
    await admin.publish(T(`cmd/${name}`), body, { expiryS: 60 });
    return admin.waitFor(T(`cmd/${name}/result`), (p) => p.id === body.id);
  };

  it('answers ping, refuses an expired command, and says unsupported for a feature that has not landed', async () => {
    expect(await cmd('ping', { id: 'c-ping', by: 'ops@example.com', args: {} })).toMatchObject({ status: 'ok', data: { pong: true, version: expect.any(String) } });
    expect(await cmd('ping', { id: 'c-old', by: 'ops@example.com', args: {}, expiresAt: Date.now() - 60_000 })).toMatchObject({ status: 'expired', error: { code: 'CLOUD_COMMAND_EXPIRED' } });
    expect(await cmd('sms.send', { id: 'c-sms', by: 'ops@example.com', args: { to: '5551234', text: 'hi' } })).toMatchObject({ status: 'unsupported' });
    expect(await cmd('reboot-now', { id: 'c-x', by: 'ops@example.com', args: {} })).toMatchObject({ status: 'unsupported', error: { message: expect.stringMatching(/no 'reboot-now' command/) } });
    expect(await cmd('dial', { id: 'c-bad', by: 'ops@example.com', args: { number: '12ab' } })).toMatchObject({ status: 'error', error: { code: 'CLOUD_BAD_ARGS' } });
  });

  it('runs a redelivered command id once, records who sent it, and hangs up', async () => {
    const dial = { id: 'c-dial-1', by: 'ops@example.com', args: { number: '5551234', lineId: 'sim' } };
    const first = await cmd('dial', dial);
    expect(first).toMatchObject({ status: 'ok', data: { number: '5551234', lineId: 'sim' } });
    await admin.publish(T('cmd/dial'), dial); // QoS 1 is at least once: the same id again
    await admin.waitCount(() => admin.messages(T('cmd/dial/result')).filter((m) => JSON.parse(m.payload).id === dial.id).length, 2, 10_000);
    const results = admin.messages(T('cmd/dial/result')).map((m) => JSON.parse(m.payload)).filter((r) => r.id === dial.id);
    expect(results[1]).toEqual(results[0]);
    const calls = (JSON.parse((await deskline(['status', '--json', '--data', data])).stdout) as { calls: Array<{ number: string }> }).calls;
    expect(calls.map((c) => c.number)).toEqual(['5551234']);
    const audit = await admin.waitFor(T('events/audit'), (p) => p.type === 'cmd.dial' && (p.data as { id: string }).id === dial.id);
    expect(audit.data).toMatchObject({ by: 'ops@example.com' });
    expect(admin.messages(T('events/audit')).filter((m) => JSON.parse(m.payload).data.id === dial.id)).toHaveLength(1);
    expect(await cmd('hangup', { id: 'c-hang', by: 'ops@example.com', args: {} })).toMatchObject({ status: 'ok', data: { hungUp: [(first.data as { callId: string }).callId] } });
    // the call's end reaches the cloud as an event of the calls stream
    const ended = await admin.waitFor(T('events/calls'), (p) => p.type === 'call.ended');
    expect(ended).toMatchObject({ stream: 'calls', seq: expect.any(Number), data: { callId: (first.data as { callId: string }).callId, number: '5551234' } });
    expect(await cmd('hangup', { id: 'c-hang-2', by: 'ops@example.com', args: {} })).toMatchObject({ status: 'error', error: { code: 'CALL_NOT_FOUND' } });
  });
});

describe('uploads and sync commands (daemon, Mosquitto, the admin CLI as receiver)', () => {
  const cmd = async (name: string, body: Record<string, unknown>) => {
    await admin.publish(T(`cmd/${name}`), body, { expiryS: 60 });
    return admin.waitFor(T(`cmd/${name}/result`), (p) => p.id === body.id);
  };

  it('logs.upload sends the newest log lines as a file the receiver assembles and verifies', async () => {
    const dir = await makeTempDir('cloud-receive');
    const receiver = await spawnPeer({
      name: 'deskline-admin-receive', command: process.execPath, debianPackage: 'nodejs',
      args: [MAIN, 'admin', '--url', broker.url, '--username', ADMIN.username, '--password', ADMIN.password, 'recordings', 'receive', '--dir', dir, '--json'],
      env: { ...process.env, DESKLINE_CONFIG: '' }, ready: { line: /receiving into/ }, readyTimeoutMs: 20_000,
    });
    const result = await cmd('logs.upload', { id: 'c-logs', by: 'ops@example.com', args: {} });
    expect(result).toMatchObject({ status: 'ok', data: { name: expect.stringMatching(/^logs-.*\.jsonl$/), bytes: expect.any(Number) } });
    const name = (result.data as { name: string }).name;
    const line = await receiver.waitForLine(new RegExp(`"name":"${name.replace(/\./g, '\\.')}"`), 30_000);
    const received = JSON.parse(line) as { path: string; sha256: string; deviceId: string };
    expect(received.deviceId).toBe(ID);
    const text = await readFile(received.path, 'utf8');
    expect(createHash('sha256').update(text).digest('hex')).toBe(received.sha256);
    expect(text).toContain('deskline started');
    expect(text).not.toContain(deviceUsers([ID])[ID]); // no secret in the logs that leave the phone
    await admin.waitFor(T('events/uploads'), (p) => p.type === 'file.uploaded' && (p.data as { name: string }).name === name);
    await receiver.stop();
  });

  it('recordings.upload and contacts.resync are answered', async () => {
    expect(await cmd('recordings.upload', { id: 'c-rec', by: 'ops@example.com', args: {} })).toMatchObject({ status: 'ok', data: { queued: [] } });
    expect(await cmd('recordings.upload', { id: 'c-rec-bad', by: 'ops@example.com', args: { ids: 'all' } })).toMatchObject({ status: 'error', error: { code: 'CLOUD_BAD_ARGS' } });
    expect(await cmd('recordings.upload', { id: 'c-rec-none', by: 'ops@example.com', args: { ids: ['no-such-recording'] } })).toMatchObject({ status: 'error', error: { code: 'RECORDING_NOT_FOUND' } });
    const resync = await cmd('contacts.resync', { id: 'c-resync', by: 'ops@example.com', args: {} });
    expect(resync).toMatchObject({ status: 'ok', data: { resyncId: expect.any(String) } });
    const request = await admin.waitFor(T('contacts/resync'), (p) => p.resyncId === (resync.data as { resyncId: string }).resyncId);
    expect(request.reason).toMatch(/cloud command/);
  });
});
