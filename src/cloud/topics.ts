/**
 * The cloud link's topics and the payload each one carries: the one typed map the device, the admin CLI and
 * the tests share (documented for cloud developers in TOPICS.md, which a test keeps in step with this file).
 *
 * Everything lives under `dl/v1/{deviceId}/...` and `dl/v1/groups/{group}/...`. Device ids and group names are
 * single topic levels: letters, digits, '_', '.', '-' (no '/', no MQTT wildcards, no '$' system prefix), so a
 * broker ACL of `pattern readwrite dl/v1/%u/#` gives each device its own subtree and nothing else.
 */
import { DesklineError } from '../core/errors.js';

export const TOPIC_ROOT = 'dl/v1';

/** A device id or group name usable as one topic level (the config schema's `device.id` pattern). */
const LEVEL = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
/** A command or event stream name: lowercase words joined by '.' or '-' ('sms.send', 'calls'). */
const NAME = /^[a-z][a-z0-9]*(?:[.-][a-z0-9]+)*$/;

export interface ConfigErrorItem {
  /** dotted path of the field, as config validation names it ('sip.accounts.0.password'; '' = the whole document) */
  path: string;
  message: string;
}

/** Payloads by topic kind (see TOPICS.md for who publishes what, retained or not). */
export interface CloudPayloads {
  /** retained; `offline` is the Last Will */
  presence: { state: 'online' | 'offline'; at: number | null; version?: string };
  /** retained, published by the cloud; `rev` comes from the cloud, never from the device clock */
  'config/desired': { rev: number; config: Record<string, unknown>; /** the admin who pushed it (audit) */ by?: string };
  /** retained, published by the device */
  'config/reported': {
    /** revision of the device document this report is about (0: none was ever received) */
    rev: number;
    /** revisions of the group documents in effect, by group */
    groups: Record<string, number>;
    status: 'applied' | 'rejected' | 'pending_restart' | 'reverted';
    errors: ConfigErrorItem[];
    appliedAt: number | null;
    /** config paths set on the device that the cloud leaves unset */
    localEdits: string[];
    /** why a revert happened ('cloud link not back within 60 s') */
    reason?: string;
  };
  /** a command to the device: QoS 1, never retained, with an MQTT 5 message expiry */
  cmd: { id: string; by: string; args: Record<string, unknown>; expiresAt?: number };
  'cmd/result': { id: string; status: 'ok' | 'error' | 'unsupported' | 'expired'; data?: unknown; error?: { code: string; message: string } };
  /** an event of a stream (calls, sms, orders, alarms, ...): `seq` counts per stream, so the cloud sees gaps */
  event: { id: string; stream: string; seq: number; at: number | null; type: string; data: Record<string, unknown> };
}

export type TopicKind = keyof CloudPayloads;

export function checkLevel(what: 'device id' | 'group', value: string): string {
  if (!LEVEL.test(value)) {
    throw new DesklineError('CLOUD_BAD_TOPIC_LEVEL', `${what} '${value.slice(0, 80)}' can't be a topic level: use 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit`);
  }
  return value;
}

function checkName(what: 'command' | 'event stream', value: string): string {
  if (!NAME.test(value) || value.length > 64) {
    throw new DesklineError('CLOUD_BAD_TOPIC_LEVEL', `${what} name '${value.slice(0, 80)}' must be lowercase words joined by '.' or '-' ('sms.send')`);
  }
  return value;
}

/** The topics of one device. */
export function deviceTopics(deviceId: string) {
  const base = `${TOPIC_ROOT}/${checkLevel('device id', deviceId)}`;
  return {
    base,
    /** everything of this device: what a device ACL grants */
    all: `${base}/#`,
    presence: `${base}/presence`,
    desired: `${base}/config/desired`,
    reported: `${base}/config/reported`,
    /** every command to this device (subscription) */
    commands: `${base}/cmd/+`,
    cmd: (name: string) => `${base}/cmd/${checkName('command', name)}`,
    cmdResult: (name: string) => `${base}/cmd/${checkName('command', name)}/result`,
    event: (stream: string) => `${base}/events/${checkName('event stream', stream)}`,
  };
}

/** The desired config of a group (retained, published by the cloud; never carries secrets). */
export function groupDesiredTopic(group: string): string {
  return `${TOPIC_ROOT}/groups/${checkLevel('group', group)}/config/desired`;
}

/** What a topic is, for the admin CLI and receivers subscribed to `dl/v1/+/...`; undefined when it is none of ours. */
export type ParsedTopic =
  | { deviceId: string; kind: 'presence' | 'config/desired' | 'config/reported' }
  | { deviceId: string; kind: 'cmd' | 'cmd/result'; name: string }
  | { deviceId: string; kind: 'event'; stream: string }
  | { group: string; kind: 'group/config/desired' };

export function parseTopic(topic: string): ParsedTopic | undefined {
  const levels = topic.split('/');
  if (levels.length < 4 || `${levels[0]}/${levels[1]}` !== TOPIC_ROOT) return undefined;
  const [, , owner, ...rest] = levels;
  const path = rest.join('/');
  if (owner === 'groups') {
    return rest.length === 3 && LEVEL.test(rest[0]) && `${rest[1]}/${rest[2]}` === 'config/desired' ? { group: rest[0], kind: 'group/config/desired' } : undefined;
  }
  if (!LEVEL.test(owner)) return undefined;
  if (path === 'presence' || path === 'config/desired' || path === 'config/reported') return { deviceId: owner, kind: path };
  if (rest[0] === 'cmd' && NAME.test(rest[1] ?? '')) {
    if (rest.length === 2) return { deviceId: owner, kind: 'cmd', name: rest[1] };
    if (rest.length === 3 && rest[2] === 'result') return { deviceId: owner, kind: 'cmd/result', name: rest[1] };
  }
  if (rest[0] === 'events' && rest.length === 2 && NAME.test(rest[1])) return { deviceId: owner, kind: 'event', stream: rest[1] };
  return undefined;
}
