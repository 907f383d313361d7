/**
 * `deskline print <template> --input <file>`: print a slip. Through the running daemon's print queue when one runs
 * (the daemon owns the printer); otherwise the CLI opens the board's printer itself. `--printer virtual` renders
 * locally and prints what the virtual printer decoded as JSON (and the paper image with --out).
 */
import { open, writeFile } from 'node:fs/promises';
import { extname, resolve as resolvePath } from 'node:path';
import { Option, type Command } from 'commander';
import { decodeEscPos } from '../../drivers/printer/virtual/decoder.js';
import { renderPaperPng, renderPaperSvg } from '../../drivers/printer/virtual/render.js';
import type { DecodedPaper, DecoderOptions } from '../../drivers/printer/virtual/types.js';
import { LpReceiptPrinter } from '../../drivers/printer/lp.js';
import { NetworkReceiptPrinter } from '../../drivers/printer/network.js';
import type { ReceiptPrinter } from '../../drivers/printer/types.js';
import { createDrivers } from '../app/drivers.js';
import { controlSocketPath } from '../app/socket.js';
import { resolveBoard } from '../board/board.js';
import type { Config } from '../config/schema.js';
import { SystemClock } from '../core/clock.js';
import { DesklineError, errorCode, errorMessage } from '../core/errors.js';
import { createLogger } from '../core/log.js';
import { connectControl, type ControlClient } from '../control/client.js';
import {
  SLIP_TEMPLATE_NAMES, renderSlip, type RenderSlipOptions, type RenderedSlip, type SlipEncoding, type SlipInputs, type SlipTemplateName,
} from '../printing/templates/index.js';
import { renderOptions } from '../printing/render-options.js';
import { CliExit, EXIT, dataDir, loadConfigOrExit, type GlobalOptions } from './context.js';

export { renderOptions };
import { globals } from './daemon.js';

/** Largest input file accepted. */
export const MAX_INPUT_BYTES = 256 * 1024;
export const MAX_COPIES = 10;
/** how often the job list is polled while waiting for a job */
export const JOB_POLL_MS = 200;

export type PrinterTarget =
  | { kind: 'virtual' }
  | { kind: 'board' }
  | { kind: 'lp'; path: string }
  | { kind: 'network'; host: string; port: number };

const bad = (message: string): CliExit => new CliExit(EXIT.badConfig, `deskline print: ${message}`);

/** `--printer`: virtual, board (the default), lp:/dev/usb/lpN or tcp:HOST[:PORT]. */
export function parsePrinter(value: string): PrinterTarget {
  if (value === 'virtual') return { kind: 'virtual' };
  if (value === 'board') return { kind: 'board' };
  if (value.startsWith('lp:') && value.length > 3) return { kind: 'lp', path: value.slice(3) };
  const tcp = /^tcp:(\[[^\]]+\]|[^:\s]+)(?::(\d{1,5}))?$/.exec(value);
  if (tcp) {
    const port = tcp[2] === undefined ? 9100 : Number(tcp[2]);
    if (port < 1 || port > 65535) throw bad(`--printer ${value}: the port must be 1..65535`);
    return { kind: 'network', host: tcp[1].replace(/^\[|\]$/g, ''), port };
  }
  throw bad(`unknown printer '${value}': use 'board' (the board's printer, the default), 'virtual', 'lp:/dev/usb/lp0' or 'tcp:HOST[:PORT]'`);
}

export function parsePaperWidth(value: string): 58 | 80 {
  if (value === '58' || value === '80') return Number(value) as 58 | 80;
  throw bad(`--paper must be 58 or 80 (mm), got '${value}'`);
}

export function parseCopies(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > MAX_COPIES) throw bad(`--copies must be 1..${MAX_COPIES}, got '${value}'`);
  return n;
}

export function parseTimeout(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0 || n > 3600) throw bad(`--timeout must be a number of seconds above 0 and up to 3600, got '${value}'`);
  return n;
}

export function checkTemplate(name: string): SlipTemplateName {
  if ((SLIP_TEMPLATE_NAMES as readonly string[]).includes(name)) return name as SlipTemplateName;
  throw bad(`unknown template '${name}'; templates: ${SLIP_TEMPLATE_NAMES.join(', ')}`);
}

