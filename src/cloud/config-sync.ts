/**
 * Config push (issue #6 item 3; anchors: AWS IoT device shadow desired/reported with cloud revisions, Azure
 * device twin acknowledgements). The cloud publishes retained desired documents `{rev, config}` for the device
 * and its groups; the device joins them with its own layers (config-layers.ts), validates, applies, and
 * publishes a retained report.
 *
 * - A document is considered only when its rev is above the last one seen for its layer (the broker redelivers
 *   retained documents on every subscribe: on reconnect the device compares revisions, not trusting the queue).
 * - Documents arriving together (the device's and its groups' at connect) are applied as one candidate.
 * - Invalid: `rejected` with per-field errors; the running config is untouched.
 * - Valid: applied at once when only live fields change, else by rebuilding the runtime (`pending_restart`
 *   until it is back). Either way, while health checks run (changed SIP accounts registered, the cloud link back
 *   after a change under `cloud.*`), the candidate is on trial; a check that misses its deadline, or a runtime
 *   that keeps the runtime from coming up, reverts to the last good config, reported as `reverted` with the
 *   reason. The deadlines are the last good config's, so a push can't lengthen its own.
 * - The last good layers, the trial, the revisions seen and the last report persist in one durable file, so a
 *   reboot keeps the applied config and its revision.
 */
import type { Clock, TimerHandle } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { Config } from '../config/schema.js';
import { DurableFile } from '../store/durable-file.js';
import {
  NO_LAYERS, changedPaths, changedSipAccounts, composeLayers, layerRevisions, needsRestart, parseDesired, secretPathsIn,
  validateComposed, type CloudLayers, type DesiredDocument,
} from './config-layers.js';
import { deviceTopics, groupDesiredTopic, type CloudPayloads, type ConfigErrorItem } from './topics.js';
import { linkUpWithin } from './link.js';
import type { CloudLink } from './types.js';

export type ConfigReport = CloudPayloads['config/reported'];
type Json = Record<string, unknown>;

export interface ConfigTrial {
  layers: CloudLayers;
  /** SIP account ids that must register */
  sipAccounts: string[];
  /** the cloud link must come back (a change under cloud.*) */
  link: boolean;
  /** runtime starts with this trial so far (a trial that keeps the runtime from running is reverted at the third) */
  boots: number;
}

/** What persists across reboots (<data>/cloud/config-state.json). */
export interface CloudConfigState {
  version: 1;
  /** the layers of the last good config */
  good: CloudLayers;
  trial: ConfigTrial | null;
  /** the highest revision seen per layer (applied, rejected or reverted) */
  seen: { device: number; groups: Record<string, number> };
  report: ConfigReport | null;
}

export const EMPTY_STATE: CloudConfigState = { version: 1, good: NO_LAYERS, trial: null, seen: { device: 0, groups: {} }, report: null };

function isState(value: unknown): value is CloudConfigState {
  const v = value as Partial<CloudConfigState> | null;
  return typeof v === 'object' && v !== null && v.version === 1 && typeof v.good === 'object' && v.good !== null &&
    typeof v.seen === 'object' && v.seen !== null && typeof v.seen.device === 'number';
}

export function configStateFile(path: string): DurableFile<CloudConfigState> {
  return new DurableFile(path, { is: isState, shape: 'a cloud config state' });
}

export async function readConfigState(path: string): Promise<CloudConfigState> {
  return (await configStateFile(path).read()) ?? structuredClone(EMPTY_STATE);
}

/**
 * The config the runtime starts with: the trial when one is pending (it gets its chance; config-sync counts the
 * boots), else the last good layers; a combination that no longer validates (after an upgrade) falls back to the
 * last good one and then to the file.
 */
export function startupConfig(fileLayer: Json, state: CloudConfigState, localEdits: Json = {}, log?: Logger): Config | null {
  for (const layers of [state.trial?.layers, state.good, NO_LAYERS]) {
    if (!layers) continue;
    const result = validateComposed(composeLayers(fileLayer, layers, localEdits));
    if (result.config) return result.config;
    log?.warn({ errors: result.errors }, 'cloud config layers no longer validate: using older ones');
  }
  return null;
}

