import { open, rename } from 'node:fs/promises';

/** Writes a file so that a crash leaves the old or the new content, never a torn one: temp file, fsync, rename. */
export async function writeFileAtomic(path: string, content: string | Buffer): Promise<void> {
  const temp = `${path}.${process.pid}.tmp`;
  const handle = await open(temp, 'w', 0o600);
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, path);
}
