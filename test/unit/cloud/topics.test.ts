import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { resolveDeviceId } from '../../../src/cloud/device-id.js';
import { deviceTopics, groupDesiredTopic, parseTopic } from '../../../src/cloud/topics.js';
import { projectRoot } from '../../../src/core/paths.js';
import { makeTempDir, stopAllPeers } from '../../support/process.js';

afterAll(async () => {
  await stopAllPeers(); // removes the temp dirs
});

describe('cloud topics', () => {
  it('builds every topic of a device under dl/v1/{deviceId} and reads them back', () => {
    const t = deviceTopics('shop-42.a_b');
    expect([t.presence, t.desired, t.reported, t.cmd('sms.send'), t.cmdResult('sms.send'), t.event('calls'), t.all, t.commands]).toEqual([
      'dl/v1/shop-42.a_b/presence',
      'dl/v1/shop-42.a_b/config/desired',
      'dl/v1/shop-42.a_b/config/reported',
      'dl/v1/shop-42.a_b/cmd/sms.send',
      'dl/v1/shop-42.a_b/cmd/sms.send/result',
      'dl/v1/shop-42.a_b/events/calls',
      'dl/v1/shop-42.a_b/#',
      'dl/v1/shop-42.a_b/cmd/+',
    ]);
    expect(parseTopic(t.presence)).toEqual({ deviceId: 'shop-42.a_b', kind: 'presence' });
    expect(parseTopic(t.reported)).toEqual({ deviceId: 'shop-42.a_b', kind: 'config/reported' });
    expect(parseTopic(t.cmd('sms.send'))).toEqual({ deviceId: 'shop-42.a_b', kind: 'cmd', name: 'sms.send' });
    expect(parseTopic(t.cmdResult('ping'))).toEqual({ deviceId: 'shop-42.a_b', kind: 'cmd/result', name: 'ping' });
    expect(parseTopic(t.event('call-list'))).toEqual({ deviceId: 'shop-42.a_b', kind: 'event', stream: 'call-list' });
    expect(parseTopic(groupDesiredTopic('north'))).toEqual({ group: 'north', kind: 'group/config/desired' });
  });

  it('refuses ids, groups and names that would escape their topic level, with what to do', () => {
    for (const bad of ['', 'a/b', '+', '#', '$SYS', '-lead', 'x'.repeat(65), 'a b']) {
      expect(() => deviceTopics(bad)).toThrow(expect.objectContaining({ code: 'CLOUD_BAD_TOPIC_LEVEL', message: expect.stringMatching(/letters, digits/) }));
    }
    expect(() => groupDesiredTopic('north/#')).toThrow(expect.objectContaining({ code: 'CLOUD_BAD_TOPIC_LEVEL' }));
    for (const bad of ['SMS', 'sms/send', 'sms..send', '+', '']) expect(() => deviceTopics('d1').cmd(bad)).toThrow(expect.objectContaining({ code: 'CLOUD_BAD_TOPIC_LEVEL' }));
    for (const foreign of ['dl/v2/d1/presence', 'dl/v1/d1', 'dl/v1/d1/cmd', 'dl/v1/d1/cmd/ping/other', 'dl/v1/+/presence', 'dl/v1/groups/g/presence', 'x/v1/d1/presence']) {
      expect(parseTopic(foreign)).toBeUndefined();
    }
  });

  it('documents every topic in TOPICS.md', () => {
    const doc = readFileSync(join(projectRoot(), 'src', 'cloud', 'TOPICS.md'), 'utf8');
    const t = deviceTopics('DEVICE');
    const documented = [t.presence, t.desired, t.reported, t.cmd('name'), t.cmdResult('name'), t.event('stream'), groupDesiredTopic('GROUP')].map((topic) =>
      topic.replace('DEVICE', '{deviceId}').replace('GROUP', '{group}').replace('/cmd/name', '/cmd/{name}').replace('/events/stream', '/events/{stream}'));
    expect(documented).toContain('dl/v1/{deviceId}/cmd/{name}/result');
    for (const topic of documented) expect(doc).toContain(`\`${topic}\``);
  });
});

describe('device id', () => {
  it('is device.id when set, else derived from the machine id, and says what to do when it can be neither', async () => {
    const dir = await makeTempDir('device-id');
    const file = join(dir, 'machine-id');
    expect(resolveDeviceId('shop-7', file)).toBe('shop-7');
    writeFileSync(file, '4C4C4544003151108035B4C04F4D4A33\n');
    expect(resolveDeviceId('', file)).toBe('dl-4c4c45440031');
    writeFileSync(file, 'uninitialized\n');
    expect(() => resolveDeviceId('', file)).toThrow(expect.objectContaining({ code: 'CLOUD_NO_DEVICE_ID', message: expect.stringMatching(/set device\.id/) }));
    expect(() => resolveDeviceId('', join(dir, 'missing'))).toThrow(expect.objectContaining({ code: 'CLOUD_NO_DEVICE_ID' }));
    expect(() => resolveDeviceId('bad/id', file)).toThrow(expect.objectContaining({ code: 'CLOUD_BAD_TOPIC_LEVEL' }));
  });
});