/** `--out`: the image format by the file's extension. */
export function outFormat(file: string): 'svg' | 'png' {
  const ext = extname(file).toLowerCase();
  if (ext === '.svg' || ext === '.png') return ext.slice(1) as 'svg' | 'png';
  throw bad(`--out ${file}: the file must end in .png or .svg`);
}

/** 1-based line and column of a character offset. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, Math.max(0, Math.min(offset, text.length)));
  const line = before.split('\n').length;
  return { line, column: before.length - before.lastIndexOf('\n') };
}

class JsonSyntaxError extends Error {
  constructor(readonly offset: number, readonly reason: string) {
    super(reason);
  }
}

/**
 * Where a JSON text first goes wrong: the offset and what was found there. Node 20's JSON.parse does not always say
 * where ("Unexpected token ','" has no position), so the text is scanned by the JSON grammar (RFC 8259).
 */
export function jsonSyntaxError(text: string): { offset: number; reason: string } | null {
  let i = 0;
  const fail = (reason?: string): never => {
    throw new JsonSyntaxError(i, reason ?? (i >= text.length ? 'unexpected end of the input' : `unexpected '${text[i]}'`));
  };
  const ws = () => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  };
  const literal = (word: string) => {
    for (const ch of word) {
      if (text[i] !== ch) fail();
      i++;
    }
  };
  const string = () => {
    i++; // the opening quote
    for (;;) {
      if (i >= text.length) fail('unterminated string');
      const c = text.charCodeAt(i);
      if (c === 0x22) { i++; return; }
      if (c < 0x20) fail('control character in a string (write it as \\n, \\t or \\u00XX)');
      if (c === 0x5c) {
        i++;
        if (text[i] === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) fail('bad \\u escape');
          i += 5;
        } else if (text[i] !== undefined && '"\\/bfnrt'.includes(text[i])) {
          i++;
        } else {
          fail('bad escape in a string');
        }
      } else {
        i++;
      }
    }
  };
  const number = () => {
    const match = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (!match) fail();
    i += match![0].length;
  };
  const value = (depth: number): void => {
    if (depth > 512) fail('nested too deeply');
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') { i++; return; }
      for (;;) {
        ws();
        if (text[i] !== '"') fail(`expected a property name in double quotes, found ${i >= text.length ? 'the end of the input' : `'${text[i]}'`}`);
        string();
        ws();
        if (text[i] !== ':') fail(`expected ':' after the property name`);
        i++;
        value(depth + 1);
        ws();
        if (text[i] === ',') { i++; continue; }
        if (text[i] === '}') { i++; return; }
        fail(`expected ',' or '}' after a property value`);
      }
    }
    if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') { i++; return; }
      for (;;) {
        value(depth + 1);
        ws();
        if (text[i] === ',') { i++; continue; }
        if (text[i] === ']') { i++; return; }
        fail(`expected ',' or ']' after an array element`);
      }
    }
    if (c === '"') return string();
    if (c === 't') return literal('true');
    if (c === 'f') return literal('false');
    if (c === 'n') return literal('null');
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return number();
    fail();
  };
  try {
    value(0);
    ws();
    if (i < text.length) fail('unexpected text after the JSON value');
    return null;
  } catch (error) {
    if (error instanceof JsonSyntaxError) return { offset: error.offset, reason: error.reason };
    throw error;
  }
}

/** Parse the input file's text; a syntax error says where (line and column). */
export function parseInputJson(text: string, source: string): unknown {
  const body = text.startsWith('\ufeff') ? text.slice(1) : text;
  try {
    return JSON.parse(body) as unknown;
  } catch (error) {
    const found = jsonSyntaxError(body) ?? { offset: body.length, reason: errorMessage(error) };
    const { line, column } = lineColumn(body, found.offset);
    throw bad(`${source}: not valid JSON at line ${line}, column ${column}: ${found.reason}`);
  }
}

