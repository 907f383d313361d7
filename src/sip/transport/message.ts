// Inbound-message guard and the few header reads the transport needs for routing and
// retransmission (RFC 3261 §7, §18, §20; RFC 3581). This is not a SIP parser: it checks that a
// message is shaped like SIP and that the headers sip.js dereferences without checks (CSeq, Via)
// parse, so nothing that reaches sip.js's parser can throw; sip.js still parses the message.

import { randomBytes } from 'node:crypto';

/** Default upper bound of one SIP message (a UDP datagram cannot be bigger anyway). */
export const MAX_SIP_MESSAGE_BYTES = 65_535;

/** token (RFC 3261 §25.1), used by method names and transport names. */
const TOKEN = "[A-Za-z0-9.!%*_+`'~-]+";
// Request-Line = Method SP Request-URI SP SIP-Version CRLF (§7.1)
const REQUEST_LINE = new RegExp(`^(${TOKEN}) ([^\\s]+) SIP/2\\.0$`);
// Status-Line = SIP-Version SP Status-Code SP Reason-Phrase CRLF (§7.2); codes 100-699 (§21)
const STATUS_LINE = /^SIP\/2\.0 ([1-6]\d\d) ([^\r\n]*)$/;
// CSeq = 1*DIGIT LWS Method (§20.16); the number must be below 2**31 (§8.1.1.5)
const CSEQ = new RegExp(`^(\\d{1,10})\\s+(${TOKEN})$`);
// via-parm = sent-protocol LWS sent-by *( SEMI via-params ) (§20.42)
const VIA = new RegExp(
  `^SIP\\s*/\\s*2\\.0\\s*/\\s*(${TOKEN})\\s+(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9.-]+)(?:\\s*:\\s*(\\d{1,5}))?\\s*((?:;[^,]*)?)$`,
);
const PARAM = new RegExp(`^(${TOKEN})(?:\\s*=\\s*("(?:[^"\\\\]|\\\\.)*"|[^;\\s]+))?$`);

/** Compact header names (§7.3.3) the transport reads. */
const COMPACT: Record<string, string> = { v: 'via', i: 'call-id', l: 'content-length', f: 'from', t: 'to', m: 'contact' };

/** The top Via of a message, with its parameters in order. */
export interface SipVia {
  /** transport token, upper-cased: UDP, TCP, TLS, WS, WSS */
  transport: string;
  host: string;
  port: number | null;
  /** name (lower-cased) -> value, null for a flag parameter such as a bare `rport` */
  params: Array<[string, string | null]>;
}

export interface SipProbe {
  kind: 'request' | 'response';
  /** request method; for a response the CSeq method */
  method: string;
  requestUri: string | null;
  status: number | null;
  via: SipVia;
  /** branch parameter of the top Via, or null */
  branch: string | null;
  cseq: { seq: number; method: string };
  callId: string;
  /** first Route header value (a name-addr or URI) or null */
  route: string | null;
  /** user part of the Request-URI (requests), percent-decoded, or null */
  requestUser: string | null;
  /** the To tag: set on requests inside a dialog (§12.2.2) and on most responses */
  toTag: string | null;
  contentLength: number | null;
  /** offsets of the top Via value in the text, for rewriting it */
  topViaRange: [number, number];
}

export type ProbeResult = { ok: true; probe: SipProbe } | { ok: false; reason: string };

/** A CRLF-only datagram or stream chunk: a keep-alive (RFC 5626 §3.5.1), not a message. */
export function isKeepAlive(text: string): boolean {
  return text.length > 0 && text.length <= 8 && /^(\r\n)+$/.test(text);
}

interface RawHeader {
  name: string;
  /** value unfolded (CRLF + whitespace -> one space), trimmed */
  value: string;
  start: number;
  end: number;
}

/**
 * Checks that `text` looks like one well-formed SIP message and reads its routing headers.
 * Returns a reason instead of throwing; never throws for any input.
 */
export function probeSipMessage(text: string, maxBytes = MAX_SIP_MESSAGE_BYTES): ProbeResult {
  try {
    return probe(text, maxBytes);
  } catch (error) {
    return { ok: false, reason: `probe failed: ${(error as Error).message}` };
  }
}

