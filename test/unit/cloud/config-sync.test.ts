import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import { CloudConfigSync, readConfigState, startupConfig, type ConfigReport } from '../../../src/cloud/config-sync.js';
import { deviceTopics, groupDesiredTopic } from '../../../src/cloud/topics.js';
import type { Config } from '../../../src/config/schema.js';
import { FakeClock } from '../../support/fake-clock.js';
import { captureLogger } from '../../support/log.js';
import { MemoryLink } from '../../support/memory-link.js';
import { makeTempDir, stopAllPeers } from '../../support/process.js';
import { waitFor } from '../../support/wait.js';

afterAll(async () => {
  await stopAllPeers(); // removes the temp dirs
});

const topics = deviceTopics('d1');
const NORTH = groupDesiredTopic('north');
const BATCH_MS = 300; // the default
type Json = Record<string, unknown>;

const account = (id: string, extra: Json = {}) => ({ id, uri: `sip:${id}@pbx.example.com`, password: `${id}-password`, ...extra });

interface Applied {
  config: Config;
  how: { restart: boolean; reason: string };
}

/** Every instance started in a test, stopped after it (instances left hanging on purpose are not in here). */
const running = new Set<CloudConfigSync>();
afterEach(async () => {
  await Promise.all([...running].map((s) => s.stop()));
  running.clear();
});

/**
 * One run of the runtime: a CloudConfigSync whose `current()` is what `apply` last set (at start: what the
 * runtime boots with, `startupConfig` over the state file), with recording `apply`, `sipRegistered` and `audit`.
 */
async function boot(o: {
  statePath: string;
  fileLayer?: Json;
  localEdits?: Json;
  link?: MemoryLink;
  clock?: FakeClock;
  sipRegistered?: (ids: string[], deadlineMs: number) => Promise<string | null>;
  track?: boolean;
}) {
  const link = o.link ?? new MemoryLink({ deviceId: 'd1' });
  const clock = o.clock ?? new FakeClock();
  const fileLayer = o.fileLayer ?? {};
  const { log, lines } = captureLogger();
  const start = startupConfig(fileLayer, await readConfigState(o.statePath), o.localEdits);
  if (!start) throw new Error('the test layers do not validate');
  let current = start;
  const applied: Applied[] = [];
  const sipCalls: Array<{ ids: string[]; deadlineMs: number }> = [];
  const audits: Array<{ by: string | null; action: string; detail: Json }> = [];
  const sync = new CloudConfigSync({
    link, clock, log, statePath: o.statePath, fileLayer, localEdits: o.localEdits,
    current: () => current,
    apply: (next, how) => {
      applied.push({ config: next, how });
      current = next;
    },
    sipRegistered: (ids, deadlineMs) => {
      sipCalls.push({ ids, deadlineMs });
      return o.sipRegistered ? o.sipRegistered(ids, deadlineMs) : Promise.resolve(null);
    },
    audit: (entry) => audits.push(entry),
  });
  if (o.track ?? true) running.add(sync);
  await sync.start();
  await link.settle();
  const reports = () => link.jsonSentTo<ConfigReport>(topics.reported);
  return {
    sync, link, clock, applied, sipCalls, audits, lines, reports,
    current: () => current,
    /** the newest report published */
    lastReport: () => reports().at(-1),
    /** the cloud pushes a retained document and the batch window passes */
    push: async (doc: Json, topic = topics.desired) => {
      link.deliver(topic, doc, { retain: true });
      await link.settle();
      clock.advance(BATCH_MS);
    },
    waitReport: (test: (r: ConfigReport) => boolean, what: string) => waitFor(() => reports().some(test), what),
  };
}

async function statePath(): Promise<string> {
  return join(await makeTempDir('config-sync'), 'config-state.json');
}

