import type { OrderRecord } from '../history/types.js';

/** One product of the catalog (config `orders.catalog`, pushable from the cloud). */
export interface CatalogItem {
  /** digits, typed on the keypad */
  code: string;
  name: string;
  /** minor units */
  unitPrice: number;
  /** the product's barcode, for scanners */
  barcode?: string;
}

/** A line of an order as asked for: an item by its code, its barcode or its name. */
export interface OrderItemRequest {
  code?: string;
  barcode?: string;
  name?: string;
  qty: number;
}

export interface OrderRequest {
  /** the customer's number (the call's), or null */
  number: string | null;
  /** the customer's contact; absent: looked up by number */
  contactId?: string | null;
  items: OrderItemRequest[];
  note?: string | null;
  /** the call it was taken on, if any */
  callId?: string | null;
}

export interface OrderLine {
  code: string;
  name: string;
  qty: number;
  unitPrice: number;
  /** qty x unitPrice, minor units */
  amount: number;
}

/** An order as filed in the customer's timeline: the history's order record plus what it was. */
export interface StoredOrder extends OrderRecord {
  items: OrderLine[];
  /** minor units */
  total: number;
  currency: string;
  note: string | null;
  callId: string | null;
}

/** What the orders service needs to know of a customer. */
export interface OrderCustomer {
  id: string;
  name: string;
  address: string | null;
}

/** Lines on one order, and the quantity of one line. */
export const MAX_ORDER_LINES = 20;
export const MAX_QTY = 99;
export const MAX_NOTE = 200;
