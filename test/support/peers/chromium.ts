// Chromium from Debian's package, driven by playwright-core (never a downloaded browser).
// launchServer + connect instead of launch, so the harness knows the browser's PID and can make
// sure the whole process tree is gone on close(). Package: chromium.

import { chromium, type Browser, type Page } from 'playwright-core';
import { descendants, isSameProcess, onStopAll, pidExists, requireBinary, waitDead, waitGone } from '../process.js';

export const CHROMIUM_PATH = '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];

export interface LaunchedChromium {
  browser: Browser;
  /** PID of the browser's main process */
  pid: number;
  /** closes the browser and resolves once its main process and every child are gone */
  close(): Promise<void>;
}

export async function launchChromium(o: { args?: string[]; timeoutMs?: number } = {}): Promise<LaunchedChromium> {
  const executablePath = requireBinary(CHROMIUM_PATH, 'chromium');
  // playwright gives each launch a fresh user-data dir (a temp profile it removes on close)
  const server = await chromium.launchServer({
    executablePath,
    headless: true,
    args: [...CHROMIUM_ARGS, ...(o.args ?? [])],
    host: '127.0.0.1',
    port: 0,
    timeout: o.timeoutMs ?? 30_000,
    // playwright closes the browser if the test process gets SIGINT/SIGTERM/SIGHUP (a runner
    // killing an over-budget suite): chromium runs in a process group of its own
    handleSIGINT: true,
    handleSIGTERM: true,
    handleSIGHUP: true,
  });
  const child = server.process();
  const pid = child.pid;
  if (pid === undefined) {
    await server.kill();
    throw new Error('chromium: launched without a pid');
  }
  let browser: Browser;
  try {
    browser = await chromium.connect(server.wsEndpoint(), { timeout: o.timeoutMs ?? 30_000 });
  } catch (e) {
    await server.kill();
    throw e;
  }
  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => {
    if (closing) return closing;
    closing = (async () => {
      unregister();
      const tree = descendants(pid);
      await browser.close().catch(() => undefined);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([server.close().catch(() => undefined), new Promise((r) => (timer = setTimeout(r, 5000)))]);
      clearTimeout(timer);
      if (!(await waitGone(pid, 3000))) {
        await server.kill().catch(() => undefined);
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
        await waitGone(pid, 2000);
      }
      // renderers/zygotes that outlived the main process
      for (const p of [...tree, ...descendants(pid)]) {
        if (!isSameProcess(p)) continue;
        try {
          process.kill(p.pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      await waitDead(tree, 3000);
      if (pidExists(pid)) throw new Error(`chromium pid ${pid} still running after close()`);
    })();
    return closing;
  };
  const unregister = onStopAll(close);
  return { browser, pid, close };
}

/** Chromium with the virtual phone page open at `url`, once the page's channel is connected. */
export async function openVirtualPhone(url: string): Promise<{ chromium: LaunchedChromium; page: Page }> {
  const launched = await launchChromium();
  const page = await launched.browser.newPage();
  await page.goto(url);
  await page.waitForSelector('body[data-connected="true"]');
  return { chromium: launched, page };
}
