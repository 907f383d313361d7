import { Command, Option } from 'commander';
import { listBoards, loadBoard, resolveBoard } from '../board/board.js';
import { BoardSchema } from '../board/schema.js';
import { udevRules } from '../board/udev.js';
import { ConfigError, readConfigFile, validateConfig } from '../config/load.js';
import { fieldsMarked, jsonSchema, redactSecrets } from '../config/schema.js';
import { CliExit, EXIT, loadConfigOrExit, print } from './context.js';
import { addAdminCommands } from './admin/index.js';
import { addCallerIdCommand } from './callerid.js';
import { callDaemon, globals } from './daemon.js';
import { addDataCommands } from './data.js';
import { addOrderCommands } from './order.js';
import { addPrintCommand } from './print.js';
import { addSummaryCommand } from './summary.js';

export function buildProgram(): Command {
  const program = new Command('deskline')
    .description('Deskline: the runtime of a cloud-connected desk phone (a desktop call center in one box)')
    .option('--config <file>', 'JSON config file (or DESKLINE_CONFIG)')
    .option('--data <dir>', 'data directory (or DESKLINE_DATA; default ./.deskline-data)')
    .option('--json', 'machine-readable JSON output')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  program
    .command('start')
    .description('run the phone on the board found (the simulated board when there is no device tree), with the web UI')
    .option('--board <name>', "board to run on (overrides the config's board; 'auto' detects)")
    .addOption(new Option('--port <port>', 'web UI port (overrides web.port; 0 = any free port)').argParser((v) => {
      const port = Number(v);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CliExit(EXIT.badConfig, `deskline: --port must be 0..65535, got '${v}'`);
      return port;
    }))
    .action(async (options: { board?: string; port?: number }, command: Command) => {
      // Loaded on demand: the daemon pulls in the web server and every service; other commands stay quick.
      const { runDaemon } = await import('./start.js');
      await runDaemon({ ...globals(command), ...options });
    });

  const config = program.command('config').description('inspect and check configuration');
  config
    .command('schema')
    .description('print the JSON Schema of the configuration (every field with its default and description)')
    .action(() => {
      process.stdout.write(`${JSON.stringify(jsonSchema(), null, 2)}\n`);
    });
  config
    .command('check')
    .argument('[file]', 'config file to check (default: --config or DESKLINE_CONFIG)')
    .description('validate a config file and list every problem (exit 2 when invalid)')
    .action(async (file: string | undefined, _options: unknown, command: Command) => {
      const options = globals(command);
      const path = file ?? options.config ?? process.env.DESKLINE_CONFIG;
      if (!path) throw new CliExit(EXIT.badConfig, 'deskline: config check needs a file (argument, --config or DESKLINE_CONFIG)');
      let issues;
      try {
        issues = validateConfig(await readConfigFile(path)).issues;
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        issues = error.issues;
      }
      if (options.json) process.stdout.write(`${JSON.stringify({ file: path, valid: issues.length === 0, errors: issues }, null, 2)}\n`);
      if (issues.length > 0) {
        throw new CliExit(EXIT.badConfig, options.json ? '' : `deskline: invalid configuration in ${path}:\n${issues.map((i) => `  ${i.path || '(document)'}: ${i.message}`).join('\n')}`);
      }
      if (!options.json) process.stdout.write(`${path}: valid\n`);
    });
  config
    .command('show')
    .description('print the effective configuration (defaults < config file); secrets are hidden')
    .action(async (_options: unknown, command: Command) => {
      const hidden = redactSecrets(await loadConfigOrExit(globals(command)));
      process.stdout.write(`${JSON.stringify(hidden, null, 2)}\n`);
    });
  config
    .command('restart-fields')
    .description('list the settings that take effect only after a restart')
    .action((_options: unknown, command: Command) => {
      const fields = fieldsMarked('x-restart');
      print(globals(command), fields, () => fields.join('\n'));
    });

  const board = program.command('board').description('board definitions (board/*.json)');
  board
    .command('list')
    .description('list the known boards')
    .action(async (_options: unknown, command: Command) => {
      const ids = await listBoards();
      const boards = await Promise.all(ids.map((id) => loadBoard(id)));
      print(globals(command), boards.map((b) => ({ id: b.id, name: b.name, compatible: b.compatible })), () => boards.map((b) => `${b.id.padEnd(12)} ${b.name}`).join('\n'));
    });
  board
    .command('schema')
    .description('print the JSON Schema of board files (board/board.schema.json is this output)')
    .action(() => {
      process.stdout.write(`${JSON.stringify(BoardSchema, null, 2)}\n`);
    });
  board
    .command('show')
    .argument('[name]', "board id, or 'auto' to detect this machine's board", 'auto')
    .description('print a board definition (with inheritance resolved)')
    .action(async (name: string) => {
      process.stdout.write(`${JSON.stringify(await resolveBoard(name), null, 2)}\n`);
    });

  board
    .command('udev-rules')
    .argument('[name]', "board id, or 'auto' to detect this machine's board", 'auto')
    .description("print udev rules giving the runtime's user the board's hot-plugged devices (printer, scanners, pole display, modem)")
    .action(async (name: string) => {
      process.stdout.write(udevRules(await resolveBoard(name)));
    });

  program
    .command('status')
    .description('show what the running daemon is doing (services, phone state, calls)')
    .action(async (_options: unknown, command: Command) => {
      const status = (await callDaemon(command, 'status')) as { board: string; web: string | null; phone: { state: string }; services: Array<{ name: string; status: string; error?: string }> };
      print(globals(command), status, () => [
        `board: ${status.board}`,
        `web:   ${status.web ?? '-'}`,
        `phone: ${status.phone.state}`,
        'services:',
        ...status.services.map((s) => `  ${s.name.padEnd(10)} ${s.status}${s.error ? ` (${s.error})` : ''}`),
      ].join('\n'));
    });
  program
    .command('dial')
    .argument('<number>', 'number to dial: digits, * and #, optional leading +')
    .description('dial a number on the running phone')
    .action(async (number: string, _options: unknown, command: Command) => {
      const result = (await callDaemon(command, 'phone.dial', { number })) as { state: string };
      print(globals(command), result, () => `dialing ${number} (phone is ${result.state})`);
    });
  program
    .command('hangup')
    .description('end the current call on the running phone (or reject a ringing one)')
    .action(async (_options: unknown, command: Command) => {
      const result = (await callDaemon(command, 'phone.hangup')) as { state: string };
      print(globals(command), result, () => `phone is ${result.state}`);
    });

  program
    .command('drawer')
    .description("open the cash drawer on the receipt printer's drawer port (queued behind the slips being printed)")
    .action(async (_options: unknown, command: Command) => {
      const result = (await callDaemon(command, 'printing.openDrawer')) as { jobIds: string[] };
      print(globals(command), result, () => `drawer kick queued (job ${result.jobIds.join(', ')})`);
    });

  addCallerIdCommand(program);
  addDataCommands(program);
  addPrintCommand(program);
  addSummaryCommand(program);
  addOrderCommands(program);
  addAdminCommands(program);
  return program;
}
