/**
 * The cloud feature: one MQTT link (link.ts) and what rides on it — config push (config-sync.ts), commands
 * (commands.ts) and the durable event outbox (outbox.ts), fed from the bus. Nothing runs when `cloud.url` is
 * empty. Topics: TOPICS.md.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { EventBus } from '../core/bus.js';
import type { Clock } from '../core/clock.js';
import { DesklineError, errorMessage } from '../core/errors.js';
import type { BusEvents } from '../core/events.js';
import type { Logger } from '../core/log.js';
import type { Config } from '../config/schema.js';
import type { Store } from '../store/types.js';
import { CloudCommands, type CommandHandler } from './commands.js';
import { CloudConfigSync, type ConfigReport } from './config-sync.js';
import { resolveDeviceId } from './device-id.js';
import { MqttLink, linkUpWithin } from './link.js';
import { EventOutbox } from './outbox.js';
import { DeviceIdentity, type TlsIdentity } from './identity.js';
import { ContactsSync } from './contacts-sync/device-sync.js';
import { FileUploader } from './files/uploader.js';
import { CloudUploads, type RecordingsSource } from './uploads.js';
import type { ContactsRepository } from '../contacts/repository.js';

type Json = Record<string, unknown>;

export interface CloudServiceContext {
  bus: EventBus<BusEvents>;
  clock: Clock;
  log: Logger;
  store: Store;
  config(): Config;
  /** <data>/cloud: the config state and the command log */
  dir: string;
  /** the config file's layer and the local edits, for joining the cloud's layers (config-layers.ts) */
  fileLayer: Json;
  localEdits: Json;
  version: string;
  /** puts a config in effect, rebuilding the runtime when `restart` (started, not awaited: it stops this service) */
  reconfigure(next: Config, how: { restart: boolean; reason: string }): void;
  /** the current registration state of SIP lines by id (true = registered) */
  sipLineReady(lineId: string): boolean;
  /** command handlers of the other features, by command name */
  commands: Record<string, CommandHandler>;
  /** the contacts (null while that feature is not running): synced both ways */
  contacts(): ContactsRepository | null;
  /** the recordings index (null while that feature is not running) and where the files are */
  recordings(): RecordingsSource | null;
  recordingsDir: string;
  /** a call is going on (uploads pause unless cloud.upload.duringCalls) */
  callActive(): boolean;
  /** the newest log lines, for logs.upload */
  logText(): string;
  machineIdFile?: string;
}

export class CloudService {
  #link: MqttLink | null = null;
  #outbox: EventOutbox | null = null;
  #sync: CloudConfigSync | null = null;
  #commands: CloudCommands | null = null;
  #uploader: FileUploader | null = null;
  #uploads: CloudUploads | null = null;
  #contactsSync: ContactsSync | null = null;
  readonly #off: Array<() => void> = [];

  constructor(private readonly ctx: CloudServiceContext) {}

  get link(): MqttLink | null {
    return this.#link;
  }

  get outbox(): EventOutbox | null {
    return this.#outbox;
  }

  get configSync(): CloudConfigSync | null {
    return this.#sync;
  }

  /** For `deskline status` and the technician: where the link and the pushed config stand. */
  describe(): { enabled: boolean; deviceId: string | null; connected: boolean; protocolVersion: 4 | 5 | null; outboxPending: number; config: ConfigReport | null } {
    return {
      enabled: this.#link !== null,
      deviceId: this.#link?.deviceId ?? null,
      connected: this.#link?.connected ?? false,
      protocolVersion: this.#link?.protocolVersion ?? null,
      outboxPending: this.#outbox?.pending ?? 0,
      config: this.#sync?.state.report ?? null,
    };
  }

