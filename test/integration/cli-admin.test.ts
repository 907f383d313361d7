// `deskline admin` end to end: the built CLI against a real Mosquitto (user names and passwords, a per-device ACL,
// a TLS listener with client certificates), with small device stand-ins written with mqtt.js that answer as a
// phone does (presence and reports retained, commands answered, desired documents applied or rejected).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connectAsync, type IPublishPacket, type MqttClient } from 'mqtt';
import { freeTcpPort, makeTempDir, spawnPeer, startMosquitto, stopAllPeers, type Mosquitto } from '../support/index.js';
import { issueClientCert, makeTestCa } from '../support/tls.js';
import { waitFor } from '../support/wait.js';
import { DESKLINE_MAIN, cliEnv, runDeskline } from '../support/deskline.js';

/** The built CLI (npm test builds before running the suites). */
const MAIN = DESKLINE_MAIN;

const ADMIN = { user: 'ops', password: 'ops-pw-7Hq' };
const DEVICES = ['d1', 'd2', 'd3'];

let broker: Mosquitto;
let dir: string;
let tlsFiles: { ca: string; cert: string; key: string };
const standIns = new Map<string, DeviceStandIn>();

/** Environment without any DESKLINE_ADMIN_* of the machine running the tests. */

const deskline = runDeskline;

/** `deskline admin <args>` as the `ops` user. */
function admin(args: string[]): ReturnType<typeof deskline> {
  return deskline(['admin', ...args, '--url', broker.url, '--username', ADMIN.user, '--password', ADMIN.password]);
}

function writeJson(name: string, value: unknown): string {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify(value));
  return file;
}

/** A phone as the cloud sees it, cut down to what the admin CLI talks to. */
class DeviceStandIn {
  readonly commands: Array<{ name: string; payload: Record<string, unknown>; expiry: number | undefined }> = [];
  /** contacts change sets received */
  readonly contactSets: Array<{ prevRev: number; rev: number; changes: Array<{ id: string; fields: Record<string, { value: unknown }> }> }> = [];
  private seen: { device: number; groups: Record<string, number> };
  private constructor(
    readonly id: string,
    readonly client: MqttClient,
    private readonly groups: string[],
    initialRev: number,
  ) {
    this.seen = { device: initialRev, groups: {} };
  }

  static async start(id: string, o: { groups?: string[]; rev?: number } = {}): Promise<DeviceStandIn> {
    const base = `dl/v1/${id}`;
    const client = await connectAsync(broker.url, {
      protocolVersion: 5,
      clientId: id,
      username: id,
      password: `${id}-pw`,
      reconnectPeriod: 0,
      will: { topic: `${base}/presence`, payload: Buffer.from(JSON.stringify({ state: 'offline', at: null })), qos: 1, retain: true },
    });
    const device = new DeviceStandIn(id, client, o.groups ?? [], o.rev ?? 0);
    client.on('message', (topic, payload, packet) => void device.onMessage(topic, payload, packet));
    await client.subscribeAsync([`${base}/cmd/+`, `${base}/config/desired`, `${base}/contacts/changes`, ...device.groups.map((g) => `dl/v1/groups/${g}/config/desired`)], { qos: 1 });
    await client.publishAsync(`${base}/presence`, JSON.stringify({ state: 'online', at: Date.UTC(2026, 10, 2, 9, 30), version: '0.1.0' }), { qos: 1, retain: true });
    await device.report('applied', []);
    standIns.set(id, device);
    return device;
  }

  private async report(status: string, errors: Array<{ path: string; message: string }>): Promise<void> {
    const doc = { rev: this.seen.device, groups: this.seen.groups, status, errors, appliedAt: status === 'applied' ? Date.now() : null, localEdits: [] };
    await this.client.publishAsync(`dl/v1/${this.id}/config/reported`, JSON.stringify(doc), { qos: 1, retain: true });
  }

