/**
 * The print queue (issue #7 item 2): the one owner of the receipt printer. Slips are rendered when they are
 * queued (a later template or config change doesn't alter a queued slip), kept in the store with their bytes,
 * and printed one at a time, oldest first:
 *
 *   queued -> printing -> printed          the bytes were handed to the printer in one write
 *          -> cancelled                    by the clerk, the CLI or the cloud, while still queued
 *   printing -> queued                     the printer went away during the write (unplug, power): printed again
 *
 * A job waits while the printer is absent, offline, out of paper or has its cover open, and goes on when the
 * printer says it is ready (statusChanged / connectionChanged, and a slow poll). A job is marked `printing`
 * before its bytes go and `printed` as soon as the printer took them (one write), so a runtime killed while the
 * printer prints from its buffer doesn't print it again; a start that finds a job still `printing` (killed
 * during that write) prints it again, and the job's note says so.
 */
import { drawerKick } from '../../drivers/printer/escpos.js';
import type { ReceiptPrinter, PrinterStatus } from '../../drivers/printer/types.js';
import type { EventBus } from '../core/bus.js';
import type { Clock, TimerHandle } from '../core/clock.js';
import { DesklineError, errorCode, errorMessage } from '../core/errors.js';
import type { BusEvents } from '../core/events.js';
import type { Logger } from '../core/log.js';
import type { Config } from '../config/schema.js';
import type { ControlRegistry } from '../control/protocol.js';
import type { Collection, CollectionSpec, Store } from '../store/types.js';
import { renderOptions } from './render-options.js';
import { renderSlip, type SlipTemplateName } from './templates/index.js';

export type PrintJobState = 'queued' | 'printing' | 'printed' | 'cancelled';

/** A slip, or the cash drawer's kick (which goes through the queue so it never cuts into a slip's bytes). */
export type PrintJobKind = SlipTemplateName | 'drawer';

export interface PrintJob {
  id: string;
  /** order of arrival */
  seq: number;
  template: PrintJobKind;
  /** ESC/POS bytes, base64 */
  bytes: string;
  state: PrintJobState;
  /** how often its bytes were sent (more than 1: printed again after an unplug or a crash) */
  attempts: number;
  /** who asked: 'phone', 'cli', 'cloud:<admin>' */
  by: string;
  createdAt: number | null;
  printedAt: number | null;
  /** why it waits or was sent again */
  note: string | null;
}

type PrintJobEntry = Omit<PrintJob, 'bytes'>;

const TEMPLATES: readonly SlipTemplateName[] = ['order', 'customer-card', 'call-list', 'day-summary'];
const JOB_KINDS: readonly PrintJobKind[] = [...TEMPLATES, 'drawer'];
/** Jobs kept after printing or cancelling (for `printing.jobs`), newest first. */
const KEEP_FINISHED = 200;
/** How often a waiting queue asks the printer again when it says nothing by itself. */
const STATUS_POLL_MS = 5000;

function isPrintJob(doc: unknown): doc is PrintJob {
  const d = doc as Partial<PrintJob> | null;
  return typeof d === 'object' && d !== null && typeof d.id === 'string' && typeof d.seq === 'number' && typeof d.bytes === 'string' &&
    JOB_KINDS.includes(d.template as PrintJobKind) && ['queued', 'printing', 'printed', 'cancelled'].includes(d.state as string) &&
    typeof d.attempts === 'number' && typeof d.by === 'string';
}

export const PRINT_JOBS: CollectionSpec<PrintJob, PrintJobEntry> = {
  name: 'print-jobs',
  placement: { kind: 'hash', shards: 8 },
  entryOf: ({ bytes: _bytes, ...entry }) => entry,
  isValid: isPrintJob,
};

export interface PrintingServiceContext {
  bus: EventBus<BusEvents>;
  clock: Clock;
  log: Logger;
  store: Store;
  control: ControlRegistry;
  printer: ReceiptPrinter;
  config(): Config;
}

const OWNER = 'printing';

export class PrintingService {
  #jobs: Collection<PrintJob, PrintJobEntry> | null = null;
  #working = false;
  /** a kick came while the worker ran */
  #again = false;
  #stopped = false;
  #wait: TimerHandle | null = null;
  #status: PrinterStatus | null = null;
  #connected = false;
  readonly #off: Array<() => void> = [];

  constructor(private readonly ctx: PrintingServiceContext) {}

