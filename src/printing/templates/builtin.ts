/**
 * The built-in slip templates (receiptline markup with {{placeholders}}, see engine.ts) and their labels.
 * The same template serves 58 mm (32 columns) and 80 mm (48 columns): `*` columns take what is left.
 *
 * receiptline in short: `a | b` two columns (left one left-aligned, right one right-aligned); `|text` one
 * left-aligned column, `text` centered; `---` a rule; `"` bold, `^` double width, `^^` double height, `~` a space;
 * `{width: * 5 10}` column widths from here on; `{code: data; option: qrcode, 5, m}` a QR code.
 * The view's fields are listed in views.ts; `txt.*` are the labels below.
 */
import type { SlipLocale, SlipTemplateName } from './types.js';

const ORDER = `{{! order / delivery slip }}
^"{{shop.name}}
{{#shop.phone}}
{{shop.phone}}
{{/shop.phone}}
{{#shop.address}}
{{shop.address}}
{{/shop.address}}
---
^^{{txt.title}}
{{txt.orderId}} | {{orderId}}
{{#at}}
{{txt.time}} | {{at}}
{{/at}}
---
|^"{{customer.name}}
|{{customer.phone}}
{{#customer.address}}
|{{customer.address}}
{{/customer.address}}
{{#customer.note}}
|{{txt.customerNote}}: {{customer.note}}
{{/customer.note}}
---
{width: * 5 12}
{{#items}}
{{name}} | x{{qty}} | {{lineTotal}}
{{#note}}
|~~{{note}}
{{/note}}
{{/items}}
{width: auto}
---
"{{txt.total}} | "{{total}}
{{#note}}
---
|{{txt.note}}: {{note}}
{{/note}}
{{#mapUrl}}
---
{{txt.map}}
{code: {{mapUrl}}; option: qrcode, {{qrCell}}, m}
{{/mapUrl}}
`;

const CUSTOMER_CARD = `{{! customer card }}
{{#shop}}
{{name}}
{{/shop}}
^^{{txt.title}}
---
|^"{{customer.name}}
{{#customer.company}}
|{{customer.company}}
{{/customer.company}}
{{#customer.numbers}}
{{kind}} | {{number}}
{{/customer.numbers}}
{{#customer.address}}
|{{txt.address}}: {{customer.address}}
{{/customer.address}}
{{#customer.tags}}
|{{txt.tags}}: {{customer.tags}}
{{/customer.tags}}
{{#customer.due}}
|{{kind}} {{date}}{{#note}} {{note}}{{/note}}
{{/customer.due}}
{{#customer.note}}
---
|{{customer.note}}
{{/customer.note}}
{{#hasRecent}}
---
|"{{txt.recent}} ({{interactionCount}})
{width: 16 *}
{{#recent}}
{{at}} |{{kind}} {{summary}} |
{{/recent}}
{width: auto}
{{/hasRecent}}
{{#at}}
---
{{txt.printed}} {{at}}
{{/at}}
`;

const CALL_LIST = `{{! call-list slip }}
^^{{txt.title}}
"{{title}}
{{#at}}
{{txt.printed}} {{at}}
{{/at}}
---
{{#items}}
|"{{n}}. {{name}}
|~~~{{number}}
|~~~{{reason}}{{#due}} ({{due}}){{/due}}
{{#note}}
|~~~{{note}}
{{/note}}
|~~~[~]{{txt.done}}~[~]{{txt.callBack}}~[~]{{txt.noAnswer}}
---
{{/items}}
{{txt.count}} | {{count}}
`;

const DAY_SUMMARY = `{{! end-of-day summary }}
^"{{shop.name}}
^^{{txt.title}}
{{date}}
---
|"{{txt.calls}}
{{txt.inbound}} | {{calls.inbound}}
{{txt.outbound}} | {{calls.outbound}}
{{txt.answered}} | {{calls.answered}}
{{txt.missed}} | {{calls.missed}}
{{txt.missedOpen}} | {{calls.missedNotCalledBack}}
---
|"{{txt.orders}}
{{txt.orderCount}} | {{orders.count}}
"{{txt.orderTotal}} | "{{orders.total}}
{{#sms}}
---
|"{{txt.sms}}
{{txt.smsSent}} | {{sent}}
{{txt.smsFailed}} | {{failed}}
{{/sms}}
{{#callList}}
---
|"{{txt.callList}}
{{txt.callListDone}} | {{done}}
{{txt.callListOpen}} | {{open}}
{{/callList}}
{{#hasTopItems}}
---
|"{{txt.topItems}}
{width: * 5 12}
{{#topItems}}
{{name}} | x{{qty}} | {{total}}
{{/topItems}}
{width: auto}
{{/hasTopItems}}
{{#at}}
---
{{txt.printed}} {{at}}
{{/at}}
`;

