import { mkdtempSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import { connectControl } from '../../../src/control/client.js';
import { ControlRegistry } from '../../../src/control/protocol.js';
import { ControlService } from '../../../src/control/server.js';
import { captureLogger } from '../../support/log.js';

const running: ControlService[] = [];
afterEach(async () => {
  for (const s of running.splice(0)) await s.stop();
});

async function serve(registry = new ControlRegistry()) {
  const socketPath = join(mkdtempSync(join(tmpdir(), 'ctl-')), 'run', 'deskline.sock');
  const service = new ControlService({ log: captureLogger().log, control: registry, socketPath });
  await service.start();
  running.push(service);
  return { socketPath, registry, service };
}

describe('control socket', () => {
  it('answers registered methods and reports errors with their code', async () => {
    const registry = new ControlRegistry();
    registry.register('phone', 'echo', (params) => ({ echoed: params }));
    registry.register('phone', 'fail', () => {
      throw Object.assign(new Error('no line'), { code: 'CALL_NO_LINE' });
    });
    const { socketPath } = await serve(registry);
    expect(statSync(socketPath).mode & 0o777).toBe(0o660);
    const client = await connectControl(socketPath);
    await expect(client.call('echo', { a: 1 })).resolves.toEqual({ echoed: { a: 1 } });
    await expect(client.call('fail')).rejects.toMatchObject({ code: 'CALL_NO_LINE', message: 'no line' });
    await expect(client.call('nope')).rejects.toMatchObject({ code: 'CONTROL_UNKNOWN_METHOD', message: expect.stringMatching(/available: echo, fail/) });
    client.close();
  });

  it('refuses a second method owner and a second daemon on the same socket', async () => {
    const registry = new ControlRegistry();
    registry.register('a', 'x', () => 1);
    expect(() => registry.register('b', 'x', () => 2)).toThrow(/already registered by a/);
    const { socketPath } = await serve();
    const second = new ControlService({ log: captureLogger().log, control: new ControlRegistry(), socketPath });
    await expect(second.start()).rejects.toMatchObject({ code: 'CONTROL_IN_USE' });
  });

  it('replaces a stale socket file left by a crashed daemon', async () => {
    const { socketPath, service } = await serve();
    await service.stop();
    running.splice(0);
    // server.close() unlinks the path; recreate a stale file the way a SIGKILLed daemon leaves it
    const { writeFileSync } = await import('node:fs');
    writeFileSync(socketPath, '');
    const again = new ControlService({ log: captureLogger().log, control: new ControlRegistry(), socketPath });
    await again.start();
    running.push(again);
    const client = await connectControl(socketPath);
    client.close();
  });

  it('says clearly when no daemon runs', async () => {
    await expect(connectControl(join(tmpdir(), 'no-such-dir', 'deskline.sock'))).rejects.toMatchObject({ code: 'CONTROL_NO_DAEMON', message: expect.stringMatching(/no deskline daemon is running/) });
  });

  it('answers garbage with an error and drops oversized lines', async () => {
    const { socketPath } = await serve();
    const replies = await new Promise<string>((resolve) => {
      const socket = connect(socketPath);
      let text = '';
      socket.on('data', (d) => (text += d.toString()));
      socket.on('close', () => resolve(text));
      socket.write('hello\n');
      socket.write('x'.repeat(70 * 1024));
    });
    const lines = replies.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.error.code)).toEqual(['CONTROL_BAD_REQUEST', 'CONTROL_TOO_LARGE']);
  });
});
