import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { LiveSocket, MAX_TOPICS, type LiveEvent } from './socket';

/** A WebSocket double: records what the client sends and lets the test play the server. */
class FakeSocket {
  static all: FakeSocket[] = [];
  readyState = 0;
  sent: { type: string; [k: string]: unknown }[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((e: { data: unknown }) => void) | null = null;
  onclose: ((e: { code: number }) => void) | null = null;
  onerror: (() => void) | null = null;
  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }
  send(text: string) {
    this.sent.push(JSON.parse(text));
  }
  close() {
    this.readyState = 3;
  }
  // the server's side
  open() {
    this.readyState = 1;
    this.onopen?.();
  }
  receive(message: object) {
    this.onmessage?.({ data: JSON.stringify(message) });
  }
  drop(code = 1006) {
    this.readyState = 3;
    this.onclose?.({ code });
  }
  types() {
    return this.sent.map((m) => m.type);
  }
}

const latest = () => FakeSocket.all[FakeSocket.all.length - 1] as FakeSocket;

function socket(token: () => string | null = () => 'tok', refreshToken = vi.fn(async () => true)) {
  return new LiveSocket({
    url: () => 'ws://test/api/v1/ws',
    token,
    refreshToken,
    WebSocket: FakeSocket as unknown as typeof WebSocket,
    backoff: () => 100,
    pingIntervalMs: 1000,
  });
}

const pipelineEvent = (topic: string, id = 'p1'): LiveEvent => ({
  type: 'pipeline.updated',
  eventId: 'e1',
  topic,
  pipeline: { id, status: 'running' } as never,
});

