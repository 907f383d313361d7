import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { formatContactsPush, readCsvChanges } from '../../../../src/cli/admin/contacts.js';
import { EXIT } from '../../../../src/cli/context.js';
import { makeTempDir, stopAllPeers } from '../../../support/process.js';

afterAll(async () => {
  await stopAllPeers(); // removes the temp dirs
});

describe('admin contacts push: the CSV and the output', () => {
  it('turns good rows into stamped changes, lists bad rows, and refuses a file with nothing usable', async () => {
    const dir = await makeTempDir('admin-contacts');
    const csv = join(dir, 'c.csv');
    writeFileSync(csv, 'name,phone\nWang Li,+1 415 555 0101\n,+1 415 555 0102\n');
    const { changes, errors } = await readCsvChanges(csv, { at: 1000 });
    expect(changes).toEqual([{ id: expect.stringMatching(/^csv-/), fields: expect.objectContaining({ name: { value: 'Wang Li', at: 1000, origin: 'cloud' } }) }]);
    expect(errors).toEqual([{ row: 3, column: 'name', message: expect.stringMatching(/needs a name/) }]);

    const empty = join(dir, 'empty.csv');
    writeFileSync(empty, 'name,phone\n,+1 415 555 0102\n');
    await expect(readCsvChanges(empty, { at: 1 })).rejects.toMatchObject({ code: 'ADMIN_BAD_CSV', exitCode: EXIT.badConfig, message: expect.stringMatching(/nothing pushed: .* has no usable contact\n {2}line 2, name:/) });
    await expect(readCsvChanges(join(dir, 'none.csv'), { at: 1 })).rejects.toMatchObject({ code: 'ADMIN_BAD_CSV', message: expect.stringMatching(/cannot read .*none\.csv: no such file/) });
  });

  it('prints one line per device with its revisions, then the rows left out', () => {
    const text = formatContactsPush({
      target: { group: 'north' },
      contacts: 1,
      devices: [{ deviceId: 'd1', fromRev: 0, toRev: 1, changeSets: 1 }, { deviceId: 'd2', fromRev: 4, toRev: 6, changeSets: 2 }],
      errors: [{ row: 7, column: 'phone', message: 'not a number' }],
    });
    expect(text).toBe('d1: 1 contact sent as rev 0 -> 1 (1 change set)\nd2: 1 contact sent as rev 4 -> 6 (2 change sets)\nrows not pushed: 1\n  line 7, phone: not a number');
  });
});
