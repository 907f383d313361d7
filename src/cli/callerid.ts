import { Option, type Command } from 'commander';
import { decodeDtmfCallerId, looksLikeDtmfCallerId } from '../../drivers/callerid/dtmf.js';
import { CallerIdError } from '../../drivers/callerid/errors.js';
import { decodeBurst, parseHex } from '../../drivers/callerid/frame.js';
import { TextLineCallerIdDecoder } from '../../drivers/callerid/text.js';
import type { CallerId, CallerIdDecoderEvent } from '../../drivers/callerid/types.js';
import { CliExit, EXIT } from './context.js';

/** Longest input accepted on the command line. */
const MAX_INPUT = 16_384;

export type CallerIdInputKind = 'auto' | 'hex' | 'dtmf' | 'text';

export type DecodeOutput =
  | ({ valid: true } & CallerId)
  | { valid: false; error: string; code: string };

/** The JSON `deskline callerid decode` prints: fields in a fixed order, optional ones only when present. */
function validOutput(cid: CallerId): DecodeOutput {
  const { format, number, name, numberAbsent, nameAbsent, ...rest } = cid;
  const out: Record<string, unknown> = { valid: true, format, number, name, numberAbsent, nameAbsent };
  for (const key of ['month', 'day', 'hour', 'minute', 'messageWaiting', 'dialableNumber', 'longDistance', 'callType', 'redirectingNumber', 'operatorInfo'] as const) {
    if (rest[key] !== undefined) out[key] = rest[key];
  }
  return out as DecodeOutput;
}

function invalid(error: CallerIdError): DecodeOutput {
  return { valid: false, error: error.message, code: error.code };
}

function isHex(text: string): boolean {
  const stripped = text.replace(/0x/gi, '');
  return /[0-9a-f]/i.test(stripped) && /^[0-9a-f\s,:;]+$/i.test(stripped);
}

function decodeText(text: string): DecodeOutput {
  const decoder = new TextLineCallerIdDecoder();
  const events: CallerIdDecoderEvent[] = [];
  for (const line of text.split(/\r\n|\r|\n/)) events.push(...decoder.pushLine(line));
  events.push(...decoder.flush());
  for (const event of events) if (event.type !== 'rejected') return validOutput(event.callerId);
  for (const event of events) if (event.type === 'rejected') return { valid: false, error: event.reason, code: event.code };
  return invalid(
    new CallerIdError('CALLERID_BAD_INPUT', 'no caller ID found: give hex bytes (04 12 ...), DTMF caller ID (A5551234C, D1#, B10) or text-unit lines (NMBR = ..., or a caller-ID box line)'),
  );
}

/**
 * Decodes what a user pasted: hex bytes of an FSK message (spaces allowed, leading seizure bytes
 * allowed), a DTMF caller-ID string, or text-line unit lines (newlines, or a literal `\n`, between lines).
 */
export function decodeCallerIdInput(input: string, kind: CallerIdInputKind = 'auto'): DecodeOutput {
  if (input.length > MAX_INPUT) return invalid(new CallerIdError('CALLERID_BAD_INPUT', `input of ${input.length} characters (at most ${MAX_INPUT})`));
  const text = input.replace(/\\r\\n|\\n|\\r/g, '\n');
  if (!text.trim()) return invalid(new CallerIdError('CALLERID_BAD_INPUT', 'empty input'));
  const detected = kind !== 'auto' ? kind : looksLikeDtmfCallerId(text) ? 'dtmf' : isHex(text) ? 'hex' : 'text';
  switch (detected) {
    case 'dtmf': {
      const result = decodeDtmfCallerId(text);
      return result.ok ? validOutput(result.callerId) : invalid(result.error);
    }
    case 'hex': {
      let bytes: Uint8Array;
      try {
        bytes = parseHex(text);
      } catch (error) {
        if (error instanceof CallerIdError) return invalid(error);
        throw error;
      }
      const result = decodeBurst(bytes);
      return result.ok ? validOutput(result.message.callerId) : invalid(result.error);
    }
    default:
      return decodeText(text);
  }
}

export function addCallerIdCommand(program: Command): void {
  const callerid = program.command('callerid').description('caller ID of the analog line: decode messages by hand');
  callerid
    .command('decode')
    .argument('<input>', 'hex bytes of an FSK message, a DTMF caller-ID string, or text-unit lines')
    .addOption(new Option('--format <kind>', 'how to read the input').choices(['auto', 'hex', 'dtmf', 'text']).default('auto'))
    .description('decode one caller-ID message and print it as JSON (exit 1 when it is not valid)')
    .addHelpText(
      'after',
      [
        '',
        'Input:',
        '  hex    Bell 202 / ETSI FSK bytes as a decoder chip delivers them: [type][len][payload][checksum],',
        '         spaces allowed, leading channel-seizure (55) bytes skipped. Types 04 SDMF, 06 SDMF message',
        '         waiting, 80 MDMF, 82 MDMF message waiting.',
        '  dtmf   A or D + digits + C or # (A5551234C); D1# private, D2#/D3# unavailable, B00 unknown, B10 private.',
        '  text   modem lines (DATE = 1015, TIME = 2038, NMBR = ..., NAME = ...) or a caller-ID box line',
        '         (01 I S 0000 G A1 09/26 11:28 AM 800-555-1212 NAME); separate lines with newlines or \\n.',
        '',
        'Output: {"valid": true, "format": "sdmf"|"mdmf"|"dtmf"|"text", "number", "name", "numberAbsent",',
        '        "nameAbsent", "month", "day", "hour", "minute", "messageWaiting" (when present)}',
        '        or {"valid": false, "error": "..."} with exit code 1.',
        '',
        'Examples:',
        '  deskline callerid decode "04 12 30 33 32 31 31 34 30 35 32 31 32 35 35 35 31 32 33 34 5C"',
        '  deskline callerid decode "A2125551234C"',
        "  deskline callerid decode 'DATE = 1015\\nTIME = 2038\\nNMBR = 8475550001\\nNAME = U.S.ROBOTICS'",
      ].join('\n'),
    )
    .action((input: string, options: { format: CallerIdInputKind }) => {
      const result = decodeCallerIdInput(input, options.format);
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      if (!result.valid) throw new CliExit(EXIT.failure, '');
    });
}
