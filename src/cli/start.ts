import { resolveBoard } from '../board/board.js';
import { validateConfig } from '../config/load.js';
import { errorCode, errorMessage } from '../core/errors.js';
import { createLogger } from '../core/log.js';
import { createApp } from '../app/app.js';
import { CliExit, EXIT, dataDir, ensureDataDir, loadConfigOrExit, type GlobalOptions } from './context.js';

/** `deskline start`: run the phone until SIGINT/SIGTERM, then stop every service in reverse order. */
export async function runDaemon(options: GlobalOptions & { board?: string; port?: number }): Promise<void> {
  let config = await loadConfigOrExit(options);
  if (options.board !== undefined || options.port !== undefined) {
    const overridden = validateConfig({ ...config, ...(options.board ? { board: options.board } : {}), web: { ...config.web, ...(options.port !== undefined ? { port: options.port } : {}) } });
    if (!overridden.config) throw new CliExit(EXIT.badConfig, `deskline: ${overridden.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
    config = overridden.config;
  }
  const log = createLogger({ level: config.log.level });
  const data = await ensureDataDir(dataDir(options));

  let board;
  try {
    board = await resolveBoard(config.board);
  } catch (error) {
    throw new CliExit(EXIT.failure, `deskline: ${errorMessage(error)}`);
  }

  let app;
  try {
    app = createApp({ config, board, dataDir: data, log });
  } catch (error) {
    throw new CliExit(EXIT.failure, `deskline: ${errorMessage(error)}${errorCode(error) ? ` (${errorCode(error)})` : ''}`);
  }
  log.info({ board: board.id, data, pid: process.pid }, 'deskline starting');
  const report = await app.start();
  const failed = report.filter((r) => r.status !== 'running');
  for (const r of failed) process.stderr.write(`deskline: service ${r.name} ${r.status}: ${r.error ?? ''}\n`);
  if (app.web.url && app.sim) process.stderr.write(`Virtual phone: ${app.web.url}\n`);
  log.info({ services: report.map((r) => `${r.name}:${r.status}`) }, 'deskline started');

  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        log.warn({ signal }, 'second signal: exiting now');
        process.exit(EXIT.failure);
      }
      stopping = true;
      log.info({ signal }, 'deskline stopping');
      app.stop().then(resolve, (error: unknown) => {
        log.error({ err: error }, 'stop failed');
        resolve();
      });
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  log.info('deskline stopped');
  log.flush();
}
