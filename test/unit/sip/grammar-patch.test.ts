// scripts/patches/sip.js+0.21.2.patch: sip.js's generated grammar (pegjs) decoded its rule bytecode
// on every parse (~236 string decodes per header). The patch builds `peg$bytecode` once per process
// and leaves `peg$consts` per call. These tests check that the patch is applied and that parsing
// gives exactly what the unpatched grammar gives: the pristine grammar is the same file text with
// the patch reverted in memory, evaluated beside the module sip.js uses.
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from '@jest/globals';
import { NameAddrHeader, URI } from 'sip.js';
// deep imports: sip.js has no "exports" map, and neither module is re-exported by its index
import * as patchedGrammar from 'sip.js/lib/grammar/pegjs/dist/grammar.js';
import { Parser } from 'sip.js/lib/core/messages/parser.js';
import type { IncomingMessage } from 'sip.js/lib/core/messages/incoming-message.js';
import { projectRoot } from '../../../src/core/paths.js';
import { seededRandom } from '../../support/random.js';

const require = createRequire(import.meta.url);
const GRAMMAR_FILE = require.resolve('sip.js/lib/grammar/pegjs/dist/grammar.js');
const PATCH_FILE = join(projectRoot(), 'scripts', 'patches', 'sip.js+0.21.2.patch');
const FIXTURES = join(projectRoot(), 'test', 'fixtures', 'rfc4475');

type PegParse = (input: string, options: { startRule?: string; data?: unknown }) => unknown;
interface Evaluated {
  parse: PegParse;
  /** the patched module's cache (only when evaluating the patched text) */
  cache: () => unknown[] | null;
}

const patchedText = readFileSync(GRAMMAR_FILE, 'utf8');

/** The grammar module's text as a function body: imports become parameters, exports a return. */
function evaluate(text: string): Evaluated {
  const hasCache = text.includes('let peg$bytecodeCache = null;');
  const body = text
    .replace(/^import .*$/gm, '')
    .replace(/^export class SyntaxError/m, 'class SyntaxError')
    .replace(/^export const parse = peg\$parse;$/m, `return { parse: peg$parse, cache: () => ${hasCache ? 'peg$bytecodeCache' : 'null'} };`);
  return new Function('NameAddrHeader', 'URI', `"use strict";\n${body}`)(NameAddrHeader, URI) as Evaluated;
}

/** The patch reverted in memory: the grammar as sip.js 0.21.2 ships it. */
function unpatch(text: string): string {
  const reverted = text
    .replace(/^\/\/ Deskline patch \(scripts\/patches\).*\n\/\/ instead of on every parse.*\nlet peg\$bytecodeCache = null;\n/m, '')
    .replace('const peg$bytecode = peg$bytecodeCache || (peg$bytecodeCache = [', 'const peg$bytecode = [')
    .replace(/^ {4}\]\);$/m, '    ];');
  if (reverted.includes('peg$bytecodeCache')) throw new Error('could not revert the patch in memory');
  return reverted;
}

const pristine = evaluate(unpatch(patchedText));

/** The start rules sip.js's generated parser accepts. */
const START_RULES = Object.keys(
  JSON.parse(
    /const peg\$startRuleIndices = (\{[^}]*\})/
      .exec(patchedText)![1]
      .replace(/(\w+):/g, '"$1":'),
  ) as Record<string, number>,
);

type Outcome = { ok: true; value: unknown; data: unknown } | { ok: false; error: unknown; data: unknown };

function run(parse: PegParse, input: string, startRule: string): Outcome {
  const options: { startRule: string; data?: unknown } = { startRule };
  try {
    const value = parse(input, options);
    return { ok: true, value, data: options.data };
  } catch (e) {
    const err = e as { message: string; expected?: unknown; found?: unknown; location?: unknown };
    return { ok: false, error: { message: err.message, expected: err.expected, found: err.found, location: err.location }, data: options.data };
  }
}

