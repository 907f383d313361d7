/**
 * `deskline admin config push`: publishes a retained desired document `{rev, config}` to one device or a group and
 * waits for the devices' reports of that revision (src/cloud/TOPICS.md).
 *
 * - The revision comes from the cloud side, i.e. from here: the retained desired rev of the target + 1, or --rev.
 * - The file is a partial layer. It is checked locally first (merged over the defaults, as the device will), and a
 *   group document must not carry secret fields or `device.id`; nothing is published when a check fails (exit 2).
 * - Who answers a group push: group membership lives in each device's own config (`device.groups`), which the
 *   cloud side cannot see. So `--devices a,b` names the devices to wait for and `--expect <n>` waits for any n
 *   reports. Without either, the members known are waited for: the devices whose retained report lists the group
 *   in `groups` (they applied a document of it before). When none is known (a new group), the command waits the
 *   whole --timeout and prints every report of the new rev.
 *   A report answers a device push when its `rev` is the pushed rev, a group push when its `groups[group]` is.
 */
import type { Command } from 'commander';
import { checkLevel, deviceTopics, groupDesiredTopic, parseTopic, TOPIC_ROOT, type CloudPayloads } from '../../cloud/topics.js';
import { ConfigError, readConfigFile, validateConfig, type ConfigIssue } from '../../config/load.js';
import { fieldsMarked } from '../../config/schema.js';
import { errorMessage } from '../../core/errors.js';
import { EXIT } from '../context.js';
import { globals } from '../daemon.js';
import { AdminError, checkDesired, checkPresence, checkReported, formatTime, positiveNumber, publish, readPayload, safeText, sleep, subscribe, syncWithBroker } from './common.js';
import { withSession, type AdminSession } from './connect.js';

export type PushTarget = { kind: 'device'; deviceId: string; file: string } | { kind: 'group'; group: string; file: string };

/** `<deviceId> <file>` or `--group g <file>` (`command` names the command in messages). */
export function resolvePushTarget(args: string[], group: string | undefined, command = 'config push'): PushTarget {
  const [first, second] = args;
  try {
    if (group !== undefined) {
      if (args.length !== 1) throw new AdminError('ADMIN_BAD_ARGS', `with --group, give only the file: ${command} --group <group> <file>`, EXIT.badConfig);
      return { kind: 'group', group: checkLevel('group', group), file: first };
    }
    if (args.length !== 2) throw new AdminError('ADMIN_BAD_ARGS', `give a device id and a file (${command} <deviceId> <file>) or a group (${command} --group <group> <file>)`, EXIT.badConfig);
    return { kind: 'device', deviceId: checkLevel('device id', first), file: second };
  } catch (error) {
    if (error instanceof AdminError) throw error;
    throw new AdminError('ADMIN_BAD_ARGS', errorMessage(error), EXIT.badConfig);
  }
}

/**
 * The secret fields a document sets, as concrete dotted paths ('sip.accounts.0.password'); `secretPaths` are the
 * schema's (`fieldsMarked('x-secret')`, arrays as `[]`).
 */
export function secretFieldsIn(doc: unknown, secretPaths: string[] = fieldsMarked('x-secret')): string[] {
  const found: string[] = [];
  const walk = (value: unknown, parts: string[], at: string) => {
    if (parts.length === 0) return void found.push(at);
    if (typeof value !== 'object' || value === null) return;
    const [part, ...rest] = parts;
    const arrayPart = part.endsWith('[]');
    const key = arrayPart ? part.slice(0, -2) : part;
    if (!Object.prototype.hasOwnProperty.call(value, key)) return;
    const child = (value as Record<string, unknown>)[key];
    const here = at ? `${at}.${key}` : key;
    if (!arrayPart) return walk(child, rest, here);
    if (Array.isArray(child)) child.forEach((item, i) => walk(item, rest, `${here}.${i}`));
  };
  for (const path of secretPaths) walk(doc, path.split('.'), '');
  return found;
}

/** Everything wrong with a document for its target, before anything is published. */
export function documentIssues(doc: Record<string, unknown>, target: PushTarget['kind']): ConfigIssue[] {
  if (target === 'group') {
    const issues: ConfigIssue[] = secretFieldsIn(doc).map((path) => ({ path, message: 'a secret: secrets go only in per-device documents, never in group documents' }));
    const device = doc.device;
    if (device && typeof device === 'object' && 'id' in device) issues.push({ path: 'device.id', message: 'the device id is per device: it cannot be set by a group document' });
    if (issues.length) return issues;
  }
  // a device applies the document merged over its defaults: validate it that way
  const result = validateConfig(doc);
  return result.issues;
}

/** The revision to publish: --rev, else the retained one + 1 (1 when there is none). */
export function nextRevision(retained: CloudPayloads['config/desired'] | null, given: number | undefined): number {
  if (given !== undefined) return given;
  return (retained?.rev ?? 0) + 1;
}