  async start(): Promise<void> {
    const { ctx } = this;
    this.#stopped = false;
    this.#jobs = await ctx.store.collection(PRINT_JOBS);
    // a job still `printing` means the runtime stopped during its write: it goes again, marked as a reprint
    for (const [id, entry] of this.#jobs.entries()) {
      if (entry.state === 'printing') await this.#jobs.update(id, (job) => ({ ...job, state: 'queued', note: 'interrupted while printing: printed again' }));
    }
    const printer = ctx.printer;
    const onStatus = (status: PrinterStatus) => this.#statusChanged(status);
    const onConnection = ({ connected }: { connected: boolean }) => {
      this.#connected = connected;
      ctx.bus.emit('printerChanged', { connected, status: this.#status });
      if (connected) this.#kick();
    };
    this.#off.push(printer.on('statusChanged', onStatus), printer.on('connectionChanged', onConnection));
    await printer.open();
    this.#off.push(
      ctx.control.register(OWNER, 'printing.print', (p) => this.print(printParams(p))),
      ctx.control.register(OWNER, 'printing.jobs', () => this.jobs()),
      ctx.control.register(OWNER, 'printing.cancel', (p) => this.cancel(idOf(p))),
      ctx.control.register(OWNER, 'printing.openDrawer', () => this.openDrawer('cli')),
      ctx.control.register(OWNER, 'printing.status', () => ({ connected: this.#connected, status: this.#status, queued: this.jobs().filter((j) => j.state === 'queued').length })),
    );
    this.#kick();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.ctx.clock.clear(this.#wait);
    for (const off of this.#off.splice(0)) off();
    await this.ctx.printer.close();
  }

  /** Renders a slip and queues it; resolves once the job is on disk. */
  async print(request: { template: string; input: unknown; by?: string; copies?: number }): Promise<{ jobIds: string[]; state: PrintJobState }> {
    this.#open();
    const template = request.template as SlipTemplateName;
    if (!TEMPLATES.includes(template)) {
      throw new DesklineError('PRINT_UNKNOWN_TEMPLATE', `no slip template '${String(request.template).slice(0, 40)}'; the templates are ${TEMPLATES.join(', ')}`);
    }
    const copies = request.copies ?? 1;
    if (!Number.isInteger(copies) || copies < 1 || copies > 10) throw new DesklineError('PRINT_BAD_COPIES', `copies must be 1 to 10, got ${String(copies)}`);
    const slip = renderSlip(template, request.input as never, renderOptions(this.ctx.config(), this.ctx.printer.paperWidthMm, this.ctx.log));
    const note = slip.fallbackReason ? `built-in template used: ${slip.fallbackReason}` : null;
    return this.#queue(template, slip.escpos, request.by ?? 'cli', copies, note);
  }

  /** Opens the cash drawer (ESC p on the configured pin), as the next job of the queue. */
  async openDrawer(by: string): Promise<{ jobIds: string[]; state: PrintJobState }> {
    const { pin, pulseMs } = this.ctx.config().printing.drawer;
    // off time twice the pulse: the drawer's solenoid rests before any next kick
    return this.#queue('drawer', drawerKick({ pin, onMs: pulseMs, offMs: 2 * pulseMs }), by, 1, null);
  }

  async #queue(template: PrintJobKind, bytes: Uint8Array, by: string, copies: number, note: string | null): Promise<{ jobIds: string[]; state: PrintJobState }> {
    const jobs = this.#open();
    const { clock } = this.ctx;
    let seq = Math.max(0, ...[...jobs.entries()].map(([, e]) => e.seq));
    const docs: PrintJob[] = [];
    for (let i = 0; i < copies; i++) {
      seq += 1;
      docs.push({
        id: `p${String(seq).padStart(6, '0')}`, seq, template, bytes: Buffer.from(bytes).toString('base64'), state: 'queued', attempts: 0, by,
        createdAt: clock.wallTimeTrusted ? clock.now() : null, printedAt: null, note,
      });
    }
    await jobs.putMany(docs);
    for (const doc of docs) this.#changed(doc);
    this.#kick();
    return { jobIds: docs.map((doc) => doc.id), state: 'queued' };
  }

  /** The jobs, oldest first. */
  jobs(): PrintJobEntry[] {
    return [...this.#open().entries()].map(([, e]) => e).sort((a, b) => a.seq - b.seq);
  }

  async cancel(id: string): Promise<PrintJobEntry> {
    const jobs = this.#open();
    const entry = jobs.entry(id);
    if (!entry) throw new DesklineError('PRINT_JOB_NOT_FOUND', `no print job ${id}`);
    if (entry.state !== 'queued') throw new DesklineError('PRINT_JOB_NOT_QUEUED', `job ${id} is ${entry.state}: only a queued job can be cancelled`);
    const job = await jobs.update(id, (doc) => ({ ...doc, state: 'cancelled' }));
    this.#changed(job!);
    await this.#prune();
    return jobs.entry(id) ?? entry;
  }

  #open(): Collection<PrintJob, PrintJobEntry> {
    if (!this.#jobs) throw new DesklineError('PRINT_NOT_STARTED', 'the print queue is not running');
    return this.#jobs;
  }

  #statusChanged(status: PrinterStatus): void {
    const before = this.#status;
    this.#status = status;
    this.#connected = true;
    if (JSON.stringify(before) !== JSON.stringify(status)) this.ctx.bus.emit('printerChanged', { connected: true, status });
    if (ready(status)) this.#kick();
  }

  /** Starts the worker if it is idle, or has it look again when it finishes (a change may have come mid-pass). */
  #kick(): void {
    if (this.#stopped || !this.#jobs) return;
    if (this.#working) {
      this.#again = true;
      return;
    }
    this.ctx.clock.clear(this.#wait);
    this.#wait = null;
    this.#working = true;
    this.#again = false;
    this.#work().catch((error: unknown) => this.ctx.log.error({ err: errorMessage(error) }, 'print queue failed')).finally(() => {
      this.#working = false;
      if (this.#again) this.#kick();
    });
  }

  async #work(): Promise<void> {
    const jobs = this.#open();
    for (;;) {
      if (this.#stopped) return;
      const next = this.jobs().find((j) => j.state === 'queued');
      if (!next) return;
      const problem = await this.#notReady();
      if (problem) {
        await jobs.update(next.id, (job) => (job.note === problem ? job : { ...job, note: problem }));
        this.#waitAndRetry();
        return;
      }
      const job = await jobs.update(next.id, (doc) => ({ ...doc, state: 'printing', attempts: doc.attempts + 1 }));
      if (!job) continue;
      this.#changed(job);
      try {
        await this.ctx.printer.write(Buffer.from(job.bytes, 'base64'));
      } catch (error) {
        // the printer went away during the write: what it printed is lost with its buffer, so the job goes again
        const note = `printer error: ${errorMessage(error)}`;
        this.ctx.log.warn({ job: job.id, err: errorMessage(error), code: errorCode(error) }, 'print job not printed: it waits for the printer');
        this.#changed((await jobs.update(job.id, (doc) => ({ ...doc, state: 'queued', note })))!);
        this.#waitAndRetry();
        return;
      }
      const { clock } = this.ctx;
      const printed = await jobs.update(job.id, (doc) => ({ ...doc, state: 'printed', printedAt: clock.wallTimeTrusted ? clock.now() : null }));
      this.#changed(printed!);
      await this.#prune();
    }
  }

  /** Why the printer can't print now, or null when it can. */
  async #notReady(): Promise<string | null> {
    try {
      const status = await this.ctx.printer.status();
      this.#statusChanged(status);
      if (!status.online) return 'the printer is offline';
      if (status.coverOpen) return 'the printer cover is open';
      if (status.paperOut) return 'the printer is out of paper';
      return null;
    } catch (error) {
      this.#connected = false;
      return `the printer is not reachable (${errorMessage(error)})`;
    }
  }

  #waitAndRetry(): void {
    if (this.#stopped) return;
    this.ctx.clock.clear(this.#wait);
    this.#wait = this.ctx.clock.setTimeout(() => {
      this.#wait = null;
      this.#kick();
    }, STATUS_POLL_MS);
  }

  #changed(job: PrintJob | PrintJobEntry): void {
    this.ctx.bus.emit('printJobChanged', { id: job.id, template: job.template, state: job.state, attempts: job.attempts, note: job.note, by: job.by });
  }

  /** Keeps the newest finished jobs only. */
  async #prune(): Promise<void> {
    const finished = this.jobs().filter((j) => j.state === 'printed' || j.state === 'cancelled');
    for (const old of finished.slice(0, Math.max(0, finished.length - KEEP_FINISHED))) await this.#open().delete(old.id);
  }
}

function ready(status: PrinterStatus): boolean {
  return status.online && !status.coverOpen && !status.paperOut;
}

function printParams(p: unknown): { template: string; input: unknown; by?: string; copies?: number } {
  const params = p as { template?: unknown; input?: unknown; copies?: unknown } | null;
  if (typeof params?.template !== 'string') throw new DesklineError('PRINT_BAD_REQUEST', 'printing.print needs {template, input}');
  return { template: params.template, input: params.input, by: 'cli', copies: typeof params.copies === 'number' ? params.copies : undefined };
}

function idOf(p: unknown): string {
  const id = (p as { id?: unknown } | null)?.id;
  if (typeof id !== 'string' || id.length > 32) throw new DesklineError('PRINT_BAD_REQUEST', 'printing.cancel needs {id}');
  return id;
}
