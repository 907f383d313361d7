import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import { CloudCommands, parseCommand, REMEMBERED_COMMANDS, unsupported, type CommandCall, type CommandHandler, type CommandResult } from '../../../src/cloud/commands.js';
import { deviceTopics } from '../../../src/cloud/topics.js';
import { DesklineError } from '../../../src/core/errors.js';
import { FakeClock } from '../../support/fake-clock.js';
import { captureLogger } from '../../support/log.js';
import { MemoryLink } from '../../support/memory-link.js';
import { makeTempDir, stopAllPeers } from '../../support/process.js';
import { waitFor } from '../../support/wait.js';

afterAll(async () => {
  await stopAllPeers(); // removes the temp dirs
});

const topics = deviceTopics('d1');
const NOW = Date.UTC(2026, 10, 24, 9, 30);

const running = new Set<CloudCommands>();
afterEach(async () => {
  await Promise.all([...running].map((c) => c.stop()));
  running.clear();
});

async function logPath(): Promise<string> {
  return join(await makeTempDir('commands'), 'commands.json');
}

/** A CloudCommands on a memory link, with recording handlers and audit. */
async function commands(o: { logPath: string; handlers?: Record<string, CommandHandler>; clock?: FakeClock; link?: MemoryLink; track?: boolean }) {
  const link = o.link ?? new MemoryLink({ deviceId: 'd1' });
  const clock = o.clock ?? new FakeClock({ wall: NOW });
  const { log } = captureLogger();
  const audits: Array<{ by: string | null; action: string; detail: Record<string, unknown> }> = [];
  const service = new CloudCommands({ link, clock, log, logPath: o.logPath, handlers: o.handlers ?? {}, audit: (entry) => audits.push(entry) });
  if (o.track ?? true) running.add(service);
  await service.start();
  await link.settle();
  const results = (name?: string) => link.jsonSentTo<CommandResult>(name ? topics.cmdResult(name) : `${topics.base}/cmd/+/result`);
  return {
    service, link, clock, audits, results,
    /** the cloud sends a command (QoS 1, never retained) */
    send: (name: string, payload: unknown) => link.deliver(topics.cmd(name), payload),
    /** waits for the n-th result and returns it */
    result: async (n: number, name?: string) => {
      await waitFor(() => results(name).length >= n, `result #${n}`);
      return results(name)[n - 1];
    },
  };
}

/** A handler that records its calls. */
function recording(answer: (call: CommandCall) => unknown = () => undefined) {
  const calls: CommandCall[] = [];
  const handler: CommandHandler = (call) => {
    calls.push(call);
    return answer(call);
  };
  return { calls, handler };
}

describe('parseCommand', () => {
  const parse = (value: unknown) => parseCommand(Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)));

  it('accepts {id, by, args, expiresAt?}, args defaulting to {}', () => {
    expect(parse({ id: 'c1', by: 'admin@example.com', args: { to: '+15551234567' } })).toEqual({ request: { id: 'c1', by: 'admin@example.com', args: { to: '+15551234567' } } });
    expect(parse({ id: 'c1', by: 'a' })).toEqual({ request: { id: 'c1', by: 'a', args: {} } });
    expect(parse({ id: 'x'.repeat(128), by: 'b'.repeat(128), args: {}, expiresAt: NOW, other: 1 })).toEqual({
      request: { id: 'x'.repeat(128), by: 'b'.repeat(128), args: {}, expiresAt: NOW },
    });
  });

  it('refuses what is not a command, with the id when there is one', () => {
    expect(parse('{"id":')).toEqual({ error: 'the command is not JSON' });
    for (const notObject of ['[]', 'null', '7', '"c1"']) expect(parse(notObject)).toEqual({ error: expect.stringMatching(/must be a JSON object/) });
    for (const id of ['', 'x'.repeat(129), 5, null, undefined]) expect(parse({ id, by: 'a', args: {} })).toEqual({ error: 'id must be a string of 1-128 characters' });
    for (const by of ['', 'b'.repeat(129), 5, undefined]) expect(parse({ id: 'c1', by, args: {} })).toEqual({ error: expect.stringMatching(/^by must name the admin/), id: 'c1' });
    for (const args of [[], 'x', 3]) expect(parse({ id: 'c1', by: 'a', args })).toEqual({ error: 'args must be a JSON object', id: 'c1' });
    for (const expiresAt of ['2026-01-01', null, {}]) expect(parse({ id: 'c1', by: 'a', args: {}, expiresAt })).toEqual({ error: 'expiresAt must be wall time in ms', id: 'c1' });
  });
});

