/**
 * File upload over MQTT: the topics, payloads and input checks shared by the device (uploader.ts), the cloud
 * receiver (receiver.ts) and the tests. Two wire forms, one flow:
 *
 * - generic (any broker): the init / segment / fin shape of EMQX's File Transfer over MQTT (EIP-0021,
 *   https://github.com/emqx/eip/blob/main/implemented/0021-transfer-files-over-mqtt.md) moved under the device's
 *   own subtree, so a `dl/v1/%u/#` ACL covers it and any broker carries it:
 *     dl/v1/{deviceId}/files/{fileId}/init                  device -> cloud, JSON `FileInit`
 *     dl/v1/{deviceId}/files/{fileId}/{offset}[/{sha256}]   device -> cloud, the segment's bytes
 *     dl/v1/{deviceId}/files/{fileId}/fin/{size}/{sha256}   device -> cloud, no payload
 *     dl/v1/{deviceId}/files/{fileId}/abort                 device -> cloud, no payload
 *     dl/v1/{deviceId}/files/{fileId}/ack                   cloud -> device, JSON `FileAck`
 *   A broker's PUBACK only says the broker took a message; the receiver's `ack` says what the cloud stored. Its
 *   verdicts mirror EIP-0021's reason codes: ok = 0x00, `restart` = 0x10 (send everything again, from init),
 *   segment `retry` = 0x80 (send this segment again), `rejected` = 0x83 (give up).
 * - emqx (an EMQX broker with file transfer enabled): EMQX's own `$file/...` topics, answered by the broker in
 *   the PUBACK reason code (sync) or on `$file-response/{clientId}` (`$file-async/...`); see the EMQX docs,
 *   https://docs.emqx.com/en/emqx/latest/file-transfer/client.html.
 *
 * Every id in a topic is one topic level (letters, digits, '_', '.', '-'); everything read from the network is
 * bounded before it is parsed.
 */
import { DesklineError } from '../../core/errors.js';
import { TOPIC_ROOT, checkLevel } from '../topics.js';

/** Same rule as device ids (topics.ts): one topic level, no wildcards, no '$' prefix. */
const FILE_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;
/** A decimal byte offset or size as it appears in a topic level: no sign, no leading zeros, at most 15 digits. */
const DECIMAL = /^(?:0|[1-9][0-9]{0,14})$/;

/** EIP-0021: "the filename SHOULD be limited to 255 bytes"; EMQX's docs: at most 240 bytes. */
export const MAX_FILE_NAME_BYTES = 240;
/** The largest init document a receiver parses. */
export const MAX_INIT_BYTES = 4096;
/** The largest ack document a device parses (a `fin` verdict lists at most MAX_LISTED_OFFSETS offsets). */
export const MAX_ACK_BYTES = 64 * 1024;
/** How many offsets one ack lists at most (`init` received lists and `fin` missing lists are cut there). */
export const MAX_LISTED_OFFSETS = 4096;
/** Segment sizes the generic protocol accepts. */
export const MIN_SEGMENT_BYTES = 1024;
export const MAX_SEGMENT_BYTES = 1024 * 1024;
/** The default largest file a receiver accepts (a long call recording is far smaller). */
export const DEFAULT_MAX_FILE_BYTES = 2 * 1024 * 1024 * 1024;

export class FileTransferError extends DesklineError {
  constructor(code: FileTransferErrorCode, message: string, options?: { cause?: unknown; details?: unknown }) {
    super(code, message, options);
    this.name = 'FileTransferError';
  }
}

export type FileTransferErrorCode =
  /** a topic, payload or argument is not what the protocol allows */
  | 'FILE_BAD_INPUT'
  /** the cloud refused the transfer (EIP-0021 0x83, or the receiver's `rejected`) */
  | 'FILE_UPLOAD_REJECTED'
  /** the cloud's checksum of the assembled file differs from the device's, again after a full resend */
  | 'FILE_UPLOAD_CHECKSUM_MISMATCH'
  /** the local file is not the one the caller described (size or sha256 changed) */
  | 'FILE_UPLOAD_SOURCE_CHANGED'
  /** the broker keeps asking to start over (e.g. a broker without file transfer answers `$file` with 0x10) */
  | 'FILE_UPLOAD_NOT_ACCEPTED'
  /** the same file id is being uploaded already */
  | 'FILE_UPLOAD_BUSY'
  /** the uploader was closed while the upload ran (its progress is kept) */
  | 'FILE_UPLOAD_STOPPED';

