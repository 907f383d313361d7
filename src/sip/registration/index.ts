export { SipAccount, SipAccountError } from './account.js';
export type {
  SipAccountEvents,
  SipAccountOptions,
  SipAccountReason,
  SipAccountReasonCode,
  SipAccountState,
  SipAccountStateChange,
  SipAccountTransport,
} from './account.js';
export { DEFAULT_BACKOFF, retryDelay } from './backoff.js';
export type { BackoffPolicy } from './backoff.js';
