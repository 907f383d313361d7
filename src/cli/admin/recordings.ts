/**
 * `deskline admin recordings receive --dir <dir> [--share <group>]`: the cloud end of recording upload over the
 * generic protocol (src/cloud/files/protocol.ts). Stores what devices upload under `<dir>/<deviceId>/<name>` and
 * runs until SIGINT or SIGTERM; one line per received file (JSON lines with --json). Several receivers may share
 * a directory and a shared subscription (`--share`), and a restarted one continues the transfers in progress.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { MqttClient } from 'mqtt';
import { FileReceiver, type ReceivedFile } from '../../cloud/files/receiver.js';
import { createLogger } from '../../core/log.js';
import { globals } from '../daemon.js';

export function addRecordingsCommands(admin: Command, connect: (command: Command) => Promise<MqttClient>): void {
  const recordings = admin.command('recordings').description('call recordings uploaded by the phones');
  recordings
    .command('receive')
    .description('receive recordings devices upload (generic protocol) into a directory, until interrupted')
    .requiredOption('--dir <dir>', 'where files land: <dir>/<deviceId>/<name> (in-progress transfers under <dir>/.partial)')
    .option('--share <group>', 'receive through the shared subscription $share/<group>/..., so several receivers split the work')
    .action(async (options: { dir: string; share?: string }, command: Command) => {
      const { json } = globals(command);
      const dir = resolve(options.dir);
      // logs go to stderr: stdout carries one line per received file
      const log = createLogger({ level: 'warn', destination: process.stderr });
      const client = await connect(command);
      const receiver = new FileReceiver({
        client, dir, shareGroup: options.share, log,
        onFile: (file) => process.stdout.write(`${json ? JSON.stringify(file) : describe(file)}\n`),
      });
      await receiver.start();
      process.stderr.write(`receiving into ${dir}${options.share ? ` (shared subscription group ${options.share})` : ''}; Ctrl-C to stop\n`);
      await new Promise<void>((done) => {
        process.once('SIGINT', () => done());
        process.once('SIGTERM', () => done());
      });
      await receiver.stop();
      await client.endAsync();
    });
}

function describe(file: ReceivedFile): string {
  return `${file.deviceId} ${file.name} ${file.size} bytes sha256 ${file.sha256} -> ${file.path}`;
}
