import type { Command } from 'commander';
import { controlSocketPath } from '../app/socket.js';
import { connectControl } from '../control/client.js';
import { errorCode, errorMessage } from '../core/errors.js';
import { CliExit, EXIT, dataDir, loadConfigOrExit, type GlobalOptions } from './context.js';

export function globals(command: Command): GlobalOptions {
  return command.optsWithGlobals<GlobalOptions>();
}

/** Call the running daemon over its control socket. */
export async function callDaemon(command: Command, method: string, params?: unknown): Promise<unknown> {
  const options = globals(command);
  const config = await loadConfigOrExit(options);
  const socket = controlSocketPath(config, dataDir(options));
  let client;
  try {
    client = await connectControl(socket);
  } catch (error) {
    throw new CliExit(EXIT.failure, `deskline: ${errorMessage(error)}. Start it with 'deskline start' (or 'npm start').`);
  }
  try {
    return await client.call(method, params);
  } catch (error) {
    throw new CliExit(EXIT.failure, `deskline: ${method} failed: ${errorMessage(error)}${errorCode(error) ? ` (${errorCode(error)})` : ''}`);
  } finally {
    client.close();
  }
}
