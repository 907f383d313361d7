import type { CallDirection } from '../core/events.js';
import type { Config } from '../config/schema.js';

/** What happens to a call's audio: recorded from the start, recorded once someone asks, or never. */
export type RecordingDecision = 'record' | 'on-demand' | 'off';

export type RecordingMode = Config['recording']['mode'];

export interface RecordingRule {
  direction?: CallDirection;
  tag?: string;
  mode: RecordingMode;
}

export interface RecordingPolicy {
  mode: RecordingMode;
  rules: readonly RecordingRule[];
}

export interface CallFacts {
  direction: CallDirection;
  /** tags of the caller's contact ([] for an unknown caller) */
  contactTags: readonly string[];
}

/** A rule applies when each condition it names holds (tags compare case-insensitively); a rule naming none applies to every call. */
export function ruleApplies(rule: RecordingRule, call: CallFacts): boolean {
  if (rule.direction !== undefined && rule.direction !== call.direction) return false;
  if (rule.tag !== undefined) {
    const wanted = rule.tag.trim().toLowerCase();
    if (!call.contactTags.some((tag) => tag.trim().toLowerCase() === wanted)) return false;
  }
  return true;
}

/** The first rule that applies decides; without one, `mode` does. */
export function recordingDecision(policy: RecordingPolicy, call: CallFacts): RecordingDecision {
  const mode = policy.rules.find((rule) => ruleApplies(rule, call))?.mode ?? policy.mode;
  return mode === 'always' ? 'record' : mode;
}
