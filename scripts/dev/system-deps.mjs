#!/usr/bin/env node
// Checks (and, as root with apt-get, installs) the Debian packages Deskline needs.
//
//   node scripts/dev/system-deps.mjs runtime   # what `npm start` needs
//   node scripts/dev/system-deps.mjs test      # + the real peers the integration suites start
//   node scripts/dev/system-deps.mjs bench     # + what `npm run bench` needs (tcpdump)
//
// Exit codes: 0 all present (or installed now), 2 usage, 3 missing and cannot install here,
// 1 the install itself failed. Plain Node ESM without dependencies: it runs before `npm ci`
// has necessarily succeeded and on machines without the project's node_modules.

import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync, rmSync, readFileSync, accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * Packages `npm start` needs: the display font (/usr/share/unifont/unifont.hex), and the libraries
 * node-hid's hidraw build loads for USB handsets (libusb-1.0, libudev), and alsa-utils (arecord and
 * aplay: the ALSA audio driver of the real boards runs them).
 */
export const RUNTIME_PACKAGES = ['unifont', 'libusb-1.0-0', 'libudev1', 'alsa-utils'];

/** Packages the test suites need: the runtime set plus the real peers of DESIGN.md. */
export const TEST_PACKAGES = [
  ...RUNTIME_PACKAGES,
  'mosquitto',
  'mosquitto-clients',
  'kamailio',
  'kamailio-websocket-modules',
  'kamailio-tls-modules',
  'baresip-core',
  'sip-tester',
  'socat',
  'chromium',
  'espeak-ng',
  'sox',
  'udev',
];

/**
 * Packages the benchmarks need: the test set plus tcpdump (the voice bench captures SIP and RTP
 * on lo to take latencies and RTP pacing from packet timestamps).
 */
export const BENCH_PACKAGES = [...TEST_PACKAGES, 'tcpdump'];

export const PACKAGE_SETS = { runtime: RUNTIME_PACKAGES, test: TEST_PACKAGES, bench: BENCH_PACKAGES };

/**
 * Daemons that Debian's maintainer scripts would start (and enable) on install. The tests start
 * their own instances on free ports; a system instance must not run beside them.
 * pidFile is the Debian default, used only when no service manager can stop it.
 */
export const SYSTEM_SERVICES = [
  { pkg: 'mosquitto', service: 'mosquitto', pidFile: '/run/mosquitto/mosquitto.pid' },
  { pkg: 'kamailio', service: 'kamailio', pidFile: '/run/kamailio/kamailio.pid' },
];

const POLICY_RC_D = '/usr/sbin/policy-rc.d';
const APT_ENV = { ...process.env, DEBIAN_FRONTEND: 'noninteractive', NEEDRESTART_MODE: 'a' };
// Wait for another apt/dpkg (a colleague's, unattended-upgrades) instead of failing at once.
const APT_LOCK_OPTS = ['-o', 'DPkg::Lock::Timeout=600'];

function which(cmd) {
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(delimiter)) {
    const p = join(dir, cmd);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  for (const dir of ['/usr/sbin', '/usr/bin', '/sbin', '/bin']) {
    if (existsSync(join(dir, cmd))) return join(dir, cmd);
  }
  return null;
}

/**
 * Status of each package as dpkg sees it: 'installed', 'partial' (unpacked, half-configured, ...:
 * an interrupted install) or 'missing'.
 */
export function packageStatus(packages) {
  const r = spawnSync('dpkg-query', ['-W', '-f=${Package}\t${Status}\n', ...packages], { encoding: 'utf8' });
  if (r.error) throw r.error;
  const seen = new Map();
  for (const line of r.stdout.split('\n')) {
    const [name, status] = line.split('\t');
    if (!name || !status) continue;
    // "install ok installed" is the only fully installed state
    const state = status.endsWith(' installed') && !status.includes('not-installed') ? 'installed'
      : status.endsWith('not-installed') || status.endsWith('config-files') ? 'missing' : 'partial';
    seen.set(name.replace(/:.*$/, ''), state);
  }
  return new Map(packages.map((p) => [p, seen.get(p) ?? 'missing']));
}

function run(cmd, args, { capture = true } = {}) {
  process.stdout.write(`system-deps: $ ${cmd} ${args.join(' ')}\n`);
  const r = spawnSync(cmd, args, {
    env: APT_ENV,
    encoding: 'utf8',
    stdio: ['ignore', capture ? 'pipe' : 'inherit', capture ? 'pipe' : 'inherit'],
    maxBuffer: 256 * 1024 * 1024,
  });
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  if (capture) {
    // keep CI logs readable: apt's progress is long, its tail is what matters on failure
    const lines = out.trimEnd().split('\n');
    const shown = r.status === 0 ? lines.slice(-3) : lines.slice(-40);
    for (const l of shown) if (l) process.stdout.write(`system-deps:   ${l}\n`);
  }
  return { ok: r.status === 0 && !r.error, out, status: r.status };
}

