import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../../src/core/paths.js';

export interface Metric {
  metric: string;
  value: number;
  unit: string;
}

/** Percentile (nearest rank) of a list of numbers. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** Arithmetic mean (NaN for no values). */
export function mean(values: number[]): number {
  if (values.length === 0) return NaN;
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}

/** Population standard deviation (NaN for no values). */
export function stddev(values: number[]): number {
  if (values.length === 0) return NaN;
  const m = mean(values);
  let sum = 0;
  for (const v of values) sum += (v - m) ** 2;
  return Math.sqrt(sum / values.length);
}

/** Largest value without spreading the array into arguments (safe for long lists; NaN for none). */
export function max(values: number[]): number {
  let best = -Infinity;
  for (const v of values) if (v > best) best = v;
  return values.length ? best : NaN;
}

/** Print a table and write bench-results/<suite>.json. */
export function report(suite: string, metrics: Metric[]): string {
  const width = Math.max(...metrics.map((m) => m.metric.length), 6);
  process.stdout.write(`\n${suite}\n${'metric'.padEnd(width)}  ${'value'.padStart(12)}  unit\n`);
  for (const m of metrics) process.stdout.write(`${m.metric.padEnd(width)}  ${m.value.toFixed(3).padStart(12)}  ${m.unit}\n`);
  const dir = join(projectRoot(), 'bench-results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${suite}.json`);
  writeFileSync(file, `${JSON.stringify(metrics, null, 2)}\n`);
  process.stdout.write(`written to ${file}\n`);
  return file;
}
