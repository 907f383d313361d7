import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Board } from '../board/board.js';
import { AnalogLine } from '../calls/analog-line.js';
import { SimLine } from '../calls/sim-line.js';
import { CallService } from '../calls/service.js';
import { CloudService } from '../cloud/service.js';
import { resolveDeviceId } from '../cloud/device-id.js';
import { ContactsService } from '../contacts/service.js';
import type { Line } from '../calls/types.js';
import type { Config } from '../config/schema.js';
import { ControlService } from '../control/server.js';
import { ControlRegistry } from '../control/protocol.js';
import { EventBus } from '../core/bus.js';
import { DesklineError } from '../core/errors.js';
import { SystemClock, type Clock } from '../core/clock.js';
import type { BusEvents } from '../core/events.js';
import type { LogRing, Logger } from '../core/log.js';
import { projectRoot } from '../core/paths.js';
import { ServiceHost, type ServiceReport } from '../core/services.js';
import { loadUnifont } from '../display/font.js';
import { HidService } from '../hid/service.js';
import { HistoryService } from '../history/service.js';
import { MediaEngine } from '../media/engine.js';
import { OrdersService } from '../orders/service.js';
import { PhoneService } from '../phone/service.js';
import { PosService } from '../pos/service.js';
import { PrintingService } from '../printing/service.js';
import { RecordingsService } from '../recordings/service.js';
import { ReportsService } from '../reports/service.js';
import { ScreenPopService, type PoppedContact } from '../screen-pop/service.js';
import { advertisedAddress, sipLineAccount } from '../sip/config.js';
import { SipLine } from '../sip/line.js';
import { NetworkWatch } from '../sip/network-watch.js';
import { SipEndpoint } from '../sip/transport/index.js';
import { FileStore } from '../store/file-store.js';
import { SystemdNotifyService } from '../systemd/service.js';
import { unsupported } from '../cloud/commands.js';
import { APP_VERSION } from '../core/version.js';
import { WebService } from '../web/service.js';
import { SimExchange } from '../web/sim-exchange.js';
import { createDrivers, type DriverSet, type SimDrivers } from './drivers.js';
import { controlSocketPath } from './socket.js';

export interface AppOptions {
  config: Config;
  board: Board;
  dataDir: string;
  log: Logger;
  /** Defaults to the system clock (trusting wall time per `clock.trustWallTime`). */
  clock?: Clock;
  /** Defaults to config.control.socket, $RUNTIME_DIRECTORY/deskline.sock, or <data>/run/deskline.sock. */
  socketPath?: string;
  /** Process environment (NOTIFY_SOCKET, WATCHDOG_USEC under systemd); defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  /** The newest log lines (the daemon's logger writes them there too), for the cloud's logs.upload. */
  logRing?: LogRing;
  /**
   * What the cloud's config push joins its layers with, and how a pushed config is put in effect. Defaults: the
   * given config as the file layer, no local edits, and live changes only (a change that needs a restart is
   * logged and waits for the next start).
   */
  cloud?: {
    fileLayer: Record<string, unknown>;
    localEdits?: Record<string, unknown>;
    /** rebuild the runtime with this config (the daemon's restart loop) */
    restart(next: Config, reason: string): void;
  };
}

export interface App {
  readonly board: Board;
  readonly bus: EventBus<BusEvents>;
  readonly drivers: DriverSet;
  /** The sim board's concrete drivers and line (null on real hardware). */
  readonly sim: (SimDrivers & { line: SimLine | null }) | null;
  readonly analogLine: AnalogLine | null;
  readonly sipLines: SipLine[];
  readonly phone: PhoneService;
  readonly web: WebService;
  readonly contacts: ContactsService;
  readonly history: HistoryService;
  readonly recordings: RecordingsService;
  readonly cloud: CloudService;
  readonly printing: PrintingService;
  readonly orders: OrdersService;
  readonly store: FileStore;
  /** the config in effect (a cloud push may have changed it since start) */
  config(): Config;
  readonly socketPath: string;
  start(): Promise<ServiceReport[]>;
  stop(): Promise<void>;
  report(): ServiceReport[];
}

