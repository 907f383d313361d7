/**
 * `deskline admin contacts push`: contacts from a CSV file (the columns `deskline contacts import` reads) sent to
 * one device, or to the members of a group, as change sets that continue each device's revision chain
 * (src/cloud/contacts-sync/cloud-side.ts). Group members are the devices whose retained config report lists the
 * group. The devices apply the change sets when they get them (an offline one from its persistent session).
 */
import { readFile, stat } from 'node:fs/promises';
import type { Command } from 'commander';
// loaded when the command runs (the contact rules pull in the phone number library): other commands stay quick
import type { CsvChanges, PushResult } from '../../cloud/contacts-sync/cloud-side.js';
import type { CsvRowError } from '../../contacts/csv.js';
import { errorCode, errorMessage } from '../../core/errors.js';
import { EXIT } from '../context.js';
import { globals } from '../daemon.js';
import { AdminError, positiveNumber, retainedReports, safeText } from './common.js';
import { knownMembers, resolvePushTarget } from './config.js';
import { withSession } from './connect.js';

/** The CSV file as changes; a file that can't be read or has no usable row is an error (exit 2). */
export async function readCsvChanges(file: string, o: { at: number; country?: string }): Promise<CsvChanges> {
  // one after the other: concurrent imports of modules that share dependencies trip jest's ESM loader
  const { changesFromCsv } = await import('../../cloud/contacts-sync/cloud-side.js');
  const { MAX_CSV_BYTES } = await import('../../contacts/csv.js');
  let text: string;
  try {
    const info = await stat(file);
    if (info.size > MAX_CSV_BYTES) throw new AdminError('ADMIN_BAD_CSV', `${file} is ${info.size} bytes; the limit is ${MAX_CSV_BYTES}`, EXIT.badConfig);
    text = await readFile(file, 'utf8');
  } catch (error) {
    if (error instanceof AdminError) throw error;
    throw new AdminError('ADMIN_BAD_CSV', `cannot read ${file}: ${errorCode(error) === 'ENOENT' ? 'no such file' : errorMessage(error)}`, EXIT.badConfig);
  }
  let result: CsvChanges;
  try {
    result = await changesFromCsv(text, { at: o.at, ...(o.country ? { country: o.country } : {}) });
  } catch (error) {
    throw new AdminError('ADMIN_BAD_CSV', `${file}: ${errorMessage(error)}`, EXIT.badConfig);
  }
  if (result.changes.length === 0) {
    throw new AdminError('ADMIN_BAD_CSV', `nothing pushed: ${file} has no usable contact${result.errors.length ? `\n${formatRowErrors(result.errors)}` : ''}`, EXIT.badConfig);
  }
  return result;
}

export function formatRowErrors(errors: CsvRowError[], max = 50): string {
  const lines = errors.slice(0, max).map((e) => `  line ${e.row}${e.column ? `, ${safeText(e.column, 40)}` : ''}: ${safeText(e.message, 200)}`);
  if (errors.length > max) lines.push(`  ... and ${errors.length - max} more (use --json for all)`);
  return lines.join('\n');
}

export interface ContactsPushOutcome {
  target: { device: string } | { group: string };
  contacts: number;
  devices: PushResult[];
  errors: CsvRowError[];
}

export function formatContactsPush(o: ContactsPushOutcome): string {
  const lines = o.devices.map((d) => `${d.deviceId}: ${o.contacts} contact${o.contacts === 1 ? '' : 's'} sent as rev ${d.fromRev} -> ${d.toRev} (${d.changeSets} change set${d.changeSets === 1 ? '' : 's'})`);
  if (o.errors.length) lines.push(`rows not pushed: ${o.errors.length}`, formatRowErrors(o.errors));
  return lines.join('\n');
}

interface ContactsPushOptions {
  group?: string;
  country?: string;
  wait: number;
}

function country(value: string): string {
  if (!/^[A-Z]{2}$/.test(value)) throw new AdminError('ADMIN_BAD_OPTION', `--country must be an ISO 3166-1 alpha-2 code such as US or DE, got '${safeText(value, 20)}'`, EXIT.badConfig);
  return value;
}

export function addContactsCommands(admin: Command): void {
  const contacts = admin.command('contacts').description("contacts the cloud sends to phones (each phone's contact sync chain)");
  contacts
    .command('push')
    .argument('<target...>', '<deviceId> <csv>, or only <csv> with --group')
    .description('send the contacts of a CSV file (the columns `deskline contacts import` reads) to a device or a group; rows with errors are listed and left out (exit 1)')
    .option('--group <group>', 'send to the devices whose last config report lists this group')
    .option('--country <CC>', 'country for numbers without a country code (default: keep them as digits; each phone normalises with its own country)', country)
    .option('--wait <ms>', "how long to wait for a device's retained contacts state (its revision) before starting its chain at 0", positiveNumber('--wait', true), 3000)
    .action(async (args: string[], options: ContactsPushOptions, command: Command) => {
      const json = Boolean(globals(command).json);
      const target = resolvePushTarget(args, options.group, 'contacts push');
      const { changes, errors } = await readCsvChanges(target.file, { at: Date.now(), country: options.country });
      const devices = await withSession(command, async ({ client }) => {
        let ids: string[];
        if (target.kind === 'device') ids = [target.deviceId];
        else {
          ids = knownMembers(await retainedReports(client), target.group);
          if (ids.length === 0) {
            throw new AdminError('ADMIN_NO_MEMBERS', `no device is known to be in group ${target.group}: none of the retained config reports lists it (push a config to the group first, or push to each device)`);
          }
        }
        const { pushContactChanges } = await import('../../cloud/contacts-sync/cloud-side.js');
        return pushContactChanges(client, ids, changes, { stateTimeoutMs: options.wait });
      });
      const outcome: ContactsPushOutcome = { target: target.kind === 'device' ? { device: target.deviceId } : { group: target.group }, contacts: changes.length, devices, errors };
      process.stdout.write(json ? `${JSON.stringify(outcome, null, 2)}\n` : `${formatContactsPush(outcome)}\n`);
      // the good rows went out; the exit code tells a script that some did not
      if (errors.length > 0) throw new AdminError('ADMIN_CSV_ROWS', '');
    });
}
