/**
 * `deskline admin ...`: the cloud admin's commands, over MQTT with an admin identity (src/cloud/TOPICS.md).
 * mqtt.js is loaded only when one of them connects, so the other commands stay quick.
 */
import type { Command } from 'commander';
import { addCmdCommand } from './cmd.js';
import { addConfigCommands } from './config.js';
import { addContactsCommands } from './contacts.js';
import { connectAdmin, connectOptions } from './connect.js';
import { addDevicesCommand } from './devices.js';
import { addRecordingsCommands } from './recordings.js';
import { addWatchCommand } from './watch.js';

export function addAdminCommands(program: Command): void {
  const admin = program
    .command('admin')
    .description('manage a fleet of phones over MQTT as a cloud admin: devices, config push, commands, live events, contacts, recordings')
    .addHelpText(
      'after',
      '\nConnection: each option can come from its DESKLINE_ADMIN_* variable instead (DESKLINE_ADMIN_URL, _CA, _CERT, _KEY, _USERNAME, _PASSWORD).\n' +
        'The admin identity (client certificate CN, else user name) needs read and write access to dl/v1/#.',
    );
  for (const option of connectOptions()) admin.addOption(option);
  addDevicesCommand(admin);
  addConfigCommands(admin);
  addCmdCommand(admin);
  addWatchCommand(admin);
  addContactsCommands(admin);
  addRecordingsCommands(admin, connectAdmin);
}