  private async onMessage(topic: string, payload: Buffer, packet: IPublishPacket): Promise<void> {
    const levels = topic.split('/');
    const body = payload.length ? (JSON.parse(payload.toString()) as Record<string, unknown>) : null;
    if (!body) return;
    if (levels[3] === 'contacts') return void this.contactSets.push(body as DeviceStandIn['contactSets'][number]);
    if (levels[3] === 'cmd') {
      const name = levels[4];
      this.commands.push({ name, payload: body, expiry: packet.properties?.messageExpiryInterval });
      const answer = (result: Record<string, unknown>) => this.client.publishAsync(`${topic}/result`, JSON.stringify({ id: body.id, ...result }), { qos: 1 });
      if (name === 'ping') await answer({ status: 'ok', data: { pong: true, by: body.by, args: body.args } });
      else if (name === 'sms.send') await answer({ status: 'error', error: { code: 'SMS_NO_MODEM', message: 'no cellular modem found' } });
      else if (name !== 'slow') await answer({ status: 'unsupported' });
      return;
    }
    const doc = body as { rev: number; config: Record<string, unknown> };
    const group = levels[2] === 'groups' ? levels[3] : null;
    if (group === null ? doc.rev <= this.seen.device : doc.rev <= (this.seen.groups[group] ?? 0)) return; // a retained redelivery
    if (group === null) this.seen.device = doc.rev;
    else this.seen.groups = { ...this.seen.groups, [group]: doc.rev };
    const board = doc.config.board;
    if (board !== undefined && board !== 'sim') await this.report('rejected', [{ path: 'board', message: `this phone is a sim board, not '${String(board)}'` }]);
    else await this.report('applied', []);
  }

  /** The retained contacts state a phone keeps: the revision of its contacts chain. */
  async contactsState(rev: number): Promise<void> {
    const state = { rev, resyncing: false, pendingEdits: 0, refused: 0, at: null, errors: [] };
    await this.client.publishAsync(`dl/v1/${this.id}/contacts/state`, JSON.stringify(state), { qos: 1, retain: true });
  }

  /** Publishes an event of a stream, as the phone's outbox does. */
  async event(stream: string, seq: number, type: string, data: Record<string, unknown>): Promise<void> {
    await this.client.publishAsync(`dl/v1/${this.id}/events/${stream}`, JSON.stringify({ id: `${this.id}-${stream}-${seq}`, stream, seq, at: Date.now(), type, data }), { qos: 1 });
  }

  /** Goes offline the way a phone shuts down: presence offline, then disconnect. */
  async stop(): Promise<void> {
    standIns.delete(this.id);
    await this.client.publishAsync(`dl/v1/${this.id}/presence`, JSON.stringify({ state: 'offline', at: Date.UTC(2026, 10, 2, 10, 0) }), { qos: 1, retain: true });
    await this.client.endAsync();
  }
}

/** The retained message on a topic (null when there is none), read as the admin. */
async function retained(topic: string): Promise<unknown> {
  const client = await connectAsync(broker.url, { protocolVersion: 5, username: ADMIN.user, password: ADMIN.password, reconnectPeriod: 0 });
  try {
    let found: unknown = null;
    client.on('message', (t, payload, packet) => {
      if (t === topic && packet.retain && payload.length) found = JSON.parse(payload.toString());
    });
    await client.subscribeAsync(topic, { qos: 1 });
    await client.unsubscribeAsync('dl/v1/sync-barrier'); // answered after the retained message was sent
    await new Promise((resolve) => setTimeout(resolve, 100));
    return found;
  } finally {
    await client.endAsync();
  }
}

