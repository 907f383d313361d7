// G.711 (ITU-T G.711) mu-law / A-law, through alawmulaw. Audio in the media path is S16LE mono 8 kHz.
import * as alawmulawNs from 'alawmulaw';
import { MediaError } from './errors.js';

// alawmulaw ships a UMD bundle as `main`: Node's ESM loader exposes it as the default export, other
// loaders (tsx's CJS path, bundlers using `module`) as named exports. Accept both.
type Codec = { encode(samples: Int16Array): Uint8Array; decode(samples: Uint8Array): Int16Array };
const lib = ((alawmulawNs as unknown as { mulaw?: Codec }).mulaw
  ? alawmulawNs
  : (alawmulawNs as unknown as { default: typeof alawmulawNs }).default) as unknown as { mulaw: Codec; alaw: Codec };

export type G711Codec = 'PCMU' | 'PCMA';

/** Static payload types, RFC 3551 section 6 (table 4). */
export const G711_PAYLOAD_TYPES: Readonly<Record<G711Codec, number>> = { PCMU: 0, PCMA: 8 };

export const SAMPLE_RATE = 8000;
/** 20 ms at 8 kHz. */
export const FRAME_SAMPLES = 160;
export const FRAME_MS = 20;

export function codecForPayloadType(pt: number): G711Codec | null {
  if (pt === 0) return 'PCMU';
  if (pt === 8) return 'PCMA';
  return null;
}

export function payloadTypeForCodec(codec: G711Codec): number {
  return G711_PAYLOAD_TYPES[codec];
}

/** One byte per sample. */
export function encodeG711(codec: G711Codec, samples: Int16Array): Uint8Array {
  if (codec === 'PCMU') return lib.mulaw.encode(samples);
  if (codec === 'PCMA') return lib.alaw.encode(samples);
  throw new MediaError('MEDIA_CODEC', `unknown codec ${String(codec)}`);
}

export function decodeG711(codec: G711Codec, bytes: Uint8Array): Int16Array {
  if (codec === 'PCMU') return lib.mulaw.decode(bytes);
  if (codec === 'PCMA') return lib.alaw.decode(bytes);
  throw new MediaError('MEDIA_CODEC', `unknown codec ${String(codec)}`);
}
