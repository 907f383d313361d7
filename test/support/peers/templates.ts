// Peer configuration templates (templates/*): adapted from configurations seen working with the
// Debian 12 packages. Placeholders are @UPPER_CASE@; every one must be given a value.

import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const TEMPLATE_DIR = fileURLToPath(new URL('./templates/', import.meta.url));

const PLACEHOLDER = /@([A-Z][A-Z0-9_]*)@/g;

/** The template's text with every @NAME@ replaced by vars[NAME]; throws on a missing value. */
export function renderTemplate(name: string, vars: Record<string, string | number>): string {
  const text = readFileSync(join(TEMPLATE_DIR, name), 'utf8');
  return text.replace(PLACEHOLDER, (whole, key: string) => {
    if (!(key in vars)) throw new Error(`template ${name}: no value for ${whole}`);
    return String(vars[key]);
  });
}

/** Renders a template into dir (as outName, default its own name); returns the file's path. */
export async function writeTemplate(
  name: string,
  dir: string,
  vars: Record<string, string | number>,
  outName = name,
  mode = 0o644,
): Promise<string> {
  const path = join(dir, outName);
  await writeFile(path, renderTemplate(name, vars), { mode });
  return path;
}