/** Read the input file (or stdin for '-'), at most MAX_INPUT_BYTES. */
export async function readInput(file: string, stdin: NodeJS.ReadableStream = process.stdin, limit = MAX_INPUT_BYTES): Promise<unknown> {
  const source = file === '-' ? 'standard input' : file;
  const tooLarge = () => bad(`${source} is larger than ${limit / 1024} KiB; a slip's input is far smaller`);
  let bytes: Buffer;
  if (file === '-') {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of stdin) {
      const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
      size += buffer.length;
      if (size > limit) throw tooLarge();
      chunks.push(buffer);
    }
    bytes = Buffer.concat(chunks);
  } else {
    let handle;
    try {
      handle = await open(file, 'r');
    } catch (error) {
      throw bad(`cannot read the input file ${file}: ${(error as NodeJS.ErrnoException).code ?? errorMessage(error)}`);
    }
    try {
      if (!(await handle.stat()).isFile()) throw bad(`${file} is not a file`);
      const buffer = Buffer.alloc(limit + 1);
      let size = 0;
      for (;;) {
        const { bytesRead } = await handle.read(buffer, size, buffer.length - size, null);
        if (bytesRead === 0) break;
        size += bytesRead;
        if (size > limit) throw tooLarge();
      }
      bytes = buffer.subarray(0, size);
    } finally {
      await handle.close();
    }
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw bad(`${source} is not UTF-8 text`);
  }
  return parseInputJson(text, source);
}


/** How the virtual printer reads the bytes: the multi-byte encoding after FS &, or the single-byte code page. */
export function decoderOptions(encoding: SlipEncoding, paperWidthMm: 58 | 80): DecoderOptions {
  if (encoding === 'gb18030' || encoding === 'euc-kr' || encoding === 'big5' || encoding === 'shift_jis') return { cjkEncoding: encoding, paperWidthMm };
  return { codePage: encoding, paperWidthMm };
}

export interface PrintedLine {
  text: string;
  bold: boolean;
  width: number;
  height: number;
  align: 'left' | 'center' | 'right';
}

/** One item of the paper, top to bottom (the same order as on paper; `lines`, `qr` and `cuts` list them by kind). */
export type PaperEntry =
  | { text: string }
  | { qr: string }
  | { image: { width: number; height: number } }
  | { feed: { lines: number; dots: number } }
  | { cut: 'partial' | 'full' }
  | { drawer: { pin: 2 | 5 } };

/** What `deskline print --printer virtual` writes to stdout. */
export interface VirtualPrintResult {
  template: SlipTemplateName;
  paperWidthMm: 58 | 80;
  encoding: SlipEncoding;
  /** 'custom' when the config's template was used; fallbackReason says why it was not */
  source: 'builtin' | 'custom';
  fallbackReason: string | null;
  lines: PrintedLine[];
  qr: string[];
  images: number;
  cuts: Array<{ partial: boolean }>;
  drawer: number;
  unknown: DecodedPaper['unknown'];
  paper: PaperEntry[];
}

export function paperResult(template: SlipTemplateName, paperWidthMm: 58 | 80, encoding: SlipEncoding, slip: Pick<RenderedSlip, 'source' | 'fallbackReason'>, decoded: DecodedPaper): VirtualPrintResult {
  const result: VirtualPrintResult = {
    template, paperWidthMm, encoding, source: slip.source, fallbackReason: slip.fallbackReason,
    lines: [], qr: [], images: 0, cuts: [], drawer: 0, unknown: decoded.unknown, paper: [],
  };
  for (const item of decoded.items) {
    switch (item.kind) {
      case 'text':
        result.lines.push({ text: item.text, bold: item.style.bold, width: item.style.width, height: item.style.height, align: item.style.align });
        result.paper.push({ text: item.text });
        break;
      case 'qr':
        result.qr.push(item.payload);
        result.paper.push({ qr: item.payload });
        break;
      case 'image':
        result.images++;
        result.paper.push({ image: { width: item.width, height: item.height } });
        break;
      case 'feed':
        result.paper.push({ feed: { lines: item.lines, dots: item.dots } });
        break;
      case 'cut':
        result.cuts.push({ partial: item.partial });
        result.paper.push({ cut: item.partial ? 'partial' : 'full' });
        break;
      case 'drawer':
        result.drawer++;
        result.paper.push({ drawer: { pin: item.pin } });
        break;
    }
  }
  return result;
}