/** The retained desired document; `by` (the admin identity) lets devices audit who pushed it. */
export function desiredPayload(rev: number, config: Record<string, unknown>, by: string): string {
  const doc: CloudPayloads['config/desired'] = { rev, config, by };
  return JSON.stringify(doc);
}

export type DeviceReport = { device: string } & CloudPayloads['config/reported'];

/** Collects the reports that answer a push of `rev` and says when the wait is over. */
export class ReportWaiter {
  private readonly reports = new Map<string, DeviceReport>();
  /** devices that already report a later revision (someone pushed again) */
  readonly superseded = new Map<string, number>();

  /**
   * @param group the pushed group (its revision is `report.groups[group]`), or null for a device push (`report.rev`)
   */
  constructor(
    readonly rev: number,
    readonly group: string | null,
    readonly expect: { devices: string[] } | { count: number } | null,
  ) {}

  /** Takes a report; true when it answers the push. */
  add(device: string, report: CloudPayloads['config/reported']): boolean {
    if (this.expect && 'devices' in this.expect && !this.expect.devices.includes(device)) return false;
    const rev = this.group === null ? report.rev : report.groups[this.group];
    if (rev === undefined) return false;
    if (rev > this.rev) this.superseded.set(device, rev);
    if (rev !== this.rev) return false;
    this.reports.set(device, { device, ...report });
    return true;
  }

  get done(): boolean {
    if (!this.expect) return false;
    if ('count' in this.expect) return this.reports.size >= this.expect.count;
    return this.expect.devices.every((d) => this.reports.has(d) || this.superseded.has(d));
  }

  results(): DeviceReport[] {
    return [...this.reports.values()].sort((a, b) => a.device.localeCompare(b.device));
  }

  /** devices waited for that did not answer */
  missing(): string[] {
    if (!this.expect || !('devices' in this.expect)) return [];
    return this.expect.devices.filter((d) => !this.reports.has(d) && !this.superseded.has(d));
  }
}

export interface PushOutcome {
  target: { device: string } | { group: string };
  topic: string;
  rev: number;
  waited: boolean;
  results: DeviceReport[];
  missing: string[];
  superseded: Array<{ device: string; rev: number }>;
  /** for --expect n: how many reports were wanted */
  expected: number | null;
  /** the devices waited for (null: --expect, or every report until --timeout) */
  waitedFor: string[] | null;
  /** group push: where waitedFor came from (--devices, or the retained reports that list the group) */
  membersFrom: 'option' | 'reports' | null;
}

/** Devices whose last report lists the group: members that have applied one of its documents before. */
export function knownMembers(reports: Map<string, CloudPayloads['config/reported']>, group: string): string[] {
  return [...reports].filter(([, r]) => Object.prototype.hasOwnProperty.call(r.groups, group)).map(([device]) => device).sort();
}

/** One device's answer: `d1: applied rev 8 at ...` (a group push: `d1: rejected rev 4 of group north`), then its errors. */
export function formatReport(r: DeviceReport, group: string | null = null): string {
  const when = r.appliedAt !== null && r.status === 'applied' ? ` at ${formatTime(r.appliedAt)}` : '';
  const rev = group === null ? `rev ${r.rev}` : `rev ${r.groups[group]} of group ${group}`;
  const lines = [`${r.device}: ${r.status} ${rev}${when}${r.reason ? ` (${safeText(r.reason, 160)})` : ''}`];
  for (const e of r.errors) lines.push(`  ${safeText(e.path || '(document)', 120)}: ${safeText(e.message, 240)}`);
  if (r.localEdits.length) lines.push(`  local edits kept: ${r.localEdits.map((p) => safeText(p, 80)).join(', ')}`);
  return lines.join('\n');
}

export function formatPushOutcome(o: PushOutcome, presence: Map<string, CloudPayloads['presence']> = new Map()): string {
  const what = 'device' in o.target ? `device ${o.target.device}` : `group ${o.target.group}`;
  const lines = [`published rev ${o.rev} for ${what} (${o.topic})`];
  if (!o.waited) return lines.join('\n');
  lines.push(...o.results.map((r) => formatReport(r, 'group' in o.target ? o.target.group : null)));
  for (const s of o.superseded) lines.push(`${s.device}: already reports rev ${s.rev}, a later push`);
  for (const d of o.missing) {
    const p = presence.get(d);
    lines.push(`${d}: no report of rev ${o.rev}${p ? ` (${p.state} since ${formatTime(p.at)})` : ' (no presence known)'}`);
  }
  if (o.results.length === 0 && o.missing.length === 0 && o.superseded.length === 0) lines.push(`no device reported rev ${o.rev}`);
  else if (o.expected !== null && o.results.length < o.expected) lines.push(`${o.results.length} of ${o.expected} expected reports arrived`);
  return lines.join('\n');
}

