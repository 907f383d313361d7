import type { Config } from '../config/schema.js';
import type { SlipShop } from '../printing/templates/types.js';

/** The shop as the slips and the pole display's welcome show it: `orders.shop`, its name falling back to the device's. */
export function shopOf(config: Config): SlipShop {
  const { shop } = config.orders;
  return { name: shop.name || config.device.name || 'Deskline', phone: shop.phone || null, address: shop.address || null };
}
