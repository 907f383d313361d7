/** `deskline admin watch`: one line per event, presence change and config report, live, until Ctrl-C. */
import type { Command } from 'commander';
import { TOPIC_ROOT, checkLevel, parseTopic } from '../../cloud/topics.js';
import { errorMessage } from '../../core/errors.js';
import { EXIT } from '../context.js';
import { globals } from '../daemon.js';
import { AdminError, checkEvent, checkPresence, checkReported, formatTime, readPayload, safeText, subscribe } from './common.js';
import { withSession } from './connect.js';

/** What `watch` subscribes to: every device's (or one device's) events, presence and config reports. */
export function watchFilters(deviceId?: string): string[] {
  const id = deviceId === undefined ? '+' : checkLevel('device id', deviceId);
  return [`${TOPIC_ROOT}/${id}/events/#`, `${TOPIC_ROOT}/${id}/presence`, `${TOPIC_ROOT}/${id}/config/reported`];
}

export interface WatchLine {
  /** when this CLI received it (ms) */
  receivedAt: number;
  device: string;
  kind: 'presence' | 'config/reported' | 'event';
  /** sent from the broker's retained store at subscribe time, not live */
  retained: boolean;
  topic: string;
  /** the checked payload, or null when it was unreadable */
  payload: unknown;
  /** why the payload was unreadable */
  invalid?: string;
}

/** A received message as a watch line; undefined for topics that are none of ours. */
export function watchLine(topic: string, payload: Buffer, retained: boolean, receivedAt = Date.now()): WatchLine | undefined {
  const parsed = parseTopic(topic);
  if (!parsed || !('deviceId' in parsed)) return undefined;
  const base = { receivedAt, device: parsed.deviceId, retained, topic };
  const result =
    parsed.kind === 'presence' ? readPayload(payload, checkPresence) : parsed.kind === 'config/reported' ? readPayload(payload, checkReported) : parsed.kind === 'event' ? readPayload(payload, checkEvent) : undefined;
  if (!result) return undefined;
  const kind = parsed.kind as WatchLine['kind'];
  return result.ok ? { ...base, kind, payload: result.value } : { ...base, kind, payload: null, invalid: result.reason };
}

function clock(ms: number): string {
  return new Date(ms).toISOString().slice(11, 23);
}

/** The human form: `HH:MM:SS.mmm device kind details`, device text made safe for the terminal. */
export function formatWatchLine(line: WatchLine): string {
  const head = `${clock(line.receivedAt)} ${line.device}`;
  const tail = line.retained ? ' (retained)' : '';
  if (line.invalid !== undefined) return `${head} ${line.kind} unreadable: ${safeText(line.invalid, 120)}${tail}`;
  if (line.kind === 'presence') {
    const p = line.payload as { state: string; at: number | null; version?: string };
    return `${head} presence ${p.state} since ${formatTime(p.at)}${p.version ? ` v${safeText(p.version, 32)}` : ''}${tail}`;
  }
  if (line.kind === 'config/reported') {
    const r = line.payload as { rev: number; groups: Record<string, number>; status: string; errors: Array<{ path: string; message: string }>; reason?: string };
    const errors = r.errors.map((e) => `${safeText(e.path, 60)}: ${safeText(e.message, 120)}`).join('; ');
    const groups = Object.entries(r.groups).map(([g, rev]) => ` ${safeText(g, 64)}@${rev}`).join('');
    return `${head} config rev ${r.rev}${groups} ${r.status}${errors ? ` [${errors}]` : ''}${r.reason ? ` (${safeText(r.reason, 120)})` : ''}${tail}`;
  }
  const e = line.payload as { stream: string; seq: number; type: string; data: Record<string, unknown> };
  const stream = parseTopic(line.topic) as { stream: string };
  return `${head} event ${stream.stream}#${e.seq} ${safeText(e.type, 64)} ${safeText(JSON.stringify(e.data), 300)}${tail}`;
}

interface WatchOptions {
  device?: string;
  retained: boolean;
}

export function addWatchCommand(admin: Command): void {
  admin
    .command('watch')
    .description('print device events, presence changes and config reports as they arrive (JSON lines with --json), until Ctrl-C')
    .option('--device <deviceId>', 'only this device')
    .option('--no-retained', 'skip the retained presence and reports the broker sends at start: only new messages')
    .action(async (options: WatchOptions, command: Command) => {
      const json = Boolean(globals(command).json);
      let filters: string[];
      try {
        filters = watchFilters(options.device);
      } catch (error) {
        throw new AdminError('ADMIN_BAD_ARGS', errorMessage(error), EXIT.badConfig);
      }
      await withSession(command, async (session) => {
        session.client.on('message', (topic, payload, packet) => {
          const line = watchLine(topic, payload, Boolean(packet.retain));
          if (line) process.stdout.write(json ? `${JSON.stringify(line)}\n` : `${formatWatchLine(line)}\n`);
        });
        let stop: () => void = () => {};
        const stopped = new Promise<void>((resolve) => (stop = resolve));
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        try {
          await subscribe(session.client, filters, { rh: options.retained ? 0 : 2 });
          process.stderr.write(`watching ${filters.join(', ')} on ${session.url} (Ctrl-C to stop)\n`);
          await Promise.race([stopped, session.lost]);
        } finally {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
        }
      });
    });
}
