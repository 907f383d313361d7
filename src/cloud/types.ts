/**
 * The cloud link's contract: what the cloud features (config sync, commands, the outbox, contact sync, file
 * upload) need from the MQTT connection. `MqttLink` (link.ts) is the implementation over mqtt.js; features are
 * written against this interface only.
 */

/** MQTT 5 publish properties the features use (a subset of mqtt.js's). */
export interface PublishProperties {
  /** seconds until the broker drops the message undelivered (MQTT 5 message expiry) */
  messageExpiryInterval?: number;
  contentType?: string;
  responseTopic?: string;
  correlationData?: Buffer;
  userProperties?: Record<string, string>;
}

export interface PublishOptions {
  /** default 1 */
  qos?: 0 | 1;
  /** default false */
  retain?: boolean;
  properties?: PublishProperties;
}

/** What the broker answered to a QoS 1 publish. */
export interface PublishAck {
  /** MQTT 5 PUBACK reason code (0 success, 0x10 no matching subscribers; >= 0x80 is a refusal); 0 on MQTT 3.1.1 */
  reasonCode: number;
  /** MQTT 5 reason string, when the broker sent one */
  reasonString?: string;
}

export interface CloudMessage {
  topic: string;
  payload: Buffer;
  retain: boolean;
  properties?: PublishProperties;
}

export interface SubscribeOptions {
  retainedOnEveryConnect?: boolean;
}

export type MessageHandler = (message: CloudMessage) => void;

export interface CloudLinkEvents {
  /** the session is up (CONNACK accepted); `sessionPresent` false means the broker forgot our subscriptions and queue */
  connected: { sessionPresent: boolean; protocolVersion: 4 | 5 };
  /** the connection dropped or a connect attempt failed; a reconnect is scheduled unless the link was closed */
  disconnected: { reason: string; retryInMs: number | null };
}

/**
 * One MQTT session to the cloud broker, kept up for the life of the runtime.
 * - It MUST connect with the device id as client id and a persistent session (clean start off).
 * - It MUST retry a lost or failed connection with exponential back-off and jitter, forever, until `close`.
 * - `publish` MUST accept messages while the link is down and send them once it is up, in call order; for
 *   QoS 1 it resolves only when the broker acknowledged (PUBACK) and rejects only when the link is closed
 *   (code CLOUD_LINK_CLOSED) or the broker refused it (code CLOUD_PUBLISH_REFUSED, with the reason code).
 * - `subscribe` MUST survive reconnects (it subscribes again whenever the broker has no session for us) and
 *   deliver each message to every handler whose filter matches its topic.
 * - Handlers MUST NOT throw into the link: a throwing handler is logged and the others still run.
 */
export interface CloudLink {
  readonly deviceId: string;
  readonly connected: boolean;
  /** 5 when the broker speaks MQTT 5, 4 when it fell back to 3.1.1; null before the first connect */
  readonly protocolVersion: 4 | 5 | null;
  publish(topic: string, payload: string | Buffer, options?: PublishOptions): Promise<PublishAck>;
  /**
   * Subscribes (QoS 1) and returns the function that removes this handler (and unsubscribes when it was the last).
   * Resolves once the broker acknowledged the subscription, or at once while the link is down (it subscribes at
   * every connect until the broker acknowledges); rejects when the broker refuses it. `retainedOnEveryConnect`: subscribe again on every reconnect, so the broker sends the retained
   * message again even when it kept our session (desired documents: compare revisions, don't trust the queue).
   */
  subscribe(filter: string, handler: MessageHandler, options?: SubscribeOptions): Promise<() => Promise<void>>;
  on<K extends keyof CloudLinkEvents>(event: K, listener: (payload: CloudLinkEvents[K]) => void): () => void;
}