  async start(): Promise<void> {
    const { ctx } = this;
    const config = ctx.config();
    if (!config.cloud.url) {
      ctx.log.info('no cloud link configured (cloud.url is empty)');
      return;
    }
    const deviceId = resolveDeviceId(config.device.id, ctx.machineIdFile);
    await mkdir(ctx.dir, { recursive: true, mode: 0o700 });
    const identity = new DeviceIdentity({ dir: join(ctx.dir, 'identity'), deviceId, now: () => (ctx.clock.wallTimeTrusted ? ctx.clock.now() : null) });
    const rotated = await identity.rotated();
    const tls = await readTls(config, rotated);
    const link = new MqttLink({
      deviceId, url: config.cloud.url, clock: ctx.clock, log: ctx.log.child({ ns: 'cloud:link' }), version: ctx.version,
      username: config.cloud.username || (tls?.cert ? undefined : deviceId),
      password: config.cloud.password || undefined,
      tls,
      backoff: { maxMs: config.cloud.reconnectMaxS * 1000 },
    });
    this.#link = link;
    const outbox = new EventOutbox({ store: ctx.store, clock: ctx.clock, log: ctx.log.child({ ns: 'cloud:outbox' }) });
    await outbox.open();
    this.#outbox = outbox;
    const audit = (entry: { by: string | null; action: string; detail: Json }) => {
      ctx.log.info({ audit: true, ...entry }, `audit: ${entry.action} by ${entry.by ?? 'the phone'}`);
      this.#event('audit', entry.action, { by: entry.by, ...entry.detail });
    };
    this.#sync = new CloudConfigSync({
      link, clock: ctx.clock, log: ctx.log.child({ ns: 'cloud:config' }), statePath: join(ctx.dir, 'config-state.json'),
      fileLayer: ctx.fileLayer, localEdits: ctx.localEdits, current: ctx.config, audit,
      apply: (next, how) => ctx.reconfigure(next, how),
      sipRegistered: (ids, deadlineMs) => this.#sipRegistered(ids, deadlineMs),
    });
    const uploader = new FileUploader({
      link, clock: ctx.clock, log: ctx.log.child({ ns: 'cloud:upload' }), stateDir: join(ctx.dir, 'uploads', 'progress'),
      mode: config.cloud.upload.mode, bytesPerSecond: config.cloud.upload.maxBytesPerSecond,
      paused: () => !ctx.config().cloud.upload.duringCalls && ctx.callActive(),
    });
    this.#uploader = uploader;
    const uploads = new CloudUploads({
      uploader, clock: ctx.clock, log: ctx.log.child({ ns: 'cloud:upload' }), recordings: ctx.recordings, recordingsDir: ctx.recordingsDir,
      spoolDir: join(ctx.dir, 'uploads', 'spool'), logText: ctx.logText, event: (type, data) => this.#event('uploads', type, data),
    });
    this.#uploads = uploads;
    const contacts = ctx.contacts();
    this.#contactsSync = contacts
      ? new ContactsSync({ link, contacts, store: ctx.store, clock: ctx.clock, log: ctx.log.child({ ns: 'cloud:contacts' }), country: () => ctx.config().device.country })
      : null;
    this.#commands = new CloudCommands({
      link, clock: ctx.clock, log: ctx.log.child({ ns: 'cloud:cmd' }), logPath: join(ctx.dir, 'commands.json'), audit,
      handlers: {
        ping: () => ({ pong: true, version: ctx.version, at: ctx.clock.wallTimeTrusted ? ctx.clock.now() : null, uptimeS: Math.round(process.uptime()) }),
        restart: () => {
          this.#restartSoon('restart command');
          return { restarting: true };
        },
        'recordings.upload': ({ args }) => {
          const ids = args.ids;
          if (ids !== undefined && (!Array.isArray(ids) || ids.length > 1000 || !ids.every((id) => typeof id === 'string'))) {
            throw new DesklineError('CLOUD_BAD_ARGS', 'recordings.upload takes args.ids: a list of at most 1000 recording ids (none = every recording not uploaded yet)');
          }
          return { queued: uploads.uploadRecordings(ids as string[] | undefined) };
        },
        'logs.upload': () => uploads.uploadLogs(),
        'cert.rotate': () => {
          if (!tls?.cert) throw new DesklineError('CERT_NOT_IN_USE', 'this phone connects with a user name and password, not a client certificate (set cloud.cert and cloud.key)');
          return identity.createRequest();
        },
        'cert.install': async ({ args }) => {
          const installed = await identity.install(args.certificate as string);
          // the link is rebuilt with the new identity (kept only if it connects)
          this.#restartSoon('new client certificate');
          return { ...installed, switching: true };
        },
        'contacts.resync': () => {
          if (!this.#contactsSync) throw new DesklineError('CONTACTS_NOT_STARTED', 'the contacts service is not running');
          return { resyncId: this.#contactsSync.requestResync('cloud command', true) };
        },
        ...ctx.commands,
      },
    });
    this.#forwardBusEvents();
    link.start();
    outbox.attach(link);
    await this.#sync.start();
    await this.#commands.start();
    await this.#contactsSync?.start();
    if (config.cloud.upload.auto) uploads.uploadRecordings();
    if (await identity.switchPending()) void this.#settleIdentitySwitch(identity, link);
  }

  /** Rebuilds the runtime half a second from now, so the command's answer goes out first. */
  #restartSoon(reason: string): void {
    this.ctx.clock.setTimeout(() => this.ctx.reconfigure(this.ctx.config(), { restart: true, reason }), 500);
  }

  /** A new client certificate is on trial: keep it if the link comes up in time, else put the old one back. */
  async #settleIdentitySwitch(identity: DeviceIdentity, link: MqttLink): Promise<void> {
    const { ctx } = this;
    const deadlineS = ctx.config().cloud.health.linkBackS;
    const up = await linkUpWithin(link, ctx.clock, deadlineS * 1000).up;
    await identity.settleSwitch(up);
    if (up) {
      this.#event('identity', 'cert.switched', { deviceId: link.deviceId });
      return;
    }
    ctx.log.warn({ deadlineS }, 'the cloud link did not come up with the new client certificate: back to the old one');
    this.#event('identity', 'cert.switch_failed', { reason: `cloud link not up within ${deadlineS} s with the new certificate` });
    ctx.reconfigure(ctx.config(), { restart: true, reason: 'new client certificate refused: back to the old one' });
  }

  async stop(): Promise<void> {
    for (const off of this.#off.splice(0)) off();
    this.#uploads?.stop();
    await this.#uploader?.close();
    await this.#contactsSync?.stop();
    await this.#commands?.stop();
    await this.#sync?.stop();
    this.#outbox?.detach();
    await this.#link?.close();
    this.#link = null;
  }

  /** Writes an event to the outbox (durably; published when the link allows). */
  #event(stream: string, type: string, data: Json): void {
    this.#outbox?.append(stream, type, data).catch((error: unknown) => {
      this.ctx.log.error({ stream, type, err: errorMessage(error) }, 'an event for the cloud could not be written');
    });
  }

  #forwardBusEvents(): void {
    const { bus } = this.ctx;
    this.#off.push(
      bus.on('cloud', 'callStateChanged', (call) => {
        if (call.state === 'ended') this.#uploader?.wake(); // uploads paused for the call go on
        if (call.state !== 'ended' && call.state !== 'active') return;
        this.#event('calls', call.state === 'ended' ? 'call.ended' : 'call.answered', {
          callId: call.callId, lineId: call.lineId, lineKind: call.lineKind, direction: call.direction, number: call.number,
          name: call.name, ...(call.reason ? { reason: call.reason } : {}), at: call.at,
        });
      }),
      bus.on('cloud', 'recordingSaved', (r) => {
        this.#event('recordings', 'recording.saved', { ...r });
        if (this.ctx.config().cloud.upload.auto) this.#uploads?.uploadRecordings([r.recordingId]);
      }),
      bus.on('cloud', 'peripheralChanged', (p) => this.#event('peripherals', p.attached ? 'peripheral.attached' : 'peripheral.detached', { ...p })),
      bus.on('cloud', 'printerChanged', (p) => this.#event('peripherals', 'printer.status', { ...p })),
      bus.on('cloud', 'printJobChanged', (j) => this.#event('printing', `job.${j.state}`, { ...j })),
      bus.on('cloud', 'orderPlaced', (o) => this.#event('orders', 'order.placed', { ...o })),
      bus.on('cloud', 'storeRecovered', (r) => this.#event('alarms', 'store.recovered', { ...r })),
      bus.on('cloud', 'serviceFailed', (s) => this.#event('alarms', 'service.failed', { ...s })),
      bus.on('cloud', 'recordingSuspendedChanged', (r) => this.#event('alarms', r.suspended ? 'recording.suspended' : 'recording.resumed', { ...r })),
    );
  }

  /** null once every account is registered, else why not when the deadline passed. */
  #sipRegistered(ids: string[], deadlineMs: number): Promise<string | null> {
    const { bus, clock, sipLineReady } = this.ctx;
    const waiting = new Set(ids.filter((id) => !sipLineReady(id)));
    if (waiting.size === 0) return Promise.resolve(null);
    const problems = new Map<string, string>();
    return new Promise((resolve) => {
      const off = bus.on('cloud', 'lineStatusChanged', (status) => {
        if (!waiting.has(status.lineId)) return;
        if (status.state === 'ready') waiting.delete(status.lineId);
        else if (status.problem) problems.set(status.lineId, status.problem);
        if (waiting.size === 0) finish(null);
      });
      const timer = clock.setTimeout(() => {
        const which = [...waiting].map((id) => `'${id}'${problems.has(id) ? ` (${problems.get(id)})` : ''}`).join(', ');
        finish(`SIP account ${which} not registered within ${Math.round(deadlineMs / 1000)} s`);
      }, deadlineMs);
      const finish = (result: string | null) => {
        clock.clear(timer);
        off();
        resolve(result);
      };
    });
  }
}

/** The CA and the client identity: a rotated one (identity.ts) before the one from provisioning (cloud.cert/key). */
async function readTls(config: Config, rotated: { cert: Buffer; key: Buffer } | null): Promise<TlsIdentity | undefined> {
  const { ca, cert, key } = config.cloud;
  if (rotated) return { ...(ca ? { ca: await readPem(ca, 'cloud.ca', '-----BEGIN CERTIFICATE-----') } : {}), ...rotated };
  if (!ca && !cert && !key) return undefined;
  if (Boolean(cert) !== Boolean(key)) throw new DesklineError('CONFIG_INVALID', 'cloud.cert and cloud.key go together: set both (client certificate) or neither (user name and password)');
  return {
    ...(ca ? { ca: await readPem(ca, 'cloud.ca', '-----BEGIN CERTIFICATE-----') } : {}),
    ...(cert ? { cert: await readPem(cert, 'cloud.cert', '-----BEGIN CERTIFICATE-----') } : {}),
    ...(key ? { key: await readPem(key, 'cloud.key', 'PRIVATE KEY-----') } : {}),
  };
}

async function readPem(path: string, field: string, marker: string): Promise<Buffer> {
  try {
    const pem = await readFile(path);
    if (!pem.includes(marker)) throw new Error(`no ${marker.replace(/-/g, '').trim().toLowerCase()} in it`);
    return pem;
  } catch (error) {
    throw new DesklineError('CONFIG_INVALID', `${field} ${path}: ${(error as Error).message}`);
  }
}