/** Reads the retained message of a topic, if any (subscribe, sync with the broker, a short grace, unsubscribe). */
async function readRetained(session: AdminSession, topic: string): Promise<Buffer | null> {
  let found: Buffer | null = null;
  const onMessage = (t: string, payload: Buffer, packet: { retain?: boolean }) => {
    if (t === topic && packet.retain) found = payload;
  };
  session.client.on('message', onMessage);
  try {
    await subscribe(session.client, [topic]);
    await syncWithBroker(session.client);
    if (!found) await sleep(200);
    await session.client.unsubscribeAsync(topic);
  } finally {
    session.client.off('message', onMessage);
  }
  return found;
}

interface PushOptions {
  group?: string;
  rev?: number;
  timeout: number;
  wait: boolean;
  expect?: number;
  devices?: string[];
}

async function push(command: Command, args: string[], options: PushOptions): Promise<void> {
  const json = Boolean(globals(command).json);
  const target = resolvePushTarget(args, options.group);
  if (target.kind === 'device' && (options.devices || options.expect !== undefined)) {
    throw new AdminError('ADMIN_BAD_ARGS', '--devices and --expect are for group pushes; a device push waits for that device', EXIT.badConfig);
  }
  if (options.devices && options.expect !== undefined) throw new AdminError('ADMIN_BAD_ARGS', 'give --devices or --expect, not both', EXIT.badConfig);
  let doc: Record<string, unknown>;
  try {
    doc = await readConfigFile(target.file);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    throw new AdminError('ADMIN_BAD_DOCUMENT', `${target.file}: ${error.issues.map((i) => i.message).join('; ')}`, EXIT.badConfig);
  }
  const issues = documentIssues(doc, target.kind);
  if (issues.length) {
    const what = target.kind === 'group' ? `group document ${target.file}` : `document ${target.file}`;
    if (json) process.stdout.write(`${JSON.stringify({ file: target.file, valid: false, errors: issues }, null, 2)}\n`);
    throw new AdminError('ADMIN_BAD_DOCUMENT', `not published: ${what} has ${issues.length} problem${issues.length === 1 ? '' : 's'}:\n${issues.map((i) => `  ${i.path || '(document)'}: ${i.message}`).join('\n')}`, EXIT.badConfig);
  }

  const topic = target.kind === 'device' ? deviceTopics(target.deviceId).desired : groupDesiredTopic(target.group);
  let expect: { devices: string[] } | { count: number } | null = null;
  if (target.kind === 'device') expect = { devices: [target.deviceId] };
  else if (options.devices) expect = { devices: options.devices };
  else if (options.expect !== undefined) expect = { count: options.expect };

  const outcome = await withSession(command, async (session) => {
    const retainedPayload = await readRetained(session, topic);
    let retained: CloudPayloads['config/desired'] | null = null;
    if (retainedPayload && retainedPayload.length > 0) {
      const parsed = readPayload(retainedPayload, checkDesired);
      if (parsed.ok) retained = parsed.value;
      else if (options.rev === undefined) throw new AdminError('ADMIN_BAD_RETAINED', `the retained document on ${topic} is unreadable (${parsed.reason}): give the revision with --rev`);
    }
    const rev = nextRevision(retained, options.rev);
    if (retained && rev <= retained.rev) {
      throw new AdminError('ADMIN_STALE_REV', `--rev ${rev} is not above the retained rev ${retained.rev} on ${topic}: devices ignore revisions they have seen`, EXIT.badConfig);
    }

    let waiter: ReportWaiter | null = null;
    /** reports that came before the waiter: the retained ones */
    const early = new Map<string, CloudPayloads['config/reported']>();
    const presence = new Map<string, CloudPayloads['presence']>();
    let finish: () => void = () => {};
    const finished = new Promise<void>((resolve) => (finish = resolve));
    const take = (device: string, report: CloudPayloads['config/reported']) => {
      if (waiter?.add(device, report) && !json) process.stderr.write(`${device}: reported ${report.status}\n`);
      if (waiter?.done) finish();
    };
    let membersFrom: PushOutcome['membersFrom'] = expect && target.kind === 'group' ? 'option' : null;
    if (options.wait) {
      session.client.on('message', (t, payload) => {
        const parsed = parseTopic(t);
        if (!parsed || !('deviceId' in parsed)) return;
        if (parsed.kind === 'presence') {
          const p = readPayload(payload, checkPresence);
          if (p.ok) presence.set(parsed.deviceId, p.value);
        } else if (parsed.kind === 'config/reported') {
          const r = readPayload(payload, checkReported);
          if (!r.ok) return;
          if (waiter) take(parsed.deviceId, r.value);
          else early.set(parsed.deviceId, r.value);
        }
      });
      // subscribe before publishing, so a quick answer is not missed
      const ids = expect && 'devices' in expect ? expect.devices : ['+'];
      await subscribe(session.client, ids.flatMap((id) => [`${TOPIC_ROOT}/${id}/config/reported`, `${TOPIC_ROOT}/${id}/presence`]));
      await syncWithBroker(session.client);
      if (target.kind === 'group' && expect === null) {
        const members = knownMembers(early, target.group);
        if (members.length) {
          expect = { devices: members };
          membersFrom = 'reports';
        }
      }
    }
    waiter = new ReportWaiter(rev, target.kind === 'group' ? target.group : null, expect);
    for (const [device, report] of early) take(device, report);
    await publish(session.client, topic, desiredPayload(rev, doc, session.identity), { retain: true });
    if (options.wait) {
      if (!json) {
        const whom = expect && 'devices' in expect ? ` from ${expect.devices.join(', ')}${membersFrom === 'reports' ? ` (their last reports list group ${options.group})` : ''}` : expect ? ` from ${expect.count} devices` : '';
        process.stderr.write(`published rev ${rev} to ${topic}; waiting up to ${options.timeout} s for reports${whom}\n`);
      }
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([finished, session.lost, new Promise<void>((resolve) => (timer = setTimeout(resolve, options.timeout * 1000)))]);
      } finally {
        clearTimeout(timer);
      }
    }
    const result: PushOutcome = {
      target: target.kind === 'device' ? { device: target.deviceId } : { group: target.group },
      topic,
      rev,
      waited: options.wait,
      results: waiter.results(),
      missing: options.wait ? waiter.missing() : [],
      superseded: [...waiter.superseded].map(([device, r]) => ({ device, rev: r })),
      expected: expect && 'count' in expect ? expect.count : null,
      waitedFor: expect && 'devices' in expect ? expect.devices : null,
      membersFrom,
    };
    return { result, presence };
  });

  const { result, presence } = outcome;
  process.stdout.write(json ? `${JSON.stringify(result, null, 2)}\n` : `${formatPushOutcome(result, presence)}\n`);
  const failed = result.results.filter((r) => r.status === 'rejected' || r.status === 'reverted');
  if (failed.length) {
    throw new AdminError('ADMIN_CONFIG_REJECTED', `rev ${result.rev} was ${failed.map((r) => `${r.status} by ${r.device}`).join(', ')}`);
  }
  const short = result.missing.length > 0 || (result.expected !== null && result.results.length < result.expected);
  if (short) {
    const who = result.missing.length ? result.missing.join(', ') : `${result.expected! - result.results.length} more device(s)`;
    throw new AdminError('ADMIN_NO_REPORT', `no report of rev ${result.rev} from ${who} within ${options.timeout} s; the retained document stays, devices apply it when they connect`);
  }
}

