// The live connection to `/api/v1/ws`, open while signed in: authenticates with the in-memory access token (and again on every refresh, so
// the socket outlives the token), keeps one reference-counted subscription per topic, reconnects with backoff and
// resubscribes, and tells its listeners to resync after a reconnect (the gateway does not replay missed pipeline events,
// so views refetch their REST snapshot: that is the resume). Chat rooms (`room:<id>` topics) do resume: a subscriber
// names its last event id (`after`) and gets what it missed, or `resync_required`. The server allows 20 topics per socket.

import type { Job, Pipeline } from '../api/types';

export type LiveEvent =
  | { type: 'pipeline.updated'; eventId: string; topic: string; pipeline: Pipeline }
  | { type: 'job.updated'; eventId: string; topic: string; pipeline: Pipeline; job: Job }
  | {
      type: 'job.log';
      eventId: string;
      topic: string;
      pipelineId: string;
      jobId: string;
      attempt: number;
      offset: number;
      lines: string[];
    };

/** Any other message of a followed topic: `chat.message`, `chat.action`, `resync_required`, or an `error` refusing the
 * topic. The chat reads its fields (src/chat/live.ts). */
export interface TopicMessage {
  type: string;
  topic: string;
  [field: string]: unknown;
}

export type LiveStatus = 'idle' | 'connecting' | 'live' | 'reconnecting';

export interface Subscriber {
  onEvent: (event: LiveEvent) => void;
  /** After a reconnect: events may have been missed, refetch. */
  onResync?: () => void;
  /** Messages of the topic that are not pipeline events (the chat's). */
  onMessage?: (message: TopicMessage) => void;
  /** The last event id this subscriber holds for `topic` (a room), sent as the subscription's resume cursor. */
  after?: (topic: string) => number | null;
}

export interface LiveSocketOptions {
  url: () => string;
  /** The current access token; null when signed out. */
  token: () => string | null;
  /** Called when the server refused the token (4401): refresh it; resolve false to stop reconnecting. */
  refreshToken: () => Promise<boolean>;
  WebSocket?: typeof WebSocket;
  /** Backoff before reconnect attempt n (1-based), ms. */
  backoff?: (attempt: number) => number;
  pingIntervalMs?: number;
}

export const MAX_TOPICS = 20;
const UNAUTHENTICATED = 4401;

export class LiveSocket {
  private ws: WebSocket | null = null;
  private authenticated = false;
  private attempts = 0;
  private everOpened = false;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private pingTimer: ReturnType<typeof setInterval> | null = null;
  private readonly topics = new Map<string, Set<Subscriber>>();
  private readonly statusListeners = new Set<(s: LiveStatus) => void>();
  private statusValue: LiveStatus = 'idle';
  private readonly options: Required<Omit<LiveSocketOptions, 'WebSocket'>> & { WebSocket: typeof WebSocket };

  constructor(options: LiveSocketOptions) {
    this.options = {
      backoff: (n) => Math.min(30_000, 500 * 2 ** (n - 1)) * (0.75 + Math.random() * 0.5),
      pingIntervalMs: 20_000,
      ...options,
      WebSocket: options.WebSocket ?? globalThis.WebSocket,
    } as LiveSocket['options'];
  }

  get status(): LiveStatus {
    return this.statusValue;
  }

  onStatus(listener: (s: LiveStatus) => void): () => void {
    this.statusListeners.add(listener);
    listener(this.statusValue);
    return () => this.statusListeners.delete(listener);
  }

  /** Follows `topics` until the returned function is called. Topics beyond the server's limit are ignored. */
  subscribe(topics: string[], subscriber: Subscriber): () => void {
    const added: string[] = [];
    for (const topic of topics) {
      let set = this.topics.get(topic);
      if (!set) {
        if (this.topics.size >= MAX_TOPICS) continue;
        set = new Set();
        this.topics.set(topic, set);
        added.push(topic);
      }
      set.add(subscriber);
    }
    if (added.length > 0) this.send(this.subscription(added));
    this.ensureOpen();
    return () => {
      const removed: string[] = [];
      for (const topic of topics) {
        const set = this.topics.get(topic);
        if (!set) continue;
        set.delete(subscriber);
        if (set.size === 0) {
          this.topics.delete(topic);
          removed.push(topic);
        }
      }
      if (removed.length > 0) this.send({ type: 'unsubscribe', topics: removed });
    };
  }

  /** Opens the socket (signed in), or re-authenticates the open one with a fresh token (after each refresh). */
  connect(): void {
    const token = this.options.token();
    if (token && this.ws?.readyState === 1) this.ws.send(JSON.stringify({ type: 'auth', token }));
    else this.ensureOpen();
  }