function probe(text: string, maxBytes: number): ProbeResult {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > maxBytes) return { ok: false, reason: `message of ${bytes} bytes exceeds ${maxBytes}` };
  // §7.5: implementations SHOULD ignore CRLFs that precede the start line
  let offset = 0;
  while (text.startsWith('\r\n', offset)) offset += 2;
  const headEnd = text.indexOf('\r\n\r\n', offset);
  if (headEnd < 0) return { ok: false, reason: 'no end of the header section (CRLF CRLF)' };
  const firstEnd = text.indexOf('\r\n', offset);
  const firstLine = text.slice(offset, firstEnd);
  let kind: 'request' | 'response';
  let method = '';
  let requestUri: string | null = null;
  let status: number | null = null;
  const req = REQUEST_LINE.exec(firstLine);
  const res = req ? null : STATUS_LINE.exec(firstLine);
  if (req) {
    kind = 'request';
    method = req[1];
    requestUri = req[2];
    if (!/^(sips?|tel):/i.test(requestUri)) return { ok: false, reason: `unsupported Request-URI ${requestUri.slice(0, 40)}` };
  } else if (res) {
    kind = 'response';
    status = Number(res[1]);
  } else {
    return { ok: false, reason: `not a SIP start line: ${JSON.stringify(firstLine.slice(0, 60))}` };
  }

  const headers = readHeaders(text, firstEnd + 2, headEnd);
  if (typeof headers === 'string') return { ok: false, reason: headers };
  const first = (name: string) => headers.find((h) => h.name === name);

  // Mandatory headers (§8.1.1; sip.js drops messages without them, but must not crash first)
  for (const name of ['via', 'from', 'to', 'call-id', 'cseq']) {
    if (!first(name)) return { ok: false, reason: `missing ${name} header` };
  }
  const cseqs = headers.filter((h) => h.name === 'cseq');
  if (cseqs.length !== 1) return { ok: false, reason: 'more than one CSeq header' };
  const cseqMatch = CSEQ.exec(cseqs[0].value);
  if (!cseqMatch || Number(cseqMatch[1]) >= 2 ** 31) return { ok: false, reason: `bad CSeq ${JSON.stringify(cseqs[0].value.slice(0, 40))}` };
  const cseq = { seq: Number(cseqMatch[1]), method: cseqMatch[2] };
  if (kind === 'request' && cseq.method !== method) return { ok: false, reason: `CSeq method ${cseq.method} differs from ${method}` };
  if (kind === 'response') method = cseq.method;

  const callId = first('call-id')!.value;
  if (!callId || /\s/.test(callId)) return { ok: false, reason: 'bad Call-ID' };

  const viaHeader = first('via')!;
  const rawVia = text.slice(viaHeader.start, viaHeader.end);
  const comma = firstUnquoted(rawVia, ',');
  const topRaw = comma < 0 ? rawVia : rawVia.slice(0, comma);
  const lead = topRaw.length - topRaw.trimStart().length;
  const topViaRange: [number, number] = [viaHeader.start + lead, viaHeader.start + topRaw.trimEnd().length];
  const via = parseVia(topRaw.replace(/\r\n[ \t]+/g, ' ').trim());
  if (!via) return { ok: false, reason: `bad Via ${JSON.stringify(topRaw.trim().slice(0, 60))}` };

  let contentLength: number | null = null;
  const cl = first('content-length');
  if (cl) {
    if (!/^\d{1,9}$/.test(cl.value)) return { ok: false, reason: 'bad Content-Length' };
    contentLength = Number(cl.value);
    const bodyBytes = Buffer.byteLength(text.slice(headEnd + 4), 'utf8');
    // §18.3: a datagram whose body is shorter than Content-Length is discarded
    if (bodyBytes < contentLength) return { ok: false, reason: `body of ${bodyBytes} bytes shorter than Content-Length ${contentLength}` };
  }

  const routeHeader = first('route');
  let route: string | null = null;
  if (routeHeader) {
    const c = firstUnquoted(routeHeader.value, ',');
    route = (c < 0 ? routeHeader.value : routeHeader.value.slice(0, c)).trim();
  }
  const branchParam = via.params.find(([n]) => n === 'branch');
  const toTag = toHeaderTag(first('to')!.value);
  return {
    ok: true,
    probe: {
      kind,
      method,
      requestUri,
      status,
      via,
      branch: branchParam ? branchParam[1] : null,
      cseq,
      callId,
      route,
      requestUser: requestUri ? uriUser(requestUri) : null,
      toTag,
      contentLength,
      topViaRange,
    },
  };
}

