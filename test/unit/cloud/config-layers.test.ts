import { describe, expect, it } from '@jest/globals';
import {
  changedPaths, changedSipAccounts, composeLayers, layerRevisions, leafPaths, needsRestart, NO_LAYERS, parseDesired, secretPathsIn, validateComposed,
  type CloudLayers, type DesiredDocument,
} from '../../../src/cloud/config-layers.js';
import { validateConfig } from '../../../src/config/load.js';
import type { Config } from '../../../src/config/schema.js';

const doc = (rev: number, config: Record<string, unknown>, by?: string): DesiredDocument => ({ rev, config, ...(by ? { by } : {}) });

function config(layer: Record<string, unknown> = {}): Config {
  const result = validateConfig(layer);
  if (!result.config) throw new Error(`test config invalid: ${JSON.stringify(result.issues)}`);
  return result.config;
}

const account = (id: string, extra: Record<string, unknown> = {}) => ({ id, uri: `sip:${id}@pbx.example.com`, password: `${id}-pw`, ...extra });

describe('parseDesired', () => {
  it('accepts {rev, config, by?} with a positive integer rev and keeps only those fields', () => {
    expect(parseDesired('{"rev":1,"config":{}}')).toEqual({ doc: { rev: 1, config: {} } });
    expect(parseDesired(Buffer.from(JSON.stringify({ rev: 42, config: { device: { name: 'Shop' } }, by: 'admin@example.com', extra: true })))).toEqual({
      doc: { rev: 42, config: { device: { name: 'Shop' } }, by: 'admin@example.com' },
    });
    expect(parseDesired(JSON.stringify({ rev: Number.MAX_SAFE_INTEGER, config: {} }))).toEqual({ doc: { rev: Number.MAX_SAFE_INTEGER, config: {} } });
    expect(parseDesired(JSON.stringify({ rev: 3, config: {}, by: 'x'.repeat(128) }))).toEqual({ doc: { rev: 3, config: {}, by: 'x'.repeat(128) } });
  });

  it('refuses a rev that is not a positive safe integer, saying what it got', () => {
    for (const rev of [0, -1, 1.5, '1', null, Number.MAX_SAFE_INTEGER + 1, true]) {
      const parsed = parseDesired(JSON.stringify({ rev, config: {} }));
      expect(parsed).toEqual({ error: expect.stringMatching(/^rev must be a positive integer/) });
      expect((parsed as { error: string }).error).toContain(JSON.stringify(rev));
    }
    expect(parseDesired('{"config":{}}')).toEqual({ error: expect.stringMatching(/^rev must be a positive integer/) });
  });

  it('refuses a config that is not an object, a bad `by`, bad JSON and non-objects', () => {
    for (const cfg of [null, [], 'x', 1, undefined]) {
      expect(parseDesired(JSON.stringify({ rev: 1, config: cfg }))).toEqual({ error: expect.stringMatching(/^config must be a JSON object/) });
    }
    for (const by of ['x'.repeat(129), 5, null, {}]) {
      expect(parseDesired(JSON.stringify({ rev: 1, config: {}, by }))).toEqual({ error: expect.stringMatching(/^by must be the admin identity/) });
    }
    expect(parseDesired('{"rev":1,')).toEqual({ error: expect.stringMatching(/^not JSON \(/) });
    expect(parseDesired('')).toEqual({ error: expect.stringMatching(/^not JSON/) });
    for (const notObject of ['[]', '1', 'null', '"doc"']) expect(parseDesired(notObject)).toEqual({ error: 'not a JSON object {rev, config}' });
  });
});

describe('leafPaths', () => {
  it('lists the dotted paths of the set values; arrays and empty objects are values', () => {
    expect(leafPaths({ device: { name: 'Shop', groups: ['a', 'b'] }, web: { port: 8081 }, log: {}, cloud: { health: { linkBackS: 5 } } })).toEqual([
      'device.name', 'device.groups', 'web.port', 'log', 'cloud.health.linkBackS',
    ]);
    expect(leafPaths({})).toEqual([]);
    expect(leafPaths(null)).toEqual([]);
    expect(leafPaths('x')).toEqual([]);
    expect(leafPaths({ sip: { accounts: [account('a1')] } })).toEqual(['sip.accounts']);
    expect(leafPaths({ a: null })).toEqual(['a']);
  });
});

describe('secretPathsIn', () => {
  it('finds every SIP account password and the cloud password that is set', () => {
    expect(secretPathsIn({ sip: { accounts: [account('a1'), account('a2', { password: '' }), account('a3')] }, cloud: { password: 'mqtt-pw' } })).toEqual([
      'sip.accounts.0.password', 'sip.accounts.2.password', 'cloud.password',
    ]);
  });

  it('does not count empty strings, absent fields or fields that are not secrets', () => {
    expect(secretPathsIn({ cloud: { password: '', username: 'u1' }, sip: { accounts: [{ id: 'a1', uri: 'sip:a1@x' }] } })).toEqual([]);
    expect(secretPathsIn({ device: { name: 'password' }, web: { password: 'not a field' } })).toEqual([]);
    expect(secretPathsIn({})).toEqual([]);
    expect(secretPathsIn(null)).toEqual([]);
  });

  it('finds a password even when accounts come as an object keyed by index (what a layer could carry)', () => {
    expect(secretPathsIn({ sip: { accounts: { 0: { password: 'p' } } } })).toEqual(['sip.accounts.0.password']);
  });
});

describe('composeLayers', () => {
  it('joins file < groups (device.groups order) < device < local edits for fields the cloud leaves unset', () => {
    const file = { device: { name: 'File', groups: ['north', 'promo'] }, web: { port: 8081 }, log: { level: 'debug' } };
    const layers: CloudLayers = {
      device: doc(7, { phone: { ringVolume: 3 }, cloud: { health: { linkBackS: 90 } } }),
      groups: {
        promo: doc(2, { device: { name: 'Promo' }, log: { level: 'warn' } }),
        north: doc(5, { device: { name: 'North', country: 'DE' }, log: { level: 'error' }, cloud: { health: { linkBackS: 10 } } }),
        unused: doc(1, { device: { name: 'Unused' } }),
      },
    };
    const local = { device: { name: 'Local', country: 'FR' }, web: { port: 9000 }, phone: { ringVolume: 9 } };
    const composed = composeLayers(file, layers, local);
    expect(composed.groups).toEqual(['north', 'promo']);
    // promo comes after north: it wins device.name and log.level; north's country stays
    expect(composed.merged).toMatchObject({ device: { name: 'Promo', country: 'DE', groups: ['north', 'promo'] }, log: { level: 'warn' } });
    // the device document wins over every group
    expect(composed.merged).toMatchObject({ cloud: { health: { linkBackS: 90 } }, phone: { ringVolume: 3 } });
    // a local edit of a field no cloud layer sets wins over the file; those the cloud sets don't apply
    expect(composed.merged).toMatchObject({ web: { port: 9000 } });
    expect(composed.localEdits).toEqual(['web.port']);
    // 'unused' is not in device.groups
    expect(JSON.stringify(composed.merged)).not.toContain('Unused');
  });

  it('applies groups in the order device.groups gives, not the order the documents came in', () => {
    const layers: CloudLayers = { device: null, groups: { a: doc(1, { device: { name: 'A' } }), b: doc(1, { device: { name: 'B' } }) } };
    expect(composeLayers({ device: { groups: ['a', 'b'] } }, layers).merged).toMatchObject({ device: { name: 'B' } });
    expect(composeLayers({ device: { groups: ['b', 'a'] } }, layers).merged).toMatchObject({ device: { name: 'A' } });
  });

  it('takes the group order from the device document over the file, and groups cannot reorder themselves', () => {
    const layers: CloudLayers = {
      device: doc(3, { device: { groups: ['b', 'a'] } }),
      groups: { a: doc(1, { device: { name: 'A', groups: ['a', 'b'] } }), b: doc(1, { device: { name: 'B' } }) },
    };
    const composed = composeLayers({ device: { groups: ['a', 'b'] } }, layers);
    expect(composed.groups).toEqual(['b', 'a']);
    expect(composed.merged).toMatchObject({ device: { name: 'A', groups: ['b', 'a'] } });
  });

  it('follows the device document, not a local edit, for device.groups when the document sets it', () => {
    // local edits only count for fields the cloud leaves unset: the device document sets device.groups
    const layers: CloudLayers = { device: doc(3, { device: { groups: ['a'] } }), groups: { a: doc(1, { log: { level: 'warn' } }), c: doc(1, { log: { level: 'error' } }) } };
    const composed = composeLayers({}, layers, { device: { groups: ['c'] } });
    expect(composed.localEdits).toEqual([]);
    expect(composed.merged).toMatchObject({ device: { groups: ['a'] } });
    expect(composed.groups).toEqual(['a']);
    expect(composed.merged).toMatchObject({ log: { level: 'warn' } });
  });

  it('keeps local edits when there are no cloud layers, and reports their paths', () => {
    const composed = composeLayers({ web: { port: 8081 } }, NO_LAYERS, { device: { name: 'Counter 2' }, web: { port: 9000 } });
    expect(composed).toEqual({ merged: { web: { port: 9000 }, device: { name: 'Counter 2' } }, localEdits: ['device.name', 'web.port'], groups: [] });
  });

  it('drops a local edit under a field the cloud sets whole, and one above a field the cloud sets', () => {
    const layers: CloudLayers = { device: doc(1, { sip: { accounts: [account('cloud')] }, phone: { ringVolume: 2 } }), groups: {} };
    const composed = composeLayers({}, layers, { sip: { accounts: [account('local')] }, phone: { ringVolume: 8, ringCadence: [1000, 2000] } });
    expect(composed.localEdits).toEqual(['phone.ringCadence']);
    expect(composed.merged).toMatchObject({ sip: { accounts: [account('cloud')] }, phone: { ringVolume: 2, ringCadence: [1000, 2000] } });
  });

  it('skips a group named in device.groups whose document has not arrived', () => {
    const composed = composeLayers({ device: { groups: ['missing', 'here'] } }, { device: null, groups: { here: doc(1, { device: { name: 'Here' } }) } });
    expect(composed.groups).toEqual(['missing', 'here']);
    expect(composed.merged).toMatchObject({ device: { name: 'Here' } });
  });
});

describe('validateComposed', () => {
  it('returns the config with defaults filled in', () => {
    const result = validateComposed(composeLayers({ device: { name: 'Shop' } }, NO_LAYERS));
    expect(result.errors).toEqual([]);
    expect(result.config?.device.name).toBe('Shop');
    expect(result.config?.web.port).toBe(8080);
  });

  it('returns every problem as {path, message}, never the secret value', () => {
    const layers: CloudLayers = {
      device: doc(1, { web: { port: 70000 }, device: { country: 'usa' }, nosuch: 1, sip: { accounts: [{ id: 'a1', uri: 'sip:a1@x', password: 1234567 }] } }),
      groups: {},
    };
    const result = validateComposed(composeLayers({}, layers));
    expect(result.config).toBeNull();
    const paths = result.errors.map((e) => e.path);
    expect(paths).toEqual(expect.arrayContaining(['web.port', 'device.country', 'nosuch', 'sip.accounts.0.password']));
    for (const error of result.errors) expect(Object.keys(error).sort()).toEqual(['message', 'path']);
    expect(result.errors.find((e) => e.path === 'web.port')?.message).toContain('70000');
    expect(JSON.stringify(result.errors)).not.toContain('1234567');
  });
});

describe('changedPaths', () => {
  it('lists the leaf paths that differ, arrays compared whole, added and removed keys too', () => {
    expect(changedPaths({ a: { b: 1, c: [1, 2] }, d: 1 }, { a: { b: 2, c: [1, 2] }, d: 1 })).toEqual(['a.b']);
    expect(changedPaths({ a: { c: [1, 2] } }, { a: { c: [2, 1] } })).toEqual(['a.c']);
    expect(changedPaths({ a: 1 }, { a: 1, b: { c: 1 } })).toEqual(['b']);
    expect(changedPaths({ a: 1, x: 2 }, { a: 1 })).toEqual(['x']);
    expect(changedPaths({ a: { b: 1 } }, { a: { b: 1 } })).toEqual([]);
  });

  it('on real configs: device.name and web.port', () => {
    expect(changedPaths(config(), config({ device: { name: 'Shop' }, web: { port: 8081 } })).sort()).toEqual(['device.name', 'web.port']);
    expect(changedPaths(config(), config())).toEqual([]);
  });
});

describe('needsRestart', () => {
  it('is true for fields marked x-restart and for paths above or below them', () => {
    expect(needsRestart(['web.port'])).toBe(true);
    expect(needsRestart(['sip.accounts'])).toBe(true);
    expect(needsRestart(['sip.accounts.0.password'])).toBe(true);
    expect(needsRestart(['cloud.url'])).toBe(true);
    expect(needsRestart(['web'])).toBe(true);
    expect(needsRestart(['device.name', 'web.port'])).toBe(true);
  });

  it('is false for live fields', () => {
    expect(needsRestart(['device.name'])).toBe(false);
    expect(needsRestart(['device.groups', 'phone.ringVolume', 'cloud.health.linkBackS', 'cloud.upload.auto'])).toBe(false);
    expect(needsRestart([])).toBe(false);
  });
});

describe('changedSipAccounts', () => {
  it('lists the ids of new and changed accounts, not removed or unchanged ones', () => {
    const before = config({ sip: { accounts: [account('keep'), account('change'), account('gone')] } });
    const after = config({ sip: { accounts: [account('keep'), account('change', { password: 'new' }), account('new')] } });
    expect(changedSipAccounts(before, after)).toEqual(['change', 'new']);
    expect(changedSipAccounts(after, after)).toEqual([]);
    expect(changedSipAccounts(after, before)).toEqual(['change', 'gone']);
  });
});

describe('layerRevisions', () => {
  it('gives the device revision (0 without a document) and each group revision', () => {
    expect(layerRevisions(NO_LAYERS)).toEqual({ rev: 0, groups: {} });
    expect(layerRevisions({ device: doc(9, {}), groups: { north: doc(3, {}), promo: doc(11, {}) } })).toEqual({ rev: 9, groups: { north: 3, promo: 11 } });
    expect(layerRevisions({ device: null, groups: { north: doc(3, {}) } })).toEqual({ rev: 0, groups: { north: 3 } });
  });
});