describe('CloudConfigSync: pushing and reporting', () => {
  it('applies a device document live and publishes a retained report on the reported topic', async () => {
    const path = await statePath();
    const d = await boot({ statePath: path, fileLayer: { device: { name: 'File' } } });
    expect(d.link.subscriptions).toContain(topics.desired);
    await d.push({ rev: 1, config: { device: { name: 'Cloud' } }, by: 'admin@example.com' });
    await d.waitReport((r) => r.status === 'applied', 'an applied report');

    expect(d.applied).toHaveLength(1);
    expect(d.applied[0].config.device.name).toBe('Cloud');
    expect(d.applied[0].how).toEqual({ restart: false, reason: 'config rev 1' });
    expect(d.reports()).toEqual([{ rev: 1, groups: {}, status: 'applied', errors: [], appliedAt: d.clock.now(), localEdits: [] }]);
    const sent = d.link.sentTo(topics.reported);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ retain: true, qos: 1 });
    expect(d.link.retainedJson(topics.reported)).toMatchObject({ rev: 1, status: 'applied' });
    expect(d.audits).toEqual([{ by: 'admin@example.com', action: 'config.push', detail: { rev: 1, groups: {} } }]);
    const state = await readConfigState(path);
    expect(state.good.device).toEqual({ rev: 1, config: { device: { name: 'Cloud' } }, by: 'admin@example.com' });
    expect(state.seen.device).toBe(1);
    expect(state.trial).toBeNull();
  });

  it('reports appliedAt null while wall time is not trusted, and the local edits in effect', async () => {
    const d = await boot({ statePath: await statePath(), clock: new FakeClock({ trusted: false }), localEdits: { device: { name: 'Desk 2' }, phone: { ringVolume: 20 } } });
    await d.push({ rev: 3, config: { device: { name: 'Cloud' } } });
    await d.waitReport((r) => r.rev === 3, 'the report of rev 3');
    expect(d.lastReport()).toEqual({ rev: 3, groups: {}, status: 'applied', errors: [], appliedAt: null, localEdits: ['phone.ringVolume'] });
    expect(d.current().device.name).toBe('Cloud');
    expect(d.current().phone.ringVolume).toBe(20);
  });

  it('applies documents arriving within batchMs of each other as one candidate', async () => {
    const d = await boot({ statePath: await statePath(), fileLayer: { device: { groups: ['north'] } } });
    expect(d.link.subscriptions).toEqual(expect.arrayContaining([topics.desired, NORTH]));
    d.link.deliver(topics.desired, { rev: 1, config: { device: { name: 'D' } } }, { retain: true });
    await d.link.settle();
    d.clock.advance(BATCH_MS - 100);
    d.link.deliver(NORTH, { rev: 4, config: { phone: { ringVolume: 10 } }, by: 'ops@example.com' }, { retain: true });
    await d.link.settle();
    d.clock.advance(BATCH_MS - 1); // the window restarted with the group document: nothing evaluated yet
    expect(d.clock.pending).toBe(1);
    expect(d.audits).toEqual([]);
    d.clock.advance(1);
    await d.waitReport((r) => r.status === 'applied', 'an applied report');

    expect(d.applied).toHaveLength(1);
    expect(d.applied[0].config.device.name).toBe('D');
    expect(d.applied[0].config.phone.ringVolume).toBe(10);
    expect(d.reports()).toEqual([expect.objectContaining({ rev: 1, groups: { north: 4 }, status: 'applied' })]);
    expect(d.audits).toEqual([{ by: 'ops@example.com', action: 'config.push', detail: { rev: 1, groups: { north: 4 } } }]);
  });

  it('applies the retained device and group documents sent at connect as one candidate', async () => {
    const link = new MemoryLink({ deviceId: 'd1' });
    link.deliver(topics.desired, { rev: 2, config: { device: { name: 'D' } } }, { retain: true });
    link.deliver(NORTH, { rev: 5, config: { device: { name: 'North' }, phone: { ringVolume: 7 } } }, { retain: true });
    const d = await boot({ statePath: await statePath(), link, fileLayer: { device: { groups: ['north'] } } });
    d.clock.advance(BATCH_MS);
    await d.waitReport((r) => r.status === 'applied', 'an applied report');
    expect(d.applied).toHaveLength(1);
    expect(d.applied[0].config.device.name).toBe('D'); // the device document wins over its group
    expect(d.applied[0].config.phone.ringVolume).toBe(7);
    expect(d.lastReport()).toMatchObject({ rev: 2, groups: { north: 5 } });
  });

  it('follows a group once an applied document adds it to device.groups', async () => {
    const d = await boot({ statePath: await statePath() });
    d.link.deliver(NORTH, { rev: 1, config: { phone: { ringVolume: 11 } } }, { retain: true });
    expect(d.link.subscriptions).not.toContain(NORTH);
    await d.push({ rev: 1, config: { device: { groups: ['north'] } } });
    await d.waitReport((r) => r.rev === 1 && r.status === 'applied', 'rev 1 applied');
    expect(d.link.subscriptions).toContain(NORTH);
    await d.link.settle(); // the retained group document arrives
    d.clock.advance(BATCH_MS);
    await d.waitReport((r) => r.groups.north === 1, 'the north group applied');
    expect(d.current().phone.ringVolume).toBe(11);
    expect(d.applied).toHaveLength(2);
  });

  it('republishes the report at every connect, and not while the link is down', async () => {
    const d = await boot({ statePath: await statePath() });
    await d.push({ rev: 1, config: { device: { name: 'Cloud' } } });
    await d.waitReport((r) => r.status === 'applied', 'an applied report');
    expect(d.reports()).toHaveLength(1);
    d.link.setConnected(false);
    d.link.setConnected(true);
    await waitFor(() => d.reports().length === 2, 'a second report');
    d.link.setConnected(false);
    d.link.setConnected(true);
    await waitFor(() => d.reports().length === 3, 'a third report');
    expect(d.reports()[1]).toEqual(d.reports()[0]);
    expect(d.reports()[2]).toEqual(d.reports()[0]);
    expect(d.link.sentTo(topics.reported).every((m) => m.retain)).toBe(true);
  });
});