  /** Closes for good (sign-out); subscribe() opens again. */
  close(): void {
    this.clearTimers();
    this.attempts = 0;
    this.everOpened = false;
    const ws = this.ws;
    this.ws = null;
    this.authenticated = false;
    ws?.close(1000, 'bye');
    this.setStatus('idle');
  }

  private ensureOpen(): void {
    if (this.ws || this.reconnectTimer) return;
    this.open();
  }

  private open(): void {
    const token = this.options.token();
    if (!token) {
      this.setStatus('idle');
      return;
    }
    this.setStatus(this.everOpened ? 'reconnecting' : 'connecting');
    const ws = new this.options.WebSocket(this.options.url());
    this.ws = ws;
    this.authenticated = false;
    ws.onopen = () => ws.send(JSON.stringify({ type: 'auth', token: this.options.token() ?? token }));
    ws.onmessage = (message) => this.handle(ws, message.data);
    ws.onclose = (event) => this.closed(ws, event.code);
    ws.onerror = () => {
      /* onclose follows */
    };
  }

  private handle(ws: WebSocket, data: unknown): void {
    if (ws !== this.ws || typeof data !== 'string') return;
    let message: { type?: string; [key: string]: unknown };
    try {
      message = JSON.parse(data);
    } catch {
      return;
    }
    switch (message.type) {
      case 'authenticated': {
        if (this.authenticated) return; // a re-auth answer
        this.authenticated = true;
        const resumed = this.everOpened;
        this.everOpened = true;
        this.attempts = 0;
        this.setStatus('live');
        if (this.topics.size > 0) this.send(this.subscription([...this.topics.keys()]));
        this.startPing();
        if (resumed) for (const subscriber of this.allSubscribers()) subscriber.onResync?.();
        return;
      }
      case 'pipeline.updated':
      case 'job.updated':
      case 'job.log': {
        const event = message as unknown as LiveEvent;
        for (const subscriber of this.topics.get(event.topic) ?? []) subscriber.onEvent(event);
        return;
      }
      default: {
        // subscribed, unsubscribed, pong and unscoped errors have no topic: nothing to do.
        if (typeof message.topic !== 'string' || typeof message.type !== 'string') return;
        const scoped = message as TopicMessage;
        for (const subscriber of this.topics.get(scoped.topic) ?? []) subscriber.onMessage?.(scoped);
        return;
      }
    }
  }

  /** A `subscribe` message for `topics`, with the lowest resume cursor any subscriber of each holds. */
  private subscription(topics: string[]): object {
    const after: Record<string, number> = {};
    for (const topic of topics) {
      for (const subscriber of this.topics.get(topic) ?? []) {
        const cursor = subscriber.after?.(topic);
        if (cursor == null) continue;
        after[topic] = Math.min(after[topic] ?? cursor, cursor);
      }
    }
    return Object.keys(after).length > 0 ? { type: 'subscribe', topics, after } : { type: 'subscribe', topics };
  }

  private closed(ws: WebSocket, code: number): void {
    if (ws !== this.ws) return;
    this.ws = null;
    this.authenticated = false;
    this.clearTimers();
    if (!this.options.token()) {
      this.setStatus('idle');
      return;
    }
    this.setStatus('reconnecting');
    this.attempts += 1;
    const delay = this.options.backoff(this.attempts);
    const retry = () => {
      this.reconnectTimer = setTimeout(() => {
        this.reconnectTimer = null;
        this.open();
      }, delay);
    };
    if (code === UNAUTHENTICATED) {
      this.options.refreshToken().then(
        (ok) => (ok ? retry() : this.setStatus('idle')),
        () => retry(),
      );
    } else {
      retry();
    }
  }

  private send(message: object): void {
    if (this.ws?.readyState === 1 && this.authenticated) this.ws.send(JSON.stringify(message));
  }

  private startPing(): void {
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = setInterval(() => this.send({ type: 'ping' }), this.options.pingIntervalMs);
  }

  private clearTimers(): void {
    if (this.pingTimer) clearInterval(this.pingTimer);
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.pingTimer = null;
    this.reconnectTimer = null;
  }

  private allSubscribers(): Set<Subscriber> {
    const all = new Set<Subscriber>();
    for (const set of this.topics.values()) for (const s of set) all.add(s);
    return all;
  }

  private setStatus(status: LiveStatus): void {
    if (status === this.statusValue) return;
    this.statusValue = status;
    for (const listener of this.statusListeners) listener(status);
  }
}
