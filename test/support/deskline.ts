import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from '../../src/core/paths.js';
import { freeTcpPort } from './ports.js';
import { spawnPeer, type PeerProcess } from './process.js';

/** The built CLI (npm test builds before the suites run). */
export const DESKLINE_MAIN = join(projectRoot(), 'dist', 'src', 'main.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** This process's environment without what would point the CLI elsewhere (DESKLINE_CONFIG, the admin's DESKLINE_ADMIN_*). */
export function cliEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, DESKLINE_CONFIG: '' };
  for (const key of Object.keys(env)) if (key.startsWith('DESKLINE_ADMIN_')) delete env[key];
  return { ...env, ...extra };
}

/** Runs `deskline <args>` to its end: the exit code (null when killed), stdout and stderr. */
export function runDeskline(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 30_000): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [DESKLINE_MAIN, ...args], { encoding: 'utf8', env: cliEnv(env), timeout: timeoutMs }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr });
    });
  });
}

/** A daemon on the sim board with the virtual phone page's channel open. */
export interface SimDaemon {
  daemon: PeerProcess;
  port: number;
  page: SimPage;
  /** closes the page and stops the daemon by PID: its exit code */
  stop(): Promise<number | null>;
}

/** `deskline start` on the sim board with the virtual phone on a free port, and its page's channel open. */
export async function startSimDaemon(options: { config: string; data: string }): Promise<SimDaemon> {
  const port = await freeTcpPort();
  const daemon = await spawnPeer({
    name: 'deskline',
    command: process.execPath,
    args: [DESKLINE_MAIN, '--config', options.config, 'start', '--board', 'sim', '--port', String(port), '--data', options.data],
    debianPackage: 'nodejs',
    env: cliEnv(),
    ready: { line: /Virtual phone: http:\/\/127\.0\.0\.1:\d+/ },
    readyTimeoutMs: 20_000,
  });
  const page = await openSimPage(port);
  return {
    daemon, port, page,
    stop: async () => {
      page.close();
      return (await daemon.stop()).code;
    },
  };
}

export interface SlipMessage { type: 'slip'; job: string; template: string; text: string }

/**
 * The virtual phone page's channel of a daemon on the sim board, as a browser opens it: every slip the virtual printer
 * prints arrives in `slips` (the paper strip's feed); `send` is what the page sends (keys, incoming calls, scans).
 */
export interface SimPage {
  slips: SlipMessage[];
  send(message: object): void;
  close(): void;
}

export async function openSimPage(port: number): Promise<SimPage> {
  const { default: WebSocket } = await import('ws');
  const page = new WebSocket(`ws://127.0.0.1:${port}/sim`, { origin: `http://127.0.0.1:${port}` });
  const slips: SlipMessage[] = [];
  page.on('message', (raw) => {
    const message = JSON.parse(String(raw)) as { type: string };
    if (message.type === 'slip') slips.push(message as SlipMessage);
  });
  await new Promise((resolve, reject) => {
    page.once('open', resolve);
    page.once('error', reject);
  });
  return { slips, send: (message) => page.send(JSON.stringify(message)), close: () => page.close() };
}