describe('CloudConfigSync: what is not applied', () => {
  it('ignores an equal or older revision, also the retained one the broker sends again on reconnect', async () => {
    const d = await boot({ statePath: await statePath() });
    await d.push({ rev: 2, config: { device: { name: 'Two' } } });
    await d.waitReport((r) => r.status === 'applied', 'rev 2 applied');
    expect(d.applied).toHaveLength(1);

    d.link.deliver(topics.desired, { rev: 2, config: { device: { name: 'Two again' } } });
    d.link.deliver(topics.desired, { rev: 1, config: { device: { name: 'One' } } });
    await d.link.settle();
    expect(d.clock.pending).toBe(0); // nothing to evaluate: no batch was started

    d.link.setConnected(false);
    d.link.setConnected(true); // retained rev 2 arrives again (retainedOnEveryConnect)
    await d.link.settle();
    expect(d.clock.pending).toBe(0);
    d.clock.advance(BATCH_MS);
    await waitFor(() => d.reports().length === 2, 'the report republished at connect');
    expect(d.applied).toHaveLength(1);
    expect(d.audits).toHaveLength(1);
    expect(d.current().device.name).toBe('Two');
    expect(d.reports().every((r) => r.rev === 2)).toBe(true);
  });

  it('keeps the newest revision when an older one arrives in the same batch window', async () => {
    const d = await boot({ statePath: await statePath() });
    d.link.deliver(topics.desired, { rev: 4, config: { device: { name: 'Four' } } });
    await d.link.settle();
    d.link.deliver(topics.desired, { rev: 3, config: { device: { name: 'Three' } } }); // late, out of order
    await d.link.settle();
    d.clock.advance(BATCH_MS);
    await waitFor(() => d.reports().length > 0, 'a report');
    expect(d.lastReport()).toMatchObject({ rev: 4, status: 'applied' });
    expect(d.current().device.name).toBe('Four');
  });

  it('rejects a group document carrying a secret, naming the path and never echoing the secret', async () => {
    const path = await statePath();
    const d = await boot({ statePath: path, fileLayer: { device: { groups: ['north'] } } });
    await d.push({ rev: 1, config: { sip: { accounts: [account('a1', { password: 'hunter2-sip' })] }, cloud: { password: 'hunter2-mqtt' } } }, NORTH);
    await d.waitReport((r) => r.status === 'rejected', 'a rejected report');

    const report = d.lastReport()!;
    expect(report).toMatchObject({ rev: 0, groups: { north: 1 }, status: 'rejected', appliedAt: null });
    expect(report.errors.map((e) => e.path)).toEqual(['sip.accounts.0.password', 'cloud.password']);
    for (const error of report.errors) expect(error.message).toMatch(/group 'north' sets a secret field/);
    const everything = JSON.stringify(d.link.sent.map((m) => m.payload.toString())) + JSON.stringify(d.lines()) + JSON.stringify(d.audits);
    expect(everything).not.toContain('hunter2');
    expect(d.applied).toEqual([]);
    const state = await readConfigState(path);
    expect(state.good).toEqual({ device: null, groups: {} });
    expect(state.seen.groups).toEqual({ north: 1 });
  });

  it('rejects an invalid config with per-field errors, leaves the running config alone, and applies the next good one', async () => {
    const path = await statePath();
    const d = await boot({ statePath: path, fileLayer: { device: { name: 'File' } } });
    await d.push({ rev: 1, config: { phone: { ringVolume: 30 } } });
    await d.waitReport((r) => r.rev === 1, 'rev 1');
    const before = d.current();

    await d.push({ rev: 2, config: { web: { port: 70000 }, device: { country: 'usa' } } });
    await d.waitReport((r) => r.rev === 2, 'rev 2');
    const report = d.lastReport()!;
    expect(report.status).toBe('rejected');
    expect(report.errors.map((e) => e.path).sort()).toEqual(['device.country', 'web.port']);
    for (const error of report.errors) expect(typeof error.message === 'string' && error.message.length > 0).toBe(true);
    expect(d.applied).toHaveLength(1);
    expect(d.current()).toBe(before);
    expect((await readConfigState(path)).good.device?.rev).toBe(1);

    await d.push({ rev: 3, config: { phone: { ringVolume: 40 } } });
    await d.waitReport((r) => r.rev === 3, 'rev 3');
    expect(d.lastReport()?.status).toBe('applied');
    expect(d.current().phone.ringVolume).toBe(40);
    expect(d.current().web.port).toBe(8080);
  });

  it('rejects a device document that is not {rev, config}, saying why, without applying anything', async () => {
    const d = await boot({ statePath: await statePath() });
    d.link.deliver(topics.desired, '{"rev": 1, "config": ', { retain: true });
    await d.waitReport((r) => r.status === 'rejected', 'a rejected report');
    expect(d.lastReport()).toMatchObject({ rev: 0, status: 'rejected', errors: [{ path: '', message: expect.stringMatching(/^not JSON/) }] });
    d.link.deliver(topics.desired, { rev: 0, config: {} }, { retain: true });
    await waitFor(() => d.reports().length === 2, 'a second rejected report');
    expect(d.lastReport()?.errors[0].message).toMatch(/rev must be a positive integer/);
    expect(d.clock.pending).toBe(0);
    expect(d.applied).toEqual([]);
  });
});

