#!/usr/bin/env node
// `npm run bench -- <suite> [...]`: runs test/bench/<suite>.bench.ts (TypeScript, through tsx) in its
// own process. Each benchmark prints a table and writes bench-results/<suite>.json as
// [{"metric": "...", "value": 1.23, "unit": "ms"}] (see test/bench/support/report.ts).
// Benchmarks measure; they never pass or fail on timing. Exit code: the benchmark's own.
//
// Before the suites: (1) the Debian packages of `system-deps.mjs bench` (the test peers plus
// tcpdump; installed when run as root), (2) the build (tsc -p tsconfig.build.json: the voice bench
// runs dist/src/main.js). --skip-deps and --skip-build skip them.

import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BENCH_DIR = join(ROOT, 'test', 'bench');
const available = existsSync(BENCH_DIR) ? readdirSync(BENCH_DIR).filter((f) => f.endsWith('.bench.ts')).map((f) => f.slice(0, -'.bench.ts'.length)).sort() : [];

const suites = process.argv.slice(2).filter((a) => !a.startsWith('-'));
if (suites.length === 0 || process.argv.includes('--help')) {
  process.stdout.write(`usage: npm run bench -- <suite> [<suite> ...]\nsuites: ${available.join(', ') || '(none yet)'}\n`);
  process.exit(suites.length === 0 && !process.argv.includes('--help') ? 2 : 0);
}
if (!process.argv.includes('--skip-deps')) {
  const deps = spawnSync(process.execPath, [join(ROOT, 'scripts', 'dev', 'system-deps.mjs'), 'bench'], { cwd: ROOT, stdio: 'inherit' });
  // 3 = missing and not installable here: the suites that need a program say so themselves
  if (deps.status !== 0 && deps.status !== 3) process.exit(deps.status ?? 1);
}
if (!process.argv.includes('--skip-build')) {
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const build = spawnSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json')], { cwd: ROOT, stdio: 'inherit' });
  if (build.status !== 0) {
    process.stderr.write('bench: the build failed (a stale dist/ would measure old code); fix it or pass --skip-build\n');
    process.exit(1);
  }
}
let status = 0;
for (const suite of suites) {
  if (!available.includes(suite)) {
    process.stderr.write(`bench: unknown suite '${suite}'; available: ${available.join(', ') || '(none)'}\n`);
    status = 2;
    continue;
  }
  const result = spawnSync(process.execPath, ['--import', 'tsx', join(BENCH_DIR, `${suite}.bench.ts`)], { cwd: ROOT, stdio: 'inherit', env: process.env });
  if (result.status !== 0) status = result.status ?? 1;
}
process.exit(status);
