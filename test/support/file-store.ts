import { afterAll, afterEach } from '@jest/globals';
import { FileStore, type FileStoreOptions } from '../../src/store/file-store.js';
import { makeTempDir, stopAllPeers } from './process.js';

/**
 * File stores for a test file: `open(dir)` returns a FileStore that is closed after each test; `tempDir()`
 * dirs are removed after the file's tests. Call it at the top level of the test file.
 */
export function fileStoresForTests(): { open: (dir: string, options?: Partial<FileStoreOptions>) => FileStore; tempDir: () => Promise<string> } {
  const opened: FileStore[] = [];
  afterEach(async () => {
    await Promise.allSettled(opened.splice(0).map((store) => store.close()));
  });
  afterAll(async () => {
    await stopAllPeers(); // removes the temp dirs
  });
  const tempDir = () => makeTempDir('store');
  return {
    tempDir,
    open: (dir, options = {}) => {
      const store = new FileStore({ dir, ...options });
      opened.push(store);
      return store;
    },
  };
}
