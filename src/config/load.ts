import { readFile, stat } from 'node:fs/promises';
import { Value } from '@sinclair/typebox/value';
import { DesklineError } from '../core/errors.js';
import { parseIpRange } from '../core/ip-range.js';
import { ConfigSchema, type Config } from './schema.js';

/** One problem with a config source: where (dotted path, '' = the whole document) and what. */
export interface ConfigIssue {
  path: string;
  message: string;
}

export class ConfigError extends DesklineError {
  constructor(readonly source: string, readonly issues: ConfigIssue[]) {
    super('CONFIG_INVALID', `${source}: ${issues.length} problem${issues.length === 1 ? '' : 's'}\n${issues.map((i) => `  ${i.path || '(document)'}: ${i.message}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** A config file larger than this is refused before parsing. */
export const MAX_CONFIG_BYTES = 1024 * 1024;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Deep merge of config layers: objects merge key by key, anything else (arrays too) is replaced. */
export function mergeLayers(...layers: unknown[]): Record<string, unknown> {
  const merge = (base: Record<string, unknown>, over: Record<string, unknown>) => {
    const out: Record<string, unknown> = { ...base };
    for (const [key, value] of Object.entries(over)) {
      if (key === '__proto__' || key === 'constructor' || key === 'prototype') continue;
      out[key] = isPlainObject(value) && isPlainObject(out[key]) ? merge(out[key] as Record<string, unknown>, value) : value;
    }
    return out;
  };
  return layers.filter(isPlainObject).reduce<Record<string, unknown>>((acc, layer) => merge(acc, layer), {});
}

function pointerToPath(pointer: string): string {
  return pointer.split('/').slice(1).map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~')).join('.');
}

function describe(value: unknown): string {
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

/**
 * Fill defaults and validate. Returns every issue at once, never just the first.
 * Values of secret fields are never echoed in messages.
 */
export function validateConfig(input: unknown): { config: Config; issues: [] } | { config: null; issues: ConfigIssue[] } {
  if (!isPlainObject(input)) return { config: null, issues: [{ path: '', message: 'the configuration must be a JSON object' }] };
  const withDefaults = Value.Default(ConfigSchema, Value.Clone(input));
  const issues: ConfigIssue[] = [];
  const seen = new Set<string>();
  for (const error of Value.Errors(ConfigSchema, withDefaults)) {
    const path = pointerToPath(error.path);
    const secret = (error.schema as Record<string, unknown>)['x-secret'] === true;
    const unexpected = error.message.startsWith('Unexpected property');
    const message = unexpected
      ? 'unknown setting (check the spelling; `deskline config schema` lists every setting)'
      : `${error.message}${secret ? '' : `, got ${describe(error.value)}`}`;
    const key = `${path}\u0000${unexpected ? 'unexpected' : ''}`;
    // TypeBox reports a failed union once per branch: keep one issue per path.
    if (seen.has(key)) continue;
    seen.add(key);
    issues.push({ path, message: refine(message, error.schema as Record<string, unknown>) });
  }
  if (issues.length === 0) issues.push(...semanticIssues(withDefaults as Config));
  if (issues.length > 0) return { config: null, issues };
  return { config: withDefaults as Config, issues: [] };
}

/** Rules JSON Schema cannot express. */
function semanticIssues(config: Config): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  if (config.phone.ringCadence.length % 2 !== 0) {
    issues.push({ path: 'phone.ringCadence', message: `needs an even number of entries (on, off, ...), got ${config.phone.ringCadence.length}` });
  }
  config.sip.allowFrom.forEach((entry, i) => {
    if (!parseIpRange(entry)) issues.push({ path: `sip.allowFrom.${i}`, message: `${JSON.stringify(entry)} is not an IP address or CIDR range (e.g. 192.168.1.20 or 10.0.0.0/8)` });
  });
  const ids = new Set<string>();
  config.sip.accounts.forEach((account, i) => {
    if (ids.has(account.id)) issues.push({ path: `sip.accounts.${i}.id`, message: `'${account.id}' is used by another account; each line needs its own id` });
    ids.add(account.id);
    if (account.backupRegistrar && account.transport !== 'udp' && account.transport !== 'tcp') {
      issues.push({ path: `sip.accounts.${i}.backupRegistrar`, message: `only used by udp and tcp accounts, this one is ${account.transport}` });
    }
  });
  return issues;
}

/** Unions of literals read better as "one of ..." than TypeBox's "Expected union value". */
function refine(message: string, schema: Record<string, unknown>): string {
  const anyOf = schema.anyOf as Array<Record<string, unknown>> | undefined;
  if (anyOf && anyOf.every((s) => 'const' in s)) {
    return message.replace(/^Expected union value/, `expected one of ${anyOf.map((s) => JSON.stringify(s.const)).join(', ')}`);
  }
  // a regular expression tells a clerk nothing: say what the field takes instead
  if (typeof schema.pattern === 'string' && typeof schema.description === 'string') {
    return message.replace(/^Expected string to match '.*?'(?=, got |$)/, `not what this setting takes (${schema.description})`);
  }
  return message;
}

/** Read and parse a JSON config file; a missing, oversized or malformed file is a ConfigError. */
export async function readConfigFile(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    const info = await stat(path);
    if (info.size > MAX_CONFIG_BYTES) throw new ConfigError(path, [{ path: '', message: `file is ${info.size} bytes; the limit is ${MAX_CONFIG_BYTES}` }]);
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError(path, [{ path: '', message: code === 'ENOENT' ? 'file not found' : `cannot read: ${(error as Error).message}` }]);
  }
  let parsed: Json;
  try {
    parsed = JSON.parse(text) as Json;
  } catch (error) {
    throw new ConfigError(path, [{ path: '', message: `not valid JSON: ${jsonErrorWhere(text, error as Error)}` }]);
  }
  if (!isPlainObject(parsed)) throw new ConfigError(path, [{ path: '', message: 'the configuration must be a JSON object' }]);
  return parsed;
}

function jsonErrorWhere(text: string, error: Error): string {
  const match = /position (\d+)/.exec(error.message);
  if (!match) return error.message;
  const position = Number(match[1]);
  const before = text.slice(0, position);
  const line = before.split('\n').length;
  const column = position - before.lastIndexOf('\n');
  return `${error.message.replace(/ in JSON at position \d+.*$/, '')} at line ${line}, column ${column}`;
}

/** Defaults < config file. Later layers (cloud groups, cloud device, local edits) join in the ConfigStore. */
export async function loadConfig(file: string | undefined): Promise<Config> {
  const fileLayer = file ? await readConfigFile(file) : {};
  const result = validateConfig(fileLayer);
  if (!result.config) throw new ConfigError(file ?? 'defaults', result.issues);
  return result.config;
}
