import { act, renderHook, waitFor } from '@testing-library/react';
import { beforeEach, describe, expect, it, vi } from 'vitest';

import type { Subscriber, TopicMessage } from '../live/socket';
import type { ChatAction, ChatMessage, Posted } from './types';
import { useRoom } from './useRoom';

// The live socket as the room sees it: the subscription it made and its cursor.
const subscriptions: { topics: string[]; subscriber: Subscriber }[] = [];
vi.mock('../live/live', () => ({
  live: {
    subscribe: (topics: string[], subscriber: Subscriber) => {
      const entry = { topics, subscriber };
      subscriptions.push(entry);
      return () => subscriptions.splice(subscriptions.indexOf(entry), 1);
    },
  },
}));

const api = {
  listMessages: vi.fn<(room: string, q: { before?: number; after?: number; limit?: number }) => Promise<ChatMessage[]>>(),
  getAction: vi.fn<(id: string) => Promise<ChatAction>>(),
  postMessage: vi.fn<(room: string, id: string, text: string) => Promise<Posted>>(),
  decideAction: vi.fn(),
};
vi.mock('./api', () => ({
  HISTORY_PAGE: 50,
  listMessages: (room: string, q: object) => api.listMessages(room, q),
  getAction: (id: string) => api.getAction(id),
  postMessage: (room: string, id: string, text: string) => api.postMessage(room, id, text),
  decideAction: (id: string, d: string) => api.decideAction(id, d),
}));

const ROOM = 'project:api';
const msg = (eventId: number, payload?: ChatMessage['payload']): ChatMessage => ({
  room: ROOM,
  eventId,
  sender: { kind: 'bot' },
  text: `m${eventId}`,
  payload,
  createdAt: '2026-12-07T21:00:00Z',
});
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => msg(from + i));
const ids = (messages: ChatMessage[]) => messages.map((m) => m.eventId);
const push = (message: TopicMessage) => act(() => subscriptions[0]?.subscriber.onMessage?.(message));

beforeEach(() => {
  subscriptions.length = 0;
  for (const fn of Object.values(api)) fn.mockReset();
});