/** The paper as text: the lines, with [QR payload], [image WxH] and [cut] markers. */
export function paperText(result: VirtualPrintResult): string {
  return result.paper.map((entry) => {
    if ('text' in entry) return entry.text;
    if ('qr' in entry) return `[QR] ${entry.qr}`;
    if ('image' in entry) return `[image ${entry.image.width}x${entry.image.height}]`;
    if ('feed' in entry) return '';
    if ('cut' in entry) return `[cut${entry.cut === 'partial' ? ' partial' : ''}]`;
    return `[drawer pin ${entry.drawer.pin}]`;
  }).join('\n');
}

/** A print job as the daemon's `printing.jobs` lists it (src/printing/service.ts). */
export interface PrintJob {
  id: string;
  template: string;
  state: string;
  attempts?: number;
  /** why it waits or was sent again */
  note?: string | null;
  error?: string | null;
  createdAt?: number | null;
  printedAt?: number | null;
}

/** States after which a job does not change any more. */
export const FINAL_JOB_STATES = ['printed', 'cancelled', 'canceled', 'failed'] as const;

/**
 * Poll `list()` every `intervalMs` until every job of `ids` reached a final state or the time is up. Returns the
 * jobs as last seen (null for one the list no longer holds) and whether the time ran out.
 */
export async function waitForJobs(
  list: () => Promise<PrintJob[]>,
  ids: string[],
  options: { timeoutMs: number; intervalMs?: number; now?: () => number; sleep?: (ms: number) => Promise<void> },
): Promise<{ jobs: Array<PrintJob | null>; timedOut: boolean }> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const deadline = now() + options.timeoutMs;
  for (;;) {
    const all = await list();
    const jobs = ids.map((id) => all.find((j) => String(j.id) === id) ?? null);
    if (jobs.every((job) => job === null || (FINAL_JOB_STATES as readonly string[]).includes(job.state))) return { jobs, timedOut: false };
    if (now() >= deadline) return { jobs, timedOut: true };
    await sleep(Math.min(options.intervalMs ?? JOB_POLL_MS, Math.max(1, deadline - now())));
  }
}

interface PrintOptions {
  input: string;
  printer: PrinterTarget;
  paper?: 58 | 80;
  out?: string;
  copies: number;
  wait: boolean;
  timeout: number;
  text?: boolean;
}

function renderOrExit(template: SlipTemplateName, input: unknown, options: RenderSlipOptions): RenderedSlip {
  try {
    return renderSlip(template, input as SlipInputs[typeof template], options);
  } catch (error) {
    const code = errorCode(error);
    if (code === 'SLIP_INVALID_INPUT' || code === 'SLIP_UNKNOWN_TEMPLATE' || code === 'SLIP_BAD_OPTIONS') {
      const details = (error as DesklineError).details as { path?: string } | undefined;
      const where = details?.path ? ` (field ${details.path})` : '';
      throw new CliExit(EXIT.badConfig, `deskline print: ${code === 'SLIP_BAD_OPTIONS' ? 'the printing config is not usable' : 'the input does not fit the template'}${where}: ${errorMessage(error)}`);
    }
    throw new CliExit(EXIT.failure, `deskline print: ${errorMessage(error)}${code ? ` (${code})` : ''}`);
  }
}

/** The paper width: --paper, else the board's printer, else 80. `board` is looked up only when needed. */
async function paperWidthFor(options: PrintOptions, config: Config): Promise<58 | 80> {
  if (options.paper) return options.paper;
  try {
    return (await resolveBoard(config.board)).printer.paperWidthMm;
  } catch {
    return 80; // the virtual printer does not need a board; a board problem is reported where the board is used
  }
}

const stderrNote = (message: string): void => {
  process.stderr.write(`deskline print: ${message}\n`);
};

const slipLog: RenderSlipOptions['log'] = {
  warn: (obj, msg) => stderrNote(`${msg}: ${String((obj as { reason?: unknown }).reason ?? '')}`),
};

