/** `deskline summary [--date YYYY-MM-DD] [--print] [--copies N]`: the end-of-day summary, from the running daemon. */
import { Option, type Command } from 'commander';
import { formatMoney } from '../orders/money.js';
import type { DaySummaryInput } from '../printing/templates/types.js';
import { isCalendarDate } from '../reports/business-day.js';
import { MAX_COPIES, type DaySummaryResult } from '../reports/service.js';
import { CliExit, EXIT, print } from './context.js';
import { callDaemon, globals } from './daemon.js';

const bad = (message: string): CliExit => new CliExit(EXIT.badConfig, `deskline summary: ${message}`);

export function parseDate(value: string): string {
  if (!isCalendarDate(value)) throw bad(`--date must be a calendar date YYYY-MM-DD, got '${value}'`);
  return value;
}

export function parseCopies(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > MAX_COPIES) throw bad(`--copies must be 1..${MAX_COPIES}, got '${value}'`);
  return n;
}

/** The summary as text for the terminal. */
export function formatSummary(summary: DaySummaryInput, jobIds: readonly string[] = []): string {
  const { calls, orders, currency } = summary;
  const lines = [
    `Day summary ${summary.date} - ${summary.shop.name}`,
    `Calls:  ${calls.inbound} in, ${calls.outbound} out, ${calls.answered} answered, ${calls.missed} missed (${calls.missedNotCalledBack} not called back)`,
    `Orders: ${orders.count}, total ${formatMoney(orders.total, currency)} ${currency}`,
  ];
  if (summary.sms) lines.push(`SMS:    ${summary.sms.sent} sent, ${summary.sms.failed} failed`);
  if (summary.callList) lines.push(`Call list: ${summary.callList.done} done, ${summary.callList.open} open`);
  const top = summary.topItems ?? [];
  if (top.length > 0) {
    lines.push('Top items:');
    const width = Math.max(...top.map((item) => item.name.length));
    top.forEach((item, i) => lines.push(`  ${i + 1}. ${item.name.padEnd(width)}  x${String(item.qty).padEnd(4)} ${formatMoney(item.total, currency)}`));
  }
  if (jobIds.length > 0) lines.push(`Printing: ${jobIds.map((id) => `job ${id}`).join(', ')}`);
  return lines.join('\n');
}

export function addSummaryCommand(program: Command): void {
  program
    .command('summary')
    .description("the day's calls, orders, money taken and best sellers on the running phone (the end-of-day slip)")
    .addOption(new Option('--date <YYYY-MM-DD>', 'the business day (default: today in printing.timeZone)').argParser(parseDate))
    .option('--print', 'also print the slip on the phone\'s receipt printer')
    .addOption(new Option('--copies <n>', `with --print: copies, 1..${MAX_COPIES}`).argParser(parseCopies))
    .action(async (options: { date?: string; print?: boolean; copies?: number }, command: Command) => {
      if (options.copies !== undefined && !options.print) throw bad('--copies needs --print');
      const params = {
        ...(options.date ? { date: options.date } : {}),
        ...(options.print ? { print: true } : {}),
        ...(options.copies !== undefined ? { copies: options.copies } : {}),
      };
      const result = (await callDaemon(command, 'reports.daySummary', params)) as DaySummaryResult;
      print(globals(command), result, () => formatSummary(result.summary, result.jobIds));
    });
}
