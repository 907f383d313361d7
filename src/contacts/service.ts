import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join } from 'node:path';
import type { Clock, TimerHandle } from '../core/clock.js';
import type { EventBus } from '../core/bus.js';
import { DesklineError, errorMessage } from '../core/errors.js';
import type { BusEvents } from '../core/events.js';
import type { Logger } from '../core/log.js';
import type { Service } from '../core/services.js';
import type { ControlRegistry } from '../control/protocol.js';
import { formatNumberForDisplay } from '../numbers/numbers.js';
import type { Store } from '../store/types.js';
import { MAX_CSV_BYTES, exportContactsCsv, importContactsCsv, type CsvImportResult } from './csv.js';
import { ContactsRepository, MAX_SEARCH_LIMIT } from './repository.js';
import { DEFAULT_SEARCH_LIMIT, MAX_QUERY_LENGTH } from './search.js';
import type { Contact, ContactInput, ContactView, DuplicatePolicy } from './types.js';

export interface ContactsServiceContext {
  store: Store;
  control: ControlRegistry;
  bus: EventBus<BusEvents>;
  clock: Clock;
  log: Logger;
  /** the line's country (config device.country) */
  country: () => string;
  /** who this device is in the contacts' field stamps ('device:<deviceId>'), for the cloud sync's merge */
  origin?: string;
}

/** A search result as the CLI and web UI show it. */
export interface ContactSummary {
  id: string;
  name: string;
  company: string | null;
  tag: string | null;
  note: string | null;
  /** in the form the display shows them */
  numbers: string[];
  due: ContactView['due'];
}

const OWNER = 'contacts';
/**
 * This long after start (or a change) the search index is built (its keys collection opened and checked, in
 * short slices), then sorted in slices this big, this far apart.
 */
const WARM_UP_KEYS_PER_SLICE = 20_000;
const WARM_UP_PAUSE_MS = 50;
const WARM_UP_DELAY_MS = 2000;

/**
 * The contacts feature: opens the repository (other services, e.g. the screen pop, use `repository`),
 * publishes `contactChanged` for every change whoever made it, and serves the `contacts.*` control methods.
 */
export class ContactsService implements Service {
  #repository: ContactsRepository | null = null;
  readonly #off: Array<() => void> = [];
  #warmUp: TimerHandle | null = null;
  /** a warm-up step is running (building the index may take a while): changes meanwhile need no new one */
  #warming = false;

  constructor(private readonly ctx: ContactsServiceContext) {}

  /** Whether the repository is open (other services degrade without it rather than fail). */
  get running(): boolean {
    return this.#repository !== null;
  }

