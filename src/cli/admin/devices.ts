/** `deskline admin devices`: the fleet from the retained presence and config reports, as a table. */
import type { Command } from 'commander';
import { TOPIC_ROOT, parseTopic, type CloudPayloads, type ConfigErrorItem } from '../../cloud/topics.js';
import { print } from '../context.js';
import { globals } from '../daemon.js';
import { checkPresence, checkReported, formatTime, positiveNumber, readPayload, safeText, sleep, subscribe, syncWithBroker } from './common.js';
import { withSession } from './connect.js';

export interface DeviceRow {
  device: string;
  state: 'online' | 'offline' | 'unknown';
  /** when the presence changed (ms), null when unknown */
  since: number | null;
  version: string | null;
  /** revision of the device document in effect */
  rev: number | null;
  /** revisions of the group documents in effect, by group */
  groups: Record<string, number>;
  status: CloudPayloads['config/reported']['status'] | null;
  errors: ConfigErrorItem[];
  localEdits: string[];
  reason?: string;
  /** what was wrong with what this device published */
  problems: string[];
}

export const DEVICES_FILTERS = [`${TOPIC_ROOT}/+/presence`, `${TOPIC_ROOT}/+/config/reported`];

/** Builds one row per device from presence and reported messages (the latest of each wins). */
export class DeviceCollector {
  private readonly rows = new Map<string, DeviceRow>();

  add(topic: string, payload: Buffer): void {
    const parsed = parseTopic(topic);
    if (!parsed || !('deviceId' in parsed) || (parsed.kind !== 'presence' && parsed.kind !== 'config/reported')) return;
    const row = this.row(parsed.deviceId);
    if (parsed.kind === 'presence') {
      const presence = readPayload(payload, checkPresence);
      if (!presence.ok) return void row.problems.push(`presence: ${presence.reason}`);
      Object.assign(row, { state: presence.value.state, since: presence.value.at, version: presence.value.version ?? null });
    } else {
      const report = readPayload(payload, checkReported);
      if (!report.ok) return void row.problems.push(`config/reported: ${report.reason}`);
      const { rev, groups, status, errors, localEdits, reason } = report.value;
      Object.assign(row, { rev, groups, status, errors, localEdits, ...(reason !== undefined ? { reason } : {}) });
    }
  }

  list(): DeviceRow[] {
    return [...this.rows.values()].sort((a, b) => a.device.localeCompare(b.device));
  }

  private row(device: string): DeviceRow {
    let row = this.rows.get(device);
    if (!row) {
      row = { device, state: 'unknown', since: null, version: null, rev: null, groups: {}, status: null, errors: [], localEdits: [], problems: [] };
      this.rows.set(device, row);
    }
    return row;
  }
}

/** The human table: DEVICE STATE SINCE REV GROUPS STATUS VERSION, columns padded to their widest cell. */
export function formatDevicesTable(rows: DeviceRow[]): string {
  if (rows.length === 0) return 'no devices have published presence or a config report';
  const header = ['DEVICE', 'STATE', 'SINCE', 'REV', 'GROUPS', 'STATUS', 'VERSION'];
  const cells = rows.map((r) => [
    r.device,
    r.state,
    formatTime(r.since),
    r.rev === null ? '-' : String(r.rev),
    Object.keys(r.groups).length ? Object.entries(r.groups).map(([g, rev]) => `${safeText(g, 64)}@${rev}`).join(',') : '-',
    r.status === null ? '-' : `${r.status}${r.errors.length ? ` (${r.errors.length} error${r.errors.length === 1 ? '' : 's'})` : ''}${r.reason ? `: ${safeText(r.reason, 60)}` : ''}`,
    r.version === null ? '-' : safeText(r.version, 32),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => c.map((cell, i) => (i === c.length - 1 ? cell : cell.padEnd(widths[i]))).join('  ');
  const problems = rows.flatMap((r) => r.problems.map((p) => `${r.device}: ignored ${safeText(p, 120)}`));
  return [line(header), ...cells.map(line), ...problems].join('\n');
}

export function addDevicesCommand(admin: Command): void {
  admin
    .command('devices')
    .description('list the devices with their presence (online/offline, since) and last config report (rev, status), from the retained messages')
    .option('--wait <ms>', 'how long to collect retained messages after subscribing', positiveNumber('--wait', true, true), 1000)
    .action(async (options: { wait: number }, command: Command) => {
      const collector = new DeviceCollector();
      await withSession(command, async ({ client }) => {
        client.on('message', (topic, payload) => collector.add(topic, payload));
        await subscribe(client, DEVICES_FILTERS);
        await syncWithBroker(client);
        await sleep(options.wait);
      });
      const rows = collector.list();
      print(globals(command), rows, () => formatDevicesTable(rows));
    });
}