describe('CloudCommands', () => {
  it('runs a command and answers ok with the data on cmd/{name}/result', async () => {
    const ping = recording((call) => ({ pong: call.args.n }));
    const c = await commands({ logPath: await logPath(), handlers: { ping: ping.handler } });
    expect(c.link.subscriptions).toEqual([topics.commands]);
    c.send('ping', { id: 'c1', by: 'admin@example.com', args: { n: 7 } });
    expect(await c.result(1, 'ping')).toEqual({ id: 'c1', status: 'ok', data: { pong: 7 } });
    expect(ping.calls).toEqual([{ name: 'ping', id: 'c1', by: 'admin@example.com', args: { n: 7 } }]);
    const sent = c.link.sentTo(topics.cmdResult('ping'));
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ qos: 1, retain: false });
  });

  it('answers ok without data when the handler returns nothing', async () => {
    const c = await commands({ logPath: await logPath(), handlers: { reboot: () => undefined } });
    c.send('reboot', { id: 'r1', by: 'a', args: {} });
    const result = await c.result(1);
    expect(result).toEqual({ id: 'r1', status: 'ok' });
    expect('data' in result).toBe(false);
  });

  it('turns a thrown DesklineError into an error with its code, any other throw into COMMAND_FAILED', async () => {
    const c = await commands({
      logPath: await logPath(),
      handlers: {
        'sms.send': () => {
          throw new DesklineError('SMS_NO_MODEM', 'no modem is attached');
        },
        print: async () => {
          throw new Error('paper out');
        },
        upload: unsupported('recording upload'),
      },
    });
    c.send('sms.send', { id: 'c1', by: 'a', args: {} });
    expect(await c.result(1)).toEqual({ id: 'c1', status: 'error', error: { code: 'SMS_NO_MODEM', message: 'no modem is attached' } });
    c.send('print', { id: 'c2', by: 'a', args: {} });
    expect(await c.result(2)).toEqual({ id: 'c2', status: 'error', error: { code: 'COMMAND_FAILED', message: 'paper out' } });
    c.send('upload', { id: 'c3', by: 'a', args: {} });
    expect(await c.result(3)).toEqual({ id: 'c3', status: 'unsupported', error: { code: 'CLOUD_COMMAND_UNSUPPORTED', message: 'recording upload is not available on this phone yet' } });
  });

  it('answers unsupported for an unknown name, also one that is an Object.prototype key', async () => {
    const c = await commands({ logPath: await logPath(), handlers: { ping: () => 'pong' } });
    c.send('selfdestruct', { id: 'c1', by: 'a', args: {} });
    expect(await c.result(1)).toEqual({ id: 'c1', status: 'unsupported', error: { code: 'CLOUD_COMMAND_UNSUPPORTED', message: "this phone has no 'selfdestruct' command" } });
    c.send('constructor', { id: 'c2', by: 'a', args: {} });
    expect(await c.result(2)).toMatchObject({ id: 'c2', status: 'unsupported' });
  });

  it('refuses a malformed command with CLOUD_BAD_COMMAND when it has an id, and stays silent without one', async () => {
    const ping = recording();
    const c = await commands({ logPath: await logPath(), handlers: { ping: ping.handler } });
    c.send('ping', { id: 'c1', args: {} });
    expect(await c.result(1)).toEqual({ id: 'c1', status: 'error', error: { code: 'CLOUD_BAD_COMMAND', message: expect.stringMatching(/^by must name/) } });
    c.send('ping', 'not json');
    c.send('ping', { id: 'c2', by: 'a', args: {} });
    expect(await c.result(2)).toEqual({ id: 'c2', status: 'ok' });
    expect(c.results()).toHaveLength(2);
    expect(ping.calls.map((call) => call.id)).toEqual(['c2']);
  });

  it('refuses an expired command when the clock is trusted, without running it', async () => {
    const ping = recording();
    const c = await commands({ logPath: await logPath(), handlers: { ping: ping.handler } });
    c.send('ping', { id: 'old', by: 'admin@example.com', args: {}, expiresAt: NOW - 1 });
    expect(await c.result(1)).toEqual({
      id: 'old', status: 'expired', error: { code: 'CLOUD_COMMAND_EXPIRED', message: `expired at ${new Date(NOW - 1).toISOString()}` },
    });
    c.send('ping', { id: 'fresh', by: 'a', args: {}, expiresAt: NOW + 60_000 });
    expect(await c.result(2)).toEqual({ id: 'fresh', status: 'ok' });
    expect(ping.calls.map((call) => call.id)).toEqual(['fresh']);
    expect(c.audits[0]).toEqual({ by: 'admin@example.com', action: 'cmd.ping', detail: { id: 'old', args: [] } });
  });

  it('does not refuse a command as expired while wall time is not trusted', async () => {
    const ping = recording();
    const c = await commands({ logPath: await logPath(), handlers: { ping: ping.handler }, clock: new FakeClock({ wall: NOW, trusted: false }) });
    c.send('ping', { id: 'c1', by: 'a', args: {}, expiresAt: NOW - 3_600_000 });
    expect(await c.result(1)).toEqual({ id: 'c1', status: 'ok' });
    expect(ping.calls).toHaveLength(1);
  });

  it('records every command with its admin through audit, argument names only', async () => {
    const c = await commands({ logPath: await logPath(), handlers: { 'sms.send': () => undefined } });
    c.send('sms.send', { id: 'c1', by: 'alice@example.com', args: { to: '+15551234567', template: 'address' } });
    c.send('nosuch', { id: 'c2', by: 'bob@example.com', args: {} });
    await c.result(2, undefined);
    expect(c.audits).toEqual([
      { by: 'alice@example.com', action: 'cmd.sms.send', detail: { id: 'c1', args: ['to', 'template'] } },
      { by: 'bob@example.com', action: 'cmd.nosuch', detail: { id: 'c2', args: [] } },
    ]);
  });

  it('runs a redelivered id once and answers it with the first result, also after a restart', async () => {
    const path = await logPath();
    let n = 0;
    const count = recording(() => ({ n: ++n }));
    const first = await commands({ logPath: path, handlers: { count: count.handler } });
    first.send('count', { id: 'c1', by: 'a', args: {} });
    expect(await first.result(1)).toEqual({ id: 'c1', status: 'ok', data: { n: 1 } });
    first.send('count', { id: 'c1', by: 'a', args: {} }); // QoS 1: at least once
    expect(await first.result(2)).toEqual({ id: 'c1', status: 'ok', data: { n: 1 } });
    expect(count.calls).toHaveLength(1);
    expect(first.audits).toHaveLength(1);
    await first.service.stop();

    const again = recording(() => ({ n: 99 }));
    const second = await commands({ logPath: path, handlers: { count: again.handler }, link: first.link });
    second.send('count', { id: 'c1', by: 'a', args: {} });
    expect(await second.result(3)).toEqual({ id: 'c1', status: 'ok', data: { n: 1 } });
    expect(again.calls).toEqual([]);
    second.send('count', { id: 'c2', by: 'a', args: {} });
    expect(await second.result(4)).toEqual({ id: 'c2', status: 'ok', data: { n: 99 } });
  });

  it('answers INTERRUPTED for an id that was running when the process died, without running it again', async () => {
    const path = await logPath();
    const hang = recording(() => new Promise(() => undefined));
    // the first process dies while the handler runs: never stopped (stop waits for the handler)
    const first = await commands({ logPath: path, handlers: { flash: hang.handler }, track: false });
    first.send('flash', { id: 'f1', by: 'a', args: {} });
    await waitFor(() => hang.calls.length === 1, 'the handler to run');
    // written down before it ran
    const log = JSON.parse(await readFile(path, 'utf8')) as { commands: Array<{ id: string; result?: unknown }> };
    expect(log.commands).toEqual([{ id: 'f1' }]);

    const flash = recording();
    const second = await commands({ logPath: path, handlers: { flash: flash.handler } });
    second.send('flash', { id: 'f1', by: 'a', args: {} });
    expect(await second.result(1)).toEqual({ id: 'f1', status: 'error', error: { code: 'INTERRUPTED', message: expect.stringMatching(/restarted while this command ran/) } });
    expect(flash.calls).toEqual([]);
    expect(first.results()).toEqual([]);
  });

  it(`remembers only the newest ${REMEMBERED_COMMANDS} ids`, async () => {
    const path = await logPath();
    const remembered = Array.from({ length: REMEMBERED_COMMANDS }, (_, i) => ({ id: `old-${i}`, result: { id: `old-${i}`, status: 'ok', data: { i } } }));
    await writeFile(path, JSON.stringify({ version: 1, commands: remembered }));
    const ping = recording(() => 'ran');
    const c = await commands({ logPath: path, handlers: { ping: ping.handler } });
    c.send('ping', { id: 'old-1', by: 'a', args: {} });
    expect(await c.result(1)).toEqual({ id: 'old-1', status: 'ok', data: { i: 1 } });
    expect(ping.calls).toEqual([]);

    c.send('ping', { id: 'new', by: 'a', args: {} }); // the 501st: old-0 is forgotten
    expect(await c.result(2)).toEqual({ id: 'new', status: 'ok', data: 'ran' });
    const log = JSON.parse(await readFile(path, 'utf8')) as { commands: Array<{ id: string }> };
    expect(log.commands).toHaveLength(REMEMBERED_COMMANDS);
    expect(log.commands[0].id).toBe('old-1');
    expect(log.commands.at(-1)?.id).toBe('new');

    c.send('ping', { id: 'old-0', by: 'a', args: {} });
    expect(await c.result(3)).toEqual({ id: 'old-0', status: 'ok', data: 'ran' });
    c.send('ping', { id: 'old-2', by: 'a', args: {} });
    expect(await c.result(4)).toEqual({ id: 'old-2', status: 'ok', data: { i: 2 } });
    expect(ping.calls.map((call) => call.id)).toEqual(['new', 'old-0']);
  });

  it('runs commands one at a time in arrival order', async () => {
    const order: string[] = [];
    let release: () => void = () => undefined;
    const c = await commands({
      logPath: await logPath(),
      handlers: {
        slow: async () => {
          order.push('slow:start');
          await new Promise<void>((resolve) => (release = resolve));
          order.push('slow:end');
        },
        fast: () => void order.push('fast'),
      },
    });
    c.send('slow', { id: 'c1', by: 'a', args: {} });
    c.send('fast', { id: 'c2', by: 'a', args: {} });
    await waitFor(() => order.length === 1, 'the slow command to start');
    await c.link.settle();
    expect(order).toEqual(['slow:start']);
    release();
    await c.result(2);
    expect(order).toEqual(['slow:start', 'slow:end', 'fast']);
    expect(c.results().map((r) => r.id)).toEqual(['c1', 'c2']);
  });
});