export interface ConfigSyncContext {
  link: CloudLink;
  clock: Clock;
  log: Logger;
  /** path of the durable state file */
  statePath: string;
  /** the config file's content (the layer below the cloud's) */
  fileLayer: Json;
  /** local edits (web UI, keypad) */
  localEdits?: Json;
  /** the config in effect */
  current(): Config;
  /**
   * Puts a config in effect: at once (only live fields changed) or by rebuilding the runtime. A rebuild MUST be
   * started without waiting for it (it stops this service).
   */
  apply(next: Config, how: { restart: boolean; reason: string }): Promise<void> | void;
  /** Resolves null once every listed SIP account registered, or why not when `deadlineMs` passed first. */
  sipRegistered(accountIds: string[], deadlineMs: number): Promise<string | null>;
  /** records who changed what (the audit log and the audit event stream) */
  audit(entry: { by: string | null; action: string; detail: Json }): void;
  /** documents arriving within this many ms are applied together (default 300) */
  batchMs?: number;
}

export class CloudConfigSync {
  #state: CloudConfigState = structuredClone(EMPTY_STATE);
  #file: DurableFile<CloudConfigState>;
  #incoming: { device: DesiredDocument | null; groups: Record<string, DesiredDocument> } = { device: null, groups: {} };
  #batch: TimerHandle | null = null;
  #unsubscribe: Array<() => Promise<void>> = [];
  #subscribedGroups = new Set<string>();
  #stopped = false;
  /** ends the health-check waits of a trial when the service stops */
  readonly #abandonWaits: Array<() => void> = [];
  /** evaluations run one at a time */
  #queue: Promise<void> = Promise.resolve();
  readonly #topics;

  constructor(private readonly context: ConfigSyncContext) {
    this.#file = configStateFile(context.statePath);
    this.#topics = deviceTopics(context.link.deviceId);
  }

  get state(): CloudConfigState {
    return this.#state;
  }