function readHeaders(text: string, from: number, headEnd: number): RawHeader[] | string {
  const headers: RawHeader[] = [];
  let pos = from;
  while (pos < headEnd) {
    let end = text.indexOf('\r\n', pos);
    if (end < 0 || end > headEnd) end = headEnd;
    // header folding: continuation lines start with SP or HTAB (§7.3.1)
    while (end < headEnd && (text[end + 2] === ' ' || text[end + 2] === '\t')) {
      const next = text.indexOf('\r\n', end + 2);
      end = next < 0 || next > headEnd ? headEnd : next;
    }
    const line = text.slice(pos, end);
    const colon = line.indexOf(':');
    if (colon <= 0) return `malformed header line ${JSON.stringify(line.slice(0, 40))}`;
    const rawName = line.slice(0, colon).trim().toLowerCase();
    if (!new RegExp(`^${TOKEN}$`).test(rawName)) return `bad header name ${JSON.stringify(rawName.slice(0, 40))}`;
    const name = COMPACT[rawName] ?? rawName;
    let valueStart = pos + colon + 1;
    while (text[valueStart] === ' ' || text[valueStart] === '\t') valueStart++;
    headers.push({ name, value: text.slice(valueStart, end).replace(/\r\n[ \t]+/g, ' ').trim(), start: valueStart, end });
    pos = end + 2;
    if (headers.length > 256) return 'more than 256 header lines';
  }
  return headers;
}

/** The tag of a To value: `"Name" <sip:u@h>;tag=x` or `sip:u@h;tag=x` (§20.39, §20.10). */
function toHeaderTag(value: string): string | null {
  const open = value.indexOf('<');
  const close = open < 0 ? -1 : value.indexOf('>', open);
  // without angle brackets the header's parameters follow the URI directly
  const params = close > 0 ? value.slice(close + 1) : value.slice(value.split(';')[0].length);
  return /;\s*tag\s*=\s*([^;\s,]+)/i.exec(params)?.[1] ?? null;
}

/** The user part of a sip:/sips:/tel: URI, percent-decoded; null when it has none. */
function uriUser(uri: string): string | null {
  const m = /^(?:sips?:([^@;?]+)@|tel:([^;?]+))/i.exec(uri);
  const raw = m?.[1] ?? m?.[2];
  if (!raw) return null;
  try {
    return decodeURIComponent(raw.split(':')[0]);
  } catch {
    return raw;
  }
}

/**
 * A response built without a transaction (§8.2.6.2, §16.7 stateless): the request's Via
 * headers, From, Call-ID and CSeq copied; To copied with a tag added when it has none.
 */
export function statelessResponse(request: string, p: SipProbe, status: number, reason: string): string {
  const headEnd = request.indexOf('\r\n\r\n');
  const headers = readHeaders(request, request.indexOf('\r\n') + 2, headEnd);
  if (typeof headers === 'string') throw new Error(headers);
  const lines = [`SIP/2.0 ${status} ${reason}`];
  for (const h of headers) {
    if (h.name === 'via' || h.name === 'from' || h.name === 'call-id' || h.name === 'cseq') lines.push(`${headerName(h.name)}: ${h.value}`);
    else if (h.name === 'to') lines.push(`To: ${h.value}${p.toTag ? '' : `;tag=${randomTag()}`}`);
  }
  lines.push('Content-Length: 0');
  return `${lines.join('\r\n')}\r\n\r\n`;
}

