import { describe, expect, it } from '@jest/globals';
import { validateConfig } from '../../../src/config/load.js';
import type { Config } from '../../../src/config/schema.js';
import { shopOf } from '../../../src/orders/shop.js';

const config = (raw: object) => validateConfig(raw).config as Config;

describe('the shop on the slips', () => {
  it('is orders.shop, empty fields left out', () => {
    expect(shopOf(config({ device: { name: 'Desk 1' }, orders: { shop: { name: 'Wang Noodles', phone: '010 1234' } } }))).toEqual({
      name: 'Wang Noodles', phone: '010 1234', address: null,
    });
  });

  it("takes the device's name when the shop has none, and never an empty name (a slip needs one)", () => {
    expect(shopOf(config({ device: { name: 'Desk 1' } })).name).toBe('Desk 1');
    expect(shopOf(config({ device: { name: '' } })).name).toBe('Deskline');
  });
});