export function checkFileId(fileId: string): string {
  if (!FILE_ID.test(fileId)) {
    throw new FileTransferError('FILE_BAD_INPUT', `file id '${fileId.slice(0, 80)}' can't be a topic level: use 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit`);
  }
  return fileId;
}

export function isSha256Hex(value: unknown): value is string {
  return typeof value === 'string' && SHA256_HEX.test(value);
}

/**
 * A file name a receiver may create in a directory: 1-240 UTF-8 bytes, no path separator, no NUL or control
 * characters, not '.'/'..' and not hidden (a leading '.' would clash with the receiver's `.partial`).
 */
export function fileNameProblem(name: unknown): string | null {
  if (typeof name !== 'string' || name.length === 0) return 'name must be a non-empty string';
  if (Buffer.byteLength(name, 'utf8') > MAX_FILE_NAME_BYTES) return `name is longer than ${MAX_FILE_NAME_BYTES} bytes`;
  if (/[/\\]/.test(name)) return 'name must not contain a path separator';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'name must not contain control characters';
  if (name.startsWith('.')) return "name must not start with '.'";
  return null;
}

// ---- generic protocol: payloads ------------------------------------------------------------------------------

/**
 * The init document. The field names are EMQX's init payload's (name, size, checksum, expire_at, segments_ttl;
 * EIP-0021 "init payload"), so one builder serves both modes; `segment_size` is Deskline's addition for the
 * generic receiver, which stores a bitmap of fixed-size segments instead of arbitrary byte ranges.
 */
export interface FileInit {
  name: string;
  /** bytes (mandatory here, informational in EMQX: its fin topic carries the size) */
  size: number;
  /** hex SHA-256 of the whole file */
  checksum: string;
  /** seconds since the epoch after which the cloud may delete the file (only sent when wall time is trusted) */
  expire_at?: number;
  /** seconds the cloud keeps segments of an unfinished transfer */
  segments_ttl?: number;
  /** free-form JSON about the file (e.g. the recording's id and call) */
  user_data?: Record<string, unknown>;
  /** generic protocol only: every segment but the last has exactly this many bytes, at offsets k * segment_size */
  segment_size?: number;
}

/** The receiver's answer on `.../files/{fileId}/ack`. */
export type FileAck =
  /** init accepted: the offsets the cloud already holds (a resumed transfer), or the whole file is in already */
  | { type: 'init'; received: number[]; complete: boolean }
  /** one segment stored (ok, EIP-0021 0x00) or to be sent again (retry, EIP-0021 0x80 for a segment) */
  | { type: 'segment'; offset: number; status: 'ok' | 'retry'; reason?: string }
  /** the cloud has no transfer by that id (lost, expired): init again and send what it lacks (EIP-0021 0x10) */
  | { type: 'restart'; reason: string }
  /** the file is assembled and its sha256 verified: only now may the device call it uploaded */
  | { type: 'fin'; status: 'ok'; size: number; checksum: string }
  /** fin came before every segment was stored: these are missing (at most MAX_LISTED_OFFSETS of them) */
  | { type: 'fin'; status: 'incomplete'; missing: number[] }
  /** the assembled file's sha256 differs (EIP-0021 0x80 for fin): the cloud dropped the segments, resend all */
  | { type: 'fin'; status: 'checksum_mismatch'; checksum: string }
  /** the transfer is refused for good (EIP-0021 0x83) */
  | { type: 'rejected'; code: string; message: string };

// ---- generic protocol: topics --------------------------------------------------------------------------------