describe('CloudConfigSync: restarts and trials', () => {
  it('reports pending_restart for restart fields, applies with restart, and the rebuilt runtime reports applied', async () => {
    const path = await statePath();
    const clock = new FakeClock();
    const first = await boot({ statePath: path, clock });
    await first.push({ rev: 1, config: { web: { port: 8081 }, device: { name: 'Shop' } } });
    await first.waitReport((r) => r.status === 'pending_restart', 'a pending_restart report');
    expect(first.lastReport()).toMatchObject({ rev: 1, status: 'pending_restart', appliedAt: null, errors: [] });
    expect(first.applied).toHaveLength(1);
    expect(first.applied[0].how).toEqual({ restart: true, reason: 'config rev 1' });
    expect(first.applied[0].config.web.port).toBe(8081);
    await first.sync.stop();

    clock.advance(5000);
    const second = await boot({ statePath: path, clock, link: first.link });
    expect(second.current().web.port).toBe(8081); // the runtime boots with the good layers
    await waitFor(() => first.reports().some((r) => r.status === 'applied'), 'the applied report of the rebuilt runtime');
    expect(first.lastReport()).toEqual({ rev: 1, groups: {}, status: 'applied', errors: [], appliedAt: clock.now(), localEdits: [] });
    expect(second.applied).toEqual([]);
    expect((await readConfigState(path)).report?.status).toBe('applied');
  });

  it('puts a SIP account change on trial with the deadline of the last good config, and keeps it when the accounts register', async () => {
    const path = await statePath();
    const fileLayer = { cloud: { health: { sipRegisteredS: 20 } } };
    const first = await boot({ statePath: path, fileLayer });
    // the push tries to give itself 10 minutes: the deadline stays the good config's 20 s
    await first.push({ rev: 1, config: { sip: { accounts: [account('a1'), account('a2')] }, cloud: { health: { sipRegisteredS: 600 } } } });
    await first.waitReport((r) => r.status === 'pending_restart', 'pending_restart');
    expect(first.applied).toHaveLength(1);
    expect(first.applied[0].how.restart).toBe(true);
    expect(first.sipCalls).toEqual([]); // the rebuilt runtime runs the checks
    expect((await readConfigState(path)).trial).toMatchObject({ sipAccounts: ['a1', 'a2'], boots: 0 });
    await first.sync.stop();

    const second = await boot({ statePath: path, fileLayer, link: first.link });
    expect(second.current().sip.accounts.map((a) => a.id)).toEqual(['a1', 'a2']);
    await first.waitReport((r) => r.status === 'applied', 'applied after the trial');
    expect(second.sipCalls).toEqual([{ ids: ['a1', 'a2'], deadlineMs: 20_000 }]);
    const state = await readConfigState(path);
    expect(state.trial).toBeNull();
    expect(state.good.device?.rev).toBe(1);
    expect(second.applied).toEqual([]);
  });

  it('reverts a SIP account change whose accounts do not register, with the reason, to the last good config', async () => {
    const path = await statePath();
    const fileLayer = { device: { name: 'File' } };
    const first = await boot({ statePath: path, fileLayer });
    await first.push({ rev: 1, config: { phone: { ringVolume: 55 } } });
    await first.waitReport((r) => r.rev === 1 && r.status === 'applied', 'rev 1 applied');
    await first.push({ rev: 2, config: { phone: { ringVolume: 60 }, sip: { accounts: [account('a1')] } }, by: 'admin@example.com' });
    await first.waitReport((r) => r.rev === 2 && r.status === 'pending_restart', 'pending_restart');
    await first.sync.stop();

    const second = await boot({ statePath: path, fileLayer, link: first.link, sipRegistered: async () => 'a1: 403 Forbidden' });
    await first.waitReport((r) => r.status === 'reverted', 'a reverted report');
    expect(first.lastReport()).toMatchObject({ rev: 2, status: 'reverted', reason: 'a1: 403 Forbidden', appliedAt: null });
    expect(second.sipCalls).toEqual([{ ids: ['a1'], deadlineMs: 30_000 }]); // the default of the good config
    expect(second.applied).toHaveLength(1);
    expect(second.applied[0].config.sip.accounts).toEqual([]);
    expect(second.applied[0].config.phone.ringVolume).toBe(55); // rev 1, the last good one
    expect(second.applied[0].how).toEqual({ restart: true, reason: 'revert: a1: 403 Forbidden' });
    expect(second.audits).toContainEqual({ by: null, action: 'config.revert', detail: { rev: 2, groups: {}, reason: 'a1: 403 Forbidden' } });
    const state = await readConfigState(path);
    expect(state.trial).toBeNull();
    expect(state.good.device?.rev).toBe(1);
    expect(state.seen.device).toBe(2);

    // the broker sends the retained rev 2 again on reconnect: it was considered, it is not tried again
    first.link.setConnected(false);
    first.link.setConnected(true);
    await first.link.settle();
    expect(second.clock.pending).toBe(0);
  });

  it('reverts a cloud.* change when the link is not back within linkBackS of the last good config', async () => {
    const path = await statePath();
    const fileLayer = { cloud: { health: { linkBackS: 45 }, upload: { maxBytesPerSecond: 1000 } } };
    const d = await boot({ statePath: path, fileLayer });
    d.link.deliver(topics.desired, { rev: 1, config: { cloud: { upload: { maxBytesPerSecond: 5000 }, health: { linkBackS: 3600 } } } }, { retain: true });
    await d.link.settle();
    d.link.setConnected(false); // the change took the link down
    d.clock.advance(BATCH_MS);
    await waitFor(() => d.applied.length === 1 && d.clock.pending === 1, 'the live apply and the link deadline');
    expect(d.applied[0].how).toEqual({ restart: false, reason: 'config rev 1' });
    expect(d.current().cloud.upload.maxBytesPerSecond).toBe(5000);

    d.clock.advance(45_000 - 1);
    expect(d.clock.pending).toBe(1);
    expect(d.sync.state.trial).not.toBeNull();
    d.clock.advance(1);
    await waitFor(() => d.sync.state.report?.status === 'reverted' && d.applied.length === 2, 'the revert');
    expect(d.sync.state.report).toMatchObject({ rev: 1, status: 'reverted', reason: 'cloud link not back within 45 s' });
    expect(d.applied[1].config.cloud.upload.maxBytesPerSecond).toBe(1000);
    expect(d.applied[1].how).toEqual({ restart: false, reason: 'revert: cloud link not back within 45 s' });
    expect(d.reports()).toEqual([]); // nothing can be published while the link is down

    d.link.setConnected(true);
    await d.waitReport((r) => r.status === 'reverted', 'the reverted report once the link is back');
    expect(d.link.retainedJson(topics.reported)).toMatchObject({ rev: 1, status: 'reverted', reason: 'cloud link not back within 45 s' });
    expect((await readConfigState(path)).good.device).toBeNull();
  });

  it('keeps a cloud.* change when the link comes back in time', async () => {
    const path = await statePath();
    const fileLayer = { cloud: { health: { linkBackS: 45 } } };
    const d = await boot({ statePath: path, fileLayer });
    d.link.deliver(topics.desired, { rev: 1, config: { cloud: { upload: { auto: false } } } }, { retain: true });
    await d.link.settle();
    d.link.setConnected(false);
    d.clock.advance(BATCH_MS);
    await waitFor(() => d.clock.pending === 1, 'the link deadline');
    d.clock.advance(44_000);
    d.link.setConnected(true);
    await d.waitReport((r) => r.status === 'applied', 'applied once the link is back');
    expect(d.clock.pending).toBe(0);
    expect(d.applied).toHaveLength(1);
    expect(d.current().cloud.upload.auto).toBe(false);
    const state = await readConfigState(path);
    expect(state.good.device?.rev).toBe(1);
    expect(state.trial).toBeNull();
  });

  it('stops at once while a trial waits for the link; the trial stays for the next start', async () => {
    const path = await statePath();
    const d = await boot({ statePath: path, fileLayer: { cloud: { health: { linkBackS: 45 } } }, track: false });
    d.link.deliver(topics.desired, { rev: 1, config: { cloud: { upload: { auto: false } } } }, { retain: true });
    await d.link.settle();
    d.link.setConnected(false);
    d.clock.advance(BATCH_MS);
    await waitFor(() => d.clock.pending === 1, 'the link deadline');
    let stopped = false;
    void d.sync.stop().then(() => (stopped = true));
    // a shutdown or runtime rebuild must not wait linkBackS (here: forever, the fake clock does not move)
    await waitFor(() => stopped, 'stop() to resolve while the trial waits', 1000);
    d.clock.advance(60_000);
    await d.link.settle();
    expect(d.applied).toHaveLength(1); // no revert after stop
    const state = await readConfigState(path);
    expect(state.trial).toMatchObject({ boots: 1, link: true });
    expect(state.report?.status).not.toBe('reverted');
  });

  it('reverts a trial that kept the runtime from coming up twice (third boot)', async () => {
    const path = await statePath();
    const first = await boot({ statePath: path });
    await first.push({ rev: 1, config: { sip: { accounts: [account('a1')] } } });
    await first.waitReport((r) => r.status === 'pending_restart', 'pending_restart');
    await first.sync.stop();

    // boots 1 and 2: the runtime dies while the accounts try to register (each boot its own process and link)
    const never = () => new Promise<string | null>(() => undefined);
    for (const boots of [1, 2]) {
      const crashing = await boot({ statePath: path, sipRegistered: never, track: false });
      await waitFor(() => crashing.sipCalls.length === 1, `the check of boot ${boots}`);
      expect((await readConfigState(path)).trial?.boots).toBe(boots);
    }

    const third = await boot({ statePath: path });
    await third.waitReport((r) => r.status === 'reverted', 'the revert at the third boot');
    expect(third.lastReport()).toMatchObject({ rev: 1, status: 'reverted', reason: 'the runtime did not come up with this config' });
    expect(third.sipCalls).toEqual([]);
    expect(third.applied).toHaveLength(1);
    expect(third.applied[0].config.sip.accounts).toEqual([]);
    expect(third.applied[0].how.restart).toBe(true);
    expect((await readConfigState(path)).trial).toBeNull();
  });

  it('keeps the seen revisions, the good layers and the report across instances', async () => {
    const path = await statePath();
    const fileLayer = { device: { groups: ['north'] } };
    const first = await boot({ statePath: path, fileLayer });
    first.link.deliver(NORTH, { rev: 3, config: { phone: { ringVolume: 33 } } }, { retain: true });
    await first.push({ rev: 8, config: { device: { name: 'Eight' } } });
    await first.waitReport((r) => r.status === 'applied', 'applied');
    await first.sync.stop();
    const saved = await readConfigState(path);
    expect(saved.seen).toEqual({ device: 8, groups: { north: 3 } });
    expect(saved.good.device?.rev).toBe(8);
    expect(saved.good.groups.north?.rev).toBe(3);

    // a new process: a fresh link, the broker still holding the retained documents
    const link = new MemoryLink({ deviceId: 'd1' });
    for (const [topic, message] of first.link.retained) link.retained.set(topic, message);
    const second = await boot({ statePath: path, fileLayer, link });
    expect(second.current().device.name).toBe('Eight');
    expect(second.current().phone.ringVolume).toBe(33);
    expect(second.sync.state.seen).toEqual({ device: 8, groups: { north: 3 } });
    expect(second.clock.pending).toBe(0); // the retained documents were seen already
    await waitFor(() => second.reports().length === 1, 'the report published at start');
    expect(second.lastReport()).toEqual(first.lastReport());
    expect(second.applied).toEqual([]);
    expect(second.audits).toEqual([]);
  });
});