/** Render, decode with the virtual printer, print the JSON (or text with --text), write --out. */
async function printVirtual(template: SlipTemplateName, input: unknown, config: Config, options: PrintOptions, paperWidthMm: 58 | 80): Promise<void> {
  const renderOpts = renderOptions(config, paperWidthMm, slipLog);
  const slip = renderOrExit(template, input, renderOpts);
  const bytes = options.copies === 1 ? slip.escpos : Buffer.concat(Array.from({ length: options.copies }, () => slip.escpos));
  const decoded = decodeEscPos(bytes, decoderOptions(renderOpts.encoding, paperWidthMm));
  const result = paperResult(template, paperWidthMm, renderOpts.encoding, slip, decoded);
  if (options.out) {
    const svg = renderPaperSvg(decoded, { paperWidthMm });
    try {
      await writeFile(options.out, outFormat(options.out) === 'svg' ? svg : renderPaperPng(svg));
    } catch (error) {
      if (error instanceof CliExit) throw error;
      throw new CliExit(errorCode(error) === 'DRIVER_UNSUPPORTED' ? EXIT.missingDependency : EXIT.failure, `deskline print: cannot write ${options.out}: ${errorMessage(error)}`);
    }
  }
  process.stdout.write(options.text ? `${paperText(result)}\n` : `${JSON.stringify(result, null, 2)}\n`);
}

/** The daemon's control socket, or null when no daemon runs. */
async function daemonClient(config: Config, globalOptions: GlobalOptions): Promise<ControlClient | null> {
  try {
    return await connectControl(controlSocketPath(config, dataDir(globalOptions)));
  } catch (error) {
    if (errorCode(error) === 'CONTROL_NO_DAEMON') return null;
    throw new CliExit(EXIT.failure, `deskline print: ${errorMessage(error)}`);
  }
}

/**
 * Two processes never write to one printer: when a daemon runs and the named printer is its board's, the slip
 * must go through the daemon's queue.
 */
async function refuseDaemonsPrinter(target: { kind: 'lp'; path: string } | { kind: 'network'; host: string; port: number }, config: Config, globalOptions: GlobalOptions): Promise<void> {
  const client = await daemonClient(config, globalOptions);
  if (!client) return;
  client.close();
  const own = await resolveBoard(config.board).then((board) => board.printer, () => null);
  const same = target.kind === 'lp'
    ? own?.driver === 'lp' && resolvePath(own.path) === resolvePath(target.path)
    : own?.driver === 'network' && own.host === target.host && (own.port ?? 9100) === target.port;
  if (same) throw new CliExit(EXIT.failure, "deskline print: the running daemon owns this printer; leave out --printer to print through its queue");
}

/** Daemon errors that are about the request (template, input, copies), not the daemon. */
const REQUEST_ERRORS = new Set(['SLIP_INVALID_INPUT', 'SLIP_UNKNOWN_TEMPLATE', 'PRINT_UNKNOWN_TEMPLATE', 'PRINT_BAD_COPIES', 'PRINT_BAD_REQUEST']);

