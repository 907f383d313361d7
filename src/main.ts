#!/usr/bin/env node
import { CommanderError } from 'commander';
import { CliExit, EXIT } from './cli/context.js';
import { buildProgram } from './cli/program.js';
import { errorMessage } from './core/errors.js';

/** The `deskline` command. */
async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return EXIT.ok;
  } catch (error) {
    if (error instanceof CliExit) {
      if (error.message) process.stderr.write(`${error.message}\n`);
      return error.exitCode;
    }
    if (error instanceof CommanderError) {
      // Help and version exit 0; usage errors were already printed by commander.
      return error.exitCode === 0 ? EXIT.ok : EXIT.badConfig;
    }
    process.stderr.write(`deskline: ${errorMessage(error)}\n`);
    return EXIT.failure;
  }
}

process.exitCode = await main(process.argv);
