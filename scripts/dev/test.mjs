#!/usr/bin/env node
// `npm test`: every suite, each under its own time budget.
//
//   node scripts/dev/test.mjs                      # all suites
//   node scripts/dev/test.mjs --suite integration  # one suite (repeat or comma-separate for more)
//   node scripts/dev/test.mjs -- harness           # extra args go to jest (e.g. a path pattern)
//   npm test -- --suite unit -t "config"
//
// Steps: (1) system packages (scripts/dev/system-deps.mjs test), (2) build (tsc -p
// tsconfig.build.json; some tests spawn dist/src/main.js), (3) per suite in SUITES: jest
// --selectProjects <suite> in its own process group, killed (with every process under it) when
// it exceeds its budget. Ends with one line "N passed, N failed[, N skipped]"; exit code 1 if
// anything failed. --skip-deps and --skip-build skip steps 1 and 2, --skip-lint the eslint run
// between build and suites (for quick local loops).

import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { setInterval, clearInterval } from 'node:timers';

/**
 * The suites, in run order: a jest project (jest.config.js) each, with a wall-clock budget.
 * optional: a suite with no test files is reported and not counted as a failure.
 * Later suites (fuzz, chaos, ...) add a row here and a project in jest.config.js.
 */
export const SUITES = [
  { name: 'unit', budgetSec: 300, optional: false },
  { name: 'integration', budgetSec: 600, optional: false },
  // long real outages and kills (the 60 s broker outage of the cloud outbox)
  { name: 'chaos', budgetSec: 240, optional: false },
  { name: 'fuzz', budgetSec: 240, optional: true },
  { name: 'e2e', budgetSec: 300, optional: false },
];

/**
 * DESKLINE_TEST_BUDGET_SCALE multiplies every budget (e.g. 3 on a slow or emulated machine,
 * 0.01 to check the budget kill itself).
 */
const BUDGET_SCALE = Number(process.env.DESKLINE_TEST_BUDGET_SCALE ?? '1') > 0 ? Number(process.env.DESKLINE_TEST_BUDGET_SCALE ?? '1') : 1;

/** After jest has written its results, how long it may take to exit before it is killed. */
const EXIT_GRACE_MS = 15_000;
/** Between SIGTERM and SIGKILL when a suite is killed. */
const KILL_GRACE_MS = 5_000;

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

function log(msg) {
  process.stdout.write(`${msg}\n`);
}

export function parseArgs(argv) {
  const o = { suites: [], jestArgs: [], skipDeps: false, skipBuild: false, skipLint: false, help: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      o.jestArgs.push(...argv.slice(i + 1));
      break;
    } else if (a === '--suite' || a === '--suites') {
      const v = argv[++i];
      if (!v) throw new Error(`${a} needs a suite name`);
      o.suites.push(...v.split(',').filter(Boolean));
    } else if (a.startsWith('--suite=')) {
      o.suites.push(...a.slice('--suite='.length).split(',').filter(Boolean));
    } else if (a === '--skip-deps') o.skipDeps = true;
    else if (a === '--skip-build') o.skipBuild = true;
    else if (a === '--skip-lint') o.skipLint = true;
    else if (a === '--help' || a === '-h') o.help = true;
    else o.jestArgs.push(a);
  }
  return o;
}

function withVmModules(nodeOptions = '') {
  const parts = nodeOptions.split(/\s+/).filter(Boolean);
  if (!parts.includes('--experimental-vm-modules')) parts.push('--experimental-vm-modules');
  // jest's ESM mode makes Node warn once per worker; the warning says nothing new
  if (!parts.some((p) => p.startsWith('--disable-warning'))) parts.push('--disable-warning=ExperimentalWarning');
  return parts.join(' ');
}

// ---- process tree helpers (by PID only) -------------------------------------------------------

function procStat(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return { state: rest[0], ppid: Number(rest[1]), start: rest[19] };
  } catch {
    return null;
  }
}

/** Every descendant of pid (through /proc), with start times to guard against PID reuse. */
function descendants(pid) {
  const kids = new Map();
  let entries = [];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    const st = procStat(Number(e));
    if (!st) continue;
    const list = kids.get(st.ppid) ?? [];
    list.push({ pid: Number(e), start: st.start });
    kids.set(st.ppid, list);
  }
  const out = [];
  const queue = [pid];
  while (queue.length) {
    for (const c of kids.get(queue.shift()) ?? []) {
      out.push(c);
      queue.push(c.pid);
    }
  }
  return out;
}

function stillRuns(p) {
  const st = procStat(p.pid);
  return st !== null && st.start === p.start && st.state !== 'Z';
}