async function printThroughDaemon(client: ControlClient, template: SlipTemplateName, input: unknown, options: PrintOptions, json: boolean): Promise<void> {
  const call = async <T>(method: string, params?: unknown): Promise<T> => {
    try {
      return await client.call<T>(method, params);
    } catch (error) {
      const code = errorCode(error);
      if (code === 'CONTROL_UNKNOWN_METHOD') throw new CliExit(EXIT.failure, 'deskline print: the running daemon has no print queue (update it)');
      if (code && REQUEST_ERRORS.has(code)) throw new CliExit(EXIT.badConfig, `deskline print: the daemon refused the request: ${errorMessage(error)}`);
      throw new CliExit(EXIT.failure, `deskline print: ${method} failed: ${errorMessage(error)}${code ? ` (${code})` : ''}`);
    }
  };
  const submitted = await call<{ jobIds?: string[]; jobId?: string; state: string }>('printing.print', { template, input, ...(options.copies > 1 ? { copies: options.copies } : {}) });
  const ids = (submitted.jobIds ?? (submitted.jobId === undefined ? [] : [submitted.jobId])).map(String);
  const out = (value: unknown, human: string) => process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${human}\n`);
  if (!options.wait) {
    out({ jobIds: ids, state: submitted.state }, ids.map((id) => `job ${id}: ${submitted.state}`).join('\n'));
    return;
  }
  const list = async (): Promise<PrintJob[]> => {
    const jobs = await call<PrintJob[] | { jobs: PrintJob[] }>('printing.jobs');
    return Array.isArray(jobs) ? jobs : jobs.jobs;
  };
  const { jobs, timedOut } = await waitForJobs(list, ids, { timeoutMs: options.timeout * 1000 });
  const final = ids.map((id, i) => {
    const job = jobs[i];
    return { id, state: job?.state ?? 'gone', attempts: job?.attempts ?? null, note: job?.note ?? job?.error ?? null, printedAt: job?.printedAt ?? null };
  });
  const human = final.map((j) => `job ${j.id}: ${j.state}${j.state !== 'printed' && j.note ? ` (${j.note})` : ''}`).join('\n');
  out({ jobIds: ids, jobs: final, timedOut }, human);
  const notPrinted = final.filter((j) => j.state !== 'printed');
  if (notPrinted.length === 0) return;
  if (timedOut) {
    throw new CliExit(EXIT.failure, `deskline print: not printed within ${options.timeout} s; the job stays in the daemon's queue and prints when the printer is ready`);
  }
  throw new CliExit(EXIT.failure, `deskline print: ${notPrinted.map((j) => `job ${j.id} ${j.state === 'gone' ? 'is no longer in the daemon\'s job list' : `was ${j.state}`}`).join('; ')}`);
}

/** Open a printer, write the slip, close it. */
async function writeToPrinter(printer: ReceiptPrinter, bytes: Uint8Array, copies: number): Promise<void> {
  try {
    await printer.open();
    for (let i = 0; i < copies; i++) await printer.write(bytes);
  } catch (error) {
    throw new CliExit(EXIT.failure, `deskline print: ${errorMessage(error)}${errorCode(error) ? ` (${errorCode(error)})` : ''}`);
  } finally {
    await printer.close().catch(() => undefined);
  }
}

async function printCommand(templateName: string, options: PrintOptions, command: Command): Promise<void> {
  const template = checkTemplate(templateName);
  if (options.out && options.printer.kind !== 'virtual') throw bad('--out works with --printer virtual only');
  if (options.out) outFormat(options.out);
  const globalOptions = globals(command);
  const config = await loadConfigOrExit(globalOptions);
  const input = await readInput(options.input);
  const done = (message: string) => process.stdout.write(globalOptions.json ? `${JSON.stringify({ printed: true, printer: message, copies: options.copies }, null, 2)}\n` : `printed on ${message}\n`);

  if (options.printer.kind === 'virtual') {
    await printVirtual(template, input, config, options, await paperWidthFor(options, config));
    return;
  }
  const log = createLogger({ level: 'error', destination: process.stderr });
  if (options.printer.kind === 'lp' || options.printer.kind === 'network') {
    await refuseDaemonsPrinter(options.printer, config, globalOptions);
    const paperWidthMm = await paperWidthFor(options, config);
    const slip = renderOrExit(template, input, renderOptions(config, paperWidthMm, slipLog));
    const printerOptions = { paperWidthMm, log: log.child({ ns: 'printer' }), statusPollMs: 0 };
    let printer: ReceiptPrinter;
    try {
      printer = options.printer.kind === 'lp'
        ? new LpReceiptPrinter({ ...printerOptions, path: options.printer.path })
        : new NetworkReceiptPrinter({ ...printerOptions, host: options.printer.host, port: options.printer.port });
    } catch (error) {
      throw bad(errorMessage(error));
    }
    await writeToPrinter(printer, slip.escpos, options.copies);
    done(options.printer.kind === 'lp' ? options.printer.path : `tcp:${options.printer.host}:${options.printer.port}`);
    return;
  }

  // the board's printer: the daemon owns it when it runs
  // check the input here first: its mistakes are the user's, and they are told before anything is queued
  renderOrExit(template, input, renderOptions(config, options.paper ?? 80));
  const client = await daemonClient(config, globalOptions);
  if (client) {
    try {
      await printThroughDaemon(client, template, input, options, globalOptions.json === true);
    } finally {
      client.close();
    }
    return;
  }
  let board;
  try {
    board = await resolveBoard(config.board);
  } catch (error) {
    const code = errorCode(error);
    throw new CliExit(code === 'BOARD_UNKNOWN' || code === 'BOARD_INVALID' ? EXIT.badConfig : EXIT.failure, `deskline print: ${errorMessage(error)}`);
  }
  const paperWidthMm = options.paper ?? board.printer.paperWidthMm;
  if (board.printer.driver === 'sim') {
    stderrNote(`no daemon runs and board '${board.id}' has only a simulated printer: printed to the virtual printer instead`);
    await printVirtual(template, input, config, { ...options, out: undefined }, paperWidthMm);
    return;
  }
  const slip = renderOrExit(template, input, renderOptions(config, paperWidthMm, slipLog));
  let printer: ReceiptPrinter;
  try {
    printer = createDrivers(board, new SystemClock(), log).drivers.printer;
  } catch (error) {
    throw new CliExit(EXIT.failure, `deskline print: ${errorMessage(error)}`);
  }
  await writeToPrinter(printer, slip.escpos, options.copies);
  done(`board '${board.id}' printer (${board.printer.driver})`);
}