describe('useRoom', () => {
  it('loads the newest page, then follows the room from its last event id', async () => {
    api.listMessages.mockResolvedValueOnce(range(51, 100));
    const { result } = renderHook(() => useRoom(ROOM));
    await waitFor(() => expect(result.current.loading).toBe(false));
    expect(api.listMessages).toHaveBeenCalledWith(ROOM, { limit: 50 });
    expect(result.current.hasOlder).toBe(true);
    expect(subscriptions[0]?.topics).toEqual([`room:${ROOM}`]);
    expect(subscriptions[0]?.subscriber.after?.(`room:${ROOM}`)).toBe(100);

    push({ type: 'chat.message', topic: `room:${ROOM}`, message: msg(101) });
    push({ type: 'chat.message', topic: `room:${ROOM}`, message: msg(101) });
    expect(ids(result.current.messages).slice(-2)).toEqual([100, 101]);
    expect(result.current.messages).toHaveLength(51);
    expect(subscriptions[0]?.subscriber.after?.(`room:${ROOM}`)).toBe(101);
  });

  it('loads older pages upward with `before`', async () => {
    api.listMessages.mockResolvedValueOnce(range(51, 100)).mockResolvedValueOnce(range(1, 50));
    const { result } = renderHook(() => useRoom(ROOM));
    await waitFor(() => expect(result.current.loading).toBe(false));
    await act(() => result.current.loadOlder());
    expect(api.listMessages).toHaveBeenLastCalledWith(ROOM, { before: 51, limit: 50 });
    expect(ids(result.current.messages)).toEqual(range(1, 100).map((m) => m.eventId));
    expect(result.current.hasOlder).toBe(false);
  });

  it('fills a gap and answers resync_required by refetching after the last event id over REST', async () => {
    api.listMessages.mockResolvedValueOnce(range(1, 3));
    const { result } = renderHook(() => useRoom(ROOM));
    await waitFor(() => expect(result.current.loading).toBe(false));

    api.listMessages.mockResolvedValueOnce(range(4, 6));
    push({ type: 'chat.message', topic: `room:${ROOM}`, message: msg(6) });
    await waitFor(() => expect(ids(result.current.messages)).toEqual([1, 2, 3, 4, 5, 6]));
    expect(api.listMessages).toHaveBeenLastCalledWith(ROOM, { after: 3, limit: 100 });

    // More than one page missed: it keeps fetching until a short page.
    api.listMessages.mockResolvedValueOnce(range(7, 106)).mockResolvedValueOnce(range(107, 110));
    push({ type: 'resync_required', topic: `room:${ROOM}` });
    await waitFor(() => expect(result.current.messages).toHaveLength(110));
    expect(api.listMessages.mock.calls.slice(-2).map((c) => c[1])).toEqual([
      { after: 6, limit: 100 },
      { after: 106, limit: 100 },
    ]);
  });

  it('keeps the actions its messages name current, from REST, events and its own decisions', async () => {
    const id = 'a-1';
    const base = { id, state: 'awaiting_confirmation', updatedAt: '2026-12-07T21:00:00Z' } as ChatAction;
    api.listMessages.mockResolvedValueOnce([msg(1, { kind: 'action', actionId: id })]);
    api.getAction.mockResolvedValueOnce(base);
    const { result } = renderHook(() => useRoom(ROOM));
    await waitFor(() => expect(result.current.actions[id]?.state).toBe('awaiting_confirmation'));

    const later = { ...base, state: 'awaiting_approval', updatedAt: '2026-12-07T21:01:00Z' } as ChatAction;
    push({ type: 'chat.action', topic: `room:${ROOM}`, action: later });
    expect(result.current.actions[id]?.state).toBe('awaiting_approval');
    // An older copy arriving late does not move it back.
    push({ type: 'chat.action', topic: `room:${ROOM}`, action: base });
    expect(result.current.actions[id]?.state).toBe('awaiting_approval');

    api.decideAction.mockResolvedValueOnce({ ...later, state: 'succeeded', updatedAt: '2026-12-07T21:02:00Z' });
    await act(() => result.current.decide(id, 'approve'));
    expect(api.decideAction).toHaveBeenCalledWith(id, 'approve');
    expect(result.current.actions[id]?.state).toBe('succeeded');
  });

  it('shows what it sent, the replies and the proposed action at once', async () => {
    api.listMessages.mockResolvedValueOnce([]);
    const { result } = renderHook(() => useRoom(ROOM));
    await waitFor(() => expect(result.current.loading).toBe(false));
    const action = { id: 'a-2', state: 'awaiting_confirmation', updatedAt: '2026-12-07T21:00:00Z' } as ChatAction;
    api.postMessage.mockResolvedValueOnce({
      message: { ...msg(1), sender: { kind: 'user', id: 'me', name: 'Me' } },
      created: true,
      replies: [msg(2, { kind: 'action', actionId: 'a-2' })],
      action,
    });
    await act(() => result.current.send('deploy api 2.5.0 to staging'));
    const [room, clientMsgId, text] = api.postMessage.mock.calls[0] ?? [];
    expect([room, text]).toEqual([ROOM, 'deploy api 2.5.0 to staging']);
    expect(clientMsgId).toMatch(/^[!-~]{1,64}$/);
    expect(ids(result.current.messages)).toEqual([1, 2]);
    expect(result.current.actions['a-2']).toEqual(action);
  });

  it('says when the live feed refuses the room', async () => {
    api.listMessages.mockResolvedValueOnce([]);
    const { result } = renderHook(() => useRoom(ROOM));
    await waitFor(() => expect(result.current.loading).toBe(false));
    push({ type: 'error', topic: `room:${ROOM}`, message: 'room project:api not found' });
    expect(result.current.liveError).toBe('room project:api not found');
  });
});
