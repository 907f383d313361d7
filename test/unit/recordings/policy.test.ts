import { describe, expect, it } from '@jest/globals';
import { recordingDecision, type RecordingPolicy } from '../../../src/recordings/policy.js';

describe('recordingDecision', () => {
  const rules: RecordingPolicy['rules'] = [
    { tag: 'staff', mode: 'off' },
    { direction: 'inbound', tag: 'vip', mode: 'always' },
    { direction: 'outbound', mode: 'on-demand' },
  ];

  it.each([
    // mode, rules, direction, tags, expected
    ['always', [], 'inbound', [], 'record'],
    ['on-demand', [], 'outbound', ['vip'], 'on-demand'],
    ['off', [], 'inbound', [], 'off'],
    ['off', rules, 'inbound', ['vip'], 'record'],
    ['off', rules, 'inbound', ['VIP '], 'record'],
    ['off', rules, 'outbound', ['vip'], 'on-demand'],
    ['always', rules, 'inbound', ['staff', 'vip'], 'off'],
    ['always', rules, 'outbound', ['staff'], 'off'],
    ['always', rules, 'outbound', [], 'on-demand'],
    ['always', rules, 'inbound', [], 'record'],
    ['off', rules, 'inbound', ['regular'], 'off'],
    ['off', [{ mode: 'always' }], 'inbound', [], 'record'],
  ] as const)('mode %s, rules %j, %s call with tags %j -> %s', (mode, policyRules, direction, contactTags, expected) => {
    expect(recordingDecision({ mode, rules: policyRules }, { direction, contactTags })).toBe(expected);
  });
});
