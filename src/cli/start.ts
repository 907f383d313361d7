import { join } from 'node:path';
import { resolveBoard, type Board } from '../board/board.js';
import { mergeLayers, readConfigFile, validateConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { errorCode, errorMessage } from '../core/errors.js';
import { LogRing, createLogger, type Logger } from '../core/log.js';
import { createApp, type App } from '../app/app.js';
import { readConfigState, startupConfig } from '../cloud/config-sync.js';
import { CliExit, EXIT, configPath, dataDir, ensureDataDir, loadConfigOrExit, type GlobalOptions } from './context.js';

/** Local edits (web UI, keypad) live in the data directory, the one writable place on a hardened device. */
export const LOCAL_EDITS_FILE = 'config-local.json';

/**
 * `deskline start`: run the phone until SIGINT/SIGTERM, then stop every service in reverse order.
 * A config pushed from the cloud that changes restart-only settings rebuilds the runtime in this process
 * (stop everything, start again with the new config).
 */
export async function runDaemon(options: GlobalOptions & { board?: string; port?: number }): Promise<void> {
  const fileConfig = await loadConfigOrExit(options);
  const path = configPath(options);
  // the config file and the command-line overrides: the layer the cloud's layers join
  const fileLayer = mergeLayers(
    path ? await readConfigFile(path) : {},
    options.board ? { board: options.board } : {},
    options.port !== undefined ? { web: { port: options.port } } : {},
  );
  const overridden = validateConfig(fileLayer);
  if (!overridden.config) throw new CliExit(EXIT.badConfig, `deskline: ${overridden.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
  const logRing = new LogRing();
  const log = createLogger({ level: fileConfig.log.level, ring: logRing });
  const data = await ensureDataDir(dataDir(options));
  const localEdits = await readLocalEdits(join(data, LOCAL_EDITS_FILE), log);
  const cloudState = () => readConfigState(join(data, 'cloud', 'config-state.json'));
  let config = startupConfig(fileLayer, await cloudState(), localEdits, log) ?? overridden.config;

  let restartWith: ((next: Config, reason: string) => void) | null = null;
  let stopWith: ((signal: NodeJS.Signals) => void) | null = null;
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(EXIT.failure);
    }
    stopping = true;
    stopWith?.(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let first = true;
  for (;;) {
    const board = await boardOrExit(config);
    let app: App;
    try {
      app = createApp({
        config, board, dataDir: data, log, logRing,
        cloud: { fileLayer, localEdits, restart: (next, reason) => restartWith?.(next, reason) },
      });
    } catch (error) {
      throw new CliExit(EXIT.failure, `deskline: ${errorMessage(error)}${errorCode(error) ? ` (${errorCode(error)})` : ''}`);
    }
    log.info({ board: board.id, data, pid: process.pid }, first ? 'deskline starting' : 'deskline starting again');
    const next = new Promise<{ signal: NodeJS.Signals } | { restart: Config; reason: string }>((resolve) => {
      stopWith = (signal) => resolve({ signal });
      restartWith = (config, reason) => resolve({ restart: config, reason });
    });
    const report = await app.start();
    for (const r of report.filter((s) => s.status !== 'running')) process.stderr.write(`deskline: service ${r.name} ${r.status}: ${r.error ?? ''}\n`);
    if (first && app.web.url && app.sim) process.stderr.write(`Virtual phone: ${app.web.url}\n`);
    log.info({ services: report.map((r) => `${r.name}:${r.status}`) }, 'deskline started');
    first = false;
    const outcome = await next; // a signal during the start resolves it too
    restartWith = null;
    if ('signal' in outcome) {
      log.info({ signal: outcome.signal }, 'deskline stopping');
      await app.stop().catch((error: unknown) => log.error({ err: error }, 'stop failed'));
      break;
    }
    log.info({ reason: outcome.reason }, 'deskline restarting with a new config');
    await app.stop().catch((error: unknown) => log.error({ err: error }, 'stop failed'));
    // the persisted cloud state is the truth (a trial, or the last good config after a revert)
    config = startupConfig(fileLayer, await cloudState(), localEdits, log) ?? outcome.restart;
    if (stopping) break;
  }
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  log.info('deskline stopped');
  log.flush();
}

async function boardOrExit(config: Config): Promise<Board> {
  try {
    return await resolveBoard(config.board);
  } catch (error) {
    throw new CliExit(EXIT.failure, `deskline: ${errorMessage(error)}`);
  }
}

async function readLocalEdits(path: string, log: Logger): Promise<Record<string, unknown>> {
  try {
    return await readConfigFile(path);
  } catch (error) {
    if (errorCode(error) === 'CONFIG_INVALID' && /file not found/.test(errorMessage(error))) return {};
    log.warn({ path, err: errorMessage(error) }, 'local config edits ignored');
    return {};
  }
}
