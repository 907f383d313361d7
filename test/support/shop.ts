import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp, type App } from '../../src/app/app.js';
import { loadBoard } from '../../src/board/board.js';
import { validateConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import type { Clock } from '../../src/core/clock.js';
import type { Logger } from '../../src/core/log.js';

/** The noodle shop of the order tests: its catalog (with barcodes), currency and the shop on the slips. */
export const SHOP = {
  name: 'Wang Noodle House',
  noodles: { code: '12', name: 'Noodles', unitPrice: 1800, barcode: '6901234567892' },
  soup: { code: '7', name: 'Soup', unitPrice: 650, barcode: '0012345678905' },
} as const;

/** The whole runtime on the sim board as the shop runs it (web UI on `webPort`, 0: any free port), started. */
export async function startShopApp(options: { prefix: string; webPort: number; log: Logger; clock?: Clock }): Promise<App> {
  const { config, issues } = validateConfig({
    board: 'sim', web: { port: options.webPort }, device: { name: 'Garden Shop', country: 'US' },
    printing: { encoding: 'cp437', mapUrlBase: 'https://maps.example.com/?q=' },
    orders: {
      currency: 'USD',
      catalog: [SHOP.noodles, SHOP.soup],
      shop: { name: SHOP.name, phone: '212 555 0100', address: '1 Main St' },
    },
  });
  if (!config) throw new Error(JSON.stringify(issues));
  const dir = mkdtempSync(join(tmpdir(), options.prefix));
  const app = createApp({ config: config as Config, board: await loadBoard('sim'), dataDir: dir, log: options.log, clock: options.clock, socketPath: join(dir, 'ctl.sock'), env: {} });
  const report = await app.start();
  const failed = report.filter((r) => r.status !== 'running');
  if (failed.length > 0) throw new Error(`services not running: ${JSON.stringify(failed)}`);
  return app;
}
