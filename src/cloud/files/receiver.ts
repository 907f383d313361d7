/**
 * The cloud side of the generic file upload (protocol.ts): `deskline admin recordings receive` runs it over the
 * admin's mqtt.js session. It stores segments, confirms each to the device, and on fin verifies the SHA-256 and
 * moves the file to `<dir>/<deviceId>/<name>`.
 *
 * Several receivers may share one directory (and a shared subscription, `$share/<group>/dl/v1/+/files/#`), and a
 * restarted receiver continues where the last one stopped, because everything about a transfer is on disk:
 *   <dir>/.partial/<deviceId>/<fileId>/init.json   the init document (written temp + rename)
 *   <dir>/.partial/<deviceId>/<fileId>/data        segments written at their offsets (fdatasync before the record)
 *   <dir>/.partial/<deviceId>/<fileId>/received    the sidecar: one line per stored segment offset, appended with
 *                                                  O_APPEND (one small write: whole lines even from several processes)
 *   <dir>/.partial/<deviceId>/<fileId>/done.json   after the move: lets a repeated fin or init be answered
 * A record in `received` is only written after its bytes are on disk; a record lost in a crash costs a resend.
 */
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { appendFile, mkdir, open, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { extname, join, relative } from 'node:path';
import type { MqttClient } from 'mqtt';
import { errorCode, errorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import {
  DEFAULT_MAX_FILE_BYTES, FileTransferError, MAX_LISTED_OFFSETS, MAX_SEGMENT_BYTES, fileReceiverFilter, fileTopics, parseFileInit, parseFileTopic,
  type FileAck, type FileInit, type ParsedFileTopic,
} from './protocol.js';
import { writeFileAtomic } from '../../store/durable-file.js';

export interface FileReceiverOptions {
  /** the admin's MQTT session (connected or connecting) */
  client: MqttClient;
  /** where files land (`<dir>/<deviceId>/<name>`); created */
  dir: string;
  /** receive through the shared subscription `$share/<group>/...`, so several receivers split the work */
  shareGroup?: string;
  log: Logger;
  /** the largest file accepted (default 2 GiB) */
  maxFileBytes?: number;
  /** called once per file that arrived whole and verified */
  onFile?: (file: ReceivedFile) => void;
}

export interface ReceivedFile {
  deviceId: string;
  fileId: string;
  name: string;
  /** where it was stored */
  path: string;
  size: number;
  sha256: string;
}

export interface ReceiverStats {
  /** segments stored */
  segments: number;
  /** segments that arrived again after this receiver had stored them (redeliveries, resends) */
  duplicateSegments: number;
  files: number;
  /** messages refused (malformed, conflicting, too large) */
  refused: number;
}

interface DoneRecord {
  name: string;
  size: number;
  checksum: string;
  /** relative to the receive directory */
  path: string;
}

export class FileReceiver {
  readonly #maxFileBytes: number;
  /** per transfer (`deviceId/fileId`): its messages are handled one after another */
  readonly #queues = new Map<string, Promise<void>>();
  /** per transfer: the offsets this process knows are stored (duplicates are counted, not written again) */
  readonly #known = new Map<string, Set<number>>();
  readonly #stats: ReceiverStats = { segments: 0, duplicateSegments: 0, files: 0, refused: 0 };
  readonly #onMessage = (topic: string, payload: Buffer) => this.#handle(topic, payload);
  /**
   * Subscribes again on every reconnect, session or not: a broker may come back from a restart without our
   * subscription, and a SUBSCRIBE to a filter we hold already changes nothing. A shared subscription is dropped
   * and made again: Mosquitto 2.0 restores a persistent session's shared subscription from its store in a state
   * that routes nothing and that a plain SUBSCRIBE does not mend (seen with 2.0.11); what arrives in between is
   * resent by the device when its confirmation does not come.
   */
  readonly #onConnect = () => {
    const filter = this.#filter;
    if (!filter) return;
    const { client } = this.options;
    if (this.options.shareGroup === undefined) client.subscribe(filter, { qos: 1 });
    else client.unsubscribe(filter, () => client.subscribe(filter, { qos: 1 }));
  };
  #filter: string | null = null;

  constructor(private readonly options: FileReceiverOptions) {
    this.#maxFileBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  }

  get stats(): ReceiverStats {
    return { ...this.#stats };
  }

  async start(): Promise<void> {
    await mkdir(join(this.options.dir, '.partial'), { recursive: true, mode: 0o700 });
    const filter = fileReceiverFilter(this.options.shareGroup);
    this.options.client.on('message', this.#onMessage);
    await this.options.client.subscribeAsync(filter, { qos: 1 });
    this.#filter = filter;
    this.options.client.on('connect', this.#onConnect);
    this.options.log.info({ filter, dir: this.options.dir }, 'file receiver listening');
  }

  /** Unsubscribes and waits for the messages in hand. */
  async stop(): Promise<void> {
    this.options.client.removeListener('message', this.#onMessage);
    this.options.client.removeListener('connect', this.#onConnect);
    if (this.#filter && this.options.client.connected) await this.options.client.unsubscribeAsync(this.#filter).catch(() => undefined);
    this.#filter = null;
    await Promise.all([...this.#queues.values()]);
  }

  #handle(topic: string, payload: Buffer): void {
    const parsed = parseFileTopic(topic);
    if (!parsed || parsed.command === 'ack') return; // not ours, or our own answer
    const key = `${parsed.deviceId}/${parsed.fileId}`;
    const previous = this.#queues.get(key) ?? Promise.resolve();
    const next = previous
      .then(() => this.#dispatch(parsed, payload))
      .catch((error: unknown) => this.options.log.error({ topic, err: errorMessage(error) }, 'file message not handled'))
      .finally(() => {
        if (this.#queues.get(key) === next) this.#queues.delete(key);
      });
    this.#queues.set(key, next);
  }

  async #dispatch(message: Exclude<ParsedFileTopic, { command: 'ack' }>, payload: Buffer): Promise<void> {
    switch (message.command) {
      case 'init':
        return this.#init(message.deviceId, message.fileId, payload);
      case 'segment':
        return this.#segment(message.deviceId, message.fileId, message.offset, message.checksum, payload);
      case 'fin':
        return this.#fin(message.deviceId, message.fileId, message.size, message.checksum);
      case 'abort':
        this.#known.delete(`${message.deviceId}/${message.fileId}`);
        await rm(this.#partialDir(message.deviceId, message.fileId), { recursive: true, force: true });
        this.options.log.info({ deviceId: message.deviceId, fileId: message.fileId }, 'file upload aborted by the device');
        return;
    }
  }

  // ---- init ----------------------------------------------------------------------------------------------------------

  async #init(deviceId: string, fileId: string, payload: Buffer): Promise<void> {
    let init: FileInit;
    try {
      init = parseFileInit(payload, { maxFileBytes: this.#maxFileBytes });
    } catch (error) {
      return this.#refuse(deviceId, fileId, 'bad_init', errorMessage(error));
    }
    const done = await this.#readDone(deviceId, fileId);
    if (done) {
      if (done.name === init.name && done.size === init.size && done.checksum === init.checksum) return this.#ack(deviceId, fileId, { type: 'init', received: [], complete: true });
      return this.#refuse(deviceId, fileId, 'conflict', `file id ${fileId} was used for another file (${done.name})`);
    }
    const known = await this.#readInit(deviceId, fileId);
    if (known) {
      if (known.name !== init.name || known.size !== init.size || known.checksum !== init.checksum || known.segment_size !== init.segment_size) {
        return this.#refuse(deviceId, fileId, 'conflict', `file id ${fileId} is in use for another file (${known.name}, ${known.size} bytes)`);
      }
      const received = [...(await this.#received(deviceId, fileId, known))].sort((a, b) => a - b).slice(0, MAX_LISTED_OFFSETS);
      this.options.log.info({ deviceId, fileId, name: init.name, resumedSegments: received.length }, 'file upload resumed');
      return this.#ack(deviceId, fileId, { type: 'init', received, complete: false });
    }
    const dir = this.#partialDir(deviceId, fileId);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeFileAtomic(join(dir, 'init.json'), JSON.stringify(init));
    this.#known.set(`${deviceId}/${fileId}`, new Set());
    this.options.log.info({ deviceId, fileId, name: init.name, bytes: init.size }, 'file upload started');
    return this.#ack(deviceId, fileId, { type: 'init', received: [], complete: false });
  }

  // ---- segments ------------------------------------------------------------------------------------------------------

  async #segment(deviceId: string, fileId: string, offset: number, checksum: string | undefined, payload: Buffer): Promise<void> {
    const init = await this.#readInit(deviceId, fileId);
    if (!init) {
      if (await this.#readDone(deviceId, fileId)) return this.#ack(deviceId, fileId, { type: 'segment', offset, status: 'ok' });
      // EIP-0021 0x10 in our words: no such transfer here (lost, aborted, never initialised): init again
      return this.#ack(deviceId, fileId, { type: 'restart', reason: `no transfer ${fileId} (init first)` });
    }
    const segmentSize = init.segment_size ?? MAX_SEGMENT_BYTES;
    const expected = offset < init.size ? Math.min(segmentSize, init.size - offset) : -1;
    if (offset % segmentSize !== 0 || expected < 0 || payload.length !== expected) {
      return this.#refuse(deviceId, fileId, 'bad_segment', `segment at ${offset} with ${payload.length} bytes does not fit ${init.size} bytes in segments of ${segmentSize}`);
    }
    if (checksum !== undefined && createHash('sha256').update(payload).digest('hex') !== checksum) {
      // EIP-0021: a segment failing its checksum is rejected and sent again (0x80)
      this.#stats.refused += 1;
      return this.#ack(deviceId, fileId, { type: 'segment', offset, status: 'retry', reason: 'segment checksum mismatch' });
    }
    const received = await this.#received(deviceId, fileId, init);
    if (received.has(offset)) {
      this.#stats.duplicateSegments += 1;
      return this.#ack(deviceId, fileId, { type: 'segment', offset, status: 'ok' });
    }
    const dir = this.#partialDir(deviceId, fileId);
    // O_RDWR | O_CREAT, not 'a': positional writes, and several receivers may write their segments into one file
    const data = await open(join(dir, 'data'), constants.O_RDWR | constants.O_CREAT, 0o600);
    try {
      await data.write(payload, 0, payload.length, offset);
      await data.datasync();
    } finally {
      await data.close();
    }
    await appendFile(join(dir, 'received'), `${offset}\n`, { mode: 0o600 });
    received.add(offset);
    this.#stats.segments += 1;
    return this.#ack(deviceId, fileId, { type: 'segment', offset, status: 'ok' });
  }

  // ---- fin -----------------------------------------------------------------------------------------------------------

  async #fin(deviceId: string, fileId: string, size: number, checksum: string): Promise<void> {
    const key = `${deviceId}/${fileId}`;
    const done = await this.#readDone(deviceId, fileId);
    if (done) {
      if (done.size === size && done.checksum === checksum) return this.#ack(deviceId, fileId, { type: 'fin', status: 'ok', size, checksum });
      return this.#refuse(deviceId, fileId, 'conflict', `file id ${fileId} was used for another file (${done.name})`);
    }
    const init = await this.#readInit(deviceId, fileId);
    if (!init) return this.#ack(deviceId, fileId, { type: 'restart', reason: `no transfer ${fileId} (init first)` });
    if (init.size !== size || init.checksum !== checksum) {
      return this.#refuse(deviceId, fileId, 'conflict', `fin says ${size} bytes / ${checksum}, init said ${init.size} / ${init.checksum}`);
    }
    // the sidecar is the truth here (another receiver may have stored segments this one never saw)
    this.#known.delete(key);
    const received = await this.#received(deviceId, fileId, init);
    const segmentSize = init.segment_size ?? MAX_SEGMENT_BYTES;
    const missing: number[] = [];
    for (let offset = 0; offset < init.size; offset += segmentSize) if (!received.has(offset)) missing.push(offset);
    if (missing.length > 0) {
      this.options.log.info({ deviceId, fileId, missing: missing.length }, 'fin before every segment arrived');
      return this.#ack(deviceId, fileId, { type: 'fin', status: 'incomplete', missing: missing.slice(0, MAX_LISTED_OFFSETS) });
    }
    const dir = this.#partialDir(deviceId, fileId);
    const dataPath = join(dir, 'data');
    if (init.size === 0) await (await open(dataPath, constants.O_RDWR | constants.O_CREAT, 0o600)).close(); // no segment wrote it
    let actual: string;
    try {
      actual = await sha256File(dataPath, init.size);
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') throw error;
      // another receiver is finishing it right now (or the data went missing): the device inits again and learns which
      return this.#ack(deviceId, fileId, { type: 'restart', reason: 'the partial file is gone' });
    }
    if (actual !== checksum) {
      // EIP-0021 0x80 for fin: "retransmit all segments": the stored ones are dropped
      this.options.log.warn({ deviceId, fileId, expected: checksum, actual }, 'assembled file has another sha256: dropped');
      await unlink(dataPath).catch(() => undefined);
      await unlink(join(dir, 'received')).catch(() => undefined);
      this.#known.delete(key);
      return this.#ack(deviceId, fileId, { type: 'fin', status: 'checksum_mismatch', checksum: actual });
    }
    const deviceDir = join(this.options.dir, deviceId);
    await mkdir(deviceDir, { recursive: true, mode: 0o700 });
    const target = await this.#targetPath(deviceDir, init.name, fileId, checksum);
    if (target.existing) await unlink(dataPath);
    else await rename(dataPath, target.path);
    const record: DoneRecord = { name: init.name, size: init.size, checksum, path: relative(this.options.dir, target.path) };
    await writeFileAtomic(join(dir, 'done.json'), JSON.stringify(record));
    await unlink(join(dir, 'received')).catch(() => undefined);
    await unlink(join(dir, 'init.json')).catch(() => undefined);
    this.#known.delete(key);
    this.#stats.files += 1;
    this.options.log.info({ deviceId, fileId, path: target.path, bytes: init.size, sha256: checksum }, 'file received and verified');
    this.#ack(deviceId, fileId, { type: 'fin', status: 'ok', size: init.size, checksum });
    this.options.onFile?.({ deviceId, fileId, name: init.name, path: target.path, size: init.size, sha256: checksum });
  }

  /** `<deviceDir>/<name>`; when another file holds that name, `<stem>.<fileId><ext>`; the same content is kept once. */
  async #targetPath(deviceDir: string, name: string, fileId: string, checksum: string): Promise<{ path: string; existing: boolean }> {
    const plain = join(deviceDir, name);
    if (!(await exists(plain))) return { path: plain, existing: false };
    if ((await sha256File(plain, (await stat(plain)).size)) === checksum) return { path: plain, existing: true };
    const ext = extname(name);
    return { path: join(deviceDir, `${name.slice(0, name.length - ext.length)}.${fileId}${ext}`), existing: false };
  }

  // ---- state on disk -------------------------------------------------------------------------------------------------

  #partialDir(deviceId: string, fileId: string): string {
    // both are single topic levels (letters, digits, '_', '.', '-', not starting with '.'): safe as names
    return join(this.options.dir, '.partial', deviceId, fileId);
  }

  async #readInit(deviceId: string, fileId: string): Promise<FileInit | null> {
    const text = await readIfExists(join(this.#partialDir(deviceId, fileId), 'init.json'));
    return text === null ? null : parseFileInit(Buffer.from(text), { maxFileBytes: Number.MAX_SAFE_INTEGER });
  }

  async #readDone(deviceId: string, fileId: string): Promise<DoneRecord | null> {
    const text = await readIfExists(join(this.#partialDir(deviceId, fileId), 'done.json'));
    return text === null ? null : (JSON.parse(text) as DoneRecord);
  }

  /** The stored segments' offsets: this process's view, loaded from the sidecar the first time. */
  async #received(deviceId: string, fileId: string, init: FileInit): Promise<Set<number>> {
    const key = `${deviceId}/${fileId}`;
    let set = this.#known.get(key);
    if (set) return set;
    set = new Set();
    const text = (await readIfExists(join(this.#partialDir(deviceId, fileId), 'received'))) ?? '';
    const segmentSize = init.segment_size ?? MAX_SEGMENT_BYTES;
    for (const line of text.split('\n')) {
      if (!/^\d{1,15}$/.test(line)) continue; // a torn last line is not a record
      const offset = Number(line);
      if (offset < init.size && offset % segmentSize === 0) set.add(offset);
    }
    if (this.#known.size >= 1000) this.#known.clear(); // a cache, bounded
    this.#known.set(key, set);
    return set;
  }

  // ---- answers -------------------------------------------------------------------------------------------------------

  #refuse(deviceId: string, fileId: string, code: string, message: string): void {
    this.#stats.refused += 1;
    this.options.log.warn({ deviceId, fileId, code, reason: message }, 'file upload refused');
    this.#ack(deviceId, fileId, { type: 'rejected', code, message: message.slice(0, 500) });
  }

  #ack(deviceId: string, fileId: string, ack: FileAck): void {
    const topic = fileTopics(deviceId, fileId).ack;
    // not awaited: the broker's PUBACK is not needed before the next segment is stored
    this.options.client.publishAsync(topic, JSON.stringify(ack), { qos: 1 }).catch((error: unknown) => {
      this.options.log.warn({ topic, err: errorMessage(error) }, 'file ack not published (the device asks again)');
    });
  }
}

async function readIfExists(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return null;
    throw error;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return false;
    throw error;
  }
}

async function sha256File(path: string, size: number): Promise<string> {
  const handle = await open(path, 'r');
  try {
    const hash = createHash('sha256');
    const buffer = Buffer.alloc(1024 * 1024);
    for (let position = 0; position < size;) {
      const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, size - position), position);
      if (bytesRead === 0) throw new FileTransferError('FILE_BAD_INPUT', `${path} is shorter than ${size} bytes`);
      hash.update(buffer.subarray(0, bytesRead));
      position += bytesRead;
    }
    return hash.digest('hex');
  } finally {
    await handle.close();
  }
}
