import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { ConfigError, loadConfig, mergeLayers, readConfigFile, validateConfig } from '../../../src/config/load.js';
import { ConfigSchema, fieldsMarked, jsonSchema, redactSecrets } from '../../../src/config/schema.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'config-'));

describe('config schema', () => {
  it('gives every field a default and a description', () => {
    const missing: string[] = [];
    const walk = (schema: Record<string, unknown>, path: string) => {
      const props = schema.properties as Record<string, Record<string, unknown>> | undefined;
      if (!props) {
        if (!('default' in schema)) missing.push(`${path}: default`);
        if (typeof schema.description !== 'string' || !schema.description) missing.push(`${path}: description`);
        return;
      }
      for (const [key, child] of Object.entries(props)) if (key !== '$schema') walk(child, path ? `${path}.${key}` : key);
    };
    walk(ConfigSchema as unknown as Record<string, unknown>, '');
    expect(missing).toEqual([]);
  });

  it('publishes a JSON Schema document with restart markers', () => {
    const schema = jsonSchema();
    expect(schema.$schema).toMatch(/json-schema\.org/);
    expect((schema.properties as Record<string, unknown>).web).toBeDefined();
    expect(fieldsMarked('x-restart')).toEqual(expect.arrayContaining(['web.port', 'web.host', 'board']));
    expect(fieldsMarked('x-restart')).not.toContain('phone.dialTimeoutMs');
  });

  it('fills every default for an empty document', () => {
    const { config } = validateConfig({});
    expect(config?.web.port).toBe(8080);
    expect(config?.board).toBe('auto');
    expect(config?.phone.ringCadence).toEqual([2000, 4000]);
  });
});

describe('validation', () => {
  it('reports every bad field at once with a dotted path', () => {
    const result = validateConfig({ web: { port: 'eighty', prot: 1 }, log: { level: 'loud' }, phone: { ringCadence: [1000, 2000, 3000] }, bogus: true });
    expect(result.config).toBeNull();
    const paths = result.issues.map((i) => i.path).sort();
    expect(paths).toEqual(['bogus', 'log.level', 'web.port', 'web.prot']);
    expect(result.issues.find((i) => i.path === 'log.level')?.message).toMatch(/one of "fatal".*got "loud"/);
    expect(result.issues.find((i) => i.path === 'web.prot')?.message).toMatch(/unknown setting/);
  });

  it('says what a field with a pattern takes instead of showing the pattern', () => {
    const result = validateConfig({ cloud: { url: 'http://broker.example' }, device: { country: 'usa' } });
    const message = (path: string) => result.issues.find((i) => i.path === path)?.message ?? '';
    expect(message('cloud.url')).toMatch(/mqtts:\/\/host:8883.*got "http:\/\/broker\.example"/);
    expect(message('device.country')).toMatch(/ISO 3166-1 alpha-2.*got "usa"/);
    expect(result.issues.map((i) => i.message).join(' ')).not.toMatch(/\^|\[0-9\]/);
  });

  it('checks rules the schema cannot express', () => {
    const result = validateConfig({ phone: { ringCadence: [1000, 2000, 3000] } });
    expect(result.issues).toEqual([{ path: 'phone.ringCadence', message: expect.stringMatching(/even number/) }]);
  });

  it('names every SIP entry the runtime could not use: allow-list entries, repeated line ids, a backup registrar over TLS', () => {
    const result = validateConfig({
      sip: {
        allowFrom: ['192.168.1.20', '10.0.0.0/8', 'fd00::/8', 'pbx.example.com', '10.0.0.0/33', '999.1.1.1'],
        accounts: [
          { id: 'main', uri: 'sip:1000@pbx.example.com', password: 'a' },
          { id: 'main', uri: 'sip:1001@pbx.example.com', password: 'b', transport: 'tls', backupRegistrar: 'sip:pbx2.example.com' },
        ],
      },
    });
    expect(result.config).toBeNull();
    expect(result.issues).toEqual([
      { path: 'sip.allowFrom.3', message: '"pbx.example.com" is not an IP address or CIDR range (e.g. 192.168.1.20 or 10.0.0.0/8)' },
      { path: 'sip.allowFrom.4', message: expect.stringContaining('"10.0.0.0/33"') },
      { path: 'sip.allowFrom.5', message: expect.stringContaining('"999.1.1.1"') },
      { path: 'sip.accounts.1.id', message: expect.stringMatching(/'main' is used by another account/) },
      { path: 'sip.accounts.1.backupRegistrar', message: 'only used by udp and tcp accounts, this one is tls' },
    ]);
  });

  it('merges layers: objects key by key, arrays replaced, prototype keys ignored', () => {
    const merged = mergeLayers({ web: { port: 1, host: 'a' }, device: { groups: ['x', 'y'] } }, { web: { port: 2 }, device: { groups: ['z'] } }, JSON.parse('{"__proto__": {"polluted": true}}'));
    expect(merged).toEqual({ web: { port: 2, host: 'a' }, device: { groups: ['z'] } });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('secrets', () => {
  const account = { id: 'main', uri: 'sip:1000@pbx.example.com', password: 'hunter2-very-secret', registrar: 'sip:pbx.example.com:5060', transport: 'udp' };

  it('marks SIP passwords secret, hides them in copies, and never echoes them in errors', () => {
    expect(fieldsMarked('x-secret')).toContain('sip.accounts[].password');
    const { config } = validateConfig({ sip: { accounts: [account] } });
    const shown = JSON.stringify(redactSecrets(config));
    expect(shown).not.toContain('hunter2');
    expect(shown).toContain('"password":"[secret]"');
    expect(config?.sip.accounts[0].password).toBe('hunter2-very-secret');
    const bad = validateConfig({ sip: { accounts: [{ ...account, password: 'x'.repeat(300) }] } });
    expect(bad.issues).toEqual([{ path: 'sip.accounts.0.password', message: expect.not.stringContaining('xxxx') }]);
  });
});

describe('config files', () => {
  it('loads defaults < file', async () => {
    const file = join(tmp(), 'c.json');
    writeFileSync(file, JSON.stringify({ web: { port: 9090 }, device: { name: 'Shop' } }));
    const config = await loadConfig(file);
    expect(config.web).toEqual({ host: '127.0.0.1', port: 9090 });
    expect(config.device.name).toBe('Shop');
  });

  it('says where malformed JSON breaks', async () => {
    const file = join(tmp(), 'c.json');
    writeFileSync(file, '{\n  "web": {\n    "port": 80,\n  }\n}');
    await expect(readConfigFile(file)).rejects.toThrow(/not valid JSON.*line 4/);
  });

  it('fails on a missing or oversized file with a ConfigError', async () => {
    const dir = tmp();
    await expect(loadConfig(join(dir, 'nope.json'))).rejects.toBeInstanceOf(ConfigError);
    const big = join(dir, 'big.json');
    writeFileSync(big, `{"x": "${'a'.repeat(1024 * 1024)}"}`);
    await expect(loadConfig(big)).rejects.toThrow(/limit/);
  });
});
