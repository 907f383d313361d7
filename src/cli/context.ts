import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ConfigError, loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { errorMessage } from '../core/errors.js';

/** Options every subcommand understands (their names are reserved for this meaning everywhere). */
export interface GlobalOptions {
  config?: string;
  data?: string;
  json?: boolean;
}

/** Exit codes of the deskline CLI. */
export const EXIT = { ok: 0, failure: 1, badConfig: 2, missingDependency: 3 } as const;

export class CliExit extends Error {
  constructor(readonly exitCode: number, message: string) {
    super(message);
  }
}

export function configPath(options: GlobalOptions, env = process.env): string | undefined {
  return options.config ?? (env.DESKLINE_CONFIG || undefined);
}

/** --data, DESKLINE_DATA, systemd's STATE_DIRECTORY, or ./.deskline-data for development. */
export function dataDir(options: GlobalOptions, env = process.env): string {
  return resolve(options.data ?? (env.DESKLINE_DATA || env.STATE_DIRECTORY?.split(':')[0] || '.deskline-data'));
}

export async function ensureDataDir(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  return dir;
}

/** Load the config or exit 2, listing every offending field. */
export async function loadConfigOrExit(options: GlobalOptions): Promise<Config> {
  try {
    return await loadConfig(configPath(options));
  } catch (error) {
    if (error instanceof ConfigError) {
      const lines = error.issues.map((i) => `  ${i.path || '(document)'}: ${i.message}`);
      throw new CliExit(EXIT.badConfig, `deskline: invalid configuration in ${error.source}:\n${lines.join('\n')}`);
    }
    throw new CliExit(EXIT.failure, `deskline: ${errorMessage(error)}`);
  }
}

export function print(options: GlobalOptions, value: unknown, human: () => string): void {
  process.stdout.write(options.json ? `${JSON.stringify(value, null, 2)}\n` : `${human()}\n`);
}