beforeAll(async () => {
  dir = await makeTempDir('cli-admin');
  const ca = await makeTestCa('Deskline Admin Test CA');
  // the admin's client certificate, signed by the broker's CA: its CN is the admin identity
  const client = await issueClientCert(ca, 'ops-admin');
  tlsFiles = { ca: ca.caCertFile, cert: client.certFile, key: client.keyFile };

  broker = await startMosquitto({
    users: { [ADMIN.user]: ADMIN.password, ...Object.fromEntries(DEVICES.map((d) => [d, `${d}-pw`])) },
    acl: ['pattern readwrite dl/v1/%u/#', 'pattern read dl/v1/groups/#', `user ${ADMIN.user}`, 'topic readwrite dl/v1/#', 'user ops-admin', 'topic readwrite dl/v1/#'],
    tls: { caFile: ca.caCertFile, certFile: ca.serverCertFile, keyFile: ca.serverKeyFile },
  });
  // the cloud pushed rev 7 to d1 before: the next push is rev 8
  const cloud = await connectAsync(broker.url, { protocolVersion: 5, username: ADMIN.user, password: ADMIN.password, reconnectPeriod: 0 });
  await cloud.publishAsync('dl/v1/d1/config/desired', JSON.stringify({ rev: 7, config: {} }), { qos: 1, retain: true });
  await cloud.endAsync();
  await DeviceStandIn.start('d1', { groups: ['north'], rev: 7 });
  await DeviceStandIn.start('d2', { groups: ['north'] });
  const d3 = await DeviceStandIn.start('d3', { groups: ['south'] });
  await d3.stop();
});

afterAll(async () => {
  for (const device of standIns.values()) await device.client.endAsync(true);
  await stopAllPeers();
});