export function fileTopics(deviceId: string, fileId: string) {
  const base = `${TOPIC_ROOT}/${checkLevel('device id', deviceId)}/files/${checkFileId(fileId)}`;
  return {
    base,
    init: `${base}/init`,
    segment: (offset: number, checksum?: string) => `${base}/${offsetLevel(offset)}${checksum === undefined ? '' : `/${checkedSha(checksum)}`}`,
    fin: (size: number, checksum: string) => `${base}/fin/${offsetLevel(size)}/${checkedSha(checksum)}`,
    abort: `${base}/abort`,
    ack: `${base}/ack`,
  };
}

/** What a device subscribes to for the receiver's acks of all its files. */
export function fileAckFilter(deviceId: string): string {
  return `${TOPIC_ROOT}/${checkLevel('device id', deviceId)}/files/+/ack`;
}

/** What a receiver subscribes to: every device's file topics, optionally as a shared subscription (MQTT 5 §4.8.2). */
export function fileReceiverFilter(shareGroup?: string): string {
  const filter = `${TOPIC_ROOT}/+/files/#`;
  if (shareGroup === undefined) return filter;
  if (!FILE_ID.test(shareGroup)) throw new FileTransferError('FILE_BAD_INPUT', `share group '${shareGroup.slice(0, 80)}' must be 1-64 letters, digits, '_', '.' or '-'`);
  return `$share/${shareGroup}/${filter}`;
}

export type ParsedFileTopic =
  | { deviceId: string; fileId: string; command: 'init' | 'abort' | 'ack' }
  | { deviceId: string; fileId: string; command: 'segment'; offset: number; checksum?: string }
  | { deviceId: string; fileId: string; command: 'fin'; size: number; checksum: string };

/** Reads a generic file topic; undefined for anything else (including malformed levels). */
export function parseFileTopic(topic: string): ParsedFileTopic | undefined {
  if (topic.length > 512) return undefined;
  const levels = topic.split('/');
  if (levels.length < 6 || `${levels[0]}/${levels[1]}` !== TOPIC_ROOT || levels[3] !== 'files') return undefined;
  const [, , deviceId, , fileId, ...rest] = levels;
  if (!FILE_ID.test(deviceId) || !FILE_ID.test(fileId)) return undefined;
  if (rest.length === 1 && (rest[0] === 'init' || rest[0] === 'abort' || rest[0] === 'ack')) return { deviceId, fileId, command: rest[0] };
  if (rest[0] === 'fin') {
    if (rest.length !== 3 || !DECIMAL.test(rest[1]) || !SHA256_HEX.test(rest[2])) return undefined;
    return { deviceId, fileId, command: 'fin', size: Number(rest[1]), checksum: rest[2] };
  }
  if (DECIMAL.test(rest[0]) && (rest.length === 1 || (rest.length === 2 && SHA256_HEX.test(rest[1])))) {
    return { deviceId, fileId, command: 'segment', offset: Number(rest[0]), ...(rest.length === 2 ? { checksum: rest[1] } : {}) };
  }
  return undefined;
}

// ---- payload checks ------------------------------------------------------------------------------------------

function isNonNegativeInteger(value: unknown, max: number): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 && value <= max;
}

