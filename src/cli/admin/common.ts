/**
 * What the `deskline admin` commands share: the typed error, reading and checking what devices publish (bounded,
 * validated before use), printing device-supplied text safely, and the MQTT waits (subscribe, sync with the broker).
 */
import { randomBytes } from 'node:crypto';
import type { MqttClient } from 'mqtt';
import { TOPIC_ROOT, parseTopic, type CloudPayloads, type ConfigErrorItem } from '../../cloud/topics.js';
import { errorMessage } from '../../core/errors.js';
import { CliExit, EXIT } from '../context.js';

/** An admin command failed: `code` is stable, `exitCode` is one of EXIT; the message is printed as is. */
export class AdminError extends CliExit {
  constructor(
    readonly code: string,
    message: string,
    exitCode: number = EXIT.failure,
  ) {
    super(exitCode, message ? `deskline admin: ${message}` : '');
    this.name = 'AdminError';
  }
}

/** Payloads larger than this from the network are not parsed. */
export const MAX_PAYLOAD_BYTES = 256 * 1024;

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

/** JSON of a received payload, refused when oversized or malformed. */
export function parsePayload(payload: Buffer): Parsed<unknown> {
  if (payload.length > MAX_PAYLOAD_BYTES) return { ok: false, reason: `payload of ${payload.length} bytes (limit ${MAX_PAYLOAD_BYTES})` };
  if (payload.length === 0) return { ok: false, reason: 'empty payload' };
  try {
    return { ok: true, value: JSON.parse(payload.toString('utf8')) as unknown };
  } catch (error) {
    return { ok: false, reason: `not JSON (${errorMessage(error)})` };
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isTime = (v: unknown): v is number | null => v === null || (typeof v === 'number' && Number.isFinite(v));
const isRev = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

type Check<K extends keyof CloudPayloads> = (value: unknown) => Parsed<CloudPayloads[K]>;

const bad = (what: string): { ok: false; reason: string } => ({ ok: false, reason: what });

export const checkPresence: Check<'presence'> = (v) => {
  if (!isObject(v) || (v.state !== 'online' && v.state !== 'offline')) return bad('presence without state online|offline');
  if (!isTime(v.at ?? null)) return bad('presence with a bad `at`');
  return { ok: true, value: { state: v.state, at: (v.at as number | null | undefined) ?? null, ...(typeof v.version === 'string' ? { version: v.version } : {}) } };
};

/** a group name (topics.ts LEVEL) */
const GROUP = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

const REPORT_STATUS = new Set(['applied', 'rejected', 'pending_restart', 'reverted']);

function checkErrors(v: unknown): ConfigErrorItem[] | null {
  if (v === undefined) return [];
  if (!Array.isArray(v)) return null;
  const out: ConfigErrorItem[] = [];
  for (const item of v.slice(0, 200)) {
    if (!isObject(item) || typeof item.path !== 'string' || typeof item.message !== 'string') return null;
    out.push({ path: item.path, message: item.message });
  }
  return out;
}

export const checkReported: Check<'config/reported'> = (v) => {
  if (!isObject(v) || !isRev(v.rev)) return bad('report without an integer rev');
  if (typeof v.status !== 'string' || !REPORT_STATUS.has(v.status)) return bad(`report with an unknown status`);
  const errors = checkErrors(v.errors);
  if (!errors) return bad('report with malformed errors (want [{path, message}])');
  const localEdits = Array.isArray(v.localEdits) ? v.localEdits.filter((e): e is string => typeof e === 'string') : [];
  const groups: Record<string, number> = {};
  if (v.groups !== undefined) {
    if (!isObject(v.groups)) return bad('report with malformed groups (want {group: rev})');
    for (const [group, rev] of Object.entries(v.groups).slice(0, 64)) {
      if (!GROUP.test(group)) continue; // not a group name ('__proto__' included)
      if (!isRev(rev)) return bad(`report with a bad rev for group ${JSON.stringify(group.slice(0, 64))}`);
      groups[group] = rev;
    }
  }
  return {
    ok: true,
    value: {
      rev: v.rev,
      groups,
      status: v.status as CloudPayloads['config/reported']['status'],
      errors,
      appliedAt: isTime(v.appliedAt ?? null) ? ((v.appliedAt as number | null | undefined) ?? null) : null,
      localEdits,
      ...(typeof v.reason === 'string' ? { reason: v.reason } : {}),
    },
  };
};

export const checkDesired: Check<'config/desired'> = (v) => {
  if (!isObject(v) || !isRev(v.rev) || !isObject(v.config)) return bad('desired document is not {rev, config}');
  return { ok: true, value: { rev: v.rev, config: v.config } };
};

const RESULT_STATUS = new Set(['ok', 'error', 'unsupported', 'expired']);

export const checkCmdResult: Check<'cmd/result'> = (v) => {
  if (!isObject(v) || typeof v.id !== 'string' || typeof v.status !== 'string' || !RESULT_STATUS.has(v.status)) return bad('result without id and status');
  const error = isObject(v.error) ? { code: String(v.error.code ?? ''), message: String(v.error.message ?? '') } : undefined;
  return { ok: true, value: { id: v.id, status: v.status as CloudPayloads['cmd/result']['status'], ...('data' in v ? { data: v.data } : {}), ...(error ? { error } : {}) } };
};

export const checkEvent: Check<'event'> = (v) => {
  if (!isObject(v) || typeof v.id !== 'string' || typeof v.type !== 'string' || !Number.isSafeInteger(v.seq)) return bad('event without id, seq and type');
  return {
    ok: true,
    value: { id: v.id, stream: typeof v.stream === 'string' ? v.stream : '', seq: v.seq as number, at: isTime(v.at ?? null) ? ((v.at as number | null) ?? null) : null, type: v.type, data: isObject(v.data) ? v.data : {} },
  };
};

/** Parse a payload and check its shape in one go. */
export function readPayload<K extends keyof CloudPayloads>(payload: Buffer, check: Check<K>): Parsed<CloudPayloads[K]> {
  const parsed = parsePayload(payload);
  return parsed.ok ? check(parsed.value) : parsed;
}

/**
 * Text from the network made safe for a terminal: control characters (escape sequences could rewrite the
 * screen) shown as \uXXXX, and cut to `max` characters.
 */
export function safeText(text: string, max = 200): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}

/** Wall time in ms as an ISO string, '-' when unknown. */
export function formatTime(at: number | null | undefined): string {
  return typeof at === 'number' && Number.isFinite(at) ? new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z') : '-';
}

/** Subscribe (QoS 1) and turn a refusal into a clear error. */
export async function subscribe(client: MqttClient, filters: string[], options: { rh?: 0 | 1 | 2 } = {}): Promise<void> {
  try {
    const granted = await client.subscribeAsync(filters, { qos: 1, ...(options.rh !== undefined ? { rh: options.rh } : {}) });
    const refused = granted.filter((g) => g.qos >= 0x80);
    if (refused.length) throw Object.assign(new Error('Not authorized'), { code: refused[0].qos });
  } catch (error) {
    throw new AdminError('ADMIN_SUBSCRIBE_REFUSED', `the broker refused the subscription to ${filters.join(', ')} (${errorMessage(error)}): the admin identity needs read access to dl/v1/#`);
  }
}

/**
 * Waits until the broker has sent everything it queued for us so far (retained messages of earlier subscriptions
 * included): an UNSUBSCRIBE round trip, which brokers answer in order on a connection.
 */
export async function syncWithBroker(client: MqttClient): Promise<void> {
  await client.unsubscribeAsync(`dl/v1/admin-sync-${randomBytes(6).toString('hex')}`);
}

/** The retained config reports of every device, by device (subscribe, sync with the broker, a short grace, unsubscribe). */
export async function retainedReports(client: MqttClient, graceMs = 200): Promise<Map<string, CloudPayloads['config/reported']>> {
  const reports = new Map<string, CloudPayloads['config/reported']>();
  const filter = `${TOPIC_ROOT}/+/config/reported`;
  const onMessage = (topic: string, payload: Buffer, packet: { retain?: boolean }) => {
    const parsed = parseTopic(topic);
    if (!packet.retain || !parsed || !('deviceId' in parsed) || parsed.kind !== 'config/reported') return;
    const report = readPayload(payload, checkReported);
    if (report.ok) reports.set(parsed.deviceId, report.value);
  };
  client.on('message', onMessage);
  try {
    await subscribe(client, [filter]);
    await syncWithBroker(client);
    await sleep(graceMs);
    await client.unsubscribeAsync(filter);
  } finally {
    client.off('message', onMessage);
  }
  return reports;
}

/** Publish with QoS 1; resolves with the PUBACK reason code (0x10 = no subscriber got it). */
export async function publish(
  client: MqttClient,
  topic: string,
  payload: string,
  options: { retain?: boolean; messageExpiryInterval?: number } = {},
): Promise<number> {
  const codes = new Map<number, number>();
  const onPacket = (packet: { cmd: string; messageId?: number; reasonCode?: number }) => {
    if (packet.cmd === 'puback' && packet.messageId !== undefined) codes.set(packet.messageId, packet.reasonCode ?? 0);
  };
  client.on('packetreceive', onPacket);
  try {
    const sent = await client.publishAsync(topic, payload, {
      qos: 1,
      retain: options.retain ?? false,
      properties: { contentType: 'application/json', ...(options.messageExpiryInterval !== undefined ? { messageExpiryInterval: options.messageExpiryInterval } : {}) },
    });
    const id = (sent as { messageId?: number } | undefined)?.messageId;
    return id === undefined ? 0 : (codes.get(id) ?? 0);
  } catch (error) {
    throw new AdminError('ADMIN_PUBLISH_REFUSED', `the broker refused the publish to ${topic} (${errorMessage(error)}): the admin identity needs write access to dl/v1/#`);
  } finally {
    client.off('packetreceive', onPacket);
  }
}

/** Parse a positive number option (seconds, ms, counts). */
export function positiveNumber(name: string, integer = false, allowZero = false) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < 0 || (!allowZero && n === 0) || (integer && !Number.isInteger(n))) {
      throw new AdminError('ADMIN_BAD_OPTION', `${name} must be a ${allowZero ? 'non-negative' : 'positive'} ${integer ? 'integer' : 'number'}, got '${safeText(value, 40)}'`, EXIT.badConfig);
    }
    return n;
  };
}

/** A promise that resolves after ms. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