function listsMissing(out) {
  return /Unable to locate package|has no installation candidate|Failed to fetch|404\s+Not Found|is not available/i.test(out);
}

/** Stop and disable what the install started, so no system daemon sits beside the test peers. */
function quietServices(installed) {
  const systemd = existsSync('/run/systemd/system');
  for (const { pkg, service, pidFile } of SYSTEM_SERVICES) {
    if (!installed.includes(pkg)) continue;
    if (systemd && which('systemctl')) {
      run('systemctl', ['disable', '--now', `${service}.service`]);
      continue;
    }
    // No systemd as PID 1 (containers, CI sandboxes): disable the SysV links and stop the one
    // daemon the pidfile names (never by process name: a colleague's test instance may be running).
    if (which('update-rc.d') && existsSync(`/etc/init.d/${service}`)) run('update-rc.d', [service, 'disable']);
    try {
      const pid = Number(readFileSync(pidFile, 'utf8').trim());
      if (Number.isInteger(pid) && pid > 1) {
        process.kill(pid, 'SIGTERM');
        process.stdout.write(`system-deps: stopped system ${service} (pid ${pid})\n`);
      }
    } catch {
      /* not running */
    }
  }
}

function install(missing, partial) {
  // Keep maintainer scripts from starting daemons during the install (policy-rc.d 101 = "action
  // forbidden", honoured by invoke-rc.d and deb-systemd-invoke). An existing policy is left alone.
  const ownPolicy = !existsSync(POLICY_RC_D);
  if (ownPolicy) writeFileSync(POLICY_RC_D, '#!/bin/sh\n# written by deskline system-deps.mjs during apt-get install\nexit 101\n', { mode: 0o755 });
  try {
    // An interrupted install (e.g. `dpkg -i` without its dependencies) leaves packages unpacked:
    // `apt-get -f install` pulls in what they lack and configures them.
    const fix = partial.length ? ['-f'] : [];
    const args = ['install', ...fix, '-y', '--no-install-recommends', ...APT_LOCK_OPTS, ...missing];
    let r = run('apt-get', args);
    if (!r.ok && listsMissing(r.out)) {
      const u = run('apt-get', ['update', ...APT_LOCK_OPTS]);
      if (!u.ok) return false;
      r = run('apt-get', args);
    }
    return r.ok;
  } finally {
    if (ownPolicy) rmSync(POLICY_RC_D, { force: true });
    quietServices([...missing, ...partial]);
  }
}

export function main(argv) {
  const set = argv[0];
  if (!set || !(set in PACKAGE_SETS) || argv.length > 1) {
    process.stderr.write(`usage: node scripts/dev/system-deps.mjs ${Object.keys(PACKAGE_SETS).join('|')}\n`);
    return 2;
  }
  const wanted = PACKAGE_SETS[set];
  if (!which('dpkg-query')) {
    process.stderr.write(
      `system-deps: dpkg-query not found: this is not a Debian system.\n` +
        `system-deps: install the equivalents of these Debian packages by hand: ${wanted.join(' ')}\n`,
    );
    return 3;
  }
  const status = packageStatus(wanted);
  const missing = wanted.filter((p) => status.get(p) === 'missing');
  const partial = wanted.filter((p) => status.get(p) === 'partial');
  if (!missing.length && !partial.length) {
    process.stdout.write(`system-deps: ${set}: all ${wanted.length} Debian packages present\n`);
    return 0;
  }
  const todo = [...missing, ...partial];
  const cmd = `apt-get install ${partial.length ? '-f ' : ''}-y --no-install-recommends ${missing.join(' ')}`.trimEnd();
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot || !which('apt-get')) {
    process.stderr.write(
      `system-deps: ${set}: missing Debian packages: ${missing.join(' ') || '(none)'}` +
        (partial.length ? `; partly installed: ${partial.join(' ')}` : '') +
        `\nsystem-deps: install them with:\n  sudo ${cmd}\n` +
        (!which('apt-get') ? 'system-deps: (apt-get not found on this machine)\n' : ''),
    );
    return 3;
  }
  process.stdout.write(`system-deps: ${set}: installing ${todo.join(' ')}\n`);
  const t0 = Date.now();
  if (!install(missing, partial)) {
    process.stderr.write(`system-deps: apt-get failed; run it by hand to see why:\n  ${cmd}\n`);
    return 1;
  }
  const after = packageStatus(wanted);
  const still = wanted.filter((p) => after.get(p) !== 'installed');
  if (still.length) {
    process.stderr.write(`system-deps: still not installed after apt-get: ${still.join(' ')}\n`);
    return 1;
  }
  process.stdout.write(`system-deps: ${set}: installed ${todo.length} packages in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = main(process.argv.slice(2));
}