const HELP_AFTER = `
Input: a JSON file (at most ${MAX_INPUT_BYTES / 1024} KiB; '-' reads standard input) with the template's fields
(see src/printing/templates/types.ts and test/fixtures/slips/inputs.json). Encoding, labels' language, time zone,
map link and custom templates come from the config's "printing" section.

Printers:
  board (default)    the board's printer: through the running daemon's print queue (waits until the job is
                     printed, at most --timeout seconds; --no-wait returns the job id at once). With no daemon
                     running the printer is opened directly; on the sim board the slip goes to the virtual printer.
  virtual            render here and decode the bytes as a receipt printer would; always prints JSON:
                       { template, paperWidthMm, encoding, source, fallbackReason,
                         lines: [{ text, bold, width, height, align }], qr: [payload], images: n,
                         cuts: [{ partial }], drawer: n, unknown: [{ offset, bytes, note }],
                         paper: [{ text } | { qr } | { image } | { feed } | { cut } | { drawer }]  (top to bottom) }
                     (--text prints the lines with [QR] and [cut] markers instead); --out FILE.png|FILE.svg
                     writes the paper image (384 dots wide on 58 mm paper, 576 on 80 mm).
  lp:/dev/usb/lp0    a printer device, opened by this command directly (not through the daemon)
  tcp:HOST[:PORT]    a network printer (raw TCP, port 9100 by default), opened directly

Exit codes: 0 printed, 1 printer or daemon failure, 2 bad arguments, input or config, 3 a missing system package.`;

/** `deskline print <template> --input FILE [--printer board|virtual|lp:PATH|tcp:HOST[:PORT]] [--out FILE]`. */
export function addPrintCommand(program: Command): void {
  program
    .command('print')
    .argument('<template>', `slip template: ${SLIP_TEMPLATE_NAMES.join(', ')}`)
    .description('print a slip (through the running daemon\'s print queue when it runs); --printer virtual shows what would be printed')
    .requiredOption('--input <file>', 'JSON file with the slip\'s data (- = standard input)')
    .addOption(new Option('--printer <name>', "'board', 'virtual', 'lp:PATH' or 'tcp:HOST[:PORT]'").default({ kind: 'board' }, 'board').argParser(parsePrinter))
    .addOption(new Option('--paper <mm>', "paper width, 58 or 80 (default: the board's printer, else 80)").argParser(parsePaperWidth))
    .option('--out <file>', 'with --printer virtual: write the paper image (.png or .svg)')
    .option('--text', 'with --printer virtual: print the text lines with [QR] and [cut] markers instead of JSON')
    .addOption(new Option('--copies <n>', `copies, 1..${MAX_COPIES}`).default(1).argParser(parseCopies))
    .option('--no-wait', 'through the daemon: return once the job is queued')
    .addOption(new Option('--timeout <seconds>', 'through the daemon: how long to wait for the job to be printed').default(60).argParser(parseTimeout))
    .addHelpText('after', HELP_AFTER)
    .action(async (template: string, options: PrintOptions, command: Command) => {
      await printCommand(template, options, command);
    });
}
