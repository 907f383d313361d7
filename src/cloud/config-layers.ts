/**
 * The cloud's config layers and how they join the local ones (DESIGN.md, "Config"): defaults < config file <
 * cloud groups in the order of `device.groups` < the cloud's device document < local edits for fields the
 * cloud leaves unset. Pure functions: config-sync.ts decides when, these decide what.
 */
import { mergeLayers, validateConfig, type ConfigIssue } from '../config/load.js';
import { fieldsMarked, type Config } from '../config/schema.js';
import type { CloudPayloads, ConfigErrorItem } from './topics.js';

export type DesiredDocument = CloudPayloads['config/desired'];

/** The cloud documents a config is made of: the device's own and one per group. */
export interface CloudLayers {
  device: DesiredDocument | null;
  groups: Record<string, DesiredDocument>;
}

export const NO_LAYERS: CloudLayers = { device: null, groups: {} };

type Json = Record<string, unknown>;

function isPlainObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A desired document as received: JSON `{rev, config, by?}` with a positive integer rev from the cloud. */
export function parseDesired(payload: Buffer | string): { doc: DesiredDocument } | { error: string } {
  let value: unknown;
  try {
    value = JSON.parse(payload.toString());
  } catch (error) {
    return { error: `not JSON (${(error as Error).message})` };
  }
  if (!isPlainObject(value)) return { error: 'not a JSON object {rev, config}' };
  const { rev, config, by } = value;
  if (typeof rev !== 'number' || !Number.isSafeInteger(rev) || rev < 1) return { error: `rev must be a positive integer assigned by the cloud, got ${JSON.stringify(rev)}` };
  if (!isPlainObject(config)) return { error: 'config must be a JSON object (a partial configuration)' };
  if (by !== undefined && (typeof by !== 'string' || by.length > 128)) return { error: 'by must be the admin identity (a string of at most 128 characters)' };
  return { doc: { rev, config, ...(typeof by === 'string' ? { by } : {}) } };
}

/** Dotted paths of the values set in a layer; arrays are values (a layer replaces an array whole). */
export function leafPaths(layer: unknown, prefix = ''): string[] {
  if (!isPlainObject(layer)) return prefix ? [prefix] : [];
  const out: string[] = [];
  for (const [key, value] of Object.entries(layer)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (isPlainObject(value) && Object.keys(value).length > 0) out.push(...leafPaths(value, path));
    else out.push(path);
  }
  return out;
}

/** Does a schema path with `[]` for array items ('sip.accounts[].password') match a concrete dotted path? */
function schemaPathMatches(schemaPath: string, path: string): boolean {
  const want = schemaPath.replace(/\[\]/g, '.[]').split('.');
  const got = path.split('.');
  return want.length === got.length && want.every((part, i) => part === got[i] || (part === '[]' && /^\d+$/.test(got[i])));
}

/** Secret fields set in a layer (group documents must have none: DESIGN.md, "Security defaults"). */
export function secretPathsIn(layer: unknown): string[] {
  const secrets = fieldsMarked('x-secret');
  const found: string[] = [];
  const walk = (value: unknown, path: string) => {
    if (path && secrets.some((s) => schemaPathMatches(s, path))) {
      if (value !== undefined && value !== '') found.push(path);
      return;
    }
    if (isPlainObject(value)) for (const [k, v] of Object.entries(value)) walk(v, path ? `${path}.${k}` : k);
    else if (Array.isArray(value)) value.forEach((v, i) => walk(v, `${path}.${i}`));
  };
  walk(layer, '');
  return found;
}

/** Removes the paths the cloud sets from the local edits; returns what stays and its paths. */
function localEditsUnder(localEdits: Json, cloudPaths: readonly string[]): { layer: Json; paths: string[] } {
  const covered = (path: string) => cloudPaths.some((c) => path === c || path.startsWith(`${c}.`) || c.startsWith(`${path}.`));
  const kept = leafPaths(localEdits).filter((path) => !covered(path));
  const layer: Json = {};
  for (const path of kept) {
    const parts = path.split('.');
    let source: unknown = localEdits;
    let target = layer;
    parts.forEach((part, i) => {
      source = (source as Json)[part];
      if (i === parts.length - 1) target[part] = source;
      else target = (target[part] ??= {}) as Json;
    });
  }
  return { layer, paths: kept };
}

export interface Composed {
  /** the merged layers before defaults and validation */
  merged: Json;
  /** the local edits in effect (the cloud leaves them unset) */
  localEdits: string[];
  /** groups in the order they were applied */
  groups: string[];
}

/** Joins the file layer, the cloud layers and the local edits in the documented order. */
export function composeLayers(fileLayer: Json, layers: CloudLayers, localEdits: Json = {}): Composed {
  const device = layers.device?.config ?? {};
  // the group order comes from device.groups as the file, the device document and the local edits it leaves
  // unset give it (groups can't reorder themselves)
  const head = mergeLayers(fileLayer, localEditsUnder(localEdits, leafPaths(device)).layer, device) as { device?: { groups?: unknown } };
  const order = Array.isArray(head.device?.groups) ? head.device.groups.filter((g): g is string => typeof g === 'string') : [];
  const groupLayers = order.map((g) => layers.groups[g]?.config).filter(isPlainObject);
  const cloudPaths = [...groupLayers, device].flatMap((layer) => leafPaths(layer));
  const local = localEditsUnder(localEdits, cloudPaths);
  return { merged: mergeLayers(fileLayer, ...groupLayers, device, local.layer), localEdits: local.paths, groups: order };
}

/** Validates a composed config: the config, or every problem as `{path, message}`. */
export function validateComposed(composed: Composed): { config: Config; errors: [] } | { config: null; errors: ConfigErrorItem[] } {
  const result = validateConfig(composed.merged);
  if (result.config) return { config: result.config, errors: [] };
  return { config: null, errors: result.issues.map((issue: ConfigIssue) => ({ path: issue.path, message: issue.message })) };
}

/** Dotted paths whose values differ between two configs (arrays compared whole). */
export function changedPaths(before: unknown, after: unknown, prefix = ''): string[] {
  if (isPlainObject(before) && isPlainObject(after)) {
    const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
    return [...keys].flatMap((key) => changedPaths(before[key], after[key], prefix ? `${prefix}.${key}` : key));
  }
  return JSON.stringify(before) === JSON.stringify(after) ? [] : [prefix];
}

/** Does a change of these paths need the runtime rebuilt (a field marked `x-restart` in or under one)? */
export function needsRestart(paths: readonly string[]): boolean {
  const restart = fieldsMarked('x-restart').map((p) => p.replace(/\[\].*$/, ''));
  return paths.some((path) => restart.some((r) => path === r || path.startsWith(`${r}.`) || r.startsWith(`${path}.`)));
}

/** The SIP accounts (by id) that are new or changed between two configs: they must register after an apply. */
export function changedSipAccounts(before: Config, after: Config): string[] {
  const old = new Map(before.sip.accounts.map((a) => [a.id, JSON.stringify(a)]));
  return after.sip.accounts.filter((a) => old.get(a.id) !== JSON.stringify(a)).map((a) => a.id);
}

/** The revisions of the layers, as a report carries them. */
export function layerRevisions(layers: CloudLayers): { rev: number; groups: Record<string, number> } {
  return { rev: layers.device?.rev ?? 0, groups: Object.fromEntries(Object.entries(layers.groups).map(([g, d]) => [g, d.rev])) };
}