function parseJsonObject(payload: Buffer, maxBytes: number, what: string): Record<string, unknown> {
  if (payload.length > maxBytes) throw new FileTransferError('FILE_BAD_INPUT', `${what} is ${payload.length} bytes, more than ${maxBytes}`);
  let value: unknown;
  try {
    value = JSON.parse(payload.toString('utf8'));
  } catch (error) {
    throw new FileTransferError('FILE_BAD_INPUT', `${what} is not JSON`, { cause: error });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new FileTransferError('FILE_BAD_INPUT', `${what} must be a JSON object`);
  return value as Record<string, unknown>;
}

/** Parses and checks a generic init document (the receiver's side). */
export function parseFileInit(payload: Buffer, limits: { maxFileBytes: number }): FileInit {
  const d = parseJsonObject(payload, MAX_INIT_BYTES, 'init');
  const nameProblem = fileNameProblem(d.name);
  if (nameProblem) throw new FileTransferError('FILE_BAD_INPUT', `init: ${nameProblem}`);
  if (!isNonNegativeInteger(d.size, limits.maxFileBytes)) throw new FileTransferError('FILE_BAD_INPUT', `init: size must be an integer 0..${limits.maxFileBytes}`);
  if (!isSha256Hex(d.checksum)) throw new FileTransferError('FILE_BAD_INPUT', 'init: checksum must be a lowercase hex SHA-256');
  if (!isNonNegativeInteger(d.segment_size, MAX_SEGMENT_BYTES) || d.segment_size < MIN_SEGMENT_BYTES) {
    throw new FileTransferError('FILE_BAD_INPUT', `init: segment_size must be an integer ${MIN_SEGMENT_BYTES}..${MAX_SEGMENT_BYTES}`);
  }
  if (d.expire_at !== undefined && !isNonNegativeInteger(d.expire_at, 2 ** 40)) throw new FileTransferError('FILE_BAD_INPUT', 'init: expire_at must be seconds since the epoch');
  if (d.segments_ttl !== undefined && !isNonNegativeInteger(d.segments_ttl, 2 ** 31)) throw new FileTransferError('FILE_BAD_INPUT', 'init: segments_ttl must be a number of seconds');
  if (d.user_data !== undefined && (typeof d.user_data !== 'object' || d.user_data === null || Array.isArray(d.user_data))) {
    throw new FileTransferError('FILE_BAD_INPUT', 'init: user_data must be a JSON object');
  }
  return {
    name: d.name as string,
    size: d.size,
    checksum: d.checksum,
    segment_size: d.segment_size,
    ...(d.expire_at !== undefined ? { expire_at: d.expire_at as number } : {}),
    ...(d.segments_ttl !== undefined ? { segments_ttl: d.segments_ttl as number } : {}),
    ...(d.user_data !== undefined ? { user_data: d.user_data as Record<string, unknown> } : {}),
  };
}

function offsetList(value: unknown, what: string): number[] {
  if (!Array.isArray(value) || value.length > MAX_LISTED_OFFSETS || !value.every((v) => isNonNegativeInteger(v, Number.MAX_SAFE_INTEGER))) {
    throw new FileTransferError('FILE_BAD_INPUT', `ack: ${what} must be a list of at most ${MAX_LISTED_OFFSETS} offsets`);
  }
  return value as number[];
}

function shortText(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.length > 500) throw new FileTransferError('FILE_BAD_INPUT', `ack: ${what} must be a string of at most 500 characters`);
  return value;
}

/** Parses and checks an ack (the device's side). */
export function parseFileAck(payload: Buffer): FileAck {
  const d = parseJsonObject(payload, MAX_ACK_BYTES, 'ack');
  switch (d.type) {
    case 'init':
      if (typeof d.complete !== 'boolean') throw new FileTransferError('FILE_BAD_INPUT', 'ack: init needs complete');
      return { type: 'init', received: offsetList(d.received, 'received'), complete: d.complete };
    case 'segment':
      if (!isNonNegativeInteger(d.offset, Number.MAX_SAFE_INTEGER) || (d.status !== 'ok' && d.status !== 'retry')) {
        throw new FileTransferError('FILE_BAD_INPUT', 'ack: segment needs an offset and status ok|retry');
      }
      return { type: 'segment', offset: d.offset, status: d.status, ...(d.reason !== undefined ? { reason: shortText(d.reason, 'reason') } : {}) };
    case 'restart':
      return { type: 'restart', reason: shortText(d.reason, 'reason') };
    case 'fin':
      if (d.status === 'ok') {
        if (!isNonNegativeInteger(d.size, Number.MAX_SAFE_INTEGER) || !isSha256Hex(d.checksum)) throw new FileTransferError('FILE_BAD_INPUT', 'ack: fin ok needs size and checksum');
        return { type: 'fin', status: 'ok', size: d.size, checksum: d.checksum };
      }
      if (d.status === 'incomplete') return { type: 'fin', status: 'incomplete', missing: offsetList(d.missing, 'missing') };
      if (d.status === 'checksum_mismatch') {
        if (!isSha256Hex(d.checksum)) throw new FileTransferError('FILE_BAD_INPUT', 'ack: fin checksum_mismatch needs the checksum found');
        return { type: 'fin', status: 'checksum_mismatch', checksum: d.checksum };
      }
      throw new FileTransferError('FILE_BAD_INPUT', 'ack: fin status must be ok, incomplete or checksum_mismatch');
    case 'rejected':
      return { type: 'rejected', code: shortText(d.code, 'code'), message: shortText(d.message, 'message') };
    default:
      throw new FileTransferError('FILE_BAD_INPUT', `ack: unknown type ${JSON.stringify(d.type)?.slice(0, 40)}`);
  }
}