/** The composition root: the one place that builds concrete drivers from the board file and wires services. */
export function createApp(options: AppOptions): App {
  const { board, log, dataDir } = options;
  // live settings are read through this binding, so a config applied by the cloud reaches them
  let config = options.config;
  const trust = config.clock.trustWallTime === 'auto' ? (board.id === 'sim' ? 'always' : 'timesync') : config.clock.trustWallTime;
  const ownClock = options.clock ? null : new SystemClock(trust);
  const clock = options.clock ?? ownClock!;
  const bus = new EventBus<BusEvents>(log.child({ ns: 'bus' }));
  const { drivers, sim } = createDrivers(board, clock, log);
  const control = new ControlRegistry();
  const socketPath = options.socketPath ?? controlSocketPath(config, dataDir);
  const current = () => config;
  const logFor = (ns: string) => log.child({ ns });

  const simLine = sim && config.simLine.enabled
    ? new SimLine({ clock, settings: () => ({ answerAfterMs: config.simLine.answerAfterMs, busyNumbers: config.simLine.busyNumbers }) })
    : null;
  // The analog line owns the MCU's line role and the caller-ID source.
  const analogLine = config.analogLine.enabled
    ? new AnalogLine({
      line: drivers.mcu.line, callerId: drivers.callerId, clock, log: logFor('analog'), settings: () => config.analogLine,
      onMessageWaiting: (waiting) => bus.emit('messageWaitingChanged', { lineId: 'analog', waiting }),
    })
    : null;
  // SIP lines share one media engine (a worker thread); real lines come before the simulated one.
  const engine = config.sip.accounts.length > 0 ? new MediaEngine({ clock }) : null;
  // ...and one SIP endpoint (socket): each request reaches its account by Call-ID or Request-URI user
  const listen = config.sip.listen;
  const sipTls: { ca?: Buffer; verify: boolean } = { verify: config.sip.tls.verify };
  const sipEndpoint = engine
    ? new SipEndpoint({ clock, log: logFor('sip'), port: listen.udp, tcpPort: listen.tcp === listen.udp ? undefined : listen.tcp, tls: sipTls })
    : null;
  // a new network (address) means the registrar may no longer reach us: register again at once
  const networkWatch = new NetworkWatch({
    clock,
    onChange: (now, before) => {
      log.info({ now, before }, 'network changed: registering the SIP accounts again');
      for (const line of sipLines) {
        try {
          line.account?.registerNow();
        } catch (error) {
          log.debug({ line: line.id, err: (error as Error).message }, 'not registering again');
        }
      }
    },
  });
  // The local store: contacts, history and recordings index under <data>/store (see src/store/types.ts).
  const store = new FileStore({
    dir: join(dataDir, 'store'), log,
    onRecovery: (report) => bus.emit('storeRecovered', report),
  });
  const country = () => config.device.country;
  const contacts = new ContactsService({ store, control, bus, clock, log: logFor('contacts'), country, origin: deviceOrigin(config) });
  // a caller's contact; none while the contacts service is not running (calls are still filed and popped)
  const contactOf = (number: string) => {
    if (!contacts.running) return null;
    const hit = contacts.repository.findByNumber(number);
    return hit ? { id: hit.id, entry: hit.entry } : null;
  };
  const recordings = new RecordingsService({
    bus, clock, log: logFor('recordings'), store, config: () => config.recording, dir: join(dataDir, 'recordings'),
    audio: drivers.audio, control, media: engine,
    contactTags: (number) => contactOf(number)?.entry.tags ?? [],
  });
  const sipLines = engine && sipEndpoint
    ? config.sip.accounts.map((account) => {
      const sipAccount = sipLineAccount(account, { endpoint: sipEndpoint, allowFrom: config.sip.allowFrom });
      return new SipLine({
        account: sipAccount, engine, clock, log: logFor(`sip:${account.id}`),
        localAddress: advertisedAddress(sipAccount.registrar ?? sipAccount.domain),
        settings: () => ({ autoAnswer: config.sip.autoAnswer }),
        recordPath: (call) => recordings.recordPathFor(call),
      });
    })
    : [];
  const lines: Line[] = [...sipLines, simLine, analogLine].filter((line): line is SipLine | SimLine | AnalogLine => line !== null);

  const calls = new CallService({ bus, clock, log: logFor('calls'), lines, country });
  const history = new HistoryService({
    bus, clock, log: logFor('history'), store, control, country,
    contactFor: (number) => {
      const hit = contactOf(number);
      return hit ? { id: hit.id, name: hit.entry.name } : null;
    },
  });
  const screenPop = new ScreenPopService({
    bus, log: logFor('screen-pop'), country, history: () => history.repository,
    contactFor: (number): PoppedContact | null => {
      const hit = contactOf(number);
      if (!hit) return null;
      const { entry } = hit;
      return {
        id: hit.id, name: entry.name, company: entry.company, tag: entry.tags[0] ?? null, note: entry.note, numberKeys: entry.numbers,
        openItems: entry.due ? [`${entry.due.kind} due ${entry.due.date}`] : [],
      };
    },
  });
  const phone = new PhoneService({
    bus, clock, control, config: current, log: logFor('phone'),
    keypad: drivers.mcu.keypad, display: drivers.mcu.display, indicators: drivers.mcu.indicators, audioRoute: drivers.mcu.audioRoute,
    loadFont: () => loadUnifont(config.display.font),
    calls,
    saveContact: async (number, name) => void (await contacts.repository.create({ name, numbers: [number] })),
    orders: { createOrder: (request) => orders.createOrder(request), printOrder: (orderId, by) => orders.printOrder(orderId, by) },
  });
  const printing = new PrintingService({ bus, clock, log: logFor('printing'), store, control, printer: drivers.printer, config: current });
  const web = new WebService({
    bus, board, config: current, log: logFor('web'),
    sim: sim ? {
      mcu: sim.mcu, line: simLine, exchange: analogLine ? new SimExchange(sim.mcu.line, sim.callerId, clock) : null, printer: sim.printer,
      scanner: sim.scanner ?? null, poleDisplay: sim.poleDisplay ?? null,
    } : null,
    publicDir: join(projectRoot(), 'src', 'web', 'public'),
    printJobs: () => printing.jobs(),
    // the Orders panel: the orders service is built right below (these run only once requests come)
    orders: {
      catalog: () => orders.catalog(),
      place: (request) => orders.createOrder(request),
      print: (orderId) => orders.printOrder(orderId, 'web'),
    },
  });
  const orders = new OrdersService({
    bus, clock, log: logFor('orders'), config: current, control, history: () => history.repository,
    printing: { print: (request) => printing.print(request) },
    customer: async ({ contactId, number }) => {
      if (!contacts.running) return null;
      const id = contactId ?? (number ? contacts.repository.findByNumber(number)?.id : undefined);
      const contact = id ? await contacts.repository.get(id) : undefined;
      return contact ? { id: contact.id, name: contact.name, address: contact.address } : null;
    },
  });
  const reports = new ReportsService({
    bus, clock, log: logFor('reports'), config: current, control, dataDir, history: () => history.repository,
    printing: { print: (request) => printing.print(request) },
  });
  const cloud = new CloudService({
    bus, clock, log: logFor('cloud'), store, config: current, dir: join(dataDir, 'cloud'),
    fileLayer: options.cloud?.fileLayer ?? options.config, localEdits: options.cloud?.localEdits ?? {},
    version: APP_VERSION,
    reconfigure: (next, how) => {
      if (how.restart && options.cloud) {
        options.cloud.restart(next, how.reason);
        return;
      }
      if (how.restart) log.warn({ reason: how.reason }, 'a config change needs a restart: it takes effect at the next start');
      config = next;
    },
    sipLineReady: (lineId) => calls.lineStatuses().some((s) => s.lineId === lineId && s.state === 'ready'),
    contacts: () => (contacts.running ? contacts.repository : null),
    recordings: () => {
      try {
        return recordings.repository;
      } catch {
        return null; // not started (or failed to)
      }
    },
    recordingsDir: join(dataDir, 'recordings'),
    callActive: () => calls.activeCalls().length > 0,
    logText: () => options.logRing?.text() ?? '',
    commands: {
      dial: async ({ args }) => {
        if (typeof args.number !== 'string' || !/^[+0-9*#]{1,32}$/.test(args.number)) {
          throw new DesklineError('CLOUD_BAD_ARGS', 'dial needs args.number: 1-32 digits, * or # (and a leading +)');
        }
        return calls.placeCall(args.number, typeof args.lineId === 'string' ? args.lineId : undefined);
      },
      hangup: async ({ args }) => {
        const active = calls.activeCalls();
        const target = typeof args.callId === 'string' ? active.filter((c) => c.callId === args.callId) : active;
        if (target.length === 0) throw new DesklineError('CALL_NOT_FOUND', typeof args.callId === 'string' ? `no call ${args.callId}` : 'no call to hang up');
        for (const call of target) await calls.hangup(call.callId);
        return { hungUp: target.map((c) => c.callId) };
      },
      'sms.send': unsupported('sending SMS'),
      print: async ({ args, by }) => {
        if (typeof args.template !== 'string') throw new DesklineError('CLOUD_BAD_ARGS', 'print needs args.template (order, customer-card, call-list, day-summary) and args.input');
        return printing.print({ template: args.template, input: args.input, by: `cloud:${by}`, copies: typeof args.copies === 'number' ? args.copies : undefined });
      },
    },
  });
  const host = new ServiceHost({ log: logFor('services'), bus });

  host
    .add({ name: 'mcu', create: () => ({ start: async () => void (await drivers.mcu.open()), stop: () => drivers.mcu.close() }) })
    .add({ name: 'control', create: () => new ControlService({ log: logFor('control'), control, socketPath }) })
    .add({
      name: 'media',
      create: () => ({
        start: async () => {
          if (engine) await engine.start();
        },
        stop: async () => engine?.stop(),
      }),
    })
    .add({
      name: 'sip',
      create: () => ({
        start: async () => {
          if (!sipEndpoint) return;
          if (config.sip.tls.caFile) sipTls.ca = await readCaFile(config.sip.tls.caFile);
          await sipEndpoint.listen();
          networkWatch.start();
        },
        stop: async () => {
          networkWatch.stop();
          await sipEndpoint?.close();
        },
      }),
    })
    .add({
      name: 'store',
      create: () => ({
        start: async () => void (await mkdir(join(dataDir, 'store'), { recursive: true, mode: 0o700 })),
        stop: () => store.close(),
      }),
    })
    .add({ name: 'contacts', deps: ['store'], create: () => contacts })
    // history, screen pop and recordings start before the calls so they hear every call from its first event
    .add({ name: 'history', deps: ['store'], create: () => history })
    .add({ name: 'screen-pop', deps: ['contacts', 'history'], create: () => screenPop })
    .add({ name: 'recordings', deps: ['store', 'media'], create: () => recordings })
    .add({ name: 'calls', deps: ['media', 'sip', ...(analogLine ? ['mcu'] : [])], create: () => calls })
    // The web UI starts before the phone so it sees the phone's first screen and state.
    .add({ name: 'web', create: () => web })
    .add({ name: 'phone', deps: ['mcu', 'calls'], create: () => phone })
    .add({ name: 'hid', create: () => new HidService({ bus, log: logFor('hid'), hid: drivers.hid }) })
    .add({ name: 'pos', create: () => new PosService({ bus, clock, log: logFor('pos'), config: current, scanner: drivers.scanner, poleDisplay: drivers.poleDisplay }) })
    .add({ name: 'printing', deps: ['store'], create: () => printing })
    .add({ name: 'orders', deps: ['history', 'contacts', 'printing'], create: () => orders })
    .add({ name: 'reports', deps: ['history', 'printing'], create: () => reports })
    .add({ name: 'cloud', deps: ['store', 'calls', 'contacts', 'recordings', 'printing'], create: () => cloud })
    // Last: tells systemd we are ready once everything else has started (or failed).
    .add({
      name: 'systemd',
      create: () => new SystemdNotifyService({
        log: logFor('systemd'), clock, env: options.env ?? process.env,
        status: () => {
          const report = host.report().filter((r) => r.name !== 'systemd');
          return `board=${board.id};services_running=${report.filter((r) => r.status === 'running').length}/${report.length}`;
        },
      }),
    });

  control.register('app', 'status', () => ({
    board: board.id,
    services: host.report(),
    phone: phone.describe(),
    web: web.url,
    calls: calls.activeCalls(),
    lines: calls.lineStatuses(),
    cloud: cloud.describe(),
  }));

  return {
    board, bus, drivers, phone, web, socketPath, analogLine, sipLines, contacts, history, recordings, store, cloud, printing, orders,
    config: current,
    sim: sim ? { ...sim, line: simLine } : null,
    start: () => host.startAll(),
    stop: async () => {
      await host.stopAll();
      ownClock?.dispose();
    },
    report: () => host.report(),
  };
}

/** This device in contact field stamps: 'device:<deviceId>', or 'device' while it has no id (no cloud set up). */
function deviceOrigin(config: Config): string {
  try {
    return `device:${resolveDeviceId(config.device.id)}`;
  } catch {
    return 'device';
  }
}

async function readCaFile(path: string): Promise<Buffer> {
  try {
    const pem = await readFile(path);
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new Error('no PEM certificate in it');
    return pem;
  } catch (error) {
    throw new DesklineError('CONFIG_INVALID', `sip.tls.caFile ${path}: ${(error as Error).message}; give a PEM file of the CA certificates or leave it empty for the system roots`);
  }
}
