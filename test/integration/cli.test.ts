import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import type { Command } from 'commander';
import { buildProgram } from '../../src/cli/program.js';
import { freeTcpPort, spawnPeer, stopAllPeers } from '../support/index.js';
import { DESKLINE_MAIN, runDeskline } from '../support/deskline.js';

/** The built CLI (npm test builds before running the suites). */
const MAIN = DESKLINE_MAIN;

const deskline = (args: string[], env: NodeJS.ProcessEnv = {}) => runDeskline(args, env, 20_000);

function commandPaths(command: Command, prefix: string[] = []): string[][] {
  return command.commands.flatMap((sub) => [[...prefix, sub.name()], ...commandPaths(sub, [...prefix, sub.name()])]);
}

afterAll(async () => {
  await stopAllPeers();
});

describe('deskline CLI', () => {
  it('--help works for the program and every subcommand', async () => {
    const root = await deskline(['--help']);
    expect(root.code).toBe(0);
    expect(root.stdout).toMatch(/Usage: deskline/);
    const paths = commandPaths(buildProgram());
    expect(paths.map((p) => p.join(' '))).toEqual(expect.arrayContaining(['start', 'config schema', 'config check', 'board list', 'status', 'dial']));
    const results = await Promise.all(paths.map(async (path) => ({ path: path.join(' '), ...(await deskline([...path, '--help'])) })));
    for (const result of results) {
      expect({ path: result.path, code: result.code }).toEqual({ path: result.path, code: 0 });
      expect(result.stdout).toContain(`Usage: deskline ${result.path}`);
    }
  });

  it('config schema prints a JSON Schema with defaults and descriptions', async () => {
    const result = await deskline(['config', 'schema']);
    expect(result.code).toBe(0);
    const schema = JSON.parse(result.stdout);
    expect(schema.$schema).toMatch(/json-schema/);
    expect(schema.properties.web.properties.port).toMatchObject({ type: 'integer', default: 8080, 'x-restart': true });
    expect(schema.properties.phone.properties.dialTimeoutMs.description).toMatch(/last digit/);
  });

  it('a bad config file makes start and config check exit 2 naming each bad field', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'cli-')), 'bad.json');
    writeFileSync(file, JSON.stringify({ web: { port: 99999 }, phone: { dialTimeoutMs: 'soon' }, displayy: {} }));
    const data = mkdtempSync(join(tmpdir(), 'cli-data-'));
    for (const args of [['--config', file, '--data', data, 'start'], ['config', 'check', file]]) {
      const result = await deskline(args);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/web\.port: .*65535/);
      expect(result.stderr).toMatch(/phone\.dialTimeoutMs: Expected integer, got "soon"/);
      expect(result.stderr).toMatch(/displayy: unknown setting/);
    }
    const viaEnv = await deskline(['start', '--data', data], { DESKLINE_CONFIG: file });
    expect(viaEnv.code).toBe(2);
    const json = await deskline(['config', 'check', file, '--json']);
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout).errors.map((e: { path: string }) => e.path).sort()).toEqual(['displayy', 'phone.dialTimeoutMs', 'web.port']);
  });

  it('config show prints the effective config with SIP passwords hidden', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'cli-')), 'c.json');
    writeFileSync(file, JSON.stringify({ sip: { accounts: [{ id: 'main', uri: 'sip:1000@pbx.example.com', password: 'hunter2-secret' }] } }));
    const result = await deskline(['config', 'show', '--config', file]);
    expect(result.code).toBe(0);
    expect(result.stdout).not.toContain('hunter2');
    expect(JSON.parse(result.stdout).sip.accounts[0]).toMatchObject({ id: 'main', password: '[secret]', transport: 'udp' });
  });

  it('an unknown board is a clear error listing the known boards', async () => {
    const result = await deskline(['start', '--board', 'nokia', '--data', mkdtempSync(join(tmpdir(), 'cli-data-'))]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/unknown board 'nokia'; known boards: dp-a53, dp-a53-r2, sim/);
  });

  it('status, dial and hangup reach the running daemon over its control socket; SIGTERM stops it cleanly', async () => {
    const data = mkdtempSync(join(tmpdir(), 'cli-daemon-'));
    const port = await freeTcpPort();
    const daemon = await spawnPeer({
      name: 'deskline',
      command: process.execPath,
      args: [MAIN, 'start', '--board', 'sim', '--port', String(port), '--data', data],
      debianPackage: 'nodejs',
      env: { ...process.env, DESKLINE_CONFIG: '' },
      ready: { line: /Virtual phone: http:\/\/127\.0\.0\.1:\d+/ },
      readyTimeoutMs: 20_000,
    });
    expect(daemon.output()).toContain(`Virtual phone: http://127.0.0.1:${port}`);
    const status = await deskline(['status', '--json', '--data', data]);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ board: 'sim', phone: { state: 'idle' }, web: `http://127.0.0.1:${port}` });
    expect(JSON.parse(status.stdout).services.every((s: { status: string }) => s.status === 'running')).toBe(true);

    const dial = await deskline(['dial', '5551234', '--data', data, '--json']);
    expect(dial.code).toBe(0);
    expect(JSON.parse(dial.stdout).state).toBe('calling');
    const bad = await deskline(['dial', '12ab', '--data', data]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/cannot dial '12ab'.*CALL_BAD_NUMBER/);
    expect((await deskline(['hangup', '--data', data])).stdout).toMatch(/phone is idle/);

    const exit = await daemon.stop();
    expect(exit.code).toBe(0);
    expect(existsSync(join(data, 'run', 'deskline.sock'))).toBe(false);
    const none = await deskline(['status', '--data', data]);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/no deskline daemon is running/);
  });

  it('contacts import reports bad rows and keeps the good ones; a damaged shard at the next start comes back from its last good copy', async () => {
    const data = mkdtempSync(join(tmpdir(), 'cli-contacts-'));
    const start = async () => spawnPeer({
      name: 'deskline',
      command: process.execPath,
      args: [MAIN, 'start', '--board', 'sim', '--port', String(await freeTcpPort()), '--data', data],
      debianPackage: 'nodejs',
      env: { ...process.env, DESKLINE_CONFIG: '' },
      ready: { line: /Virtual phone: http:\/\/127\.0\.0\.1:\d+/ },
      readyTimeoutMs: 20_000,
    });
    let daemon = await start();
    const csv = join(data, 'customers.csv');
    writeFileSync(csv, 'name,phone,company,renewal_due\nWang Li,(212) 555-0101,Garden Cafe,2026-12-01\nBad Date,(212) 555-0103,Nobody,2026-13-45\nAnn Lee,212-555-0102,,\n');
    const imported = await deskline(['contacts', 'import', csv, '--data', data]);
    expect(imported.code).toBe(1); // a row had errors
    expect(imported.stdout).toMatch(/created 2\b/);
    expect(imported.stdout).toMatch(/line 3, renewal_due: .*2026-13-45/);
    const found = JSON.parse((await deskline(['contacts', 'search', 'wang', '--json', '--data', data])).stdout) as Array<{ id: string; name: string; numbers: string[] }>;
    expect(found).toEqual([expect.objectContaining({ name: 'Wang Li', numbers: ['(212) 555-0101'] })]);
    const exported = join(data, 'export.csv');
    expect((await deskline(['contacts', 'export', exported, '--data', data])).stdout).toMatch(/2 contacts written/);
    expect(readFileSync(exported, 'utf8')).toMatch(/Ann Lee/);

    // a second write of Wang Li's shard: its first version becomes the last good copy (.bak)
    const wangId = found[0].id;
    const contactsDir = join(data, 'store', 'contacts');
    const shardOf = () => readdirSync(contactsDir).find((f) => /^\d+\.json$/.test(f) && readFileSync(join(contactsDir, f), 'utf8').includes(wangId))!;
    await controlSave(data, wangId);
    expect(readFileSync(join(contactsDir, shardOf()), 'utf8')).toContain('owes 20');
    expect((await daemon.stop()).code).toBe(0);

    // power cut mid-way through some later write (simulated): the shard is cut in half
    const shard = join(contactsDir, shardOf());
    const text = readFileSync(shard, 'utf8');
    writeFileSync(shard, text.slice(0, text.length >> 1));
    daemon = await start();
    expect(daemon.output()).toMatch(/store: restored-backup/);
    const again = JSON.parse((await deskline(['contacts', 'search', 'wang', '--json', '--data', data])).stdout) as Array<{ id: string; note: string | null }>;
    // the last good copy: Wang Li as imported, before the edit
    expect(again).toEqual([expect.objectContaining({ id: wangId, note: null })]);
    expect((await daemon.stop()).code).toBe(0);
  });
});

/** Edits a contact over the control socket (no CLI command edits contacts yet). */
async function controlSave(data: string, id: string): Promise<void> {
  const { connectControl } = await import('../../src/control/client.js');
  const client = await connectControl(join(data, 'run', 'deskline.sock'));
  try {
    await client.call('contacts.save', { contact: { id, notes: 'owes 20' } });
  } finally {
    client.close();
  }
}
