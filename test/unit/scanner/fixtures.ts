import { hex, toHex } from '../hid/fixtures.js';

/**
 * HID 1.11 (USB Device Class Definition for HID, version 1.11), Appendix E.6 "Report Descriptor
 * (Keyboard)", byte for byte (63 bytes, no report ID): the boot keyboard.
 */
export const BOOT_KEYBOARD = hex(`
05 01        # Usage Page (Generic Desktop)
09 06        # Usage (Keyboard)
A1 01        # Collection (Application)
05 07        #   Usage Page (Key Codes)
19 E0        #   Usage Minimum (224)
29 E7        #   Usage Maximum (231)
15 00        #   Logical Minimum (0)
25 01        #   Logical Maximum (1)
75 01        #   Report Size (1)
95 08        #   Report Count (8)
81 02        #   Input (Data, Variable, Absolute)     ; modifier byte
95 01        #   Report Count (1)
75 08        #   Report Size (8)
81 01        #   Input (Constant)                     ; reserved byte
95 05        #   Report Count (5)
75 01        #   Report Size (1)
05 08        #   Usage Page (LEDs)
19 01        #   Usage Minimum (1)
29 05        #   Usage Maximum (5)
91 02        #   Output (Data, Variable, Absolute)    ; LED report
95 01        #   Report Count (1)
75 03        #   Report Size (3)
91 01        #   Output (Constant)                    ; LED report padding
95 06        #   Report Count (6)
75 08        #   Report Size (8)
15 00        #   Logical Minimum (0)
25 65        #   Logical Maximum (101)
05 07        #   Usage Page (Key Codes)
19 00        #   Usage Minimum (0)
29 65        #   Usage Maximum (101)
81 00        #   Input (Data, Array)                  ; key arrays (6 bytes)
C0           # End Collection
`);

/**
 * A real barcode scanner: Datalogic Gryphon GD4400 2D imager in USB keyboard mode (65 bytes, no
 * report ID), as dumped with USBHID_desc in felis/USB_Host_Shield_2.0 issue #669
 * ("Trying to get data from Datalogic Gryphon GD4400 2D-code scanner"). The key array spans usages
 * 0x00-0xFF with Logical Maximum written `26 FF 00`.
 */
export const DATALOGIC_GD4400 = hex(`
05 01 09 06 A1 01 05 07 19 E0 29 E7 15 00 25 01
75 01 95 08 81 02 95 01 75 08 81 01 95 05 75 01
05 08 19 01 29 05 91 02 95 01 75 03 91 01 95 06
75 08 15 00 26 FF 00 05 07 19 00 2A FF 00 81 00
C0
`);

/**
 * A keyboard interface with report IDs, as QMK firmware builds it with KEYBOARD_SHARED_EP and
 * EXTRAKEY_ENABLE (qmk_firmware tmk_core/protocol/usb_descriptor.c, `SharedReport`; report IDs from
 * tmk_core/protocol/report.h: REPORT_ID_KEYBOARD = 1, REPORT_ID_CONSUMER = 4): the keyboard
 * collection with Report ID 1, then the Consumer Control collection with Report ID 4 (the System
 * Control collection between them is left out). hidapi lists it as two collections on one path:
 * Generic Desktop/Keyboard and Consumer/Consumer Control. No barcode scanner descriptor with report
 * IDs was found in the sources searched; the layout is the one 2.4 GHz and Bluetooth scanner
 * receivers present (keyboard plus consumer keys behind report IDs).
 */