describe('deskline admin (real Mosquitto, built CLI)', () => {
  it('devices: a table of presence and reported state, with the connection from DESKLINE_ADMIN_* variables', async () => {
    const env = { DESKLINE_ADMIN_URL: broker.url, DESKLINE_ADMIN_USERNAME: ADMIN.user, DESKLINE_ADMIN_PASSWORD: ADMIN.password };
    const table = await deskline(['admin', 'devices', '--wait', '200'], env);
    expect(table).toMatchObject({ code: 0, stderr: '' });
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^DEVICE\s+STATE\s+SINCE\s+REV\s+GROUPS\s+STATUS\s+VERSION$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/).slice(0, 6))).toEqual([
      ['d1', 'online', '2026-11-02T09:30:00Z', '7', '-', 'applied'],
      ['d2', 'online', '2026-11-02T09:30:00Z', '0', '-', 'applied'],
      ['d3', 'offline', '2026-11-02T10:00:00Z', '0', '-', 'applied'],
    ]);
    const json = await deskline(['admin', 'devices', '--json'], env);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual(expect.arrayContaining([expect.objectContaining({ device: 'd1', state: 'online', rev: 7, status: 'applied', version: '0.1.0' })]));
    // without the variables there is no broker to talk to
    const none = await deskline(['admin', 'devices']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no broker: pass --url .* or set DESKLINE_ADMIN_URL/);
  });

  it('cmd: a round trip with id, by, args and message expiry; failures and unsupported commands exit 1', async () => {
    const before = Date.now();
    const ok = await admin(['cmd', 'd1', 'ping', '{"echo":"hi"}', '--json', '--expires', '45']);
    expect(ok.code).toBe(0);
    const result = JSON.parse(ok.stdout);
    expect(result).toEqual({ device: 'd1', command: 'ping', id: expect.stringMatching(/^[0-9a-f-]{36}$/), status: 'ok', data: { pong: true, by: 'ops', args: { echo: 'hi' } } });
    const sent = standIns.get('d1')!.commands.find((c) => c.payload.id === result.id)!;
    expect(sent.payload).toEqual({ id: result.id, by: 'ops', args: { echo: 'hi' }, expiresAt: expect.any(Number) });
    expect(sent.payload.expiresAt as number).toBeGreaterThanOrEqual(before + 45_000);
    expect(sent.payload.expiresAt as number).toBeLessThanOrEqual(Date.now() + 45_000);
    expect(sent.expiry).toBeGreaterThan(40);
    expect(sent.expiry).toBeLessThanOrEqual(45);

    const human = await admin(['cmd', 'd1', 'ping']);
    expect(human).toMatchObject({ code: 0, stdout: 'd1: ping ok\n{\n  "pong": true,\n  "by": "ops",\n  "args": {}\n}\n' });

    const failed = await admin(['cmd', 'd1', 'sms.send', '{"to":"+15551234"}']);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toBe('d1: sms.send failed: no cellular modem found (SMS_NO_MODEM)\n');
    const unsupported = await admin(['cmd', 'd1', 'reboot', '--json']);
    expect(unsupported.code).toBe(1);
    expect(JSON.parse(unsupported.stdout)).toMatchObject({ status: 'unsupported' });

    const badArgs = await admin(['cmd', 'd1', 'ping', '{oops']);
    expect(badArgs.code).toBe(2);
    expect(badArgs.stderr).toMatch(/json-args are not JSON/);
  });

  it('cmd: no result in time is a clear error naming the device state; an unknown device fails at once', async () => {
    const started = Date.now();
    const slow = await admin(['cmd', 'd1', 'slow', '--timeout', '1']);
    expect(slow.code).toBe(1);
    expect(slow.stdout).toBe('');
    expect(slow.stderr).toMatch(/^deskline admin: no result for 'slow' \(id [0-9a-f-]{36}\) from d1 within 1 s \(d1 is online since 2026-11-02T09:30:00Z\)/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(standIns.get('d1')!.commands.some((c) => c.name === 'slow')).toBe(true);

    const nobody = await admin(['cmd', 'nosuch', 'ping', '--timeout', '20']);
    expect(nobody.code).toBe(1);
    expect(nobody.stderr).toMatch(/nobody receives dl\/v1\/nosuch\/cmd\/ping: nosuch has no session at the broker/);
  });

  it('config push to a device: rev = retained + 1, waits for and prints the report (applied, then rejected with errors)', async () => {
    const good = writeJson('front.json', { device: { name: 'Front desk' } });
    const applied = await admin(['config', 'push', 'd1', good]);
    expect(applied.code).toBe(0);
    expect(applied.stdout).toMatch(/^published rev 8 for device d1 \(dl\/v1\/d1\/config\/desired\)\nd1: applied rev 8 at \d{4}-\d\d-\d\dT[\d:]+Z\n$/);
    expect(await retained('dl/v1/d1/config/desired')).toEqual({ rev: 8, config: { device: { name: 'Front desk' } }, by: 'ops' });

    const wrongBoard = writeJson('board.json', { board: 'dp-a53' });
    const rejected = await admin(['config', 'push', 'd1', wrongBoard]);
    expect(rejected.code).toBe(1);
    expect(rejected.stdout).toContain("d1: rejected rev 9\n  board: this phone is a sim board, not 'dp-a53'\n");
    expect(rejected.stderr).toMatch(/rev 9 was rejected by d1/);

    const json = await admin(['config', 'push', 'd1', wrongBoard, '--json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ target: { device: 'd1' }, rev: 10, results: [{ device: 'd1', rev: 10, status: 'rejected', errors: [{ path: 'board', message: expect.stringMatching(/sim board/) }] }], missing: [] });

    // an explicit --rev not above the retained one is refused: the device would ignore it
    const stale = await admin(['config', 'push', 'd1', good, '--rev', '10']);
    expect(stale.code).toBe(2);
    expect(stale.stderr).toMatch(/--rev 10 is not above the retained rev 10/);
  });

  it('config push: an invalid document is refused locally, per field, and nothing is published', async () => {
    const bad = writeJson('bad.json', { web: { port: 99999 }, phone: { dialTimeoutMs: 'soon' } });
    const result = await admin(['config', 'push', 'd2', bad]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/not published: document .*bad\.json has 2 problems/);
    expect(result.stderr).toMatch(/web\.port: .*65535/);
    expect(result.stderr).toMatch(/phone\.dialTimeoutMs: Expected integer, got "soon"/);
    expect(await retained('dl/v1/d2/config/desired')).toBeNull();
  });

  it('config push to a group: a secret is refused before publishing; a clean document is reported by the devices named', async () => {
    const secret = writeJson('group-secret.json', { sip: { accounts: [{ id: 'main', uri: 'sip:100@pbx.example.com', password: 'hunter2-secret' }] } });
    const refused = await admin(['config', 'push', '--group', 'north', secret]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/not published: group document .* has 1 problem:\n {2}sip\.accounts\.0\.password: a secret: secrets go only in per-device documents/);
    expect(refused.stderr).not.toContain('hunter2');
    expect(await retained('dl/v1/groups/north/config/desired')).toBeNull();

    const clean = writeJson('group.json', { phone: { dialTimeoutMs: 4000 } });
    const pushed = await admin(['config', 'push', '--group', 'north', clean, '--devices', 'd1,d2', '--json']);
    expect(pushed.code).toBe(0);
    const outcome = JSON.parse(pushed.stdout);
    expect(outcome).toMatchObject({ target: { group: 'north' }, topic: 'dl/v1/groups/north/config/desired', rev: 1, missing: [] });
    expect(outcome.results.map((r: { device: string; status: string; groups: Record<string, number> }) => [r.device, r.status, r.groups.north])).toEqual([
      ['d1', 'applied', 1],
      ['d2', 'applied', 1],
    ]);

    // without --devices: the devices whose last report lists the group are waited for
    const members = await admin(['config', 'push', '--group', 'north', clean, '--json']);
    expect(members.code).toBe(0);
    expect(JSON.parse(members.stdout)).toMatchObject({ rev: 2, waitedFor: ['d1', 'd2'], membersFrom: 'reports', missing: [], results: [{ device: 'd1', status: 'applied' }, { device: 'd2', status: 'applied' }] });
    // a group no device has reported yet: every report of the new rev within --timeout (none here)
    const started = Date.now();
    const fresh = await admin(['config', 'push', '--group', 'east', clean, '--timeout', '1']);
    expect(fresh.code).toBe(0);
    expect(fresh.stdout).toBe('published rev 1 for group east (dl/v1/groups/east/config/desired)\nno device reported rev 1\n');
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);

    // d3 is offline and in another group: waiting for it ends at --timeout with what it last said
    const missing = await admin(['config', 'push', '--group', 'north', clean, '--devices', 'd1,d3', '--timeout', '1.5']);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toMatch(/d1: applied rev 3 of group north/);
    expect(missing.stdout).toMatch(/d3: no report of rev 3 \(offline since 2026-11-02T10:00:00Z\)/);
    expect(missing.stderr).toMatch(/no report of rev 3 from d3 within 1.5 s/);
  });

  it('contacts push: CSV rows as the change set that continues each device chain; bad rows listed, exit 1', async () => {
    const csv = join(dir, 'contacts.csv');
    writeFileSync(csv, 'name,company,phone\nWang Li,Garden Shop,+1 415 555 0101\n,Nobody,+1 415 555 0102\nKim Min,,+82 2 555 0103\n');
    await standIns.get('d2')!.contactsState(4);
    const one = await admin(['contacts', 'push', 'd2', csv, '--wait', '500']);
    expect(one.code).toBe(1);
    expect(one.stdout).toBe('d2: 2 contacts sent as rev 4 -> 5 (1 change set)\nrows not pushed: 1\n  line 3, name: a contact pushed from the cloud needs a name\n');
    await waitFor(() => standIns.get('d2')!.contactSets.length === 1, 'the change set at d2');
    const [set] = standIns.get('d2')!.contactSets;
    expect({ prevRev: set.prevRev, rev: set.rev }).toEqual({ prevRev: 4, rev: 5 });
    expect(set.changes.map((c) => c.fields.name.value).sort()).toEqual(['Kim Min', 'Wang Li']);

    // a group: the devices whose last config report lists it (d1 and d2 are in north)
    const good = join(dir, 'good.csv');
    writeFileSync(good, 'name,phone\nPark Ji,+82 2 555 0199\n');
    const group = await admin(['contacts', 'push', '--group', 'north', good, '--wait', '300', '--json']);
    expect(group.code).toBe(0);
    expect(JSON.parse(group.stdout)).toEqual({ target: { group: 'north' }, contacts: 1, errors: [], devices: [
      { deviceId: 'd1', fromRev: 0, toRev: 1, changeSets: 1 },
      { deviceId: 'd2', fromRev: 4, toRev: 5, changeSets: 1 },
    ] });
    await waitFor(() => standIns.get('d1')!.contactSets.length === 1, 'the change set at d1');
    const unknown = await admin(['contacts', 'push', '--group', 'nowhere', good]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no device is known to be in group nowhere/);
  });

  it('watch: prints events as JSON lines until SIGINT', async () => {
    const watch = await spawnPeer({
      name: 'deskline-admin-watch',
      command: process.execPath,
      args: [MAIN, 'admin', 'watch', '--json', '--no-retained', '--url', broker.url, '--username', ADMIN.user],
      debianPackage: 'nodejs',
      env: cliEnv({ DESKLINE_ADMIN_PASSWORD: ADMIN.password }),
      ready: { line: /^watching dl\/v1\/\+\/events\/#/ },
      stopSignal: 'SIGINT',
      readyTimeoutMs: 15_000,
    });
    await standIns.get('d2')!.event('calls', 41, 'call.ended', { number: '5551234', durationS: 62 });
    const line = await watch.waitForLine(/"kind":"event"/, 10_000);
    expect(JSON.parse(line)).toEqual({
      receivedAt: expect.any(Number),
      device: 'd2',
      kind: 'event',
      retained: false,
      topic: 'dl/v1/d2/events/calls',
      payload: { id: 'd2-calls-41', stream: 'calls', seq: 41, at: expect.any(Number), type: 'call.ended', data: { number: '5551234', durationS: 62 } },
    });
    // --no-retained: the retained presence of d1..d3 was not printed
    expect(watch.output()).not.toMatch(/"kind":"presence"/);
    const exit = await watch.stop();
    expect(exit).toEqual({ code: 0, signal: null });
  });

  it('a TLS client certificate is the admin identity', async () => {
    const result = await deskline(['admin', 'cmd', 'd1', 'ping', '--json', '--url', broker.tlsUrl!, '--ca', tlsFiles.ca, '--cert', tlsFiles.cert, '--key', tlsFiles.key]);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).data.by).toBe('ops-admin');
    // without the CA the broker's certificate is not trusted
    const untrusted = await deskline(['admin', 'devices', '--url', broker.tlsUrl!, '--cert', tlsFiles.cert, '--key', tlsFiles.key]);
    expect(untrusted.code).toBe(1);
    expect(untrusted.stderr).toMatch(/certificate .* is not trusted .*pass its CA with --ca/);
  });

  it('bad credentials, an unreachable broker and unreadable certificate files are clear errors without the password', async () => {
    const bad = await deskline(['admin', 'devices', '--url', broker.url, '--username', ADMIN.user, '--password', 'wrong-pw-123']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^deskline admin: the broker at mqtt:\/\/127\.0\.0\.1:\d+ does not let 'ops' connect \(not authorised: check the user name and password/);
    expect(bad.stderr + bad.stdout).not.toContain('wrong-pw-123');

    const port = await freeTcpPort();
    const down = await deskline(['admin', 'devices', '--url', `mqtt://127.0.0.1:${port}`, '--username', ADMIN.user, '--password', 'pw-xyz']);
    expect(down.code).toBe(1);
    expect(down.stderr).toBe(`deskline admin: cannot reach the broker at mqtt://127.0.0.1:${port}: connection refused (is it running, is the port right?)\n`);

    const noCert = await deskline(['admin', 'devices', '--url', broker.tlsUrl!, '--cert', join(dir, 'missing.crt'), '--key', tlsFiles.key]);
    expect(noCert.code).toBe(2);
    expect(noCert.stderr).toMatch(/cannot read --cert .*missing\.crt: no such file/);
  });
});