/** Compares patched vs pristine on every (input, rule); returns the mismatches. */
function compare(cases: Array<[string, string]>): Array<{ input: string; rule: string }> {
  const mismatches: Array<{ input: string; rule: string }> = [];
  for (const [input, rule] of cases) {
    const a = run(patchedGrammar.parse as PegParse, input, rule);
    const b = run(pristine.parse, input, rule);
    if (!isDeepStrictEqual(a, b)) mismatches.push({ input, rule });
  }
  return mismatches;
}

// ---- messages ---------------------------------------------------------------------------------

const crlf = (lines: string[]) => `${lines.join('\r\n')}\r\n`;
const REAL_MESSAGES: Record<string, string> = {
  invite: crlf([
    'INVITE sip:1000@127.0.0.1:35060 SIP/2.0',
    'Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-4711-1-0;rport',
    'From: sipp <sip:sipp@127.0.0.1:5061>;tag=4711SIPpTag001',
    'To: <sip:1000@127.0.0.1:35060>',
    'Call-ID: 1-4711@127.0.0.1',
    'CSeq: 1 INVITE',
    'Contact: <sip:sipp@127.0.0.1:5061>',
    'Max-Forwards: 70',
    'Supported: timer, replaces',
    'Session-Expires: 1800;refresher=uac',
    'Min-SE: 90',
    'Content-Type: application/sdp',
    'Content-Length: 38',
    '',
    'v=0\r\no=user1 1 2 IN IP4 127.0.0.1\r\ns=-',
  ]),
  ringing: crlf([
    'SIP/2.0 180 Ringing',
    'Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-4711-1-0;rport=5061;received=127.0.0.1',
    'From: sipp <sip:sipp@127.0.0.1:5061>;tag=4711SIPpTag001',
    'To: <sip:1000@127.0.0.1:35060>;tag=a8f3kq1',
    'Call-ID: 1-4711@127.0.0.1',
    'CSeq: 1 INVITE',
    'Contact: <sip:1000@127.0.0.1:35060;transport=udp>',
    'Record-Route: <sip:127.0.0.1:5080;lr>, <sip:10.0.0.1;lr;ftag=x>',
    'Content-Length: 0',
    '',
  ]),
  unauthorized: crlf([
    'SIP/2.0 401 Unauthorized',
    'Via: SIP/2.0/UDP 127.0.0.1:40000;branch=z9hG4bK123;rport=40000;received=127.0.0.1',
    'From: "Alice A." <sip:alice@127.0.0.1:5080>;tag=reg1',
    'To: <sip:alice@127.0.0.1:5080>;tag=b27e1a1d33761e85846fc98f5f3a7e58.7a1d',
    'Call-ID: reg-1@127.0.0.1',
    'CSeq: 1 REGISTER',
    'WWW-Authenticate: Digest realm="127.0.0.1:5080", nonce="ZzQ4Z2c0Y2h4", qop="auth", algorithm=MD5',
    'Content-Length: 0',
    '',
  ]),
  proxyAuth: crlf([
    'SIP/2.0 407 Proxy Authentication Required',
    'Via: SIP/2.0/TCP [2001:db8::1]:5060;branch=z9hG4bKabc',
    'From: <sip:bob@example.com>;tag=1',
    'To: <sip:carol@example.com>;tag=2',
    'Call-ID: 77@[2001:db8::1]',
    'CSeq: 5 INVITE',
    'Proxy-Authenticate: Digest realm="example.com", nonce="abc", opaque="xyz", stale=FALSE, qop="auth,auth-int"',
    'Content-Length: 0',
    '',
  ]),
  notify: crlf([
    'NOTIFY sip:alice@192.0.2.4:5060;transport=tcp SIP/2.0',
    'Via: SIP/2.0/TCP 192.0.2.1;branch=z9hG4bKn1',
    'From: <sip:alice@example.com>;tag=n1',
    'To: <sip:alice@example.com>;tag=n2',
    'Call-ID: mwi-9@example.com',
    'CSeq: 3 NOTIFY',
    'Event: message-summary;id=7',
    'Subscription-State: active;expires=3600',
    'Content-Type: application/simple-message-summary',
    'Content-Length: 0',
    '',
  ]),
  refer: crlf([
    'REFER sip:b@atlanta.example.com SIP/2.0',
    'Via: SIP/2.0/UDP agenta.atlanta.example.com;branch=z9hG4bK2293940223',
    'To: <sip:b@atlanta.example.com>',
    'From: <sip:a@atlanta.example.com>;tag=193402342',
    'Call-ID: 898234234@agenta.atlanta.example.com',
    'CSeq: 93809823 REFER',
    'Max-Forwards: 70',
    'Refer-To: <sip:c@atlanta.example.com?Replaces=12345%40192.168.118.3%3Bto-tag%3D12345%3Bfrom-tag%3D5FFE-3994>',
    'Referred-By: <sip:a@atlanta.example.com>',
    'Replaces: 12345@192.168.118.3;to-tag=12345;from-tag=5FFE-3994',
    'Require: replaces',
    'Content-Disposition: session;handling=optional',
    'Contact: sip:a@atlanta.example.com',
    'Content-Length: 0',
    '',
  ]),
};