export const KEYBOARD_REPORT_ID_1 = hex(`
05 01        # Usage Page (Generic Desktop)
09 06        # Usage (Keyboard)
A1 01        # Collection (Application)
85 01        #   Report ID (1)
05 07        #   Usage Page (Keyboard/Keypad)
19 E0        #   Usage Minimum (Keyboard LeftControl)
29 E7        #   Usage Maximum (Keyboard Right GUI)
15 00        #   Logical Minimum (0)
25 01        #   Logical Maximum (1)
95 08        #   Report Count (8)
75 01        #   Report Size (1)
81 02        #   Input (Data, Variable, Absolute)     ; modifiers
95 01        #   Report Count (1)
75 08        #   Report Size (8)
81 01        #   Input (Constant)                     ; reserved
05 07        #   Usage Page (Keyboard/Keypad)
19 00        #   Usage Minimum (0)
29 FF        #   Usage Maximum (255)
15 00        #   Logical Minimum (0)
26 FF 00     #   Logical Maximum (255)
95 06        #   Report Count (6)
75 08        #   Report Size (8)
81 00        #   Input (Data, Array, Absolute)        ; key array
05 08        #   Usage Page (LED)
19 01        #   Usage Minimum (Num Lock)
29 05        #   Usage Maximum (Kana)
15 00        #   Logical Minimum (0)
25 01        #   Logical Maximum (1)
95 05        #   Report Count (5)
75 01        #   Report Size (1)
91 02        #   Output (Data, Variable, Absolute)
95 01        #   Report Count (1)
75 03        #   Report Size (3)
91 01        #   Output (Constant)
C0           # End Collection
05 0C        # Usage Page (Consumer)
09 01        # Usage (Consumer Control)
A1 01        # Collection (Application)
85 04        #   Report ID (4)
19 01        #   Usage Minimum (Consumer Control)
2A A0 02     #   Usage Maximum (AC Desktop Show All Applications)
15 01        #   Logical Minimum (1)
26 A0 02     #   Logical Maximum (672)
95 01        #   Report Count (1)
75 10        #   Report Size (16)
81 00        #   Input (Data, Array, Absolute)
C0           # End Collection
`);

/** A HID POS / vendor interface a scanner exposes next to (or instead of) its keyboard: 64-byte vendor reports. */
export const VENDOR_INTERFACE = hex('06 00 FF 09 01 A1 01 15 00 26 FF 00 75 08 95 40 81 02 09 01 91 02 C0');

// US layout, HID Usage Tables 1.4 section 10, for typing test text.
const PLAIN = new Map<string, number>();
const SHIFTED = new Map<string, number>();
for (let i = 0; i < 26; i++) {
  PLAIN.set(String.fromCharCode(0x61 + i), 0x04 + i);
  SHIFTED.set(String.fromCharCode(0x41 + i), 0x04 + i);
}
[...'1234567890'].forEach((c, i) => PLAIN.set(c, 0x1e + i));
[...'!@#$%^&*()'].forEach((c, i) => SHIFTED.set(c, 0x1e + i));
[...' -=[]\\'].forEach((c, i) => PLAIN.set(c, 0x2c + i));
[...' _+{}|'].forEach((c, i) => SHIFTED.set(c, 0x2c + i));
[...";'`,./"].forEach((c, i) => PLAIN.set(c, 0x33 + i));
[...':"~<>?'].forEach((c, i) => SHIFTED.set(c, 0x33 + i));
SHIFTED.delete(' ');
PLAIN.set('\r', 0x28);
PLAIN.set('\t', 0x2b);

const LEFT_CTRL = 0x01;
const LEFT_SHIFT = 0x02;
const F1 = 0x3a;

/** The key and modifier byte that type `char` on a US keyboard: Ctrl+letter for 0x01-0x1A, F1 for anything else untypable. */
export function keyFor(char: string): { modifiers: number; usage: number } {
  const plain = PLAIN.get(char);
  if (plain !== undefined) return { modifiers: 0, usage: plain };
  const shifted = SHIFTED.get(char);
  if (shifted !== undefined) return { modifiers: LEFT_SHIFT, usage: shifted };
  const code = char.charCodeAt(0);
  if (code >= 0x01 && code <= 0x1a) return { modifiers: LEFT_CTRL, usage: 0x04 + code - 1 };
  return { modifiers: 0, usage: F1 };
}

/**
 * The input reports (hex) a keyboard-wedge scanner sends to type `text`: per character a press
 * report (modifiers, reserved, key) and an all-released report. `reportId` prefixes each report.
 */
export function typeReports(text: string, reportId?: number): string[] {
  const id = reportId === undefined ? [] : [reportId];
  const released = toHex(Uint8Array.from([...id, 0, 0, 0, 0, 0, 0, 0, 0]));
  const reports: string[] = [];
  for (const char of text) {
    const { modifiers, usage } = keyFor(char);
    reports.push(toHex(Uint8Array.from([...id, modifiers, 0, usage, 0, 0, 0, 0, 0])), released);
  }
  return reports;
}

/** An open fake device: the test pushes input reports. */

export { FakeHidBackend as FakeBackend, FakeHidHandle as FakeHandle } from '../../support/hid-backend.js';
