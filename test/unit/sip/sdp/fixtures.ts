/** Session descriptions as real peers send them (CRLF line ends, RFC 4566 §5). */
export const sdp = (...lines: string[]): string => lines.join('\r\n') + '\r\n';

/** baresip 1.0 with opus, G.722 and G.711 loaded, net_interface 127.0.0.1. */
export const BARESIP_OFFER = sdp(
  'v=0',
  'o=- 1826436393 2018232487 IN IP4 127.0.0.1',
  's=-',
  'c=IN IP4 127.0.0.1',
  't=0 0',
  'm=audio 10004 RTP/AVP 96 9 0 8 101',
  'b=AS:117',
  'a=rtpmap:96 opus/48000/2',
  'a=fmtp:96 stereo=1;sprop-stereo=1',
  'a=rtpmap:9 G722/8000',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-15',
  'a=sendrecv',
  'a=label:1',
  'a=ssrc:1718567405 cname:2b1bdb5e3f8c7a19',
  'a=rtcp-rsize',
  'a=ptime:20',
);

/** A SIP trunk (SBC) offering G.729 first and the static types 18/8/0 without a=rtpmap. */
export const TRUNK_OFFER = sdp(
  'v=0',
  'o=Sonus_UAC 25919 2203 IN IP4 203.0.113.10',
  's=SIP Media Capabilities',
  'c=IN IP4 203.0.113.20',
  't=0 0',
  'm=audio 20584 RTP/AVP 18 8 0 101',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-15',
  'a=sendrecv',
  'a=maxptime:20',
);

/** Asterisk (chan_pjsip) with a long allow= list. */
export const ASTERISK_OFFER = sdp(
  'v=0',
  'o=- 1465233472 1465233472 IN IP4 192.168.1.10',
  's=Asterisk',
  'c=IN IP4 192.168.1.10',
  't=0 0',
  'm=audio 14096 RTP/AVP 9 107 0 8 3 111 18 101',
  'a=rtpmap:9 G722/8000',
  'a=rtpmap:107 opus/48000/2',
  'a=fmtp:107 useinbandfec=1',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:3 GSM/8000',
  'a=rtpmap:111 G726-32/8000',
  'a=rtpmap:18 G729/8000',
  'a=fmtp:18 annexb=no',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-16',
  'a=ptime:20',
  'a=maxptime:150',
  'a=sendrecv',
);

export const G729_ONLY_OFFER = sdp(
  'v=0',
  'o=- 5 5 IN IP4 198.51.100.7',
  's=-',
  'c=IN IP4 198.51.100.7',
  't=0 0',
  'm=audio 30000 RTP/AVP 18 101',
  'a=rtpmap:18 G729/8000',
  'a=fmtp:18 annexb=no',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-15',
);

/** An offer built from parts, for the cases that differ in one or two lines. */
export function offer(options: {
  version?: number;
  sessionC?: string | null;
  mediaC?: string | null;
  port?: number;
  formats?: string;
  attributes?: string[];
  sessionAttributes?: string[];
  extraMedia?: string[];
}): string {
  const lines = ['v=0', `o=peer 4242 ${options.version ?? 1} IN IP4 198.51.100.1`, 's=call'];
  if (options.sessionC !== null) lines.push(`c=IN IP4 ${options.sessionC ?? '198.51.100.1'}`);
  lines.push('t=0 0', ...(options.sessionAttributes ?? []));
  lines.push(`m=audio ${options.port ?? 40000} RTP/AVP ${options.formats ?? '0 8 101'}`);
  if (options.mediaC !== undefined && options.mediaC !== null) lines.push(`c=IN IP4 ${options.mediaC}`);
  lines.push(...(options.attributes ?? ['a=rtpmap:0 PCMU/8000', 'a=rtpmap:8 PCMA/8000', 'a=rtpmap:101 telephone-event/8000', 'a=fmtp:101 0-15', 'a=ptime:20', 'a=sendrecv']));
  lines.push(...(options.extraMedia ?? []));
  return sdp(...lines);
}
