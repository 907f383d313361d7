/**
 * Commands from the cloud (issue #6 item 4; anchors: Tasmota commands, zigbee2mqtt's request/response envelope).
 * `dl/v1/{deviceId}/cmd/{name}` carries `{id, by, args, expiresAt?}` (QoS 1, never retained, with an MQTT 5
 * message expiry the broker enforces); the answer goes to `.../cmd/{name}/result` as `{id, status, data | error}`.
 *
 * - A command id runs once: it is written down (durably) before it runs, and a redelivery gets the first result
 *   again (or `error` INTERRUPTED when the runtime stopped while it ran).
 * - `expiresAt` (wall ms) is checked once the clock is trusted; an expired command is refused (`expired`).
 * - Every command is recorded with its admin identity (`by`) through `audit`.
 * - An unknown name, or one whose feature has not landed, answers `unsupported`.
 */
import type { Clock } from '../core/clock.js';
import { DesklineError, errorCode, errorMessage } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { DurableFile } from '../store/durable-file.js';
import { deviceTopics, parseTopic, type CloudPayloads } from './topics.js';
import type { CloudLink, CloudMessage } from './types.js';

export type CommandRequest = CloudPayloads['cmd'];
export type CommandResult = CloudPayloads['cmd/result'];

/** What a command handler gets: its arguments (validated by the handler) and who sent it. */
export interface CommandCall {
  name: string;
  id: string;
  by: string;
  args: Record<string, unknown>;
}

/** A handler returns the result's `data`; a thrown error with a `code` becomes `{status: 'error', error}`. */
export type CommandHandler = (call: CommandCall) => Promise<unknown> | unknown;

/** How many command ids (and their results) are remembered for redeliveries. */
export const REMEMBERED_COMMANDS = 500;
const MAX_ID = 128;

interface RememberedCommand {
  id: string;
  /** undefined while it runs */
  result?: CommandResult;
}

interface CommandLog {
  version: 1;
  commands: RememberedCommand[];
}

function isCommandLog(value: unknown): value is CommandLog {
  const v = value as Partial<CommandLog> | null;
  return typeof v === 'object' && v !== null && v.version === 1 && Array.isArray(v.commands);
}

/** Checks a command payload; returns the request or what is wrong with it. */
export function parseCommand(payload: Buffer): { request: CommandRequest } | { error: string; id?: string } {
  let value: unknown;
  try {
    value = JSON.parse(payload.toString());
  } catch {
    return { error: 'the command is not JSON' };
  }
  const v = value as Partial<CommandRequest> | null;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return { error: 'the command must be a JSON object {id, by, args}' };
  if (typeof v.id !== 'string' || v.id.length === 0 || v.id.length > MAX_ID) return { error: `id must be a string of 1-${MAX_ID} characters` };
  if (typeof v.by !== 'string' || v.by.length === 0 || v.by.length > 128) return { error: 'by must name the admin who sent the command', id: v.id };
  const args = v.args ?? {};
  if (typeof args !== 'object' || args === null || Array.isArray(args)) return { error: 'args must be a JSON object', id: v.id };
  if (v.expiresAt !== undefined && (typeof v.expiresAt !== 'number' || !Number.isFinite(v.expiresAt))) return { error: 'expiresAt must be wall time in ms', id: v.id };
  return { request: { id: v.id, by: v.by, args, ...(v.expiresAt !== undefined ? { expiresAt: v.expiresAt } : {}) } };
}

export interface CloudCommandsContext {
  link: CloudLink;
  clock: Clock;
  log: Logger;
  /** durable file remembering the command ids already run */
  logPath: string;
  handlers: Record<string, CommandHandler>;
  audit(entry: { by: string | null; action: string; detail: Record<string, unknown> }): void;
}

export class CloudCommands {
  #log: CommandLog = { version: 1, commands: [] };
  readonly #byId = new Map<string, RememberedCommand>();
  readonly #file: DurableFile<CommandLog>;
  #off: (() => Promise<void>) | null = null;
  /** commands run one at a time, in arrival order */
  #queue: Promise<void> = Promise.resolve();
  readonly #topics;

  constructor(private readonly context: CloudCommandsContext) {
    this.#file = new DurableFile(context.logPath, { is: isCommandLog, shape: 'a command log' });
    this.#topics = deviceTopics(context.link.deviceId);
  }