export const BUILTIN_TEMPLATES: Readonly<Record<SlipTemplateName, string>> = {
  order: ORDER,
  'customer-card': CUSTOMER_CARD,
  'call-list': CALL_LIST,
  'day-summary': DAY_SUMMARY,
};

export type Labels = Record<string, string>;

const EN: Record<SlipTemplateName | 'common', Labels> = {
  common: { call: 'Call', sms: 'SMS', order: 'Order', 'call-list': 'Call list', renewal: 'Renewal', appointment: 'Appointment', payment: 'Payment', phone: 'Phone', printed: 'Printed' },
  order: { title: 'ORDER', orderId: 'Order', time: 'Time', customerNote: 'Customer note', total: 'TOTAL', note: 'Note', map: 'Scan for the map' },
  'customer-card': { title: 'CUSTOMER', address: 'Address', tags: 'Tags', recent: 'Recent' },
  'call-list': { title: 'CALL LIST', done: 'done', callBack: 'retry', noAnswer: 'no reply', count: 'Customers' },
  'day-summary': {
    title: 'END OF DAY', calls: 'Calls', inbound: 'Incoming', outbound: 'Outgoing', answered: 'Answered', missed: 'Missed',
    missedOpen: 'Not called back', orders: 'Orders', orderCount: 'Orders', orderTotal: 'Total', sms: 'SMS', smsSent: 'Sent',
    smsFailed: 'Failed', callList: 'Call lists', callListDone: 'Done', callListOpen: 'Open', topItems: 'Best sellers',
  },
};

const ZH: typeof EN = {
  common: { call: '电话', sms: '短信', order: '订单', 'call-list': '回访', renewal: '续保到期', appointment: '预约', payment: '付款', phone: '电话', printed: '打印时间' },
  order: { title: '外送单', orderId: '订单号', time: '时间', customerNote: '客户备注', total: '合计', note: '备注', map: '扫码导航' },
  'customer-card': { title: '客户资料', address: '地址', tags: '标签', recent: '最近' },
  'call-list': { title: '回访清单', done: '已联系', callBack: '回电', noAnswer: '未接', count: '客户数' },
  'day-summary': {
    title: '日结', calls: '电话', inbound: '来电', outbound: '去电', answered: '已接', missed: '未接', missedOpen: '未回电',
    orders: '订单', orderCount: '订单数', orderTotal: '营业额', sms: '短信', smsSent: '已发送', smsFailed: '失败',
    callList: '回访', callListDone: '已完成', callListOpen: '未完成', topItems: '热销',
  },
};

const KO: typeof EN = {
  common: { call: '통화', sms: '문자', order: '주문', 'call-list': '콜리스트', renewal: '갱신', appointment: '예약', payment: '납부', phone: '전화', printed: '출력' },
  order: { title: '배달 주문서', orderId: '주문번호', time: '시간', customerNote: '고객 메모', total: '합계', note: '요청사항', map: '지도 QR' },
  'customer-card': { title: '고객 카드', address: '주소', tags: '태그', recent: '최근' },
  'call-list': { title: '콜 리스트', done: '완료', callBack: '재통화', noAnswer: '부재', count: '고객 수' },
  'day-summary': {
    title: '일일 마감', calls: '통화', inbound: '수신', outbound: '발신', answered: '응답', missed: '부재중', missedOpen: '미회신',
    orders: '주문', orderCount: '주문 수', orderTotal: '매출', sms: '문자', smsSent: '발송', smsFailed: '실패',
    callList: '콜리스트', callListDone: '완료', callListOpen: '남음', topItems: '인기 메뉴',
  },
};

const LABELS: Record<SlipLocale, typeof EN> = { en: EN, zh: ZH, ko: KO };

/** The labels a template's view gets as `txt`: the shared ones and the template's own. */
export function labelsFor(template: SlipTemplateName, locale: SlipLocale): Labels {
  return { ...LABELS[locale].common, ...LABELS[locale][template] };
}