function kill(pid, sig) {
  try {
    process.kill(pid, sig);
  } catch {
    /* gone */
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Kills a suite: its process group (jest and the peers it spawned) plus every descendant that
 * left the group (playwright starts chromium in a group of its own).
 */
async function killSuite(child) {
  const tree = descendants(child.pid);
  kill(-child.pid, 'SIGTERM');
  for (const p of tree) kill(p.pid, 'SIGTERM');
  const deadline = Date.now() + KILL_GRACE_MS;
  while (Date.now() < deadline && (child.exitCode === null && child.signalCode === null || tree.some(stillRuns))) await sleep(100);
  kill(-child.pid, 'SIGKILL');
  for (const p of [...tree, ...descendants(child.pid)]) if (stillRuns(p)) kill(p.pid, 'SIGKILL');
}

// ---- steps ------------------------------------------------------------------------------------

function runStep(title, cmd, args) {
  const t0 = Date.now();
  log(`\n== ${title}: ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { cwd: ROOT, stdio: 'inherit', env: process.env });
  const secs = ((Date.now() - t0) / 1000).toFixed(1);
  return { ok: r.status === 0, status: r.status ?? 1, secs, error: r.error };
}

function jestCounts(file) {
  const j = JSON.parse(readFileSync(file, 'utf8'));
  return {
    files: j.numTotalTestSuites ?? 0,
    passed: j.numPassedTests ?? 0,
    // a file that fails to load or run counts as one failure, with no test counted for it
    failed: (j.numFailedTests ?? 0) + (j.numRuntimeErrorTestSuites ?? 0),
    skipped: (j.numPendingTests ?? 0) + (j.numTodoTests ?? 0),
    success: j.success === true,
  };
}

function runSuite(suiteRow, jestArgs, filtered) {
  const suite = { ...suiteRow, budgetSec: Math.max(1, Math.round(suiteRow.budgetSec * BUDGET_SCALE)) };
  return new Promise((resolvePromise) => {
    const outDir = mkdtempSync(join(tmpdir(), `deskline-test-${suite.name}-`));
    const outFile = join(outDir, 'results.json');
    // The suite's TMPDIR: whatever its tests leave in temp dirs goes when the suite ends. Open to all (like
    // /tmp) for the peers and runtimes the tests run as other users.
    const suiteTmp = join(outDir, 'tmp');
    mkdirSync(suiteTmp);
    chmodSync(outDir, 0o755);
    chmodSync(suiteTmp, 0o1777);
    const args = [
      '--experimental-vm-modules',
      join(ROOT, 'node_modules', 'jest', 'bin', 'jest.js'),
      '--selectProjects',
      suite.name,
      '--json',
      '--outputFile',
      outFile,
      '--passWithNoTests',
      ...jestArgs,
    ];
    log(`\n== suite ${suite.name} (budget ${suite.budgetSec} s): jest --selectProjects ${suite.name}${jestArgs.length ? ' ' + jestArgs.join(' ') : ''}`);
    const t0 = Date.now();
    const child = spawn(process.execPath, args, {
      cwd: ROOT,
      stdio: ['ignore', 'inherit', 'inherit'],
      detached: true, // own process group: a budget kill takes the peers with it
      env: { ...process.env, TMPDIR: suiteTmp, NODE_OPTIONS: withVmModules(process.env.NODE_OPTIONS) },
    });
    let overBudget = false;
    let lingering = false;
    let killing = null;
    const budgetTimer = setTimeout(() => {
      overBudget = true;
      killing = killSuite(child);
    }, suite.budgetSec * 1000);
    // jest that has written its results but does not exit (open handles) is ended after a grace
    let resultsSeenAt = 0;
    const lingerTimer = setInterval(() => {
      if (!existsSync(outFile)) return;
      resultsSeenAt ||= Date.now();
      if (Date.now() - resultsSeenAt > EXIT_GRACE_MS && !killing) {
        lingering = true;
        killing = killSuite(child);
      }
    }, 500);
    const forward = (sig) => () => {
      kill(-child.pid, sig);
    };
    const onInt = forward('SIGINT');
    const onTerm = forward('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
    child.once('exit', async (code, signal) => {
      clearTimeout(budgetTimer);
      clearInterval(lingerTimer);
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      if (killing) await killing;
      // anything jest's workers left behind in the group (a peer a test forgot to stop)
      kill(-child.pid, 'SIGKILL');
      const secs = (Date.now() - t0) / 1000;
      const r = { name: suite.name, secs, passed: 0, failed: 0, skipped: 0, files: 0, status: 'ok', note: '' };
      if (overBudget) {
        r.failed = 1;
        r.status = 'failed';
        r.note = `suite ${suite.name} exceeded its budget of ${suite.budgetSec} s`;
      } else if (!existsSync(outFile)) {
        r.failed = 1;
        r.status = 'failed';
        r.note = `jest exited (code ${code}, signal ${signal}) without results`;
      } else {
        let c;
        try {
          c = jestCounts(outFile);
        } catch (e) {
          c = null;
          r.failed = 1;
          r.status = 'failed';
          r.note = `unreadable jest results: ${e.message}`;
        }
        if (c) {
          Object.assign(r, { passed: c.passed, failed: c.failed, skipped: c.skipped, files: c.files });
          if (c.files === 0) {
            if (filtered) {
              r.status = 'empty';
              r.note = 'no test files match the given arguments';
            } else if (suite.optional) {
              r.status = 'empty';
              r.note = 'no test files (optional suite)';
            } else {
              r.status = 'failed';
              r.failed = 1;
              r.note = 'no test files (this suite is not optional)';
            }
          } else if (r.failed > 0 || !c.success || (code !== 0 && !lingering)) {
            r.status = 'failed';
            if (r.failed === 0) {
              // jest failed for a reason that counted no test (global setup, coverage, ...)
              r.failed = 1;
              r.note = `jest exited with code ${code} (signal ${signal})`;
            }
          }
          if (lingering) r.note = `${r.note ? r.note + '; ' : ''}jest did not exit ${EXIT_GRACE_MS / 1000} s after its run (open handles): killed`;
        }
      }
      rmSync(outDir, { recursive: true, force: true });
      resolvePromise(r);
    });
  });
}

export async function main(argv) {
  let o;
  try {
    o = parseArgs(argv);
  } catch (e) {
    process.stderr.write(`test.mjs: ${e.message}\n`);
    return 2;
  }
  if (o.help) {
    const lines = readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1);
    const header = lines.slice(0, lines.findIndex((l) => !l.startsWith('//')));
    log(header.map((l) => l.replace(/^\/\/ ?/, '')).join('\n'));
    log(`suites: ${SUITES.map((s) => `${s.name} (${s.budgetSec} s${s.optional ? ', optional' : ''})`).join(', ')}`);
    return 0;
  }
  const unknown = o.suites.filter((s) => !SUITES.some((x) => x.name === s));
  if (unknown.length) {
    process.stderr.write(`test.mjs: unknown suite(s): ${unknown.join(', ')}; known: ${SUITES.map((s) => s.name).join(', ')}\n`);
    return 2;
  }
  const suites = o.suites.length ? SUITES.filter((s) => o.suites.includes(s.name)) : SUITES;
  const t0 = Date.now();
  log(`test.mjs: node ${process.version}, suites: ${suites.map((s) => s.name).join(', ')}`);

  if (!o.skipDeps) {
    const r = runStep('system packages', process.execPath, [join(ROOT, 'scripts', 'dev', 'system-deps.mjs'), 'test']);
    if (!r.ok) {
      process.stderr.write(`test.mjs: system packages are missing (system-deps.mjs exit ${r.status}, see above): no suite was run\n`);
      return r.status || 1;
    }
  }
  if (!o.skipBuild) {
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const r = existsSync(tsc)
      ? runStep('build', process.execPath, [tsc, '-p', 'tsconfig.build.json'])
      : runStep('build', 'npx', ['tsc', '-p', 'tsconfig.build.json']);
    log(`build: ${r.ok ? 'ok' : 'FAILED'} in ${r.secs} s`);
    if (!r.ok) {
      log('test.mjs: the build failed (see above): no suite was run');
      log('0 passed, 1 failed');
      return 1;
    }
  }

  // Lint (typed: forbids floating promises) counts as one failed check when it fails; suites still run.
  let lintFailed = false;
  if (!o.skipLint) {
    const r = runStep('lint', process.execPath, [join(ROOT, 'node_modules', 'eslint', 'bin', 'eslint.js'), '.']);
    log(`lint: ${r.ok ? 'ok' : 'FAILED'} in ${r.secs} s`);
    lintFailed = !r.ok;
  }

  const results = [];
  // a path pattern or a test-name filter may leave a suite without matching files: no failure then
  const filtered = o.jestArgs.some(
    (a, i) => (!a.startsWith('-') && !/^(-t|--testNamePattern|--maxWorkers|-w|--shard|--seed)$/.test(o.jestArgs[i - 1] ?? '')) || /^--testPathPatterns?\b/.test(a),
  );
  for (const s of suites) results.push(await runSuite(s, o.jestArgs, filtered));

  log('\n== summary');
  for (const r of results) {
    const counts = `${r.passed} passed, ${r.failed} failed, ${r.skipped} skipped in ${r.files} file(s)`;
    log(`  ${r.name.padEnd(12)} ${r.status.padEnd(6)} ${r.secs.toFixed(1).padStart(6)} s  ${counts}${r.note ? `  -- ${r.note}` : ''}`);
  }
  const total = results.reduce((a, r) => ({ passed: a.passed + r.passed, failed: a.failed + r.failed, skipped: a.skipped + r.skipped }), {
    passed: 0,
    failed: 0,
    skipped: 0,
  });
  if (lintFailed) {
    total.failed += 1;
    log('  lint         FAILED (eslint ., see above)');
  }
  const ranNothing = total.passed + total.failed === 0;
  if (ranNothing) {
    log('  no test ran at all');
    total.failed += 1;
  }
  log(`  total ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  log(`${total.passed} passed, ${total.failed} failed${total.skipped ? `, ${total.skipped} skipped` : ''}`);
  return total.failed > 0 ? 1 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      process.stderr.write(`test.mjs: ${e?.stack ?? e}\n`);
      process.exitCode = 1;
    },
  );
}