const fixtures = readdirSync(FIXTURES).filter((f) => f.endsWith('.dat')).sort();
const fixtureText = (f: string) => readFileSync(join(FIXTURES, f), 'utf8');
const ALL_MESSAGES: Array<[string, string]> = [...fixtures.map((f): [string, string] => [f, fixtureText(f)]), ...Object.entries(REAL_MESSAGES)];

/** First line and unfolded header values of a message (body dropped). */
function headerLines(message: string): { firstLine: string; headers: Array<[string, string]> } {
  const head = message.split(/\r?\n\r?\n/)[0];
  const lines = head.split(/\r?\n/);
  const headers: Array<[string, string]> = [];
  for (const line of lines.slice(1)) {
    if (/^[ \t]/.test(line) && headers.length) headers[headers.length - 1][1] += ` ${line.trim()}`;
    else {
      const colon = line.indexOf(':');
      if (colon > 0) headers.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
    }
  }
  return { firstLine: lines[0], headers };
}

/** The start rule sip.js's Parser uses for a header (long and compact names), if any. */
const RULE_OF: Record<string, string> = {
  via: 'Via', v: 'Via', from: 'From', f: 'From', to: 'To', t: 'To', contact: 'Contact', m: 'Contact',
  'call-id': 'Call_ID', i: 'Call_ID', cseq: 'CSeq', 'max-forwards': 'Max_Forwards', 'content-length': 'Content_Length', l: 'Content_Length',
  'content-type': 'Content_Type', c: 'Content_Type', 'record-route': 'Record_Route', 'www-authenticate': 'WWW_Authenticate',
  'proxy-authenticate': 'Proxy_Authenticate', event: 'Event', o: 'Event', 'subscription-state': 'Subscription_State',
  supported: 'Supported', k: 'Supported', require: 'Require', 'session-expires': 'Session_Expires', x: 'Session_Expires',
  'min-se': 'Min_SE', 'refer-to': 'Refer_To', r: 'Refer_To', 'referred-by': 'Referred_By', b: 'Referred_By', replaces: 'Replaces',
  'content-disposition': 'Content_Disposition',
};

/** What a parsed message says, as plain data (so two parses can be compared). */
function summary(m: IncomingMessage | undefined): unknown {
  if (!m) return null;
  const headers: Record<string, string[]> = {};
  for (const name of Object.keys(m.headers)) headers[name] = m.getHeaders(name);
  const req = m as IncomingMessage & { method?: string; ruri?: URI; statusCode?: number; reasonPhrase?: string };
  return {
    method: req.method, ruri: req.ruri?.toString(), statusCode: req.statusCode, reasonPhrase: req.reasonPhrase,
    callId: m.callId, cseq: m.cseq, fromTag: m.fromTag, toTag: m.toTag, from: m.from?.toString(), to: m.to?.toString(),
    via: m.via ? { ...(m.via as Record<string, unknown>) } : null,
    viaBranch: m.viaBranch, body: m.body, headers,
  };
}

const quiet = { warn: () => undefined, error: () => undefined, log: () => undefined, debug: () => undefined };
const parseMessage = (text: string) => Parser.parseMessage(text, quiet as never);

// ---- tests ------------------------------------------------------------------------------------