function deviceList(value: string): string[] {
  const ids = value.split(',').map((s) => s.trim()).filter(Boolean);
  if (ids.length === 0) throw new AdminError('ADMIN_BAD_OPTION', '--devices needs at least one device id', EXIT.badConfig);
  try {
    return [...new Set(ids.map((id) => checkLevel('device id', id)))];
  } catch (error) {
    throw new AdminError('ADMIN_BAD_OPTION', `--devices: ${errorMessage(error)}`, EXIT.badConfig);
  }
}

export function addConfigCommands(admin: Command): void {
  const config = admin.command('config').description('desired configuration of devices and groups');
  config
    .command('push')
    .argument('<target...>', '<deviceId> <file>, or only <file> with --group')
    .description(
      'publish a JSON config document (a partial layer: only the settings it sets) as the retained desired config of a device or a group, ' +
        'then wait for and print each device\'s report of it. The file is validated first; a group document with a secret field is refused.',
    )
    .option('--group <group>', 'push to this group (devices whose device.groups lists it) instead of one device')
    .option('--rev <n>', 'revision to publish (default: the retained revision + 1)', positiveNumber('--rev', true))
    .option('--timeout <s>', 'seconds to wait for the reports', positiveNumber('--timeout'), 30)
    .option('--devices <ids>', 'group push: comma-separated device ids to wait for', deviceList)
    .option('--expect <n>', 'group push: wait until this many devices have reported', positiveNumber('--expect', true))
    .option('--no-wait', 'publish and exit without waiting for reports')
    .addHelpText('after', '\nA group push without --devices or --expect waits for the devices whose last config report lists the group; when none does, it waits the whole --timeout and prints every report of the new revision.\nExit status: 0 applied (or pending_restart), 1 rejected/reverted or a report missing, 2 a bad document or arguments.')
    .action(async (args: string[], options: PushOptions, command: Command) => push(command, args, options));
}
