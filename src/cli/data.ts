import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { formatDuration } from '../core/duration.js';
import { CliExit, EXIT, print } from './context.js';
import { callDaemon, globals } from './daemon.js';

/** `deskline contacts|history|recordings ...`: the phone's local data, through the running daemon. */
export function addDataCommands(program: Command): void {
  const contacts = program.command('contacts').description('contacts on the running phone: search, import and export CSV');
  contacts
    .command('search')
    .argument('<query>', 'start of a name, company, pinyin (or its initials), Korean initial consonants, or digits of a number')
    .option('--limit <n>', 'at most this many results (1-100)', '20')
    .description('find contacts as the phone\'s search screen does')
    .action(async (query: string, options: { limit: string }, command: Command) => {
      const { results } = (await callDaemon(command, 'contacts.search', { query, limit: Number(options.limit) })) as {
        results: Array<{ id: string; name: string; company: string | null; numbers: string[] }>;
      };
      print(globals(command), results, () => (results.length === 0 ? 'no contacts found' : results
        .map((c) => `${c.name}${c.company ? ` (${c.company})` : ''}  ${c.numbers.join(', ')}  [${c.id}]`).join('\n')));
    });
  contacts
    .command('import')
    .argument('<file>', 'CSV file with a header row (name, company, phone, mobile, email, address, tags, notes, renewal_due, ...)')
    .addOption(new Option('--on-duplicate <policy>', 'a row whose number is already a contact').choices(['merge', 'skip', 'create']).default('merge'))
    .description('import contacts from CSV; rows with errors are reported and skipped, the others imported')
    .action(async (file: string, options: { onDuplicate: string }, command: Command) => {
      const result = (await callDaemon(command, 'contacts.import', { path: resolve(file), onDuplicate: options.onDuplicate })) as {
        created: number; updated: number; unchanged: number; skipped: number; errors: Array<{ row: number; column: string | null; message: string }>;
      };
      print(globals(command), result, () => [
        `created ${result.created}, updated ${result.updated}, unchanged ${result.unchanged}, skipped ${result.skipped}, rows with errors ${result.errors.length}`,
        ...result.errors.slice(0, 50).map((e) => `  line ${e.row}${e.column ? `, ${e.column}` : ''}: ${e.message}`),
        ...(result.errors.length > 50 ? [`  ... and ${result.errors.length - 50} more (use --json for all)`] : []),
      ].join('\n'));
      // the good rows are in; the exit code tells a script that some were not
      if (result.errors.length > 0) throw new CliExit(EXIT.failure, '');
    });
  contacts
    .command('export')
    .argument('<file>', 'CSV file to write (replaced if it exists)')
    .description('export every contact as CSV (the same columns import reads)')
    .action(async (file: string, _options: unknown, command: Command) => {
      const result = (await callDaemon(command, 'contacts.export', { path: resolve(file) })) as { path: string; count: number };
      print(globals(command), result, () => `${result.count} contacts written to ${result.path}`);
    });

  const history = program.command('history').description('call history on the running phone');
  history
    .command('missed')
    .description('missed calls nobody called back yet, newest first')
    .action(async (_options: unknown, command: Command) => {
      const missed = (await callDaemon(command, 'history.missed', { limit: 100 })) as Array<{ number: string; at: number | null; lineId: string | null }>;
      print(globals(command), missed, () => (missed.length === 0 ? 'no missed calls' : missed
        .map((m) => `${m.at ? new Date(m.at).toLocaleString() : 'time unknown'}  ${m.number}${m.lineId ? `  (${m.lineId})` : ''}`).join('\n')));
    });
  history
    .command('recent')
    .option('--limit <n>', 'at most this many records (1-1000)', '50')
    .description('the newest calls, SMS, orders and call-list outcomes')
    .action(async (options: { limit: string }, command: Command) => {
      const recent = (await callDaemon(command, 'history.recent', { limit: Number(options.limit) })) as Array<{ kind: string; at: number | null; number: string | null; summary: string }>;
      print(globals(command), recent, () => recent
        .map((r) => `${r.at ? new Date(r.at).toLocaleString() : 'time unknown'}  ${r.kind.padEnd(9)} ${(r.number ?? '-').padEnd(16)} ${r.summary}`).join('\n') || 'no history yet');
    });

  const recordings = program.command('recordings').description('call recordings on the running phone');
  recordings
    .command('list')
    .option('--limit <n>', 'at most this many recordings', '50')
    .description('recordings, newest first')
    .action(async (options: { limit: string }, command: Command) => {
      const list = (await callDaemon(command, 'recordings.list', { limit: Number(options.limit) })) as Array<{ id: string; number: string | null; startedAt: number; durationMs: number; uploaded: boolean }>;
      print(globals(command), list, () => list
        .map((r) => `${new Date(r.startedAt).toLocaleString()}  ${formatDuration(r.durationMs)}  ${(r.number ?? '-').padEnd(16)} ${r.uploaded ? 'uploaded' : 'not uploaded'}  [${r.id}]`).join('\n') || 'no recordings');
    });
  recordings
    .command('play')
    .argument('<id>', 'recording id (from `deskline recordings list`)')
    .description('play a recording through the handset')
    .action(async (id: string, _options: unknown, command: Command) => {
      const result = await callDaemon(command, 'recordings.play', { id });
      print(globals(command), result, () => `playing ${id} through the handset`);
    });
  recordings
    .command('status')
    .description('disk use, quota, and whether recording is suspended')
    .action(async (_options: unknown, command: Command) => {
      const status = await callDaemon(command, 'recordings.status');
      print(globals(command), status, () => JSON.stringify(status, null, 2));
    });
}