describe('sip.js grammar patch (bytecode built once)', () => {
  it('is applied to the grammar sip.js loads, as the patch file in scripts/patches says', () => {
    expect(patchedText).toContain('let peg$bytecodeCache = null;');
    expect(patchedText).toContain('const peg$bytecode = peg$bytecodeCache || (peg$bytecodeCache = [');
    // peg$consts stays per call: its action functions close over the parse's options.data
    expect(patchedText).toMatch(/function peg\$parse\(input, options\) \{[\s\S]*?\n {4}const peg\$consts = \[/);
    const added = readFileSync(PATCH_FILE, 'utf8').split('\n').filter((l) => l.startsWith('+') && !l.startsWith('+++')).map((l) => l.slice(1));
    expect(added.length).toBeGreaterThanOrEqual(3);
    for (const line of added) expect(patchedText).toContain(line);
  });

  it('builds the bytecode on the first parse and reuses the same tables afterwards', () => {
    const fresh = evaluate(patchedText);
    expect(fresh.cache()).toBeNull();
    expect(run(fresh.parse, 'SIP/2.0 180 Ringing', 'Request_Response').ok).toBe(true);
    const tables = fresh.cache();
    expect(Array.isArray(tables)).toBe(true);
    expect(tables!.length).toBe(patchedText.split('peg$decode("').length - 1);
    const first = tables![0];
    run(fresh.parse, '<sip:a@b>;tag=1', 'From');
    run(fresh.parse, 'not a via', 'Via'); // a failing parse leaves the tables alone too
    expect(fresh.cache()).toBe(tables);
    expect(fresh.cache()![0]).toBe(first);
    // the tables are exactly what the unpatched grammar decodes on each call
    const pristineBytecode = evaluate(unpatch(patchedText).replace(/(\n {4}let peg\$currPos = 0;)/, '\n    options.bytecode = peg$bytecode;$1'));
    const opts: { startRule: string; bytecode?: unknown } = { startRule: 'Request_Response' };
    pristineBytecode.parse('SIP/2.0 180 Ringing', opts);
    expect(opts.bytecode).toEqual(tables);
  });

  it('parses every start rule on every header of the RFC 4475 torture messages and real messages exactly as unpatched sip.js', () => {
    expect(fixtures).toHaveLength(49);
    expect(START_RULES.length).toBeGreaterThanOrEqual(30);
    const cases: Array<[string, string]> = [];
    for (const [, text] of ALL_MESSAGES) {
      const { firstLine, headers } = headerLines(text);
      for (const rule of START_RULES) {
        cases.push([firstLine, rule]);
        for (const [, value] of headers) cases.push([value, rule]);
      }
    }
    expect(cases.length).toBeGreaterThan(15_000);
    expect(compare(cases)).toEqual([]);
    // the comparison is not vacuous: many succeed, many fail, on both sides
    const outcomes = cases.slice(0, 3000).map(([input, rule]) => run(patchedGrammar.parse as PegParse, input, rule).ok);
    expect(outcomes.filter(Boolean).length).toBeGreaterThan(100);
    expect(outcomes.filter((ok) => !ok).length).toBeGreaterThan(100);
  });

  it('matches unpatched sip.js on mutated header values (same results, same errors and positions)', () => {
    const random = seededRandom(4475);
    const pieces = ['<', '>', ';', ',', '"', '\\', ':', '@', ' ', '\t', '=', '%', '%2', '[', ']', 'sip:', 'tag=', ';lr', '0', '9', 'a', 'Z', '-', '/', '\u00e9'];
    const values: Array<[string, string]> = [];
    for (const [, text] of ALL_MESSAGES) {
      const { firstLine, headers } = headerLines(text);
      values.push([firstLine, 'Request_Response']);
      for (const [name, value] of headers) {
        const rule = RULE_OF[name.toLowerCase()];
        if (rule) values.push([value, rule]);
      }
    }
    const cases: Array<[string, string]> = [];
    for (let i = 0; i < 4000; i++) {
      const [value, rule] = values[Math.floor(random() * values.length)];
      let v = value;
      for (let n = 1 + Math.floor(random() * 3); n > 0; n--) {
        const at = Math.floor(random() * (v.length + 1));
        const op = random();
        if (op < 0.4) v = v.slice(0, at) + pieces[Math.floor(random() * pieces.length)] + v.slice(at);
        else if (op < 0.7) v = v.slice(0, at) + v.slice(at + 1 + Math.floor(random() * 3));
        else v = v.slice(0, at) + pieces[Math.floor(random() * pieces.length)] + v.slice(at + 1);
      }
      cases.push([v, rule]);
    }
    expect(compare(cases)).toEqual([]);
  });

  it("Parser.parseMessage gives the same message on a second parse, with other messages' parses in between", () => {
    const first = ALL_MESSAGES.map(([name, text]) => [name, summary(parseMessage(text))] as const);
    // interleaved: each message again, after a different one (reverse order, then shuffled pairs)
    const second = new Map<string, unknown>();
    for (const [name, text] of [...ALL_MESSAGES].reverse()) {
      parseMessage(ALL_MESSAGES[(ALL_MESSAGES.findIndex(([n]) => n === name) + 7) % ALL_MESSAGES.length][1]);
      second.set(name, summary(parseMessage(text)));
    }
    for (const [name, s] of first) expect({ name, s: second.get(name) }).toEqual({ name, s });
    // RFC 4475: which messages sip.js 0.21.2 rejects outright (the same with and without the patch)
    const rejected = first.filter(([, s]) => s === null).map(([name]) => name);
    expect(rejected).toEqual([
      'badaspec.dat', 'baddn.dat', 'badinv01.dat', 'bigcode.dat', 'ltgtruri.dat', 'lwsruri.dat',
      'lwsstart.dat', 'ncl.dat', 'quotbal.dat', 'regbadct.dat', 'trws.dat', 'unksm2.dat',
    ]);
  });

  it('parses real messages into the values a phone relies on', () => {
    const invite = summary(parseMessage(REAL_MESSAGES.invite)) as Record<string, unknown>;
    expect(invite).toMatchObject({
      method: 'INVITE', ruri: 'sip:1000@127.0.0.1:35060', callId: '1-4711@127.0.0.1', cseq: 1, fromTag: '4711SIPpTag001',
      via: { host: '127.0.0.1', port: 5061, branch: 'z9hG4bK-4711-1-0', transport: 'UDP' },
      body: 'v=0\r\no=user1 1 2 IN IP4 127.0.0.1\r\ns=-',
    });
    const ringing = parseMessage(REAL_MESSAGES.ringing)!;
    expect(summary(ringing)).toMatchObject({ statusCode: 180, reasonPhrase: 'Ringing', toTag: 'a8f3kq1' });
    expect(ringing.getHeaders('record-route')).toEqual(['<sip:127.0.0.1:5080;lr>', '<sip:10.0.0.1;lr;ftag=x>']);
    expect(ringing.parseHeader('contact')).toBeInstanceOf(NameAddrHeader);
    const challenge = parseMessage(REAL_MESSAGES.unauthorized)!.parseHeader('www-authenticate') as Record<string, unknown>;
    expect(challenge).toMatchObject({ realm: '127.0.0.1:5080', nonce: 'ZzQ4Z2c0Y2h4', qop: ['auth'], algorithm: 'MD5' });
    const proxy = parseMessage(REAL_MESSAGES.proxyAuth)!;
    expect(proxy.via.host).toBe('[2001:db8::1]');
    expect(proxy.parseHeader('proxy-authenticate')).toMatchObject({ realm: 'example.com', opaque: 'xyz', stale: false, qop: ['auth', 'auth-int'] });
    const notify = parseMessage(REAL_MESSAGES.notify)!;
    expect(notify.parseHeader('event')).toMatchObject({ event: 'message-summary', params: { id: '7' } });
    expect(notify.parseHeader('subscription-state')).toMatchObject({ state: 'active', expires: 3600 });
    const refer = parseMessage(REAL_MESSAGES.refer)!;
    expect((refer.parseHeader('refer-to') as NameAddrHeader).uri.user).toBe('c');
    expect(refer.parseHeader('replaces')).toMatchObject({ call_id: '12345@192.168.118.3', replaces_to_tag: '12345', replaces_from_tag: '5FFE-3994' });
  });
});
