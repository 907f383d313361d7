import { readFileSync } from 'node:fs';
import { DesklineError } from '../core/errors.js';
import { checkLevel } from './topics.js';

/** systemd's machine id: 32 hex digits, set once when the board's image first boots. */
export const MACHINE_ID_FILE = '/etc/machine-id';

/**
 * The device id in cloud topics: `device.id` when set, else `dl-` and the first 12 hex digits of the machine
 * id (stable across reboots and updates; a re-flashed board gets a new one unless provisioning sets device.id).
 */
export function resolveDeviceId(configured: string, machineIdFile = MACHINE_ID_FILE): string {
  if (configured) return checkLevel('device id', configured);
  let text: string;
  try {
    text = readFileSync(machineIdFile, 'utf8');
  } catch (error) {
    throw new DesklineError('CLOUD_NO_DEVICE_ID', `device.id is not set and ${machineIdFile} can't be read (${(error as Error).message}): set device.id in the config`);
  }
  const machineId = text.trim().toLowerCase();
  if (!/^[0-9a-f]{32}$/.test(machineId)) {
    throw new DesklineError('CLOUD_NO_DEVICE_ID', `device.id is not set and ${machineIdFile} holds no machine id (32 hex digits): set device.id in the config`);
  }
  return `dl-${machineId.slice(0, 12)}`;
}
