/**
 * `deskline admin cmd <deviceId> <name> [json-args]`: a command to one device (QoS 1, not retained, with an MQTT 5
 * message expiry) and the wait for its result with the same id on `.../cmd/{name}/result`.
 */
import { randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import { checkLevel, deviceTopics, type CloudPayloads } from '../../cloud/topics.js';
import { errorMessage } from '../../core/errors.js';
import { EXIT } from '../context.js';
import { globals } from '../daemon.js';
import { AdminError, checkCmdResult, checkPresence, formatTime, positiveNumber, publish, readPayload, safeText, subscribe, syncWithBroker } from './common.js';
import { withSession } from './connect.js';

/** Most bytes of arguments given on the command line. */
const MAX_ARGS = 64 * 1024;

/** `[json-args]`: a JSON object, {} when absent. */
export function parseCommandArgs(text: string | undefined): Record<string, unknown> {
  if (text === undefined || text.trim() === '') return {};
  if (text.length > MAX_ARGS) throw new AdminError('ADMIN_BAD_ARGS', `json-args are ${text.length} characters; the limit is ${MAX_ARGS}`, EXIT.badConfig);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new AdminError('ADMIN_BAD_ARGS', `json-args are not JSON (${errorMessage(error)}); quote them for the shell: '{"number":"5551234"}'`, EXIT.badConfig);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new AdminError('ADMIN_BAD_ARGS', 'json-args must be a JSON object ({"key": value, ...})', EXIT.badConfig);
  return value as Record<string, unknown>;
}

/** The command payload; `expiresAt` mirrors the MQTT expiry for devices behind a 3.1.1 bridge. */
export function buildCommand(o: { by: string; args: Record<string, unknown>; expiresInS: number; now?: number; id?: string }): CloudPayloads['cmd'] {
  return { id: o.id ?? randomUUID(), by: o.by, args: o.args, expiresAt: (o.now ?? Date.now()) + o.expiresInS * 1000 };
}

export interface CommandOutcome {
  device: string;
  command: string;
  id: string;
  status: CloudPayloads['cmd/result']['status'];
  data?: unknown;
  error?: { code: string; message: string };
}

export function formatCommandOutcome(o: CommandOutcome): string {
  if (o.status === 'ok') {
    if (o.data === undefined) return `${o.device}: ${o.command} ok`;
    const lines = (JSON.stringify(o.data, null, 2) ?? '').split('\n');
    return [`${o.device}: ${o.command} ok`, ...lines.slice(0, 500).map((l) => safeText(l, 400)), ...(lines.length > 500 ? [`(${lines.length - 500} more lines; --json prints all)`] : [])].join('\n');
  }
  if (o.status === 'error') return `${o.device}: ${o.command} failed: ${safeText(o.error?.message ?? 'no message', 400)}${o.error?.code ? ` (${safeText(o.error.code, 64)})` : ''}`;
  if (o.status === 'unsupported') return `${o.device}: does not support the command '${o.command}'`;
  return `${o.device}: the command '${o.command}' expired before the device ran it`;
}

interface CmdOptions {
  expires: number;
  timeout: number;
}

async function runCommand(command: Command, deviceId: string, name: string, argsText: string | undefined, options: CmdOptions): Promise<void> {
  const json = Boolean(globals(command).json);
  let topics: ReturnType<typeof deviceTopics>;
  let topic: string;
  let resultTopic: string;
  try {
    topics = deviceTopics(checkLevel('device id', deviceId));
    topic = topics.cmd(name);
    resultTopic = topics.cmdResult(name);
  } catch (error) {
    throw new AdminError('ADMIN_BAD_ARGS', errorMessage(error), EXIT.badConfig);
  }
  const args = parseCommandArgs(argsText);

  const outcome = await withSession(command, async (session) => {
    const payload = buildCommand({ by: session.identity, args, expiresInS: options.expires });
    let presence: CloudPayloads['presence'] | null = null;
    let answer: (r: CloudPayloads['cmd/result']) => void = () => {};
    const answered = new Promise<CloudPayloads['cmd/result']>((resolve) => (answer = resolve));
    session.client.on('message', (t, message) => {
      if (t === topics.presence) {
        const p = readPayload(message, checkPresence);
        if (p.ok) presence = p.value;
      } else if (t === resultTopic) {
        const r = readPayload(message, checkCmdResult);
        if (r.ok && r.value.id === payload.id) answer(r.value);
      }
    });
    await subscribe(session.client, [resultTopic, topics.presence]);
    await syncWithBroker(session.client);
    const reason = await publish(session.client, topic, JSON.stringify(payload), { messageExpiryInterval: options.expires });
    if (reason === 0x10) {
      throw new AdminError('ADMIN_NO_SUBSCRIBER', `nobody receives ${topic}: ${deviceId} has no session at the broker (never connected, or its session expired); check the id with 'deskline admin devices'`);
    }
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), options.timeout * 1000)));
    let result: CloudPayloads['cmd/result'] | null;
    try {
      result = await Promise.race([answered, timedOut, session.lost]);
    } finally {
      clearTimeout(timer);
    }
    if (!result) {
      const known = presence as CloudPayloads['presence'] | null;
      const state = known ? `${deviceId} is ${known.state} since ${formatTime(known.at)}` : `no presence known for ${deviceId}`;
      throw new AdminError('ADMIN_CMD_TIMEOUT', `no result for '${name}' (id ${payload.id}) from ${deviceId} within ${options.timeout} s (${state}); the broker drops the command ${options.expires} s after it was sent`);
    }
    const done: CommandOutcome = { device: deviceId, command: name, id: payload.id, status: result.status, ...('data' in result ? { data: result.data } : {}), ...(result.error ? { error: result.error } : {}) };
    return done;
  });

  process.stdout.write(json ? `${JSON.stringify(outcome, null, 2)}\n` : `${formatCommandOutcome(outcome)}\n`);
  if (outcome.status !== 'ok') {
    throw new AdminError(`ADMIN_CMD_${outcome.status.toUpperCase()}`, json ? `${deviceId}: ${name}: ${outcome.status}` : '');
  }
}

export function addCmdCommand(admin: Command): void {
  admin
    .command('cmd')
    .argument('<deviceId>', 'the device to run the command on')
    .argument('<name>', "command name: lowercase words joined by '.' or '-' (e.g. sms.send, reboot)")
    .argument('[json-args]', 'arguments as one JSON object, e.g. \'{"number":"5551234"}\' (default {})')
    .description('send a command to a device and print its result (exit 1 when it fails, is unsupported, expires or times out)')
    .option('--expires <s>', 'seconds the broker keeps the command for an offline device (MQTT 5 message expiry)', positiveNumber('--expires', true), 60)
    .option('--timeout <s>', 'seconds to wait for the result', positiveNumber('--timeout'), 30)
    .action(async (deviceId: string, name: string, argsText: string | undefined, options: CmdOptions, command: Command) => runCommand(command, deviceId, name, argsText, options));
}