describe('LiveSocket', () => {
  beforeEach(() => {
    FakeSocket.all = [];
    vi.useFakeTimers();
  });
  afterEach(() => vi.useRealTimers());

  it('authenticates first, then subscribes, and routes events by topic', () => {
    const live = socket();
    const a = vi.fn();
    const b = vi.fn();
    live.subscribe(['project:api'], { onEvent: a });
    live.subscribe(['project:web'], { onEvent: b });
    const ws = latest();
    expect(FakeSocket.all).toHaveLength(1);
    ws.open();
    expect(ws.sent).toEqual([{ type: 'auth', token: 'tok' }]);
    ws.receive({ type: 'authenticated', user: { id: 'u' }, expiresAt: null });
    expect(ws.sent[1]).toEqual({ type: 'subscribe', topics: ['project:api', 'project:web'] });
    expect(live.status).toBe('live');
    ws.receive(pipelineEvent('project:web'));
    expect(a).not.toHaveBeenCalled();
    expect(b).toHaveBeenCalledWith(expect.objectContaining({ topic: 'project:web' }));
  });

  it('counts subscribers per topic and unsubscribes the last one only', () => {
    const live = socket();
    const off1 = live.subscribe(['pipeline:x'], { onEvent: vi.fn() });
    const off2 = live.subscribe(['pipeline:x'], { onEvent: vi.fn() });
    const ws = latest();
    ws.open();
    ws.receive({ type: 'authenticated' });
    off1();
    expect(ws.types()).not.toContain('unsubscribe');
    off2();
    expect(ws.sent[ws.sent.length - 1]).toEqual({ type: 'unsubscribe', topics: ['pipeline:x'] });
  });

  it('reconnects after a drop, resubscribes everything and asks subscribers to resync', () => {
    const live = socket();
    const resync = vi.fn();
    live.subscribe(['project:api', 'pipeline:p1'], { onEvent: vi.fn(), onResync: resync });
    latest().open();
    latest().receive({ type: 'authenticated' });
    expect(resync).not.toHaveBeenCalled();
    latest().drop(1006);
    expect(live.status).toBe('reconnecting');
    vi.advanceTimersByTime(100);
    expect(FakeSocket.all).toHaveLength(2);
    const ws = latest();
    ws.open();
    ws.receive({ type: 'authenticated' });
    expect(ws.sent[1]).toEqual({ type: 'subscribe', topics: ['project:api', 'pipeline:p1'] });
    expect(resync).toHaveBeenCalledTimes(1);
    expect(live.status).toBe('live');
  });

  it('refreshes the token when the server closes with 4401, then reconnects with the new one', async () => {
    let token = 'old';
    const refresh = vi.fn(async () => {
      token = 'new';
      return true;
    });
    const live = socket(() => token, refresh);
    live.subscribe(['project:api'], { onEvent: vi.fn() });
    latest().open();
    latest().drop(4401);
    await vi.advanceTimersByTimeAsync(100);
    expect(refresh).toHaveBeenCalledTimes(1);
    latest().open();
    expect(latest().sent[0]).toEqual({ type: 'auth', token: 'new' });
  });

  it('re-authenticates an open socket after a token refresh, and pings while idle', () => {
    let token = 't1';
    const live = socket(() => token);
    live.subscribe(['project:api'], { onEvent: vi.fn() });
    const ws = latest();
    ws.open();
    ws.receive({ type: 'authenticated' });
    token = 't2';
    live.connect();
    expect(ws.sent[ws.sent.length - 1]).toEqual({ type: 'auth', token: 't2' });
    vi.advanceTimersByTime(1000);
    expect(ws.sent[ws.sent.length - 1]).toEqual({ type: 'ping' });
  });

  it('stays within the server limit of topics', () => {
    const live = socket();
    const topics = Array.from({ length: MAX_TOPICS + 5 }, (_, i) => `project:p${i}`);
    live.subscribe(topics, { onEvent: vi.fn() });
    latest().open();
    latest().receive({ type: 'authenticated' });
    expect((latest().sent[1]?.topics as string[]).length).toBe(MAX_TOPICS);
  });

  it('does not connect without a token, and close() stops reconnecting', () => {
    const anonymous = socket(() => null);
    anonymous.subscribe(['project:api'], { onEvent: vi.fn() });
    expect(FakeSocket.all).toHaveLength(0);
    const live = socket();
    live.subscribe(['project:api'], { onEvent: vi.fn() });
    latest().open();
    live.close();
    vi.advanceTimersByTime(10_000);
    expect(FakeSocket.all).toHaveLength(1);
    expect(live.status).toBe('idle');
  });

  it('resumes a room from the lowest event id its subscribers hold, and hands them its chat messages', () => {
    const live = socket();
    const onMessage = vi.fn();
    const onEvent = vi.fn();
    let held = 41;
    live.subscribe(['room:general'], { onEvent, onMessage, after: () => held });
    const other = live.subscribe(['room:general'], { onEvent: vi.fn(), after: () => 40 });
    live.subscribe(['pipelines'], { onEvent: vi.fn() });
    latest().open();
    latest().receive({ type: 'authenticated' });
    expect(latest().sent[1]).toEqual({ type: 'subscribe', topics: ['room:general', 'pipelines'], after: { 'room:general': 40 } });
    const message = { type: 'chat.message', topic: 'room:general', message: { eventId: 42 } };
    latest().receive(message);
    latest().receive({ type: 'resync_required', topic: 'room:general' });
    latest().receive({ type: 'chat.message', topic: 'room:other', message: { eventId: 1 } });
    latest().receive({ type: 'pong' });
    expect(onMessage.mock.calls.map((c) => c[0].type)).toEqual(['chat.message', 'resync_required']);
    expect(onMessage).toHaveBeenCalledWith(message);
    expect(onEvent).not.toHaveBeenCalled();
    // After a drop, the subscription names where the room was left.
    other();
    held = 45;
    latest().drop(1006);
    vi.advanceTimersByTime(100);
    latest().open();
    latest().receive({ type: 'authenticated' });
    expect(latest().sent[1]).toEqual({ type: 'subscribe', topics: ['room:general', 'pipelines'], after: { 'room:general': 45 } });
  });
});