  get repository(): ContactsRepository {
    if (!this.#repository) throw new DesklineError('CONTACTS_NOT_STARTED', 'the contacts service is not running');
    return this.#repository;
  }

  async start(): Promise<void> {
    const { ctx } = this;
    const repository = await ContactsRepository.open({ store: ctx.store, country: ctx.country, clock: ctx.clock, log: ctx.log, origin: ctx.origin });
    this.#repository = repository;
    this.#off.push(
      repository.onChange((id, change) => {
        ctx.bus.emit('contactChanged', { id, change });
        if (!this.#warmUp && !this.#warming) this.scheduleWarmUp(WARM_UP_DELAY_MS);
      }),
      ctx.control.register(OWNER, 'contacts.search', (params) => this.searchCommand(params)),
      ctx.control.register(OWNER, 'contacts.get', (params) => this.getCommand(params)),
      ctx.control.register(OWNER, 'contacts.save', (params) => this.saveCommand(params)),
      ctx.control.register(OWNER, 'contacts.delete', (params) => this.deleteCommand(params)),
      ctx.control.register(OWNER, 'contacts.import', (params) => this.importCommand(params)),
      ctx.control.register(OWNER, 'contacts.export', (params) => this.exportCommand(params)),
    );
    this.scheduleWarmUp(WARM_UP_DELAY_MS);
    ctx.log.info({ contacts: repository.count }, `contacts: ${repository.count} loaded`);
  }

  stop(): void {
    for (const off of this.#off.splice(0)) off();
    this.ctx.clock.clear(this.#warmUp);
    this.#warmUp = null;
    this.#warming = false;
    this.#repository?.close();
    this.#repository = null;
  }

  /** Build and sort the search index in small slices after start and after changes, so searches do not pay for it. */
  private scheduleWarmUp(delayMs: number): void {
    this.#warmUp = this.ctx.clock.setTimeout(() => {
      this.#warmUp = null;
      const repository = this.#repository;
      if (!repository) return;
      this.#warming = true;
      repository.warmUp(WARM_UP_KEYS_PER_SLICE).then(
        (done) => {
          this.#warming = false;
          if (this.#repository === repository && !done && !this.#warmUp) this.scheduleWarmUp(WARM_UP_PAUSE_MS);
        },
        (error: unknown) => {
          this.#warming = false;
          // stopped meanwhile: nothing to report
          if (this.#repository === repository) this.ctx.log.error({ err: error }, `contacts: search index not built: ${errorMessage(error)}`);
        },
      );
    }, delayMs);
  }

  summary(id: string, entry: ContactView): ContactSummary {
    const country = this.ctx.country();
    return {
      id,
      name: entry.name,
      company: entry.company,
      tag: entry.tags[0] ?? null,
      note: entry.note,
      numbers: entry.numbers.map((key) => formatNumberForDisplay(key, country)),
      due: entry.due,
    };
  }

  private async searchCommand(params: unknown): Promise<{ results: ContactSummary[] }> {
    const p = paramsObject('contacts.search', params, '{"query": string, "limit"?: number}');
    const query = stringParam('contacts.search', p, 'query', MAX_QUERY_LENGTH);
    let limit = DEFAULT_SEARCH_LIMIT;
    if (p.limit !== undefined) {
      if (!Number.isInteger(p.limit) || (p.limit as number) < 1 || (p.limit as number) > MAX_SEARCH_LIMIT) {
        throw badParams('contacts.search', `limit must be a whole number from 1 to ${MAX_SEARCH_LIMIT}`);
      }
      limit = p.limit as number;
    }
    const hits = await this.repository.search(query, limit);
    return { results: hits.map(({ id, entry }) => this.summary(id, entry)) };
  }

  private async getCommand(params: unknown): Promise<Contact> {
    const id = stringParam('contacts.get', paramsObject('contacts.get', params, '{"id": string}'), 'id', 100);
    const contact = await this.repository.get(id);
    if (!contact) throw new DesklineError('CONTACT_NOT_FOUND', `no contact '${id}'`);
    return contact;
  }

  /** Create (no id) or update (id: the fields given change, the others stay). */
  private async saveCommand(params: unknown): Promise<Contact> {
    const p = paramsObject('contacts.save', params, '{"contact": {"id"?: string, "name": string, ...}}');
    const contact = p.contact;
    if (typeof contact !== 'object' || contact === null || Array.isArray(contact)) throw badParams('contacts.save', 'contact must be an object: {"name": ..., "numbers": [...]}');
    const id = (contact as { id?: unknown }).id;
    if (id === undefined || id === null || id === '') return this.repository.create(contact as ContactInput);
    if (typeof id !== 'string') throw badParams('contacts.save', 'contact.id must be text');
    return this.repository.update(id, contact as ContactInput);
  }

  private async deleteCommand(params: unknown): Promise<{ deleted: boolean }> {
    const id = stringParam('contacts.delete', paramsObject('contacts.delete', params, '{"id": string}'), 'id', 100);
    return { deleted: await this.repository.delete(id) };
  }

  private async importCommand(params: unknown): Promise<CsvImportResult> {
    const p = paramsObject('contacts.import', params, '{"path": string, "onDuplicate"?: "merge" | "skip" | "create"}');
    const path = pathParam('contacts.import', p);
    const onDuplicate = p.onDuplicate ?? 'merge';
    if (onDuplicate !== 'merge' && onDuplicate !== 'skip' && onDuplicate !== 'create') {
      throw badParams('contacts.import', `onDuplicate must be 'merge', 'skip' or 'create', got ${JSON.stringify(onDuplicate)}`);
    }
    let size: number;
    try {
      const info = await stat(path);
      if (!info.isFile()) throw new DesklineError('CONTACT_IMPORT_FILE', `${path} is not a file`);
      size = info.size;
    } catch (error) {
      if (error instanceof DesklineError) throw error;
      const code = (error as NodeJS.ErrnoException).code;
      throw new DesklineError('CONTACT_IMPORT_FILE', code === 'ENOENT' ? `${path}: no such file` : `${path}: cannot read (${code ?? 'error'})`, { cause: error });
    }
    if (size > MAX_CSV_BYTES) {
      throw new DesklineError('CONTACT_IMPORT_TOO_LARGE', `${path} is ${(size / 1024 / 1024).toFixed(1)} MB, more than ${MAX_CSV_BYTES / 1024 / 1024} MB; split it into smaller files and import them one by one`);
    }
    const result = await importContactsCsv(this.repository, createReadStream(path), { onDuplicate: onDuplicate as DuplicatePolicy });
    this.ctx.log.info(
      { file: path, created: result.created, updated: result.updated, unchanged: result.unchanged, skipped: result.skipped, errors: result.errors.length },
      `contacts imported from ${path}: ${result.created} created, ${result.updated} updated, ${result.skipped} skipped`,
    );
    return result;
  }

  /** Written to a temporary file beside the target, then renamed: a reader never sees half a file. Mode 0600 (customer data). */
  private async exportCommand(params: unknown): Promise<{ path: string; count: number }> {
    const path = pathParam('contacts.export', paramsObject('contacts.export', params, '{"path": string}'));
    const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(4).toString('hex')}.part`);
    try {
      const { count } = await exportContactsCsv(this.repository, createWriteStream(temporary, { mode: 0o600, flags: 'wx' }));
      await rename(temporary, path);
      this.ctx.log.info({ file: path, count }, `contacts exported to ${path}: ${count}`);
      return { path, count };
    } catch (error) {
      await unlink(temporary).catch(() => undefined);
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'EACCES' || code === 'EROFS') throw new DesklineError('CONTACT_EXPORT_FILE', `cannot write ${path} (${code})`, { cause: error });
      throw error;
    }
  }
}

function badParams(method: string, message: string): DesklineError {
  return new DesklineError('CONTROL_BAD_PARAMS', `${method}: ${message}`);
}

function paramsObject(method: string, params: unknown, shape: string): Record<string, unknown> {
  if (typeof params !== 'object' || params === null || Array.isArray(params)) throw badParams(method, `takes ${shape}`);
  return params as Record<string, unknown>;
}

function stringParam(method: string, params: Record<string, unknown>, name: string, maxLength: number): string {
  const value = params[name];
  if (typeof value !== 'string') throw badParams(method, `${name} must be text`);
  if (value.length > maxLength) throw badParams(method, `${name} is longer than ${maxLength} characters`);
  return value;
}

function pathParam(method: string, params: Record<string, unknown>): string {
  const path = stringParam(method, params, 'path', 4096);
  if (!isAbsolute(path)) throw badParams(method, `path must be absolute (the daemon does not share the caller's working directory), got '${path}'`);
  return path;
}
