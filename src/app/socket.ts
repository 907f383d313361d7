import { join } from 'node:path';
import type { Config } from '../config/schema.js';

/** Where the daemon's control socket lives; the CLI resolves the same path to reach it. */
export function controlSocketPath(config: Config, dataDir: string, env: NodeJS.ProcessEnv = process.env): string {
  if (config.control.socket) return config.control.socket;
  // systemd's RuntimeDirectory=deskline sets RUNTIME_DIRECTORY=/run/deskline
  if (env.RUNTIME_DIRECTORY) return join(env.RUNTIME_DIRECTORY.split(':')[0], 'deskline.sock');
  return join(dataDir, 'run', 'deskline.sock');
}
