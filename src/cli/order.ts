import type { Command } from 'commander';
import { formatMoney } from '../orders/money.js';
import { CliExit, EXIT, print } from './context.js';
import { callDaemon, globals } from './daemon.js';

interface PlacedOrder {
  order: { orderId: string; summary: string; total: number; currency: string };
  jobIds: string[];
}

/** '12x2' (code 12, two of it), '12' (one), 'name:Soup x3', 'barcode:6901234567892': an --item value. */
export function parseItemOption(text: string): { code?: string; barcode?: string; name?: string; qty: number } {
  const match = /^(?:(code|barcode|name):)?(.+?)(?:\s*[x*]\s*([0-9]{1,2}))?$/i.exec(text.trim());
  if (!match || !match[2].trim()) {
    throw new CliExit(EXIT.failure, `deskline: --item '${text}': use CODE[xQTY], barcode:CODE[xQTY] or name:NAME[xQTY], e.g. --item 12x2`);
  }
  const kind = (match[1]?.toLowerCase() ?? 'code') as 'code' | 'barcode' | 'name';
  return { [kind]: match[2].trim(), qty: match[3] ? Number(match[3]) : 1 };
}

/** `deskline order ...`: take an order on the running phone, as the keypad and the web UI do. */
export function addOrderCommands(program: Command): void {
  const order = program.command('order').description('phone orders on the running phone: the catalog, placing an order, printing its slip');
  order
    .command('catalog')
    .description('the items that can be ordered (config orders.catalog)')
    .action(async (_options: unknown, command: Command) => {
      const catalog = (await callDaemon(command, 'orders.catalog')) as { currency: string; items: Array<{ code: string; name: string; unitPrice: number; barcode?: string }> };
      print(globals(command), catalog, () => (catalog.items.length === 0 ? 'the catalog is empty (config orders.catalog)' : catalog.items
        .map((item) => `${item.code.padStart(6)}  ${item.name.padEnd(24)} ${formatMoney(item.unitPrice, catalog.currency).padStart(10)}${item.barcode ? `  ${item.barcode}` : ''}`).join('\n')));
    });
  order
    .command('place')
    .description("file an order in the customer's timeline (and print its delivery slip with --print)")
    .option('--number <number>', "the customer's phone number (none: a counter order)")
    .option('--item <item>', 'an item: CODE[xQTY], barcode:CODE[xQTY] or name:NAME[xQTY] (repeat for more lines)', (value: string, items: string[]) => [...items, value], [] as string[])
    .option('--note <text>', "a note on the whole order ('ring twice')")
    .option('--print', 'print the delivery slip')
    .action(async (options: { number?: string; item: string[]; note?: string; print?: boolean }, command: Command) => {
      if (options.item.length === 0) throw new CliExit(EXIT.failure, 'deskline: an order needs at least one --item (e.g. --item 12x2)');
      const items = options.item.map(parseItemOption);
      const placed = (await callDaemon(command, 'orders.place', { number: options.number ?? null, items, note: options.note ?? null, print: options.print === true })) as PlacedOrder;
      print(globals(command), placed, () => [
        `order ${placed.order.orderId}: ${placed.order.summary}`,
        ...(placed.jobIds.length > 0 ? [`slip queued (job ${placed.jobIds.join(', ')})`] : []),
      ].join('\n'));
    });
  order
    .command('print')
    .argument('<orderId>', 'the order id `deskline order place` printed')
    .description("print an order's delivery slip again")
    .action(async (orderId: string, _options: unknown, command: Command) => {
      const result = (await callDaemon(command, 'orders.print', { orderId })) as { jobIds: string[] };
      print(globals(command), result, () => `slip queued (job ${result.jobIds.join(', ')})`);
    });
}