  async start(): Promise<void> {
    this.#log = (await this.#file.read()) ?? { version: 1, commands: [] };
    for (const command of this.#log.commands) this.#byId.set(command.id, command);
    void this.context.link.subscribe(this.#topics.commands, (message) => {
      this.#queue = this.#queue.then(() => this.#received(message)).catch((error: unknown) => {
        this.context.log.error({ err: errorMessage(error) }, 'a cloud command failed');
      });
    }).then((off) => (this.#off = off), (error: unknown) => this.context.log.warn({ err: errorMessage(error) }, 'not subscribed to commands'));
  }

  async stop(): Promise<void> {
    await this.#off?.().catch(() => undefined);
    this.#off = null;
    await this.#queue;
  }

  async #received(message: CloudMessage): Promise<void> {
    const topic = parseTopic(message.topic);
    if (topic?.kind !== 'cmd' || topic.deviceId !== this.context.link.deviceId) return; // our results echo under cmd/+/result? no: + is one level
    const { name } = topic;
    const parsed = parseCommand(message.payload);
    if ('error' in parsed) {
      this.context.log.warn({ name, problem: parsed.error }, 'refused a malformed cloud command');
      if (parsed.id) await this.#answer(name, { id: parsed.id, status: 'error', error: { code: 'CLOUD_BAD_COMMAND', message: parsed.error } });
      return;
    }
    const { request } = parsed;
    const known = this.#byId.get(request.id);
    if (known) {
      // a redelivery (QoS 1 is at least once): never run twice
      await this.#answer(name, known.result ?? { id: request.id, status: 'error', error: { code: 'INTERRUPTED', message: 'the phone restarted while this command ran; send it again with a new id' } });
      return;
    }
    const { clock } = this.context;
    this.context.audit({ by: request.by, action: `cmd.${name}`, detail: { id: request.id, args: Object.keys(request.args) } });
    const remembered: RememberedCommand = { id: request.id };
    await this.#remember(remembered);
    let result: CommandResult;
    if (request.expiresAt !== undefined && clock.wallTimeTrusted && clock.now() > request.expiresAt) {
      result = { id: request.id, status: 'expired', error: { code: 'CLOUD_COMMAND_EXPIRED', message: `expired at ${new Date(request.expiresAt).toISOString()}` } };
    } else {
      const handler = Object.hasOwn(this.context.handlers, name) ? this.context.handlers[name] : undefined;
      result = handler ? await this.#run(handler, { name, id: request.id, by: request.by, args: request.args }) : {
        id: request.id, status: 'unsupported', error: { code: 'CLOUD_COMMAND_UNSUPPORTED', message: `this phone has no '${name}' command` },
      };
    }
    remembered.result = result;
    await this.#persist();
    await this.#answer(name, result);
  }

  async #run(handler: CommandHandler, call: CommandCall): Promise<CommandResult> {
    try {
      const data = await handler(call);
      return { id: call.id, status: 'ok', ...(data === undefined ? {} : { data }) };
    } catch (error) {
      const code = errorCode(error) ?? 'COMMAND_FAILED';
      if (code === 'CLOUD_COMMAND_UNSUPPORTED') return { id: call.id, status: 'unsupported', error: { code, message: errorMessage(error) } };
      this.context.log.warn({ name: call.name, id: call.id, err: errorMessage(error) }, 'a cloud command failed');
      return { id: call.id, status: 'error', error: { code, message: errorMessage(error) } };
    }
  }

  async #remember(command: RememberedCommand): Promise<void> {
    this.#byId.set(command.id, command);
    this.#log.commands.push(command);
    while (this.#log.commands.length > REMEMBERED_COMMANDS) this.#byId.delete(this.#log.commands.shift()!.id);
    await this.#persist();
  }

  #persist(): Promise<void> {
    return this.#file.write(this.#log);
  }

  async #answer(name: string, result: CommandResult): Promise<void> {
    await this.context.link.publish(this.#topics.cmdResult(name), JSON.stringify(result), { qos: 1 }).catch((error: unknown) => {
      this.context.log.warn({ name, id: result.id, err: errorMessage(error) }, 'command result not published');
    });
  }
}

/** A handler for a command whose feature has not landed yet. */
export function unsupported(what: string): CommandHandler {
  return () => {
    throw new DesklineError('CLOUD_COMMAND_UNSUPPORTED', `${what} is not available on this phone yet`);
  };
}
