import { MemoryStore } from '../../../src/store/memory.js';
import { describeStoreContract } from './store-contract.js';

describeStoreContract('MemoryStore', async () => ({ store: new MemoryStore() }));