  async start(): Promise<void> {
    const { link } = this.context;
    this.#state = (await this.#file.read()) ?? structuredClone(EMPTY_STATE);
    // every (re)connect: say where we stand (retained); the broker sends the retained desired documents again
    const unlisten = link.on('connected', () => void this.#publishReport());
    this.#unsubscribe.push(async () => unlisten());
    const trial = this.#state.trial;
    if (trial) {
      this.#enqueue(() => this.#runTrial(trial));
    } else if (this.#state.report?.status === 'pending_restart') {
      // the runtime was rebuilt for the config reported pending: it runs now
      const { report } = this.#state;
      this.#enqueue(() => this.#report({ ...report, status: 'applied', appliedAt: this.#now() }));
    }
    // not awaited: the acknowledgements come only once the broker is reachable
    void this.#follow(this.#topics.desired, null);
    this.#followGroups();
    if (link.connected) void this.#publishReport();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    // a trial waiting on its checks is left as it is: it runs again at the next start
    for (const abandon of this.#abandonWaits.splice(0)) abandon();
    this.context.clock.clear(this.#batch);
    for (const off of this.#unsubscribe.splice(0)) await off().catch(() => undefined);
    await this.#queue.catch(() => undefined);
  }

  /** Subscribes to the desired document of each group in `device.groups` not followed yet. */
  #followGroups(): void {
    for (const group of this.context.current().device.groups) {
      if (this.#subscribedGroups.has(group)) continue;
      this.#subscribedGroups.add(group);
      try {
        void this.#follow(groupDesiredTopic(group), group);
      } catch (error) {
        this.context.log.warn({ group, err: errorMessage(error) }, 'not following a config group');
      }
    }
  }

  async #follow(topic: string, group: string | null): Promise<void> {
    try {
      const off = await this.context.link.subscribe(topic, (m) => this.#received(group, m.payload), { retainedOnEveryConnect: true });
      if (this.#stopped) await off();
      else this.#unsubscribe.push(off);
    } catch (error) {
      this.context.log.warn({ topic, err: errorMessage(error) }, 'not following a desired config document');
    }
  }

  #received(group: string | null, payload: Buffer): void {
    if (this.#stopped) return;
    const { log, clock } = this.context;
    const parsed = parseDesired(payload);
    if ('error' in parsed) {
      log.warn({ group, problem: parsed.error }, 'ignored a desired config document');
      if (group === null) {
        this.#enqueue(() => this.#report({ ...this.#revisions(this.#state.good), rev: this.#state.seen.device, status: 'rejected', errors: [{ path: '', message: parsed.error }] }));
      }
      return;
    }
    const { doc } = parsed;
    const seen = group === null ? this.#state.seen.device : this.#state.seen.groups[group] ?? 0;
    const waiting = (group === null ? this.#incoming.device : this.#incoming.groups[group])?.rev ?? 0;
    if (doc.rev <= Math.max(seen, waiting)) return; // already considered or waiting (a retained redelivery, or stale)
    if (group === null) this.#incoming.device = doc;
    else this.#incoming.groups[group] = doc;
    clock.clear(this.#batch);
    this.#batch = clock.setTimeout(() => {
      this.#batch = null;
      const batch = this.#incoming;
      this.#incoming = { device: null, groups: {} };
      this.#enqueue(() => this.#evaluate(batch));
    }, this.context.batchMs ?? 300);
  }

  #enqueue(task: () => Promise<void>): void {
    this.#queue = this.#queue.then(task).catch((error: unknown) => this.context.log.error({ err: errorMessage(error) }, 'config sync failed'));
  }

  #revisions(layers: CloudLayers): Pick<ConfigReport, 'rev' | 'groups'> {
    return layerRevisions(layers);
  }

  async #evaluate(batch: { device: DesiredDocument | null; groups: Record<string, DesiredDocument> }): Promise<void> {
    if (this.#stopped) return;
    const { log } = this.context;
    const state = this.#state;
    const candidate: CloudLayers = { device: batch.device ?? state.good.device, groups: { ...state.good.groups, ...batch.groups } };
    if (batch.device) state.seen.device = batch.device.rev;
    for (const [group, doc] of Object.entries(batch.groups)) state.seen.groups[group] = doc.rev;
    const by = batch.device?.by ?? Object.values(batch.groups).find((d) => d.by)?.by ?? null;
    const revisions = this.#revisions(candidate);
    this.context.audit({ by, action: 'config.push', detail: { ...revisions } });

    const errors: ConfigErrorItem[] = [];
    for (const [group, doc] of Object.entries(batch.groups)) {
      for (const path of secretPathsIn(doc.config)) {
        errors.push({ path, message: `group '${group}' sets a secret field; secrets belong in the device's own document, never in a group` });
      }
    }
    const composed = composeLayers(this.context.fileLayer, candidate, this.context.localEdits);
    const validated = errors.length === 0 ? validateComposed(composed) : { config: null, errors };
    if (!validated.config) {
      log.warn({ ...revisions, errors: validated.errors }, 'rejected a pushed config: the running config stays');
      await this.#persist();
      await this.#report({ ...revisions, status: 'rejected', errors: validated.errors, localEdits: composed.localEdits });
      return;
    }
    const next = validated.config;
    const current = this.context.current();
    const changed = changedPaths(current, next);
    const trial: ConfigTrial = {
      layers: candidate, sipAccounts: changedSipAccounts(current, next), link: changed.some((p) => p === 'cloud' || p.startsWith('cloud.')), boots: 0,
    };
    const restart = needsRestart(changed);
    log.info({ ...revisions, changed, restart }, 'applying a pushed config');
    if (trial.sipAccounts.length === 0 && !trial.link) {
      state.good = candidate;
      state.trial = null;
      await this.#persist();
      if (changed.length > 0) await this.context.apply(next, { restart, reason: `config rev ${revisions.rev}` });
      if (!restart) this.#followGroups();
      await this.#report({ ...revisions, status: restart ? 'pending_restart' : 'applied', errors: [], appliedAt: restart ? null : this.#now(), localEdits: composed.localEdits });
      return;
    }
    state.trial = trial;
    await this.#persist();
    if (restart) {
      await this.#report({ ...revisions, status: 'pending_restart', errors: [], appliedAt: null, localEdits: composed.localEdits });
      await this.context.apply(next, { restart: true, reason: `config rev ${revisions.rev}` });
      return; // the rebuilt runtime runs the trial
    }
    await this.context.apply(next, { restart: false, reason: `config rev ${revisions.rev}` });
    this.#followGroups();
    await this.#runTrial(trial);
  }

  /** Health checks of a config on trial; passes it into `good` or reverts to the last good one. */
  async #runTrial(trial: ConfigTrial): Promise<void> {
    const { log } = this.context;
    const state = this.#state;
    trial.boots += 1;
    await this.#persist();
    const revisions = this.#revisions(trial.layers);
    const health = this.#goodConfig()?.cloud.health ?? { sipRegisteredS: 30, linkBackS: 60 };
    const problems: string[] = [];
    if (trial.boots > 2) {
      problems.push('the runtime did not come up with this config');
    } else {
      const checks: Array<Promise<string | null>> = [];
      if (trial.link) checks.push(this.#linkUp(health.linkBackS * 1000));
      if (trial.sipAccounts.length > 0) checks.push(this.context.sipRegistered(trial.sipAccounts, health.sipRegisteredS * 1000));
      const stopped = new Promise<'stopped'>((resolve) => this.#abandonWaits.push(() => resolve('stopped')));
      const results = await Promise.race([Promise.all(checks), stopped]);
      if (results === 'stopped') return;
      for (const problem of results) if (problem) problems.push(problem);
    }
    if (this.#stopped) return;
    const localEdits = composeLayers(this.context.fileLayer, trial.layers, this.context.localEdits).localEdits;
    if (problems.length === 0) {
      state.good = trial.layers;
      state.trial = null;
      await this.#persist();
      log.info(revisions, 'pushed config passed its health checks');
      await this.#report({ ...revisions, status: 'applied', errors: [], appliedAt: this.#now(), localEdits });
      return;
    }
    const reason = problems.join('; ');
    log.warn({ ...revisions, reason }, 'pushed config failed its health checks: reverting to the last good config');
    state.trial = null;
    await this.#persist();
    // reported once the link is back (the report persists and is published on every connect)
    await this.#report({ ...revisions, status: 'reverted', reason, errors: [], appliedAt: null, localEdits });
    this.context.audit({ by: null, action: 'config.revert', detail: { ...revisions, reason } });
    const good = this.#goodConfig();
    if (good) await this.context.apply(good, { restart: needsRestart(changedPaths(this.context.current(), good)), reason: `revert: ${reason}` });
  }

  #goodConfig(): Config | null {
    return validateComposed(composeLayers(this.context.fileLayer, this.#state.good, this.context.localEdits)).config;
  }

  async #linkUp(deadlineMs: number): Promise<string | null> {
    const wait = linkUpWithin(this.context.link, this.context.clock, deadlineMs);
    this.#abandonWaits.push(wait.cancel);
    return (await wait.up) ? null : `cloud link not back within ${Math.round(deadlineMs / 1000)} s`;
  }

  #now(): number | null {
    const { clock } = this.context;
    return clock.wallTimeTrusted ? clock.now() : null;
  }

  async #persist(): Promise<void> {
    await this.#file.write(this.#state);
  }

  async #report(report: Partial<ConfigReport> & Pick<ConfigReport, 'rev' | 'groups' | 'status'>): Promise<void> {
    this.#state.report = { errors: [], appliedAt: null, localEdits: [], ...report };
    await this.#persist();
    await this.#publishReport();
  }

  async #publishReport(): Promise<void> {
    const report = this.#state.report;
    if (!report || !this.context.link.connected) return;
    await this.context.link.publish(this.#topics.reported, JSON.stringify(report), { retain: true }).catch((error: unknown) => {
      this.context.log.debug({ err: errorMessage(error) }, 'config report not published (sent again at the next connect)');
    });
  }
}