function headerName(name: string): string {
  return name === 'call-id' ? 'Call-ID' : name === 'cseq' ? 'CSeq' : name[0].toUpperCase() + name.slice(1);
}

function randomTag(): string {
  return randomBytes(5).toString('hex');
}

function firstUnquoted(s: string, ch: string): number {
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '"') quoted = !quoted;
    else if (c === '\\' && quoted) i++;
    else if (c === ch && !quoted) return i;
  }
  return -1;
}

/** Parses one via-parm (§20.42). */
export function parseVia(value: string): SipVia | null {
  const m = VIA.exec(value);
  if (!m) return null;
  const port = m[3] === undefined ? null : Number(m[3]);
  if (port !== null && (port < 1 || port > 65535)) return null;
  const params: Array<[string, string | null]> = [];
  for (const part of m[4].split(';').slice(1)) {
    const p = PARAM.exec(part.trim());
    if (!p) return null;
    params.push([p[1].toLowerCase(), p[2] ?? null]);
  }
  return { transport: m[1].toUpperCase(), host: m[2], port, params };
}

export function formatVia(via: SipVia): string {
  const params = via.params.map(([n, v]) => (v === null ? `;${n}` : `;${n}=${v}`)).join('');
  return `SIP/2.0/${via.transport} ${via.host}${via.port === null ? '' : `:${via.port}`}${params}`;
}

function setParam(via: SipVia, name: string, value: string): void {
  const existing = via.params.find(([n]) => n === name);
  if (existing) existing[1] = value;
  else via.params.push([name, value]);
}

/**
 * Server side of §18.2.1 and RFC 3581 §4: stamps the top Via of an inbound request with the
 * source address (`received`) when it differs from sent-by or when the client asked for `rport`,
 * and fills in `rport` with the source port when the client sent it without a value.
 * Returns the rewritten message and its Via.
 */
export function stampReceived(text: string, p: SipProbe, sourceAddress: string, sourcePort: number): { text: string; via: SipVia } {
  const via: SipVia = { ...p.via, params: p.via.params.map(([n, v]) => [n, v] as [string, string | null]) };
  const rport = via.params.find(([n]) => n === 'rport');
  if (rport || via.host.replace(/^\[|\]$/g, '') !== sourceAddress) setParam(via, 'received', sourceAddress.includes(':') ? `[${sourceAddress}]` : sourceAddress);
  if (rport && rport[1] === null) rport[1] = String(sourcePort);
  const [start, end] = p.topViaRange;
  return { text: text.slice(0, start) + formatVia(via) + text.slice(end), via };
}

/**
 * Where a response goes (§18.2.2, RFC 3581 §4): to `received` (else sent-by host) at `rport`
 * (else the sent-by port, else the transport's default port).
 */
export function responseDestination(via: SipVia): { host: string; port: number } {
  const get = (n: string) => via.params.find(([k]) => k === n)?.[1] ?? null;
  const host = (get('received') ?? via.host).replace(/^\[|\]$/g, '');
  const rport = get('rport');
  const port = rport && /^\d{1,5}$/.test(rport) ? Number(rport) : (via.port ?? defaultPort(via.transport));
  return { host, port };
}

export function defaultPort(transport: string): number {
  return /^(TLS|WSS)$/i.test(transport) ? 5061 : 5060;
}

/** host, port and transport parameter of a SIP URI (optionally inside <...> of a name-addr). */
export function parseSipUriTarget(uri: string): { host: string; port: number | null; transport: string | null; secure: boolean; lr: boolean } | null {
  const inner = /<([^>]*)>/.exec(uri)?.[1] ?? uri;
  const m = /^(sips?):(?:[^@;?]*@)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?([^?]*)/i.exec(inner.trim());
  if (!m) return null;
  const params = m[4] ?? '';
  const transport = /;transport=([A-Za-z]+)/i.exec(params)?.[1]?.toUpperCase() ?? null;
  return {
    host: m[2].replace(/^\[|\]$/g, ''),
    port: m[3] ? Number(m[3]) : null,
    transport,
    secure: m[1].toLowerCase() === 'sips',
    lr: /;lr(?:[;=]|$)/i.test(params),
  };
}