function offsetLevel(value: number): string {
  if (!Number.isSafeInteger(value) || value < 0) throw new FileTransferError('FILE_BAD_INPUT', `offset/size ${value} must be a non-negative integer`);
  return String(value);
}

function checkedSha(checksum: string): string {
  if (!SHA256_HEX.test(checksum)) throw new FileTransferError('FILE_BAD_INPUT', 'checksum must be a lowercase hex SHA-256');
  return checksum;
}

// ---- EMQX file transfer --------------------------------------------------------------------------------------

/**
 * EMQX's topics (EIP-0021 "Protocol flow"; EMQX docs "File Transfer Commands"): `$file/...` answers in the PUBACK
 * reason code (MQTT 5 only); `$file-async/...` acknowledges at once and sends the result to
 * `$file-response/{clientId}` (EMQX >= 5.3.2), the only way for MQTT 3.1.1 clients.
 */
export function emqxFileTopics(fileId: string, options: { async?: boolean } = {}) {
  const base = `${options.async ? '$file-async' : '$file'}/${checkFileId(fileId)}`;
  return {
    base,
    /** `$file/{fileId}/init`, payload: the init JSON */
    init: `${base}/init`,
    /** `$file/{fileId}/{offset}[/{checksum}]`, payload: the segment's bytes */
    segment: (offset: number, checksum?: string) => `${base}/${offsetLevel(offset)}${checksum === undefined ? '' : `/${checkedSha(checksum)}`}`,
    /** `$file/{fileId}/fin/{fileSize}[/{checksum}]`, no payload; the fin checksum takes priority over init's */
    fin: (size: number, checksum?: string) => `${base}/fin/${offsetLevel(size)}${checksum === undefined ? '' : `/${checkedSha(checksum)}`}`,
    /** `$file/{fileId}/abort`, no payload */
    abort: `${base}/abort`,
  };
}

/** Where EMQX sends command results for a client (EIP-0021 "Asynchronous mode"). */
export function emqxResponseTopic(clientId: string): string {
  return `$file-response/${checkLevel('device id', clientId)}`;
}

/** EIP-0021 "Reason codes": what a file transfer command's reason code asks of the client. */
export const EMQX_REASON = {
  /** the command succeeded (a missing reason code means the same) */
  success: 0x00,
  /** retransmit all segments */
  noMatchingSubscribers: 0x10,
  /** segment: retransmit this segment; fin: retransmit all segments */
  unspecifiedError: 0x80,
  /** cancel the transfer */
  implementationSpecificError: 0x83,
  /** pause the transfer; wait before retransmitting */
  quotaExceeded: 0x97,
} as const;

/** The JSON document EMQX publishes to `$file-response/{clientId}` (EIP-0021, response.json schema). */
export interface EmqxFileResponse {
  vsn: string;
  /** the command's topic, e.g. `$file-async/somefileid/init` */
  topic: string;
  packet_id: number;
  reason_code: number;
  reason_description: string;
}

export function parseEmqxResponse(payload: Buffer): EmqxFileResponse {
  const d = parseJsonObject(payload, 4096, '$file-response document');
  if (typeof d.topic !== 'string' || d.topic.length > 512 || !isNonNegativeInteger(d.reason_code, 255)) {
    throw new FileTransferError('FILE_BAD_INPUT', '$file-response document needs topic and reason_code');
  }
  return {
    vsn: typeof d.vsn === 'string' ? d.vsn : '',
    topic: d.topic,
    packet_id: isNonNegativeInteger(d.packet_id, 65535) ? d.packet_id : 0,
    reason_code: d.reason_code,
    reason_description: typeof d.reason_description === 'string' ? d.reason_description.slice(0, 200) : '',
  };
}
