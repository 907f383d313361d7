import { Type, type Static } from '@sinclair/typebox';

/**
 * Board definitions (board/*.json): which devices a board has, where, and which driver serves them.
 * board/board.schema.json is generated from this (`npm run build` + test keeps them in sync).
 */

const SerialPortRef = {
  path: Type.String({ minLength: 1, description: 'Device node, e.g. /dev/ttyS1 or a udev symlink /dev/deskline/mcu' }),
  baudRate: Type.Integer({ minimum: 300, maximum: 4000000, description: 'UART speed' }),
};

/** Receipt paper: 58 mm (32 columns at font A) or 80 mm (48). */
const PaperWidth = Type.Union([Type.Literal(58), Type.Literal(80)]);

const UsbMatch = Type.Object(
  {
    vendorId: Type.Optional(Type.Integer({ minimum: 0, maximum: 0xffff })),
    productId: Type.Optional(Type.Integer({ minimum: 0, maximum: 0xffff })),
    usagePage: Type.Optional(Type.Integer({ minimum: 0, maximum: 0xffff, description: 'HID usage page (0x0B telephony)' })),
  },
  { additionalProperties: false },
);

const AlsaPcm = (what: string) =>
  Type.String({ minLength: 1, description: `ALSA PCM for ${what}, e.g. plughw:0,0 (plughw converts 8/16 kHz mono S16_LE to what the codec runs)` });

const Sim = Type.Object({ driver: Type.Literal('sim') }, { additionalProperties: false });

const PoleSize = {
  columns: Type.Optional(Type.Integer({ minimum: 8, maximum: 40, default: 20, description: 'Characters per line; default 20' })),
  rows: Type.Optional(Type.Integer({ minimum: 1, maximum: 4, default: 2, description: 'Lines; default 2' })),
};

export const BoardSchema = Type.Object(
  {
    $schema: Type.Optional(Type.String()),
    id: Type.String({ pattern: '^[a-z0-9][a-z0-9-]*$', description: 'Board id; the same as the update bundle compatible string' }),
    extends: Type.Optional(Type.String({ description: 'Id of a board file this one inherits from (a revision of a common base)' })),
    name: Type.String({ description: 'Human-readable name' }),
    compatible: Type.Array(Type.String(), { description: 'Strings from /proc/device-tree/compatible that select this board' }),
    display: Type.Object({ width: Type.Integer({ minimum: 64, maximum: 1024 }), height: Type.Integer({ minimum: 32, maximum: 768 }) }, { additionalProperties: false }),
    mcu: Type.Union([Sim, Type.Object({ driver: Type.Literal('serial'), ...SerialPortRef }, { additionalProperties: false })]),
    callerId: Type.Union([
      Sim,
      Type.Object(
        { driver: Type.Literal('serial'), ...SerialPortRef, format: Type.Union([Type.Literal('fsk-raw'), Type.Literal('text-lines')], { description: 'Raw decoder-chip bytes (Bell 202 / V.23) or text lines (NMBR = ...)' }) },
        { additionalProperties: false },
      ),
      Type.Object({ driver: Type.Literal('none') }, { additionalProperties: false }),
    ]),
    hid: Type.Union([Sim, Type.Object({ driver: Type.Literal('hidraw'), match: Type.Array(UsbMatch, { minItems: 1 }) }, { additionalProperties: false })]),
    printer: Type.Union([
      Type.Object({ driver: Type.Literal('sim'), paperWidthMm: PaperWidth }, { additionalProperties: false }),
      Type.Object({ driver: Type.Literal('usb'), match: Type.Array(UsbMatch, { minItems: 1 }), paperWidthMm: PaperWidth }, { additionalProperties: false }),
      Type.Object({
        driver: Type.Literal('lp'),
        path: Type.String({ minLength: 1, description: 'usblp device node, e.g. /dev/usb/lp0 or a udev symlink /dev/deskline/printer' }),
        paperWidthMm: PaperWidth,
      }, { additionalProperties: false }),
      Type.Object({
        driver: Type.Literal('network'),
        host: Type.String({ minLength: 1, description: 'Printer host name or IP address (raw TCP, "JetDirect")' }),
        port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535, default: 9100, description: 'Raw TCP port; default 9100' })),
        paperWidthMm: PaperWidth,
      }, { additionalProperties: false }),
    ]),
    scanner: Type.Optional(Type.Union([
      Sim,
      Type.Object(
        { driver: Type.Literal('hidraw'), match: Type.Array(UsbMatch, { minItems: 1, description: 'USB barcode scanners in keyboard-wedge mode, by vendor (and product) id; hot-plugged' }) },
        { additionalProperties: false },
      ),
      Type.Object({ driver: Type.Literal('none') }, { additionalProperties: false }),
    ], { description: 'Barcode scanner (HID keyboard wedge); absent = none' })),
    poleDisplay: Type.Optional(Type.Union([
      Type.Object({ driver: Type.Literal('sim'), ...PoleSize }, { additionalProperties: false }),
      Type.Object(
        {
          driver: Type.Literal('serial'),
          path: Type.Optional(Type.String({ minLength: 1, description: 'Fixed device node (a UART or a udev symlink); or give match' })),
          match: Type.Optional(Type.Array(UsbMatch, { minItems: 1, description: 'USB-serial adapters of the display, by vendor/product id; hot-plugged' })),
          baudRate: Type.Integer({ minimum: 300, maximum: 115200, description: 'UART speed (pole displays: 9600 mostly)' }),
          ...PoleSize,
        },
        { additionalProperties: false },
      ),
      Type.Object({ driver: Type.Literal('none') }, { additionalProperties: false }),
    ], { description: 'Customer pole display (Epson ESC/POS customer-display commands); absent = none' })),
    modem: Type.Union([
      Sim,
      Type.Object({ driver: Type.Literal('serial'), ...SerialPortRef, match: Type.Optional(Type.Array(UsbMatch)) }, { additionalProperties: false }),
      Type.Object({ driver: Type.Literal('none') }, { additionalProperties: false }),
    ]),
    audio: Type.Union([
      Sim,
      Type.Object(
        {
          driver: Type.Literal('alsa'),
          devices: Type.Object(
            {
              handset: Type.Optional(AlsaPcm('the handset (earpiece and microphone)')),
              speaker: Type.Optional(AlsaPcm('the hands-free speaker and its microphone')),
              headset: Type.Optional(AlsaPcm('the wired headset jack')),
              line: Type.Optional(AlsaPcm("the analog line's audio path (the FXO codec)")),
            },
            { additionalProperties: false, minProperties: 1, description: 'ALSA PCM name per audio endpoint; an endpoint left out is not wired on this board' },
          ),
          bufferMs: Type.Optional(
            Type.Integer({ minimum: 40, maximum: 1000, default: 80, description: 'ALSA buffer per stream in ms (periods are always 20 ms); default 80. Larger rides out more scheduling jitter, at the cost of latency' }),
          ),
        },
        { additionalProperties: false },
      ),
    ]),
  },
  { additionalProperties: false },
);

export type Board = Static<typeof BoardSchema>;
