import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { SystemdNotifyService } from '../../../src/systemd/service.js';
import { FakeClock } from '../../support/fake-clock.js';
import { captureLogger } from '../../support/log.js';

/** A stand-in for systemd-notify that appends each call's arguments to a file. */
function fakeNotify() {
  const dir = mkdtempSync(join(tmpdir(), 'notify-'));
  const calls = join(dir, 'calls.txt');
  const bin = join(dir, 'systemd-notify');
  writeFileSync(bin, `#!/bin/sh\necho "$*" >> '${calls}'\n`);
  chmodSync(bin, 0o755);
  const read = () => (existsSync(calls) ? readFileSync(calls, 'utf8').trim().split('\n') : []);
  return { bin, read };
}

async function until(check: () => boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('systemd notify', () => {
  it('sends READY, WATCHDOG every WATCHDOG_USEC/2 of clock time, and STOPPING', async () => {
    const { bin, read } = fakeNotify();
    const clock = new FakeClock();
    const service = new SystemdNotifyService({
      log: captureLogger().log, clock, command: bin, status: () => 'board=sim;services_running=5/5',
      env: { ...process.env, NOTIFY_SOCKET: '/run/systemd/notify', WATCHDOG_USEC: '4000000', WATCHDOG_PID: String(process.pid) },
    });
    await service.start();
    await until(() => read().length >= 1);
    expect(read()[0]).toBe(`READY=1 STATUS=board=sim;services_running=5/5 MAINPID=${process.pid}`);
    clock.advance(1999);
    clock.advance(1);
    clock.advance(2000);
    await until(() => read().length >= 3);
    expect(read().slice(1)).toEqual(['WATCHDOG=1', 'WATCHDOG=1']);
    await service.stop();
    expect(read().at(-1)).toBe('STOPPING=1');
    expect(clock.pending).toBe(0);
  });

  it('does nothing outside systemd', async () => {
    const { bin, read } = fakeNotify();
    const clock = new FakeClock();
    const service = new SystemdNotifyService({ log: captureLogger().log, clock, command: bin, status: () => '', env: {} });
    await service.start();
    clock.advance(10_000);
    await service.stop();
    expect(read()).toEqual([]);
    expect(clock.pending).toBe(0);
  });
});
